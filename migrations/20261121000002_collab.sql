-- Real-time editing: each document's content on a branch is yrs CRDT state, kept as an
-- append-only log of updates plus a compacted snapshot. branch_documents.content stays
-- as the Markdown projection, refreshed from this state.

CREATE TABLE document_updates (
    -- Global order; within one document, rows are appended under a lock on the
    -- document's branch_documents row, so per-document order is commit order.
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    branch_id   uuid NOT NULL,
    document_id uuid NOT NULL,
    "update"    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (branch_id, document_id) REFERENCES branch_documents (branch_id, document_id) ON DELETE CASCADE
);
CREATE INDEX document_updates_document ON document_updates (branch_id, document_id, seq);

CREATE TABLE document_snapshots (
    branch_id   uuid NOT NULL,
    document_id uuid NOT NULL,
    -- The whole state, as a v1 update; it includes every logged update with seq <= seq.
    state       bytea NOT NULL,
    seq         bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (branch_id, document_id),
    FOREIGN KEY (branch_id, document_id) REFERENCES branch_documents (branch_id, document_id) ON DELETE CASCADE
);
