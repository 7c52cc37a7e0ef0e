-- 011: a news outlet named in the text ("according to Reuters"; gazetteer kind `media`) is a
-- source, not a subject. From this migration on the loader (warehouse/load.py SOURCE_KINDS) writes
-- no core.entity_sentiment row for such entities; their mentions stay in core.mentions. Every
-- trend figure counts core.entity_sentiment (marts.daily_entity_stats, alerts, the newsletter),
-- so outlets no longer rank as "top entities" or "rising". Rows loaded before are removed here,
-- from the table and from the mart built on it, so old and new nights follow one rule.
DELETE FROM core.entity_sentiment
WHERE entity_id IN (SELECT entity_id FROM core.entities WHERE kind = 'media');
DELETE FROM marts.daily_entity_stats WHERE kind = 'media';
COMMENT ON TABLE core.entity_sentiment IS 'Per document and entity: how often it is mentioned and the sentiment around it. Entities of kind media (news outlets named in the text: sources, not subjects) get no row; their mentions are in core.mentions (migration 011).';
