-- Spec structure: requirements keep an identity of their own, so a renamed ID or a
-- reworded text keeps its history; clarification questions, traceability reports, and
-- what merging a change request needs beyond approvals (lint override, confirmed
-- constitution bump).
CREATE TABLE requirements (
    id         uuid PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Each requirement as a branch has it now.
CREATE TABLE branch_requirements (
    branch_id      uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    requirement_id uuid NOT NULL REFERENCES requirements (id) ON DELETE CASCADE,
    key            text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL,
    acceptance     jsonb NOT NULL,
    priority       text,
    document_id    uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    line           integer NOT NULL,
    PRIMARY KEY (branch_id, requirement_id),
    UNIQUE (branch_id, key)
);

-- Each requirement as a version recorded it.
CREATE TABLE version_requirements (
    version_id     uuid NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    requirement_id uuid NOT NULL REFERENCES requirements (id) ON DELETE CASCADE,
    key            text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL,
    acceptance     jsonb NOT NULL,
    document_id    uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    PRIMARY KEY (version_id, requirement_id)
);

CREATE TABLE clarifications (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    branch_id   uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    question    text NOT NULL,
    -- The nth marker with this question in the document (from 0).
    occurrence  integer NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered', 'withdrawn')),
    answer      text,
    answered_by uuid REFERENCES users (id),
    answered_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clarifications_open ON clarifications (branch_id, document_id, question, occurrence)
    WHERE state = 'open';
CREATE INDEX clarifications_project ON clarifications (project_id, state);

CREATE TABLE traceability_reports (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    branch_id   uuid NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    commit      text NOT NULL,
    report      jsonb NOT NULL,
    uploaded_by uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX traceability_latest ON traceability_reports (project_id, branch_id, created_at DESC);

ALTER TABLE change_requests
    ADD COLUMN lint_override_reason text,
    ADD COLUMN lint_override_by uuid REFERENCES users (id),
    ADD COLUMN bump_confirmed text CHECK (bump_confirmed IN ('major', 'minor', 'patch')),
    ADD COLUMN bump_confirmed_by uuid REFERENCES users (id),
    -- The source as it was when the bump was confirmed: a later edit needs a new confirmation.
    ADD COLUMN bump_digest bytea;
