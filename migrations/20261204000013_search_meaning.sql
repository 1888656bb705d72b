-- Search by meaning: each index entry gets an embedding, a unit vector whose nearness
-- to another is nearness of meaning. The indexer writes entries without one; a
-- background worker fills them in, so the entries still lacking one are the queue
-- (in Postgres: a crash loses nothing, and full-text search never waits for it).
--
-- `digest` is the SHA-256 of the text embedded: entries with equal texts (a fork's
-- copies, a requirement moved within its document) share one embedding, copied from
-- each other instead of computed again.
ALTER TABLE search_entries
    ADD COLUMN digest bytea NOT NULL DEFAULT '\x',
    ADD COLUMN embedding vector;
ALTER TABLE search_entries ALTER COLUMN digest DROP DEFAULT;

CREATE INDEX search_entries_embedded ON search_entries (digest) WHERE embedding IS NOT NULL;
CREATE INDEX search_entries_unembedded ON search_entries (digest) WHERE embedding IS NULL;

-- Nearest neighbours by cosine distance. The column takes any dimension, so that a
-- provider of another dimension needs no schema change; each dimension in use gets an
-- index of its own (this one for the default local model, all-MiniLM-L6-v2).
CREATE INDEX search_entries_embedding_384 ON search_entries
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;

-- Which model made the stored embeddings: when the server's changes, they are all
-- made again.
CREATE TABLE search_model (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    model    text NOT NULL
);

-- Entries written before this have no digest: write them all again.
DELETE FROM search_entries;
INSERT INTO search_queue (branch_id, document_id) SELECT branch_id, document_id FROM branch_documents;
