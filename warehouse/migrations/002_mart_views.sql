-- 002: business views over marts.daily_entity_stats (small, pre-aggregated) and core. Views cost
-- nothing at refresh time, so refreshing the marts stays proportional to the new nights.
CREATE VIEW marts.entity_sentiment_trend AS
WITH daily AS (
    SELECT day, entity_id, any_value(name) AS name, any_value(kind) AS kind,
           sum(documents) AS documents, sum(mentions) AS mentions,
           sum(mean_sentiment * documents) FILTER (WHERE mean_sentiment IS NOT NULL) AS s_sum,
           sum(documents) FILTER (WHERE mean_sentiment IS NOT NULL) AS s_docs
    FROM marts.daily_entity_stats GROUP BY day, entity_id
)
SELECT day, entity_id, name, kind, documents, mentions,
       s_sum / nullif(s_docs, 0) AS mean_sentiment,
       sum(s_sum) OVER w / nullif(sum(s_docs) OVER w, 0) AS rolling_7d_sentiment,
       sum(documents) OVER w AS rolling_7d_documents
FROM daily
WINDOW w AS (PARTITION BY entity_id ORDER BY day RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW);
COMMENT ON VIEW marts.entity_sentiment_trend IS 'Per entity and day, all sources: document-weighted sentiment and its trailing 7-day mean.';
COMMENT ON COLUMN marts.entity_sentiment_trend.day IS 'Published day (UTC).';
COMMENT ON COLUMN marts.entity_sentiment_trend.entity_id IS 'Entity (core.entities).';
COMMENT ON COLUMN marts.entity_sentiment_trend.name IS 'Entity name.';
COMMENT ON COLUMN marts.entity_sentiment_trend.kind IS 'Entity kind.';
COMMENT ON COLUMN marts.entity_sentiment_trend.documents IS 'Documents mentioning the entity that day.';
COMMENT ON COLUMN marts.entity_sentiment_trend.mentions IS 'Mentions that day.';
COMMENT ON COLUMN marts.entity_sentiment_trend.mean_sentiment IS 'Document-weighted mean entity sentiment that day.';
COMMENT ON COLUMN marts.entity_sentiment_trend.rolling_7d_sentiment IS 'Document-weighted mean over the 7 days ending that day.';
COMMENT ON COLUMN marts.entity_sentiment_trend.rolling_7d_documents IS 'Documents over the 7 days ending that day.';

CREATE VIEW marts.share_of_voice AS
SELECT day, entity_id, any_value(name) AS name, sum(mentions) AS mentions, sum(documents) AS documents,
       sum(mentions) / sum(sum(mentions)) OVER (PARTITION BY day) AS share
FROM marts.daily_entity_stats
WHERE kind = 'platform'
GROUP BY day, entity_id;
COMMENT ON VIEW marts.share_of_voice IS 'Platform against platform: each platform''s share of all platform mentions per day (all sources).';
COMMENT ON COLUMN marts.share_of_voice.day IS 'Published day (UTC).';
COMMENT ON COLUMN marts.share_of_voice.entity_id IS 'Platform entity (kind = platform).';
COMMENT ON COLUMN marts.share_of_voice.name IS 'Platform name.';
COMMENT ON COLUMN marts.share_of_voice.mentions IS 'Mentions that day.';
COMMENT ON COLUMN marts.share_of_voice.documents IS 'Documents mentioning it that day.';
COMMENT ON COLUMN marts.share_of_voice.share IS 'mentions / all platform mentions that day (0..1).';

-- Trending: the 7 days ending at the latest day in the mart against the 28 days before them.
-- Baseline daily counts are zero-filled (sum / 28), the standard deviation is floored at 1 so a
-- never-seen entity needs real volume, and min support (5 mentions, 3 documents) keeps one-off
-- noise out.
CREATE VIEW marts.trending_entities AS
WITH bounds AS (SELECT max(day) AS end_day FROM marts.daily_entity_stats),
per AS (
    SELECT s.entity_id, any_value(s.name) AS name, any_value(s.kind) AS kind,
           sum(s.mentions) FILTER (WHERE s.day > b.end_day - 7) AS p_mentions,
           sum(s.documents) FILTER (WHERE s.day > b.end_day - 7) AS p_documents,
           any_value(b.end_day) AS end_day
    FROM marts.daily_entity_stats s, bounds b
    WHERE s.day > b.end_day - 35
    GROUP BY s.entity_id
),
base_daily AS (
    SELECT s.entity_id, s.day, sum(s.mentions) AS m
    FROM marts.daily_entity_stats s, bounds b
    WHERE s.day > b.end_day - 35 AND s.day <= b.end_day - 7
    GROUP BY s.entity_id, s.day
),
base AS (
    SELECT entity_id, sum(m) / 28.0 AS mu,
           sqrt(greatest(sum(m * m) / 28.0 - power(sum(m) / 28.0, 2), 0) * 28.0 / 27.0) AS sd
    FROM base_daily GROUP BY entity_id
),
scored AS (
    SELECT p.end_day, p.entity_id, p.name, p.kind,
           coalesce(p.p_mentions, 0) AS period_mentions, coalesce(p.p_documents, 0) AS period_documents,
           coalesce(b.mu, 0) * 7 AS baseline_mentions,
           (coalesce(p.p_mentions, 0) - coalesce(b.mu, 0) * 7) / (sqrt(7) * greatest(coalesce(b.sd, 0), 1))
               AS z_score
    FROM per p LEFT JOIN base b USING (entity_id)
)
SELECT *, period_mentions >= 5 AND period_documents >= 3 AND z_score >= 2 AS is_trending
FROM scored;
COMMENT ON VIEW marts.trending_entities IS 'Entities in the 7 days ending at the latest mart day vs the 28 days before: z-score with min support.';
COMMENT ON COLUMN marts.trending_entities.end_day IS 'Last day of the period (latest day in the mart).';
COMMENT ON COLUMN marts.trending_entities.entity_id IS 'Entity (core.entities).';
COMMENT ON COLUMN marts.trending_entities.name IS 'Entity name.';
COMMENT ON COLUMN marts.trending_entities.kind IS 'Entity kind.';
COMMENT ON COLUMN marts.trending_entities.period_mentions IS 'Mentions in the 7-day period.';
COMMENT ON COLUMN marts.trending_entities.period_documents IS 'Document-days mentioning it in the period.';
COMMENT ON COLUMN marts.trending_entities.baseline_mentions IS 'Expected 7-day mentions from the 28-day baseline.';
COMMENT ON COLUMN marts.trending_entities.z_score IS '(period - expected) / (sqrt(7) * max(daily sd, 1)).';
COMMENT ON COLUMN marts.trending_entities.is_trending IS 'z >= 2 with at least 5 mentions and 3 documents.';

CREATE VIEW marts.top_documents AS
WITH ent AS (
    SELECT doc_id, count(*) AS entities, sum(n_mentions) AS mentions FROM core.entity_sentiment GROUP BY doc_id
)
SELECT * FROM (
    SELECT CAST(timezone('UTC', d.published_at) AS DATE) AS day, d.source, d.doc_id, d.kind, d.channel,
           d.title, coalesce(d.canonical_url, d.url) AS url, d.score, d.num_comments, d.sentiment,
           coalesce(e.entities, 0) AS entities, coalesce(e.mentions, 0) AS mentions,
           row_number() OVER (PARTITION BY CAST(timezone('UTC', d.published_at) AS DATE), d.source
                              ORDER BY coalesce(d.score, 0) + coalesce(d.num_comments, 0) DESC,
                                       coalesce(e.mentions, 0) DESC, d.doc_id) AS rank
    FROM core.documents d LEFT JOIN ent e USING (doc_id)
    WHERE NOT d.is_deleted
)
WHERE rank <= 10;
COMMENT ON VIEW marts.top_documents IS 'Top 10 documents per day and source by engagement (score + comments), then entity mentions.';
COMMENT ON COLUMN marts.top_documents.day IS 'Published day (UTC).';
COMMENT ON COLUMN marts.top_documents.source IS 'reddit or news.';
COMMENT ON COLUMN marts.top_documents.doc_id IS 'Document (core.documents).';
COMMENT ON COLUMN marts.top_documents.kind IS 'post, comment or article.';
COMMENT ON COLUMN marts.top_documents.channel IS 'Subreddit or site domain.';
COMMENT ON COLUMN marts.top_documents.title IS 'Title.';
COMMENT ON COLUMN marts.top_documents.url IS 'Canonical URL, else URL.';
COMMENT ON COLUMN marts.top_documents.score IS 'Source score.';
COMMENT ON COLUMN marts.top_documents.num_comments IS 'Comment count.';
COMMENT ON COLUMN marts.top_documents.sentiment IS 'Document sentiment.';
COMMENT ON COLUMN marts.top_documents.entities IS 'Distinct entities mentioned.';
COMMENT ON COLUMN marts.top_documents.mentions IS 'Entity mentions.';
COMMENT ON COLUMN marts.top_documents.rank IS '1 = most engaging that day for that source.';
