-- 005: topics (issue 15): documents tagged by the saved boolean queries of config/topics.toml.
-- Written by the nightly load from work/<night>/enriched/document_topics.jsonl (night-swapped like
-- core.mentions, so no index: see 001), and rewritten whole by `pulse topics backfill`
-- (warehouse/topics.py) after a query changes. Natural key (doc_id, topic).
CREATE TABLE core.document_topics (
    doc_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    night DATE NOT NULL
);
COMMENT ON TABLE core.document_topics IS 'One row per document and matching topic (config/topics.toml queries, transforms/topics.py). Tagged at enrich time, re-tagged by pulse topics backfill.';
COMMENT ON COLUMN core.document_topics.doc_id IS 'Tagged document (core.documents).';
COMMENT ON COLUMN core.document_topics.topic IS 'Topic name as in config/topics.toml.';
COMMENT ON COLUMN core.document_topics.night IS 'Night that owns the document version (core.documents.night): a re-load of that night replaces the row.';

-- Topic marts are views: a topic table is small, and views stay right after a backfill without a
-- mart refresh. Every document matching the query counts (the query is the analyst's own
-- definition of relevance, so the off-topic flag is not applied on top), deleted ones excepted.
CREATE VIEW marts.topic_daily AS
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
GROUP BY ALL;
COMMENT ON VIEW marts.topic_daily IS 'Per topic and published day (UTC): volume, document sentiment and engagement of the documents the topic query matches.';
COMMENT ON COLUMN marts.topic_daily.day IS 'UTC date of the documents'' published_at.';
COMMENT ON COLUMN marts.topic_daily.topic IS 'Topic name (core.document_topics).';
COMMENT ON COLUMN marts.topic_daily.documents IS 'Documents matching the topic that day.';
COMMENT ON COLUMN marts.topic_daily.reddit_documents IS 'Of which Reddit posts and comments.';
COMMENT ON COLUMN marts.topic_daily.news_documents IS 'Of which news articles.';
COMMENT ON COLUMN marts.topic_daily.mean_sentiment IS 'Mean document sentiment over those with a score (each document weighs 1).';
COMMENT ON COLUMN marts.topic_daily.positive IS 'Documents with sentiment > 0.05.';
COMMENT ON COLUMN marts.topic_daily.negative IS 'Documents with sentiment < -0.05.';
COMMENT ON COLUMN marts.topic_daily.engagement IS 'Sum of score + comment count (Reddit; 0 for news).';

CREATE VIEW marts.topic_share_of_voice AS
WITH per AS (
    SELECT CAST(timezone('UTC', d.published_at) AS DATE) AS day, t.topic, es.entity_id,
           any_value(e.name) AS name, sum(es.n_mentions) AS mentions, count(*) AS documents
    FROM core.document_topics t
    JOIN core.documents d ON d.doc_id = t.doc_id
    JOIN core.entity_sentiment es ON es.doc_id = t.doc_id
    JOIN core.entities e ON e.entity_id = es.entity_id
    WHERE e.kind = 'platform' AND NOT d.is_deleted
    GROUP BY ALL
)
SELECT day, topic, entity_id, name, mentions, documents,
       mentions / sum(mentions) OVER (PARTITION BY day, topic) AS share,
       documents / sum(documents) OVER (PARTITION BY day, topic) AS document_share
FROM per;
COMMENT ON VIEW marts.topic_share_of_voice IS 'Platform against platform within one topic: each platform''s share of the platform mentions in the topic''s documents per day (as marts.share_of_voice, restricted to the topic).';
COMMENT ON COLUMN marts.topic_share_of_voice.day IS 'Published day (UTC).';
COMMENT ON COLUMN marts.topic_share_of_voice.topic IS 'Topic name (core.document_topics).';
COMMENT ON COLUMN marts.topic_share_of_voice.entity_id IS 'Platform entity (kind = platform).';
COMMENT ON COLUMN marts.topic_share_of_voice.name IS 'Platform name.';
COMMENT ON COLUMN marts.topic_share_of_voice.mentions IS 'Mentions of the platform in the topic''s documents that day.';
COMMENT ON COLUMN marts.topic_share_of_voice.documents IS 'Topic documents mentioning the platform that day.';
COMMENT ON COLUMN marts.topic_share_of_voice.share IS 'mentions / all platform mentions in the topic''s documents that day (0..1).';
COMMENT ON COLUMN marts.topic_share_of_voice.document_share IS 'documents / the sum of documents over platforms that day (a document naming two platforms counts for both).';
