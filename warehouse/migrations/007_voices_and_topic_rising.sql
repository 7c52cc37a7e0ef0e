-- 007 (issue 15): voices (marts.top_authors) and rising within a topic.
--
-- Voices. ONE definition of "who is talking", marts.author_stats(p_from, p_to, p_on_topic_only,
-- p_topic), used by the marts.top_authors view (all history) and by the newsletter's Voices
-- section (its own period, and its topic for `pulse report --topic`), so the two never disagree.
-- A voice is a (source, channel, author): the same user in two subreddits is two voices, because
-- an analyst reads "who drives r/Whatnot" and "who drives r/TikTokShop" separately.
-- Excluded, so a tombstone or a bot is never reported as a voice:
--   * deleted documents (is_deleted) and documents with no author (NULL or blank);
--   * the placeholder authors '[deleted]' and '[removed]' (any case);
--   * bots: 'AutoModerator' (any case), and names ending in 'Bot' / 'BOT' (RemindMeBot,
--     WikiSummarizerBot) or in '_bot' / '-bot' in any case (sneakpeek_bot). A lower-case name that
--     merely ends in "bot" (talbot) is kept: a surname is likelier than a bot.
-- p_from/p_to are inclusive UTC published days (NULL = unbounded); p_on_topic_only leaves out
-- documents the relevance score marked off topic (as the other marts do by default); p_topic
-- (NULL = all) restricts to one topic's documents (core.document_topics).
CREATE MACRO marts.author_stats(p_from, p_to, p_on_topic_only, p_topic) AS TABLE
WITH docs AS (
    SELECT d.doc_id, d.source, d.channel, d.author, d.sentiment, d.published_at,
           coalesce(d.score, 0) + coalesce(d.num_comments, 0) AS engagement
    FROM core.documents d
    WHERE NOT coalesce(d.is_deleted, false)
      AND d.author IS NOT NULL AND trim(d.author) <> ''
      AND lower(d.author) NOT IN ('[deleted]', '[removed]', 'automoderator')
      AND NOT regexp_matches(d.author, '(Bot|BOT|[_-][Bb][Oo][Tt])$')
      AND (p_from IS NULL OR CAST(timezone('UTC', d.published_at) AS DATE) >= CAST(p_from AS DATE))
      AND (p_to IS NULL OR CAST(timezone('UTC', d.published_at) AS DATE) <= CAST(p_to AS DATE))
      AND (NOT p_on_topic_only OR coalesce(d.on_topic, true))
      AND (p_topic IS NULL
           OR d.doc_id IN (SELECT t.doc_id FROM core.document_topics t WHERE t.topic = p_topic))
),
per AS (
    SELECT source, channel, author, count(*) AS documents, sum(engagement) AS engagement,
           avg(sentiment) AS mean_sentiment, min(published_at) AS first_published,
           max(published_at) AS last_published, list(doc_id ORDER BY doc_id) AS doc_ids
    FROM docs
    GROUP BY source, channel, author
),
tagged AS (
    SELECT x.source, x.channel, x.author, t.topic, count(DISTINCT x.doc_id) AS n
    FROM docs x JOIN core.document_topics t ON t.doc_id = x.doc_id
    GROUP BY x.source, x.channel, x.author, t.topic
),
topics AS (
    SELECT source, channel, author, list(topic ORDER BY n DESC, topic)[1:3] AS main_topics,
           list(n ORDER BY n DESC, topic)[1:3] AS main_topic_documents
    FROM tagged
    GROUP BY source, channel, author
)
SELECT p.source, p.channel, p.author, p.documents, p.engagement, p.mean_sentiment,
       coalesce(t.main_topics, CAST([] AS VARCHAR[])) AS main_topics,
       coalesce(t.main_topic_documents, CAST([] AS BIGINT[])) AS main_topic_documents,
       p.first_published, p.last_published, p.doc_ids
FROM per p
LEFT JOIN topics t ON t.source = p.source AND t.channel IS NOT DISTINCT FROM p.channel AND t.author = p.author;

CREATE VIEW marts.top_authors AS
SELECT source, channel, author, documents, engagement, mean_sentiment, main_topics, main_topic_documents,
       first_published, last_published, doc_ids
FROM marts.author_stats(NULL, NULL, true, NULL)
ORDER BY documents DESC, engagement DESC, author, channel;
COMMENT ON VIEW marts.top_authors IS 'Voices: per source, channel and author over all history, documents, engagement, mean sentiment and main topics (marts.author_stats, the rule the newsletter''s Voices section uses). Deleted documents, missing/[deleted]/[removed] authors, AutoModerator and *Bot/*_bot names are left out; so are off-topic documents.';
COMMENT ON COLUMN marts.top_authors.source IS 'reddit or news.';
COMMENT ON COLUMN marts.top_authors.channel IS 'Subreddit or news site: a voice is an author within one channel.';
COMMENT ON COLUMN marts.top_authors.author IS 'Author as the source gives it (Reddit user name, news byline).';
COMMENT ON COLUMN marts.top_authors.documents IS 'Documents (posts, comments, articles) by the author in the channel.';
COMMENT ON COLUMN marts.top_authors.engagement IS 'Sum of score + comment count over those documents (0 for news).';
COMMENT ON COLUMN marts.top_authors.mean_sentiment IS 'Mean document sentiment over those with a score (each document weighs 1).';
COMMENT ON COLUMN marts.top_authors.main_topics IS 'Up to 3 topics (core.document_topics) with most of the author''s documents, most first (ties by name).';
COMMENT ON COLUMN marts.top_authors.main_topic_documents IS 'The author''s documents in each of main_topics, same order.';
COMMENT ON COLUMN marts.top_authors.first_published IS 'Earliest published_at of those documents.';
COMMENT ON COLUMN marts.top_authors.last_published IS 'Latest published_at of those documents.';
COMMENT ON COLUMN marts.top_authors.doc_ids IS 'The documents behind the figures (core.documents.doc_id, sorted).';

-- Rising within a topic, without a second definition: marts.rising (004) becomes
-- marts.rising_in(NULL, ...), and marts.rising_in(p_topic, ...) applies the very same window,
-- baseline, zero-filling and Poisson-floored z to the entity-document counts of one topic's
-- documents (read from core, as marts.topic_daily does: deleted documents out, the relevance flag
-- not applied since the topic query is the analyst's own relevance). The baseline's first day is
-- still the first day of the whole mart: a topic with no documents on a day of history had 0.
CREATE MACRO marts.rising_in(p_topic, p_end_day, p_period_days, p_min_documents, p_min_z,
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

-- marts.rising keeps its signature and output (the newsletter, marts.trending_entities and any
-- later caller are unchanged); it is now the whole-warehouse case of marts.rising_in.
CREATE OR REPLACE MACRO marts.rising(p_end_day, p_period_days, p_min_documents, p_min_z,
                                     p_min_baseline_days) AS TABLE
SELECT * FROM marts.rising_in(NULL, p_end_day, p_period_days, p_min_documents, p_min_z, p_min_baseline_days);
