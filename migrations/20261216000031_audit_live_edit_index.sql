-- Each refresh of a co-edited document's projection asks whether its editors already have
-- a "document.edit" entry in the last ten minutes. Without this index that question
-- scanned the whole audit log, every project's, once per refresh: 25-42 ms each at
-- 200,000 entries (docs/benchmarks.md).
CREATE INDEX audit_log_live_edits ON audit_log (object_id, actor_id, created_at DESC)
    WHERE action = 'document.edit';
