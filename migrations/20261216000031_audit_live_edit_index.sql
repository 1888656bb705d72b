-- Each refresh of a co-edited document's projection asks whether its editors already have
-- a "document.edit" entry in the last ten minutes. Without this index that question
-- walked the project's whole audit log, once per refresh: at a thousand documents
-- edited a second, most of the database's time.
CREATE INDEX audit_log_live_edits ON audit_log (object_id, actor_id, created_at DESC)
    WHERE action = 'document.edit';
