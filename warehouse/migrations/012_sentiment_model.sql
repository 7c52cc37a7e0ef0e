-- 012: which model scored each document's sentiment (transforms.sentiment.sentiment_model_ids),
-- e.g. 'embedding-65633ec6eb91' or 'lexicon-0f049a753a95'. Scores of two models do not compare:
-- the sentiment alerts (warehouse/alerts.py) compare a subject's recent documents only with
-- earlier documents scored by the models the night itself used, so a model upgrade does not
-- read as a swing in opinion. Rows loaded before this migration have NULL (unknown model): they
-- compare with each other, and not with documents scored after an upgrade.
ALTER TABLE core.documents ADD COLUMN sentiment_model VARCHAR;
COMMENT ON COLUMN core.documents.sentiment_model IS 'Model that scored the sentiment (its kind and a digest of its files, transforms.sentiment.sentiment_model_ids); NULL: loaded before migration 012, or no sentiment. Sentiment alerts compare only documents scored by the same models.';
