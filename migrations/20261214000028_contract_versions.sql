-- A contract's version bump in a change request: proposed from its API changes,
-- confirmed by a reviewer (for the source as it was then), stamped into `info.version`
-- by merging. One confirmation per contract the change request changes.
CREATE TABLE contract_bumps (
    change_request_id uuid NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    bump text NOT NULL CHECK (bump IN ('major', 'minor', 'patch')),
    confirmed_by uuid NOT NULL REFERENCES users (id),
    -- The source as it was when confirmed: a later edit needs a new confirmation.
    source_digest bytea NOT NULL,
    -- The version merging wrote.
    stamped_version text,
    PRIMARY KEY (change_request_id, document_id)
);

-- Whether a change request that breaks an API contract needs an owner's approval.
ALTER TABLE projects ADD COLUMN breaking_changes_need_owner boolean NOT NULL DEFAULT false;
