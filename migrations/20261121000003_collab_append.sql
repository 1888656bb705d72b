-- One round trip for a co-editing append: lock the document, return what other
-- instances stored after `p_after` (the snapshot if compaction folded those rows), append
-- the new updates in order, and notify other instances, all in the caller's transaction.
CREATE FUNCTION collab_append(p_branch uuid, p_document uuid, p_after bigint, p_updates bytea[], p_payload text)
RETURNS TABLE (out_seq bigint, out_update bytea)
LANGUAGE plpgsql AS $$
DECLARE
    snapshot_seq bigint;
    snapshot_state bytea;
    seen bigint := p_after;
BEGIN
    PERFORM 1 FROM branch_documents
    WHERE branch_id = p_branch AND document_id = p_document FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such document' USING ERRCODE = 'no_data_found';
    END IF;

    SELECT s.seq, s.state INTO snapshot_seq, snapshot_state
    FROM document_snapshots s WHERE s.branch_id = p_branch AND s.document_id = p_document;
    IF snapshot_seq IS NOT NULL AND snapshot_seq > p_after THEN
        out_seq := snapshot_seq;
        out_update := snapshot_state;
        RETURN NEXT;
        seen := snapshot_seq;
    END IF;

    RETURN QUERY
        SELECT u.seq, u."update" FROM document_updates u
        WHERE u.branch_id = p_branch AND u.document_id = p_document AND u.seq > seen
        ORDER BY u.seq;

    -- Ours come back with no bytes: the caller has them.
    RETURN QUERY
        INSERT INTO document_updates (branch_id, document_id, "update")
        SELECT p_branch, p_document, pending.bytes
        FROM unnest(p_updates) WITH ORDINALITY AS pending (bytes, n)
        ORDER BY pending.n
        RETURNING document_updates.seq, NULL::bytea;

    PERFORM pg_notify('charter_collab', p_payload);
END
$$;
