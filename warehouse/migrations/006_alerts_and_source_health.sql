-- 006: alerts and source health (issue 15, items 2 and 3).
--
-- ops.alerts: one row per alert raised (detection is warehouse/alerts.py), keyed by night + kind +
-- subject, so a re-run of the same night finds its alerts already there. ops.alert_deliveries: one
-- row per alert and destination, so "sent once" is a lookup, and a receiver that was down is
-- visible (status failed, attempts, last error) instead of lost in a task log.
CREATE TABLE ops.alerts (
    alert_id VARCHAR PRIMARY KEY,
    night DATE NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('volume', 'sentiment', 'source_drop')),
    subject_type VARCHAR NOT NULL CHECK (subject_type IN ('entity', 'topic', 'subreddit', 'feed')),
    subject_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    direction VARCHAR,
    value DOUBLE,
    baseline DOUBLE,
    z_score DOUBLE,
    support INTEGER,
    min_support INTEGER,
    reason VARCHAR,
    doc_ids VARCHAR[],
    payload JSON NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.alerts IS 'Alerts raised by the nightly alerts stage (warehouse/alerts.py): one row per night, kind and subject. A re-run of the night finds its row and sends nothing new; an alert on the same subject and kind within [alerts] cooldown_nights earlier nights is not raised again.';
COMMENT ON COLUMN ops.alerts.alert_id IS 'Natural key: night/kind/subject_type/subject_id.';
COMMENT ON COLUMN ops.alerts.night IS 'Logical date whose run raised the alert.';
COMMENT ON COLUMN ops.alerts.kind IS 'volume (document count spike), sentiment (mean sentiment shift) or source_drop (a feed or subreddit went silent or fell far below its baseline).';
COMMENT ON COLUMN ops.alerts.subject_type IS 'entity, topic, subreddit or feed.';
COMMENT ON COLUMN ops.alerts.subject_id IS 'entity_id, topic name, subreddit (lower case) or feed URL.';
COMMENT ON COLUMN ops.alerts.name IS 'Display name (entity name, topic, r/<subreddit>, feed URL).';
COMMENT ON COLUMN ops.alerts.direction IS 'up or down (sentiment and volume), or the source_drop reason (silent, dropped).';
COMMENT ON COLUMN ops.alerts.value IS 'volume: documents per day in the period; sentiment: mean document sentiment in the period; source_drop: new items that night.';
COMMENT ON COLUMN ops.alerts.baseline IS 'The same figure over the baseline (the period before; source_drop: mean new items over the trailing ok nights).';
COMMENT ON COLUMN ops.alerts.z_score IS 'How unusual the value is: (value - baseline) / sigma as defined per kind in warehouse/alerts.py (NULL for source_drop).';
COMMENT ON COLUMN ops.alerts.support IS 'Documents behind the value (source_drop: silent nights in a row, or for dropped the ok nights its baseline averages).';
COMMENT ON COLUMN ops.alerts.min_support IS 'The minimum support the rule required ([alerts] min_documents, sentiment_min_documents, source_silent_nights; 1 for dropped).';
COMMENT ON COLUMN ops.alerts.reason IS 'One sentence explaining the alert with its figures.';
COMMENT ON COLUMN ops.alerts.doc_ids IS 'Top documents behind the alert (core.documents), as in the payload.';
COMMENT ON COLUMN ops.alerts.payload IS 'The JSON payload sent to generic webhooks (the Slack and email forms are rendered from it).';
COMMENT ON COLUMN ops.alerts.detected_at IS 'When the alert was first raised (UTC).';

CREATE TABLE ops.alert_deliveries (
    alert_id VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    channel VARCHAR NOT NULL CHECK (channel IN ('webhook', 'slack', 'email')),
    status VARCHAR NOT NULL CHECK (status IN ('sent', 'failed')),
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    first_attempt_at TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (alert_id, destination)
);
COMMENT ON TABLE ops.alert_deliveries IS 'Where each alert went: one row per alert and destination. sent rows are never sent again; failed rows (receiver down after the bounded retries) are retried by a re-run of the night.';
COMMENT ON COLUMN ops.alert_deliveries.alert_id IS 'Alert (ops.alerts).';
COMMENT ON COLUMN ops.alert_deliveries.destination IS 'Redacted destination: host and a hash of the URL (webhook URLs carry secrets), or smtp:<recipients>.';
COMMENT ON COLUMN ops.alert_deliveries.channel IS 'webhook (generic JSON), slack (incoming webhook) or email (SMTP).';
COMMENT ON COLUMN ops.alert_deliveries.status IS 'sent or failed.';
COMMENT ON COLUMN ops.alert_deliveries.attempts IS 'Tries so far, over all runs of the night.';
COMMENT ON COLUMN ops.alert_deliveries.last_error IS 'Why the last try failed (NULL once sent).';
COMMENT ON COLUMN ops.alert_deliveries.first_attempt_at IS 'First try (UTC).';
COMMENT ON COLUMN ops.alert_deliveries.last_attempt_at IS 'Latest try (UTC).';
COMMENT ON COLUMN ops.alert_deliveries.sent_at IS 'When the receiver accepted it (UTC); NULL while failed.';

-- Source health: per configured subreddit and per news feed, per night the source ran.
-- Units: a subreddit the extractor pages (it has a watermark or listing error under r/<sub>/...),
-- so subreddits reached only by a Reddit-wide search are left out; a feed is a feed URL that
-- brought a document (raw.documents.extra.feed_url) or failed (ops.errors stage feed).
-- "New" items: documents first landed that night (a re-fetch in the nightly overlap is not new).
-- A unit failed a night when its source failed, or when it has a non-warning error of its own
-- (feed: stage feed on its URL; subreddit: a listing/auth/budget error on r/<sub>/...).
-- marts.source_health_at(silent_nights, drop_ratio, min_baseline) is the rule with explicit
-- thresholds (the alerts stage passes [alerts] source_*); marts.source_health uses the defaults.
CREATE MACRO marts.source_health_at(p_silent_nights, p_drop_ratio, p_min_baseline) AS TABLE
WITH runs AS (
    SELECT night, source, arg_max(status, coalesce(finished_at, started_at, TIMESTAMPTZ '-infinity')) AS status
    FROM ops.source_runs GROUP BY night, source
),
first_seen AS (SELECT doc_id, min(night) AS first_night FROM raw.documents GROUP BY doc_id),
doc_units AS (
    SELECT r.night, r.source,
           CASE WHEN r.source = 'reddit' THEN 'subreddit' ELSE 'feed' END AS unit_type,
           CASE WHEN r.source = 'reddit' THEN lower(r.channel)
                ELSE json_extract_string(r.extra, '$.feed_url') END AS unit,
           r.doc_id, f.first_night = r.night AS is_new
    FROM raw.documents r JOIN first_seen f USING (doc_id)
),
err_units AS (
    SELECT night, source,
           CASE WHEN source = 'reddit' THEN 'subreddit' ELSE 'feed' END AS unit_type,
           CASE WHEN source = 'reddit' THEN lower(regexp_extract(url, '^r/([^/]+)/', 1)) ELSE url END AS unit,
           count(*) FILTER (WHERE reason NOT LIKE 'warning:%') AS errors
    FROM ops.errors
    WHERE (source = 'news' AND stage = 'feed')
       OR (source = 'reddit' AND stage IN ('listing', 'auth', 'budget') AND regexp_matches(url, '^r/[^/]+/'))
    GROUP BY ALL
),
appear AS (
    SELECT 'reddit' AS source, 'subreddit' AS unit_type,
           lower(regexp_extract(source_key, '^r/([^/]+)/', 1)) AS unit, night
    FROM ops.watermarks WHERE source = 'reddit' AND regexp_matches(source_key, '^r/[^/]+/')
    UNION ALL SELECT source, unit_type, unit, night FROM err_units
    UNION ALL SELECT source, unit_type, unit, night FROM doc_units WHERE source = 'news'
),
unit_start AS (
    SELECT source, unit_type, unit, min(night) AS first_night
    FROM appear WHERE unit IS NOT NULL AND unit <> '' GROUP BY ALL
),
grid AS (
    SELECT r.night, u.source, u.unit_type, u.unit, r.status AS source_status
    FROM unit_start u JOIN runs r ON r.source = u.source
    WHERE r.night >= u.first_night
),
nightly AS (
    SELECT g.night, g.source, g.unit_type, g.unit, g.source_status,
           count(d.doc_id) AS documents, count(d.doc_id) FILTER (WHERE d.is_new) AS new_documents,
           coalesce(any_value(e.errors), 0) AS errors,
           coalesce(g.source_status IN ('failed', 'skipped'), true) OR coalesce(any_value(e.errors), 0) > 0 AS failed
    FROM grid g
    LEFT JOIN doc_units d USING (night, source, unit_type, unit)
    LEFT JOIN err_units e USING (night, source, unit_type, unit)
    GROUP BY g.night, g.source, g.unit_type, g.unit, g.source_status
),
marked AS (
    SELECT *,
           count(*) FILTER (WHERE new_documents > 0) OVER u_all AS new_streak_group,
           max(night) FILTER (WHERE NOT failed) OVER u_all AS last_success,
           max(night) FILTER (WHERE new_documents > 0) OVER u_all AS last_new_item,
           avg(new_documents) FILTER (WHERE NOT failed) OVER u_prev AS baseline_new_documents,
           count(*) FILTER (WHERE NOT failed) OVER u_prev AS baseline_nights,
           count(*) FILTER (WHERE failed) OVER u_last7 / count(*) OVER u_last7 AS error_rate_7
    FROM nightly
    WINDOW u_all AS (PARTITION BY source, unit_type, unit ORDER BY night ROWS UNBOUNDED PRECEDING),
           u_prev AS (PARTITION BY source, unit_type, unit ORDER BY night ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING),
           u_last7 AS (PARTITION BY source, unit_type, unit ORDER BY night ROWS 6 PRECEDING)
),
streaks AS (
    SELECT *,
           count(*) FILTER (WHERE NOT failed AND new_documents = 0) OVER (
               PARTITION BY source, unit_type, unit, new_streak_group ORDER BY night
               ROWS UNBOUNDED PRECEDING) AS silent_nights
    FROM marked
)
SELECT night, source, unit_type, unit,
       CASE WHEN unit_type = 'subreddit' THEN 'r/' || unit ELSE unit END AS name,
       source_status, documents, new_documents, errors, failed, last_success, last_new_item,
       CAST(error_rate_7 AS DOUBLE) AS error_rate_7, silent_nights, baseline_new_documents, baseline_nights,
       new_documents / nullif(baseline_new_documents, 0) AS volume_ratio,
       CASE WHEN failed THEN 'failing'
            WHEN silent_nights >= p_silent_nights THEN 'silent'
            WHEN coalesce(baseline_new_documents, 0) >= p_min_baseline
                 AND new_documents < p_drop_ratio * baseline_new_documents THEN 'dropped'
            ELSE 'ok' END AS health
FROM streaks;

CREATE VIEW marts.source_health AS SELECT * FROM marts.source_health_at(3, 0.25, 5);
COMMENT ON VIEW marts.source_health IS 'Per night, per configured subreddit and per news feed: documents, new items, errors, last success, last new item, 7-night error rate and the silent-drop detector (marts.source_health_at(3, 0.25, 5): 3 ok nights without a new item = silent; under 0.25 x the trailing baseline of >= 5 new items a night = dropped).';
COMMENT ON COLUMN marts.source_health.night IS 'Logical date of the run (ops.source_runs).';
COMMENT ON COLUMN marts.source_health.source IS 'reddit or news.';
COMMENT ON COLUMN marts.source_health.unit_type IS 'subreddit or feed.';
COMMENT ON COLUMN marts.source_health.unit IS 'Subreddit in lower case, or the feed URL.';
COMMENT ON COLUMN marts.source_health.name IS 'Display name: r/<subreddit> or the feed URL.';
COMMENT ON COLUMN marts.source_health.source_status IS 'The source run''s status that night (ok, partial, failed, skipped).';
COMMENT ON COLUMN marts.source_health.documents IS 'Documents the unit brought that night (raw.documents, re-fetches included).';
COMMENT ON COLUMN marts.source_health.new_documents IS 'Of which first landed that night.';
COMMENT ON COLUMN marts.source_health.errors IS 'The unit''s own non-warning errors that night (ops.errors).';
COMMENT ON COLUMN marts.source_health.failed IS 'The source failed or was skipped, or the unit had an error of its own.';
COMMENT ON COLUMN marts.source_health.last_success IS 'Latest night up to this one the unit did not fail.';
COMMENT ON COLUMN marts.source_health.last_new_item IS 'Latest night up to this one the unit brought a new item.';
COMMENT ON COLUMN marts.source_health.error_rate_7 IS 'Share of the unit''s last 7 runs (this one included) that failed.';
COMMENT ON COLUMN marts.source_health.silent_nights IS 'Nights in a row, ending this night, the unit answered but brought no new item.';
COMMENT ON COLUMN marts.source_health.baseline_new_documents IS 'Mean new items over the ok nights among the 7 runs before this one.';
COMMENT ON COLUMN marts.source_health.baseline_nights IS 'How many ok nights that baseline averages.';
COMMENT ON COLUMN marts.source_health.volume_ratio IS 'new_documents / baseline_new_documents.';
COMMENT ON COLUMN marts.source_health.health IS 'failing, silent (>= 3 silent nights), dropped (< 0.25 x a baseline of >= 5) or ok.';
