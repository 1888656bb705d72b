-- A change request merges once, so at most one version records it. Concurrent merges
-- could record several before merging claimed the change request: the first keeps the
-- link, later ones stay in the history as plain versions.
UPDATE versions v SET change_request_id = NULL
WHERE change_request_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM versions earlier
              WHERE earlier.change_request_id = v.change_request_id AND earlier.id < v.id);

CREATE UNIQUE INDEX versions_change_request_key ON versions (change_request_id) WHERE change_request_id IS NOT NULL;
