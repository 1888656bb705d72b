-- The lint findings a change request had when it merged: its page shows them as they
-- were, whatever its source branch holds later.
ALTER TABLE change_requests ADD COLUMN merged_findings jsonb;
