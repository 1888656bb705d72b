-- The search index: every document's requirements and sections, per branch, derived
-- from the Markdown projection. Writing a projection queues its document (a trigger,
-- so no writer can forget); a background indexer claims queued rows with SKIP LOCKED
-- and rewrites that document's entries, so indexing never holds up an edit and a
-- crash loses no queued work.
-- No foreign key: deleting a branch must not wait for rows an indexer has claimed; the
-- indexer drops rows whose document is gone.
CREATE TABLE search_queue (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    branch_id   uuid NOT NULL,
    document_id uuid NOT NULL
);

CREATE FUNCTION queue_for_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_queue (branch_id, document_id) VALUES (NEW.branch_id, NEW.document_id);
    RETURN NULL;
END $$;

CREATE TRIGGER branch_documents_queue_new AFTER INSERT ON branch_documents
    FOR EACH ROW EXECUTE FUNCTION queue_for_search();
CREATE TRIGGER branch_documents_queue_changed AFTER UPDATE OF content ON branch_documents
    FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content) EXECUTE FUNCTION queue_for_search();

-- What full-text search reads of an entry: its key and title weigh more than its text.
-- (Immutable in fact: `array_to_string` of text is only marked stable in general.)
CREATE FUNCTION search_terms(key text, title text, body text, scenarios text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english', coalesce(key, '') || ' ' || title), 'A')
        || setweight(to_tsvector('english', body || ' ' || array_to_string(scenarios, ' ')), 'B')
$$;

CREATE TABLE search_entries (
    branch_id   uuid NOT NULL,
    document_id uuid NOT NULL,
    -- Its place in the document's entries.
    ordinal     integer NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('requirement', 'section')),
    key         text,
    title       text NOT NULL,
    body        text NOT NULL,
    scenarios   text[] NOT NULL,
    priority    text,
    -- The headings above it, joined with ' › '.
    section     text NOT NULL,
    line        integer NOT NULL,
    terms       tsvector GENERATED ALWAYS AS (search_terms(key, title, body, scenarios)) STORED,
    PRIMARY KEY (branch_id, document_id, ordinal),
    FOREIGN KEY (branch_id, document_id) REFERENCES branch_documents ON DELETE CASCADE,
    CHECK ((kind = 'requirement') = (key IS NOT NULL))
);
CREATE INDEX search_entries_terms ON search_entries USING gin (terms);
CREATE INDEX search_entries_key ON search_entries (branch_id, upper(key)) WHERE key IS NOT NULL;

-- Documents written before the index: queue them all once.
INSERT INTO search_queue (branch_id, document_id) SELECT branch_id, document_id FROM branch_documents;
