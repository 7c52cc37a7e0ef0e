-- 008 (issue 15, item 5): syndication. Near-duplicate news articles (the same wire story or press
-- release republished by several sites) form clusters, computed by transforms/syndication.py at
-- build_marts time (MinHash over word 5-shingles of the body, confirmed by exact Jaccard >= 0.5 or
-- containment >= 0.8) over the night's affected days and 7 days either side. Only articles in a
-- cluster of two or more have a row. The canonical member is the earliest published (ties: the
-- smallest doc_id) and its doc_id is the cluster_id; the other members are left out of the marts
-- and the newsletter's figures by the one document filter (warehouse/marts.py topic_filter), so a
-- cluster counts once. Natural key doc_id; no index (rows are swapped per window, see 001).
CREATE TABLE core.syndication (
    doc_id VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL,
    night DATE NOT NULL
);
COMMENT ON TABLE core.syndication IS 'Syndicated (near-duplicate) news articles: one row per article in a cluster of two or more; cluster_id is the canonical (earliest) member''s doc_id. Non-canonical members count nowhere in the marts or figures; the newsletter lists them as "also published by".';
COMMENT ON COLUMN core.syndication.doc_id IS 'Article (core.documents).';
COMMENT ON COLUMN core.syndication.cluster_id IS 'doc_id of the cluster''s earliest published article (ties: smallest doc_id); equal to doc_id for the canonical member.';
COMMENT ON COLUMN core.syndication.night IS 'Night whose build_marts last computed the row (a re-run of the night rewrites the same rows).';
