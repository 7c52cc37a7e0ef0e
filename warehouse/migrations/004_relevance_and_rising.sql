-- 004: live-commerce relevance per document, and ONE definition of "rising" for marts and reports.
--
-- Relevance (transforms/relevance.py): off-topic documents stay in core.documents, but the marts
-- and the newsletter leave them out by default ([relevance] exclude_off_topic). Rows loaded before
-- this migration have no score and count as on topic (NULL on_topic is read as true).
ALTER TABLE core.documents ADD COLUMN relevance DOUBLE;
ALTER TABLE core.documents ADD COLUMN on_topic BOOLEAN;
COMMENT ON COLUMN core.documents.relevance IS 'Live-commerce relevance 0..1: 0.5 per strong signal (on-topic channel, platform, live-commerce term), 0.1 per weak one (theme, other gazetteer entity; at most 0.4). See transforms/relevance.py.';
COMMENT ON COLUMN core.documents.on_topic IS 'relevance >= [relevance] min_score. Off-topic documents are kept but left out of marts and reports by default; NULL (loaded before scoring existed) counts as on topic.';

-- Rising: the single definition. The newsletter calls marts.rising(p_end_day, p_period_days, ...)
-- with its own period; marts.trending_entities is the same macro for the 7 days ending at the latest
-- mart day. Unit: documents (a document that repeats a name 47 times counts once).
--   current  = the period_days ending at end_day;
--   baseline = the period_days before it, but only days on or after the first day the mart has
--              data for (so 7 days of history are never averaged as if they were 28);
--   z        = (current daily mean - baseline daily mean) / sigma, with
--   sigma    = max(baseline daily sd, sqrt(max(baseline daily mean, 1))): the Poisson noise of a
--              count floors the spread, so a never-seen entity needs real volume to score high;
--   rising   = documents >= min_documents, z >= min_z, baseline has >= min_baseline_days days.
-- Days are zero-filled: a day with no row counts as 0 documents.
DROP VIEW marts.trending_entities;
CREATE MACRO marts.rising(p_end_day, p_period_days, p_min_documents, p_min_z, p_min_baseline_days) AS TABLE
WITH bounds AS (
    SELECT CAST(p_end_day AS DATE) AS e, CAST(p_period_days AS INTEGER) AS n,
           (SELECT min(day) FROM marts.daily_entity_stats) AS first_day
),
win AS (
    SELECT e, n, e - n + 1 AS cur_start, e - 2 * n + 1 AS base_start, e - n AS base_end,
           greatest(0, (e - n) - greatest(e - 2 * n + 1, first_day) + 1) AS base_days
    FROM bounds
),
daily AS (
    SELECT s.day, s.entity_id, any_value(s.name) AS name, any_value(s.kind) AS kind,
           sum(s.documents) AS documents, sum(s.mentions) AS mentions
    FROM marts.daily_entity_stats s, win w
    WHERE s.day BETWEEN w.base_start AND w.e
    GROUP BY s.day, s.entity_id
),
per AS (
    SELECT d.entity_id, any_value(d.name) AS name, any_value(d.kind) AS kind,
           coalesce(sum(d.documents) FILTER (WHERE d.day >= w.cur_start), 0) AS period_documents,
           coalesce(sum(d.mentions) FILTER (WHERE d.day >= w.cur_start), 0) AS period_mentions,
           coalesce(sum(d.documents) FILTER (WHERE d.day <= w.base_end), 0) AS baseline_documents,
           coalesce(sum(d.documents * d.documents) FILTER (WHERE d.day <= w.base_end), 0) AS base_sq,
           any_value(w.n) AS n, any_value(w.base_days) AS base_days, any_value(w.e) AS end_day
    FROM daily d, win w
    GROUP BY d.entity_id
),
stats AS (
    SELECT *, period_documents / n AS daily_mean,
           CASE WHEN base_days > 0 THEN baseline_documents / base_days END AS baseline_daily_mean,
           CASE WHEN base_days > 0
                THEN sqrt(greatest(base_sq / base_days - power(baseline_documents / base_days, 2), 0)) END
               AS baseline_daily_sd
    FROM per
),
scored AS (
    SELECT *, greatest(baseline_daily_sd, sqrt(greatest(baseline_daily_mean, 1))) AS sigma
    FROM stats
)
SELECT end_day, entity_id, name, kind, n AS period_days, period_documents, period_mentions,
       baseline_documents, base_days AS baseline_days, daily_mean, baseline_daily_mean, baseline_daily_sd,
       sigma, (daily_mean - baseline_daily_mean) / sigma AS z_score,
       coalesce(period_documents >= p_min_documents AND base_days >= p_min_baseline_days
                AND (daily_mean - baseline_daily_mean) / sigma >= p_min_z, false) AS is_trending
FROM scored;

CREATE VIEW marts.trending_entities AS
SELECT end_day, entity_id, name, kind, period_days, period_documents, period_mentions, baseline_documents,
       baseline_days, daily_mean, baseline_daily_mean, baseline_daily_sd, sigma, z_score, is_trending
FROM marts.rising((SELECT max(day) FROM marts.daily_entity_stats), 7, 3, 2.0, 3);
COMMENT ON VIEW marts.trending_entities IS 'marts.rising for the 7 days ending at the latest mart day against the 7 days before (documents, zero-filled, Poisson-floored spread): the same rule the newsletter uses.';
COMMENT ON COLUMN marts.trending_entities.end_day IS 'Last day of the period (latest day in the mart).';
COMMENT ON COLUMN marts.trending_entities.entity_id IS 'Entity (core.entities).';
COMMENT ON COLUMN marts.trending_entities.name IS 'Entity name.';
COMMENT ON COLUMN marts.trending_entities.kind IS 'Entity kind.';
COMMENT ON COLUMN marts.trending_entities.period_days IS 'Length of the period and of its baseline (7).';
COMMENT ON COLUMN marts.trending_entities.period_documents IS 'Documents mentioning it in the period (each document-day once).';
COMMENT ON COLUMN marts.trending_entities.period_mentions IS 'Mentions in the period (for context; not used by the score).';
COMMENT ON COLUMN marts.trending_entities.baseline_documents IS 'Documents in the baseline days.';
COMMENT ON COLUMN marts.trending_entities.baseline_days IS 'Baseline days with history (at most 7; fewer near the start of the data).';
COMMENT ON COLUMN marts.trending_entities.daily_mean IS 'Period documents / period days.';
COMMENT ON COLUMN marts.trending_entities.baseline_daily_mean IS 'Baseline documents / baseline days.';
COMMENT ON COLUMN marts.trending_entities.baseline_daily_sd IS 'Population sd of zero-filled baseline daily documents.';
COMMENT ON COLUMN marts.trending_entities.sigma IS 'max(baseline sd, sqrt(max(baseline mean, 1))).';
COMMENT ON COLUMN marts.trending_entities.z_score IS '(daily_mean - baseline_daily_mean) / sigma.';
COMMENT ON COLUMN marts.trending_entities.is_trending IS 'At least 3 documents, z >= 2, and at least 3 baseline days of history.';
