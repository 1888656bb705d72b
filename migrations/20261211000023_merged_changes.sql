-- What a merged change request changed, kept when it merged: merging moves its source's
-- fork point, so the live comparison is empty afterwards. One object per changed
-- document: its id, title, kind, kinds of change, former title, and its text before
-- (the fork point) and after (the source as merged).
ALTER TABLE change_requests ADD COLUMN merged_changes jsonb;
