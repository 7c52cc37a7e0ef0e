-- 003: per-source incremental watermarks (issue 3: "a per-source watermark, kept in the warehouse").
-- One row per (source, source_key, night): the newest item creation time that a night's load
-- brought in COMPLETELY for that source key (a listing, a search, a split sub-search). Keeping one
-- row per night, rather than one per key, makes re-runs deterministic: a night reads only marks of
-- EARLIER nights, so re-running night N (even after N+1 loaded) uses the same window as its first
-- run, and a backfill of an old night is never cut short by a later watermark.
CREATE TABLE ops.watermarks (
    source VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    night DATE NOT NULL,
    watermark TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    items INTEGER,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_key, night)
);
COMMENT ON TABLE ops.watermarks IS 'Incremental-extraction watermarks: per source key and night, the newest item creation time that night loaded completely. An extract for night N uses max(watermark) over nights before N (minus lookback_hours), else the backfill window. Only complete source keys are written, and a value only ever advances (GREATEST on re-load).';
COMMENT ON COLUMN ops.watermarks.source IS 'Extractor: reddit (news may follow).';
COMMENT ON COLUMN ops.watermarks.source_key IS 'What was paged, e.g. r/TikTokShop/new, search:TikTok Shop, search:TikTok Shop@r/Whatnot.';
COMMENT ON COLUMN ops.watermarks.night IS 'Logical date whose load advanced this mark.';
COMMENT ON COLUMN ops.watermarks.watermark IS 'Newest item created_at (UTC) such that every in-window item up to it landed with its comments.';
COMMENT ON COLUMN ops.watermarks.run_id IS 'Run whose load wrote (or last advanced) the mark.';
COMMENT ON COLUMN ops.watermarks.items IS 'Listing items read for this key in that run (for capacity planning).';
COMMENT ON COLUMN ops.watermarks.updated_at IS 'When the load wrote the mark (UTC).';
