-- Possible duplicates someone has looked at and judged distinct, with why: the report
-- leaves them out from then on. A pair is stored once, its smaller identity first, and
-- names requirements by identity, so a new ID or wording keeps the judgement.
CREATE TABLE duplicate_dismissals (
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    requirement_a uuid NOT NULL REFERENCES requirements (id) ON DELETE CASCADE,
    requirement_b uuid NOT NULL REFERENCES requirements (id) ON DELETE CASCADE,
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    dismissed_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    dismissed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, requirement_a, requirement_b),
    CHECK (requirement_a < requirement_b)
);
