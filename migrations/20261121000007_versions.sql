-- History: every merge is a version of its target branch, with each document as it
-- stood after the merge.
CREATE TABLE versions (
    id                uuid PRIMARY KEY,
    project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    branch_id         uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    number            integer NOT NULL,
    message           text NOT NULL,
    author_id         uuid NOT NULL REFERENCES users (id),
    change_request_id uuid REFERENCES change_requests (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (branch_id, number)
);

CREATE TABLE version_documents (
    version_id  uuid NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    title       text NOT NULL,
    parent_id   uuid,
    position    integer NOT NULL,
    deleted     boolean NOT NULL,
    content     text NOT NULL,
    PRIMARY KEY (version_id, document_id)
);

ALTER TABLE change_requests
    ADD COLUMN merged_version_id uuid REFERENCES versions (id),
    ADD COLUMN merged_by uuid REFERENCES users (id),
    ADD COLUMN merged_at timestamptz;
