-- 001: the layered model of docs/architecture.md ("Warehouse tables").
-- Natural keys: PRIMARY KEYs on the small tables. The big, night-swapped tables (raw.documents,
-- core.documents/mentions/entity_sentiment) carry NO index: DuckDB's ART index makes a
-- delete + re-insert of the same keys in one transaction very slow at COMMIT (12 s for 100k
-- mentions, vs 1 s without). Their keys are guaranteed by the loader (batch dedupe + night swap)
-- and checked by warehouse.db.key_violations(), which the tests run after every load.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS quarantine;

-- raw -------------------------------------------------------------------------------------------
CREATE TABLE raw.documents (
    doc_id VARCHAR NOT NULL,
    night DATE NOT NULL,
    source VARCHAR,
    kind VARCHAR,
    channel VARCHAR,
    url VARCHAR,
    canonical_url VARCHAR,
    parent_id VARCHAR,
    title VARCHAR,
    body VARCHAR,
    author VARCHAR,
    published_at VARCHAR,
    fetched_at VARCHAR,
    logical_date VARCHAR,
    run_id VARCHAR,
    raw_ref VARCHAR,
    score BIGINT,
    num_comments BIGINT,
    language VARCHAR,
    content_hash VARCHAR,
    is_deleted BOOLEAN,
    extra JSON,
    loaded_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE raw.documents IS 'Extracted documents exactly as loaded, one row per document per night (history kept; a re-run replaces its night). Timestamps stay strings as received; staging casts them.';
COMMENT ON COLUMN raw.documents.doc_id IS 'Natural key: Reddit fullname (t3_/t1_) or news_ + sha256(canonical URL)[:16].';
COMMENT ON COLUMN raw.documents.night IS 'Logical date (night) whose load wrote this row.';
COMMENT ON COLUMN raw.documents.source IS 'reddit or news.';
COMMENT ON COLUMN raw.documents.kind IS 'post, comment or article.';
COMMENT ON COLUMN raw.documents.channel IS 'Subreddit, or the news site''s domain.';
COMMENT ON COLUMN raw.documents.url IS 'URL the document was fetched from.';
COMMENT ON COLUMN raw.documents.canonical_url IS 'Canonical URL (news: <link rel=canonical>).';
COMMENT ON COLUMN raw.documents.parent_id IS 'Reddit comment: the parent fullname.';
COMMENT ON COLUMN raw.documents.title IS 'Title (posts, articles).';
COMMENT ON COLUMN raw.documents.body IS 'Text; NULL for a tombstone (deleted or removed).';
COMMENT ON COLUMN raw.documents.author IS 'Author name as published; NULL when deleted.';
COMMENT ON COLUMN raw.documents.published_at IS 'ISO-8601 UTC string as extracted.';
COMMENT ON COLUMN raw.documents.fetched_at IS 'ISO-8601 UTC string: when the extractor fetched it.';
COMMENT ON COLUMN raw.documents.logical_date IS 'The extract run''s logical date, as extracted.';
COMMENT ON COLUMN raw.documents.run_id IS 'Extract run id (provenance).';
COMMENT ON COLUMN raw.documents.raw_ref IS 'Raw landing file and line the document was parsed from.';
COMMENT ON COLUMN raw.documents.score IS 'Source score (Reddit), if any.';
COMMENT ON COLUMN raw.documents.num_comments IS 'Comment count (Reddit posts), if any.';
COMMENT ON COLUMN raw.documents.language IS 'ISO 639-1 language code.';
COMMENT ON COLUMN raw.documents.content_hash IS 'Fingerprint of normalised title+body, for dedup.';
COMMENT ON COLUMN raw.documents.is_deleted IS 'True for a tombstone.';
COMMENT ON COLUMN raw.documents.extra IS 'Source-specific fields (Document.extra) as JSON.';
COMMENT ON COLUMN raw.documents.loaded_at IS 'When the load transaction wrote the row (UTC).';

-- staging ---------------------------------------------------------------------------------------
CREATE VIEW staging.documents AS
SELECT
    doc_id, source, kind, channel, url, canonical_url, parent_id, title, body, author,
    CAST(published_at AS TIMESTAMPTZ) AS published_at,
    CAST(fetched_at AS TIMESTAMPTZ) AS fetched_at,
    CAST(score AS INTEGER) AS score,
    CAST(num_comments AS INTEGER) AS num_comments,
    language, content_hash, coalesce(is_deleted, false) AS is_deleted, extra, raw_ref, run_id, night
FROM raw.documents
QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY CAST(fetched_at AS TIMESTAMPTZ) DESC, night DESC) = 1;
COMMENT ON VIEW staging.documents IS 'raw.documents typed and deduped: the latest fetched_at version of each doc_id (ties: latest night).';
COMMENT ON COLUMN staging.documents.doc_id IS 'Natural key (see core.documents).';
COMMENT ON COLUMN staging.documents.source IS 'reddit or news.';
COMMENT ON COLUMN staging.documents.kind IS 'post, comment or article.';
COMMENT ON COLUMN staging.documents.channel IS 'Subreddit or site domain.';
COMMENT ON COLUMN staging.documents.url IS 'Fetched URL.';
COMMENT ON COLUMN staging.documents.canonical_url IS 'Canonical URL (news).';
COMMENT ON COLUMN staging.documents.parent_id IS 'Reddit comment: parent fullname.';
COMMENT ON COLUMN staging.documents.title IS 'Title.';
COMMENT ON COLUMN staging.documents.body IS 'Text; NULL for a tombstone.';
COMMENT ON COLUMN staging.documents.author IS 'Author.';
COMMENT ON COLUMN staging.documents.published_at IS 'Published time, cast to TIMESTAMPTZ (UTC).';
COMMENT ON COLUMN staging.documents.fetched_at IS 'Fetch time, cast to TIMESTAMPTZ; the latest wins.';
COMMENT ON COLUMN staging.documents.score IS 'Score as INTEGER.';
COMMENT ON COLUMN staging.documents.num_comments IS 'Comment count as INTEGER.';
COMMENT ON COLUMN staging.documents.language IS 'ISO 639-1 code.';
COMMENT ON COLUMN staging.documents.content_hash IS 'Text fingerprint.';
COMMENT ON COLUMN staging.documents.is_deleted IS 'Tombstone flag (NULL read as false).';
COMMENT ON COLUMN staging.documents.extra IS 'Source-specific fields (JSON).';
COMMENT ON COLUMN staging.documents.raw_ref IS 'Raw landing file and line.';
COMMENT ON COLUMN staging.documents.run_id IS 'Extract run id.';
COMMENT ON COLUMN staging.documents.night IS 'Night whose load landed this version.';

-- core ------------------------------------------------------------------------------------------
CREATE TABLE core.documents (
    doc_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('reddit', 'news')),
    kind VARCHAR NOT NULL CHECK (kind IN ('post', 'comment', 'article')),
    channel VARCHAR,
    url VARCHAR,
    canonical_url VARCHAR,
    parent_id VARCHAR,
    title VARCHAR,
    body VARCHAR,
    author VARCHAR,
    published_at TIMESTAMPTZ NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    score INTEGER,
    num_comments INTEGER,
    language VARCHAR,
    content_hash VARCHAR,
    is_deleted BOOLEAN NOT NULL,
    sentiment DOUBLE CHECK (sentiment BETWEEN -1 AND 1),
    themes VARCHAR[],
    raw_ref VARCHAR,
    run_id VARCHAR,
    night DATE NOT NULL
);
COMMENT ON TABLE core.documents IS 'One row per document (latest version): a doc re-fetched on a later night is updated in place.';
COMMENT ON COLUMN core.documents.doc_id IS 'Natural key: Reddit fullname (t3_/t1_) or news_ + sha256(canonical URL)[:16].';
COMMENT ON COLUMN core.documents.source IS 'reddit or news.';
COMMENT ON COLUMN core.documents.kind IS 'post, comment or article.';
COMMENT ON COLUMN core.documents.channel IS 'Subreddit, or the news site''s domain.';
COMMENT ON COLUMN core.documents.url IS 'URL the document was fetched from.';
COMMENT ON COLUMN core.documents.canonical_url IS 'Canonical URL (news).';
COMMENT ON COLUMN core.documents.parent_id IS 'Reddit comment: the parent fullname.';
COMMENT ON COLUMN core.documents.title IS 'Title (posts, articles).';
COMMENT ON COLUMN core.documents.body IS 'Text; NULL for a tombstone.';
COMMENT ON COLUMN core.documents.author IS 'Author; NULL when deleted.';
COMMENT ON COLUMN core.documents.published_at IS 'When the source published it (UTC). Marts bucket by its UTC date.';
COMMENT ON COLUMN core.documents.fetched_at IS 'When it was fetched (UTC); the latest fetch wins.';
COMMENT ON COLUMN core.documents.score IS 'Source score (Reddit), if any.';
COMMENT ON COLUMN core.documents.num_comments IS 'Comment count (Reddit posts), if any.';
COMMENT ON COLUMN core.documents.language IS 'ISO 639-1 language code.';
COMMENT ON COLUMN core.documents.content_hash IS 'Fingerprint of normalised title+body, for dedup.';
COMMENT ON COLUMN core.documents.is_deleted IS 'True for a tombstone (kept so threads stay intact).';
COMMENT ON COLUMN core.documents.sentiment IS 'Document sentiment in -1..1 (VADER compound).';
COMMENT ON COLUMN core.documents.themes IS 'Theme labels from config/themes.toml.';
COMMENT ON COLUMN core.documents.raw_ref IS 'Raw landing file and line (provenance).';
COMMENT ON COLUMN core.documents.run_id IS 'Extract run id (provenance).';
COMMENT ON COLUMN core.documents.night IS 'Night whose load wrote this version.';

CREATE TABLE core.entities (
    entity_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    label VARCHAR,
    kind VARCHAR,
    aliases VARCHAR[],
    origin VARCHAR CHECK (origin IN ('gazetteer', 'ner'))
);
COMMENT ON TABLE core.entities IS 'Canonical entities (gazetteer or NER); upserted by every load.';
COMMENT ON COLUMN core.entities.entity_id IS 'Natural key: gazetteer id (platform/tiktok-shop) or ner/<label>/<slug>.';
COMMENT ON COLUMN core.entities.name IS 'Canonical display name.';
COMMENT ON COLUMN core.entities.label IS 'spaCy label (ORG, PERSON, GPE, PRODUCT...).';
COMMENT ON COLUMN core.entities.kind IS 'Business kind: platform, company, person, place, brand...';
COMMENT ON COLUMN core.entities.aliases IS 'Surface forms that map to this entity.';
COMMENT ON COLUMN core.entities.origin IS 'gazetteer or ner.';

CREATE TABLE core.mentions (
    doc_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    sentence_idx INTEGER,
    start_char INTEGER NOT NULL,
    end_char INTEGER,
    surface VARCHAR,
    sentence VARCHAR,
    sentiment DOUBLE CHECK (sentiment BETWEEN -1 AND 1),
    night DATE NOT NULL
);
COMMENT ON TABLE core.mentions IS 'Entity mentions in the current version of each document.';
COMMENT ON COLUMN core.mentions.doc_id IS 'Document mentioning the entity (core.documents).';
COMMENT ON COLUMN core.mentions.entity_id IS 'Mentioned entity (core.entities).';
COMMENT ON COLUMN core.mentions.sentence_idx IS 'Index of the sentence within the document text.';
COMMENT ON COLUMN core.mentions.start_char IS 'Start offset of the mention in the document text (title + blank line + body).';
COMMENT ON COLUMN core.mentions.end_char IS 'End offset (exclusive).';
COMMENT ON COLUMN core.mentions.surface IS 'The text as written.';
COMMENT ON COLUMN core.mentions.sentence IS 'The sentence containing the mention.';
COMMENT ON COLUMN core.mentions.sentiment IS 'Sentiment of that sentence in -1..1.';
COMMENT ON COLUMN core.mentions.night IS 'Night whose load wrote the row.';

CREATE TABLE core.entity_sentiment (
    doc_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    n_mentions INTEGER NOT NULL,
    sentiment DOUBLE CHECK (sentiment BETWEEN -1 AND 1),
    night DATE NOT NULL
);
COMMENT ON TABLE core.entity_sentiment IS 'Per document and entity: how often it is mentioned and the sentiment around it.';
COMMENT ON COLUMN core.entity_sentiment.doc_id IS 'Document (core.documents).';
COMMENT ON COLUMN core.entity_sentiment.entity_id IS 'Entity (core.entities).';
COMMENT ON COLUMN core.entity_sentiment.n_mentions IS 'Mentions of the entity in the document.';
COMMENT ON COLUMN core.entity_sentiment.sentiment IS 'Mean sentiment over the distinct sentences that mention the entity.';
COMMENT ON COLUMN core.entity_sentiment.night IS 'Night whose load wrote the row.';

-- marts -----------------------------------------------------------------------------------------
CREATE TABLE marts.daily_entity_stats (
    day DATE NOT NULL,
    entity_id VARCHAR NOT NULL,
    name VARCHAR,
    label VARCHAR,
    kind VARCHAR,
    source VARCHAR NOT NULL,
    mentions INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    mean_sentiment DOUBLE,
    positive INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (day, entity_id, source)
);
COMMENT ON TABLE marts.daily_entity_stats IS 'Per entity, source and published day (UTC): volume and sentiment. Rebuilt incrementally per affected day.';
COMMENT ON COLUMN marts.daily_entity_stats.day IS 'UTC date of the documents'' published_at.';
COMMENT ON COLUMN marts.daily_entity_stats.entity_id IS 'Entity (core.entities).';
COMMENT ON COLUMN marts.daily_entity_stats.name IS 'Entity canonical name (denormalised).';
COMMENT ON COLUMN marts.daily_entity_stats.label IS 'Entity label (denormalised).';
COMMENT ON COLUMN marts.daily_entity_stats.kind IS 'Entity kind (denormalised).';
COMMENT ON COLUMN marts.daily_entity_stats.source IS 'reddit or news.';
COMMENT ON COLUMN marts.daily_entity_stats.mentions IS 'Total mentions (sum of entity_sentiment.n_mentions).';
COMMENT ON COLUMN marts.daily_entity_stats.documents IS 'Documents mentioning the entity.';
COMMENT ON COLUMN marts.daily_entity_stats.mean_sentiment IS 'Mean over those documents of the entity sentiment (each document weighs 1).';
COMMENT ON COLUMN marts.daily_entity_stats.positive IS 'Documents whose entity sentiment > 0.05.';
COMMENT ON COLUMN marts.daily_entity_stats.negative IS 'Documents whose entity sentiment < -0.05.';

-- ops -------------------------------------------------------------------------------------------
CREATE TABLE ops.runs (
    run_id VARCHAR PRIMARY KEY,
    night DATE NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,
    message VARCHAR
);
COMMENT ON TABLE ops.runs IS 'One row per pipeline run (attempt) that reached the load or failed; upserted by run_id.';
COMMENT ON COLUMN ops.runs.run_id IS 'Airflow run id or manual__<timestamp>.';
COMMENT ON COLUMN ops.runs.night IS 'Logical date processed.';
COMMENT ON COLUMN ops.runs.started_at IS 'Earliest source-run start (UTC).';
COMMENT ON COLUMN ops.runs.finished_at IS 'When the load finished (UTC).';
COMMENT ON COLUMN ops.runs.status IS 'ok, partial (a source failed or was partial) or failed.';
COMMENT ON COLUMN ops.runs.message IS 'Human-readable summary.';

CREATE TABLE ops.source_runs (
    run_id VARCHAR NOT NULL,
    night DATE NOT NULL,
    source VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('ok', 'partial', 'failed', 'skipped')),
    message VARCHAR,
    n_documents INTEGER,
    n_requests INTEGER,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    raw_path VARCHAR,
    PRIMARY KEY (run_id, source)
);
COMMENT ON TABLE ops.source_runs IS 'What each source did in a run (from work/<night>/<source>.source_run.json); a night''s rows are replaced on re-run.';
COMMENT ON COLUMN ops.source_runs.run_id IS 'Run id (ops.runs).';
COMMENT ON COLUMN ops.source_runs.night IS 'Logical date.';
COMMENT ON COLUMN ops.source_runs.source IS 'reddit or news.';
COMMENT ON COLUMN ops.source_runs.status IS 'ok, partial, failed or skipped.';
COMMENT ON COLUMN ops.source_runs.message IS 'Why (for failed/partial/skipped).';
COMMENT ON COLUMN ops.source_runs.n_documents IS 'Documents extracted.';
COMMENT ON COLUMN ops.source_runs.n_requests IS 'HTTP requests made.';
COMMENT ON COLUMN ops.source_runs.started_at IS 'Extract start (UTC).';
COMMENT ON COLUMN ops.source_runs.finished_at IS 'Extract end (UTC).';
COMMENT ON COLUMN ops.source_runs.raw_path IS 'Raw landing file written.';

CREATE TABLE ops.errors (
    run_id VARCHAR NOT NULL,
    night DATE NOT NULL,
    source VARCHAR,
    url VARCHAR,
    stage VARCHAR,
    reason VARCHAR,
    status_code INTEGER,
    recorded_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.errors IS 'Per-URL errors and recorded rejections; a night''s rows are replaced on re-run.';
COMMENT ON COLUMN ops.errors.run_id IS 'Run id (ops.runs).';
COMMENT ON COLUMN ops.errors.night IS 'Logical date.';
COMMENT ON COLUMN ops.errors.source IS 'Source the error belongs to.';
COMMENT ON COLUMN ops.errors.url IS 'URL concerned, if any.';
COMMENT ON COLUMN ops.errors.stage IS 'auth, feed, robots, fetch, parse, listing, comments, load...';
COMMENT ON COLUMN ops.errors.reason IS 'What went wrong.';
COMMENT ON COLUMN ops.errors.status_code IS 'HTTP status, if any.';
COMMENT ON COLUMN ops.errors.recorded_at IS 'When the load recorded it (UTC).';

CREATE TABLE ops.quality_results (
    run_id VARCHAR NOT NULL,
    night DATE NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    severity VARCHAR NOT NULL CHECK (severity IN ('critical', 'warning')),
    success BOOLEAN NOT NULL,
    observed VARCHAR,
    details VARCHAR,
    recorded_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.quality_results IS 'Every Great Expectations result; a run''s rows for a suite are replaced when it is re-validated.';
COMMENT ON COLUMN ops.quality_results.run_id IS 'Run id (ops.runs).';
COMMENT ON COLUMN ops.quality_results.night IS 'Logical date.';
COMMENT ON COLUMN ops.quality_results.suite IS 'Expectation suite name.';
COMMENT ON COLUMN ops.quality_results.expectation IS 'Expectation type.';
COMMENT ON COLUMN ops.quality_results.column_name IS 'Column checked, if any.';
COMMENT ON COLUMN ops.quality_results.severity IS 'critical (quarantines the batch) or warning (recorded only).';
COMMENT ON COLUMN ops.quality_results.success IS 'Whether the expectation held.';
COMMENT ON COLUMN ops.quality_results.observed IS 'Observed value, as text.';
COMMENT ON COLUMN ops.quality_results.details IS 'Extra detail (JSON text).';
COMMENT ON COLUMN ops.quality_results.recorded_at IS 'When it was recorded (UTC).';

-- quarantine ------------------------------------------------------------------------------------
CREATE TABLE quarantine.documents (
    run_id VARCHAR NOT NULL,
    night DATE NOT NULL,
    doc_id VARCHAR NOT NULL,
    reasons VARCHAR,
    record JSON,
    quarantined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, doc_id)
);
COMMENT ON TABLE quarantine.documents IS 'Failing rows of batches that failed a critical expectation; never published downstream.';
COMMENT ON COLUMN quarantine.documents.run_id IS 'Run id (ops.runs).';
COMMENT ON COLUMN quarantine.documents.night IS 'Logical date.';
COMMENT ON COLUMN quarantine.documents.doc_id IS 'Document id, or missing-id:<hash> when the row had none.';
COMMENT ON COLUMN quarantine.documents.reasons IS 'Why the row failed (expectations, semicolon-separated).';
COMMENT ON COLUMN quarantine.documents.record IS 'The row as it arrived, as JSON.';
COMMENT ON COLUMN quarantine.documents.quarantined_at IS 'When it was quarantined (UTC).';
