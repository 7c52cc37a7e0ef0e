-- 010 (issue 15, item 5, last gap): a syndication cluster counts once in the per-topic figures too.
-- 008 left the non-canonical members of a core.syndication cluster out of marts.daily_entity_stats
-- (warehouse/marts.py topic_filter, count_copies_once) and so out of every entity mart and of
-- marts.rising; the topic views of 005 and the topic branch of marts.rising_in (007) read core
-- directly and still counted each copy. They are replaced here, adding the very condition the
-- entity marts apply (a document that is a member of a cluster other than its canonical article,
-- cluster_id <> doc_id, is out); everything else (deleted documents out, relevance flag not
-- applied, columns, window, baseline, zero-filling, z) is as before. CREATE OR REPLACE drops a
-- view's comments, so they are written again.
CREATE OR REPLACE VIEW marts.topic_daily AS
SELECT CAST(timezone('UTC', d.published_at) AS DATE) AS day, t.topic,
       count(*) AS documents,
       count(*) FILTER (WHERE d.source = 'reddit') AS reddit_documents,
       count(*) FILTER (WHERE d.source = 'news') AS news_documents,
       avg(d.sentiment) AS mean_sentiment,
       count(*) FILTER (WHERE d.sentiment > 0.05) AS positive,
       count(*) FILTER (WHERE d.sentiment < -0.05) AS negative,
       sum(coalesce(d.score, 0) + coalesce(d.num_comments, 0)) AS engagement
FROM core.document_topics t
JOIN core.documents d ON d.doc_id = t.doc_id
WHERE NOT d.is_deleted
  AND d.doc_id NOT IN (SELECT s.doc_id FROM core.syndication s WHERE s.cluster_id <> s.doc_id)
GROUP BY ALL;
COMMENT ON VIEW marts.topic_daily IS 'Per topic and published day (UTC): volume, document sentiment and engagement of the documents the topic query matches. A syndication cluster counts once (its canonical article; core.syndication, migration 010).';
COMMENT ON COLUMN marts.topic_daily.day IS 'UTC date of the documents'' published_at.';
COMMENT ON COLUMN marts.topic_daily.topic IS 'Topic name (core.document_topics).';
COMMENT ON COLUMN marts.topic_daily.documents IS 'Documents matching the topic that day (syndicated copies left out).';
COMMENT ON COLUMN marts.topic_daily.reddit_documents IS 'Of which Reddit posts and comments.';
COMMENT ON COLUMN marts.topic_daily.news_documents IS 'Of which news articles.';
COMMENT ON COLUMN marts.topic_daily.mean_sentiment IS 'Mean document sentiment over those with a score (each document weighs 1).';
COMMENT ON COLUMN marts.topic_daily.positive IS 'Documents with sentiment > 0.05.';
COMMENT ON COLUMN marts.topic_daily.negative IS 'Documents with sentiment < -0.05.';
COMMENT ON COLUMN marts.topic_daily.engagement IS 'Sum of score + comment count (Reddit; 0 for news).';

CREATE OR REPLACE VIEW marts.topic_share_of_voice AS
WITH per AS (
    SELECT CAST(timezone('UTC', d.published_at) AS DATE) AS day, t.topic, es.entity_id,
           any_value(e.name) AS name, sum(es.n_mentions) AS mentions, count(*) AS documents
    FROM core.document_topics t
    JOIN core.documents d ON d.doc_id = t.doc_id
    JOIN core.entity_sentiment es ON es.doc_id = t.doc_id
    JOIN core.entities e ON e.entity_id = es.entity_id
    WHERE e.kind = 'platform' AND NOT d.is_deleted
      AND d.doc_id NOT IN (SELECT s.doc_id FROM core.syndication s WHERE s.cluster_id <> s.doc_id)
    GROUP BY ALL
)
SELECT day, topic, entity_id, name, mentions, documents,
       mentions / sum(mentions) OVER (PARTITION BY day, topic) AS share,
       documents / sum(documents) OVER (PARTITION BY day, topic) AS document_share
FROM per;
COMMENT ON VIEW marts.topic_share_of_voice IS 'Platform against platform within one topic: each platform''s share of the platform mentions in the topic''s documents per day (as marts.share_of_voice, restricted to the topic). A syndication cluster counts once (its canonical article; core.syndication, migration 010).';
COMMENT ON COLUMN marts.topic_share_of_voice.day IS 'Published day (UTC).';
COMMENT ON COLUMN marts.topic_share_of_voice.topic IS 'Topic name (core.document_topics).';
COMMENT ON COLUMN marts.topic_share_of_voice.entity_id IS 'Platform entity (kind = platform).';
COMMENT ON COLUMN marts.topic_share_of_voice.name IS 'Platform name.';
COMMENT ON COLUMN marts.topic_share_of_voice.mentions IS 'Mentions of the platform in the topic''s documents that day.';
COMMENT ON COLUMN marts.topic_share_of_voice.documents IS 'Topic documents mentioning the platform that day.';
COMMENT ON COLUMN marts.topic_share_of_voice.share IS 'mentions / all platform mentions in the topic''s documents that day (0..1).';
COMMENT ON COLUMN marts.topic_share_of_voice.document_share IS 'documents / the sum of documents over platforms that day (a document naming two platforms counts for both).';

-- marts.rising_in as in 007; only its topic branch (topic_daily) gains the copies condition. The
-- NULL-topic branch reads marts.daily_entity_stats, which refresh_marts already fills without the
-- copies, so marts.rising and marts.trending_entities are unchanged.
CREATE OR REPLACE MACRO marts.rising_in(p_topic, p_end_day, p_period_days, p_min_documents, p_min_z,
                                        p_min_baseline_days) AS TABLE
WITH bounds AS (
    SELECT CAST(p_end_day AS DATE) AS e, CAST(p_period_days AS INTEGER) AS n,
           (SELECT min(day) FROM marts.daily_entity_stats) AS first_day
),
win AS (
    SELECT e, n, e - n + 1 AS cur_start, e - 2 * n + 1 AS base_start, e - n AS base_end,
           greatest(0, (e - n) - greatest(e - 2 * n + 1, first_day) + 1) AS base_days
    FROM bounds
),
topic_daily AS (
    SELECT CAST(timezone('UTC', d.published_at) AS DATE) AS day, es.entity_id,
           any_value(e.name) AS name, any_value(e.kind) AS kind,
           count(*) AS documents, sum(es.n_mentions) AS mentions
    FROM core.document_topics t
    JOIN core.documents d ON d.doc_id = t.doc_id
    JOIN core.entity_sentiment es ON es.doc_id = d.doc_id AND es.night = d.night
    LEFT JOIN core.entities e ON e.entity_id = es.entity_id
    WHERE p_topic IS NOT NULL AND t.topic = p_topic AND NOT coalesce(d.is_deleted, false)
      AND d.doc_id NOT IN (SELECT s.doc_id FROM core.syndication s WHERE s.cluster_id <> s.doc_id)
    GROUP BY ALL
),
daily AS (
    SELECT s.day, s.entity_id, any_value(s.name) AS name, any_value(s.kind) AS kind,
           sum(s.documents) AS documents, sum(s.mentions) AS mentions
    FROM marts.daily_entity_stats s, win w
    WHERE p_topic IS NULL AND s.day BETWEEN w.base_start AND w.e
    GROUP BY s.day, s.entity_id
    UNION ALL
    SELECT x.day, x.entity_id, x.name, x.kind, x.documents, x.mentions
    FROM topic_daily x, win w
    WHERE x.day BETWEEN w.base_start AND w.e
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
