-- Change requests (like pull requests) from a source branch into a target branch, their
-- reviews and discussion, and the project settings that govern merging.

ALTER TABLE projects
    ADD COLUMN required_approvals integer NOT NULL DEFAULT 1 CHECK (required_approvals BETWEEN 0 AND 10),
    ADD COLUMN protect_main boolean NOT NULL DEFAULT false;

-- A document's place in the tree when its branch was made, beside fork_base (its text):
-- what tells renames, moves and deletions on the branch from changes on the target.
ALTER TABLE branch_documents
    ADD COLUMN fork_title text,
    ADD COLUMN fork_parent_id uuid,
    ADD COLUMN fork_deleted boolean;

CREATE TABLE change_requests (
    id               uuid PRIMARY KEY,
    project_id       uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number           integer NOT NULL,
    source_branch_id uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    target_branch_id uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'closed')),
    author_id        uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, number)
);

CREATE TABLE reviews (
    id                uuid PRIMARY KEY,
    change_request_id uuid NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
    reviewer_id       uuid NOT NULL REFERENCES users (id),
    verdict           text NOT NULL CHECK (verdict IN ('approve', 'request_changes')),
    comment           text NOT NULL DEFAULT '',
    -- The source branch as reviewed: a later edit changes it, and the review is stale.
    source_digest     bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_change_request ON reviews (change_request_id, created_at);

CREATE TABLE change_request_comments (
    id                uuid PRIMARY KEY,
    change_request_id uuid NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
    author_id         uuid NOT NULL REFERENCES users (id),
    body              text NOT NULL,
    document_id       uuid REFERENCES documents (id) ON DELETE CASCADE,
    line              integer CHECK (line > 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_request_comments_change_request ON change_request_comments (change_request_id, created_at);
