-- Issue 12: quarantine.documents holds per-document outcomes, not only the rows of failed batches.
-- Comments only: the key stays (run_id, doc_id); the loader replaces a document's earlier outcome
-- for the same night (another run) and drops it when the document loads, so each quarantined row
-- of a night has exactly one outcome.
COMMENT ON TABLE quarantine.documents IS 'Rows set aside, never published downstream: one row per document (or rejected row) and night, from a stage that set it aside alone (window, enrich, validate, load) or from a batch that failed a critical expectation.';
COMMENT ON COLUMN quarantine.documents.doc_id IS 'Document id; entity:<entity_id> for a rejected entity row; the doc_id named by orphan mention rows; missing-id:<hash> when the row had none.';
COMMENT ON COLUMN quarantine.documents.reasons IS 'Why: "<stage>: <reason>" for a row set aside alone (semicolon-separated when several), or the failed expectations / "batch failed: ..." for a failed batch.';
COMMENT ON COLUMN quarantine.documents.record IS 'The row as it arrived, as JSON: a list of every copy for a duplicated doc_id, {"mentions": [...]} for mention rows.';
