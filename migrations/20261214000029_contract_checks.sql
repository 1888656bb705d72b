-- The code's conformance to a contract: each check of an implementation's OpenAPI
-- document against the contract on a branch, worked out by Charter, with the commit the
-- code was built from. The latest per contract and branch is what pages show.
CREATE TABLE contract_checks (
    id uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    branch_id uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    commit_sha text NOT NULL,
    -- Each operation implemented, missing or drifted, and the operations only the code serves.
    outcome jsonb NOT NULL,
    checked_by uuid NOT NULL REFERENCES users (id),
    checked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contract_checks_latest ON contract_checks (document_id, branch_id, checked_at DESC);
