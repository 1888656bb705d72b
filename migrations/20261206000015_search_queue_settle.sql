-- When a document was queued: the indexer takes a document once its oldest queued change
-- has waited a moment, with every change queued for it since, so a document being typed
-- in is indexed about once a second instead of at every projection.
ALTER TABLE search_queue ADD COLUMN queued_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX search_queue_document ON search_queue (branch_id, document_id);
