-- Comments on a line become threads: replies answer the thread's first comment, which
-- is resolved (or reopened) for the whole thread. A line is counted in the text before
-- the change (a removed line, `old`) or after it (`new`).
ALTER TABLE change_request_comments
    ADD COLUMN side        text NOT NULL DEFAULT 'new' CHECK (side IN ('old', 'new')),
    ADD COLUMN reply_to    uuid REFERENCES change_request_comments (id) ON DELETE CASCADE,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolved_by uuid REFERENCES users (id),
    ADD CONSTRAINT replies_are_not_resolved CHECK (reply_to IS NULL OR resolved_at IS NULL);
