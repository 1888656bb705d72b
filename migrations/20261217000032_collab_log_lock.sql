-- A document's update log is ordered by a lock of its own, no longer by its
-- `branch_documents` row. Appends held that row `FOR UPDATE` until their commit, and the
-- projection's UPDATE of the same row (its Markdown) held it until its own: under
-- co-editing load every document's next append waited behind its projection's commit
-- and WAL flush, and the projection behind the appends. An append now takes the
-- document's log lock (an advisory lock, for the transaction) and holds the row only
-- `FOR KEY SHARE`: the row still cannot be deleted under it, but its columns may change.
-- Compaction takes the log lock too (and the row `FOR UPDATE`, which also keeps it
-- apart from appends by instances from before this migration).
CREATE FUNCTION collab_log_lock(p_branch uuid, p_document uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended(p_branch::text || p_document::text, 16))
$$;

CREATE OR REPLACE FUNCTION collab_append_many(
    p_branches uuid[], p_documents uuid[], p_afters bigint[],
    p_owners integer[], p_updates bytea[], p_instance text)
RETURNS TABLE (out_document integer, out_seq bigint, out_update bytea)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    snapshot_seq bigint;
    snapshot_state bytea;
    seen bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_documents, 1), 0) LOOP
        PERFORM collab_log_lock(p_branches[i], p_documents[i]);
        PERFORM 1 FROM branch_documents
        WHERE branch_id = p_branches[i] AND document_id = p_documents[i] FOR KEY SHARE;
        -- A document deleted meanwhile gets no rows; the caller reports it.
        CONTINUE WHEN NOT FOUND;

        seen := p_afters[i];
        snapshot_seq := NULL;
        SELECT s.seq, s.state INTO snapshot_seq, snapshot_state
        FROM document_snapshots s WHERE s.branch_id = p_branches[i] AND s.document_id = p_documents[i];
        IF snapshot_seq IS NOT NULL AND snapshot_seq > seen THEN
            out_document := i;
            out_seq := snapshot_seq;
            out_update := snapshot_state;
            RETURN NEXT;
            seen := snapshot_seq;
        END IF;

        RETURN QUERY
            SELECT i, u.seq, u."update" FROM document_updates u
            WHERE u.branch_id = p_branches[i] AND u.document_id = p_documents[i] AND u.seq > seen
            ORDER BY u.seq;

        -- Ours come back with no bytes: the caller has them.
        RETURN QUERY
            INSERT INTO document_updates (branch_id, document_id, "update")
            SELECT p_branches[i], p_documents[i], pending.bytes
            FROM unnest(p_updates, p_owners) WITH ORDINALITY AS pending (bytes, owner, n)
            WHERE pending.owner = i
            ORDER BY pending.n
            RETURNING i, document_updates.seq, NULL::bytea;

        -- When it was stored (microseconds since the epoch, by the database's clock): the
        -- instances that catch up measure how long the news took to reach them.
        PERFORM pg_notify('charter_collab', p_instance || ':' || p_branches[i] || ':' || p_documents[i]
            || ':' || floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    END LOOP;
END
$$;
