-- Embedding providers per project, re-index jobs, and vectors that name their model.

-- Which model made an entry's embedding: vectors of two models never meet (an entry
-- reuses another's embedding only when the model is the same).
ALTER TABLE search_entries ADD COLUMN model text;
UPDATE search_entries SET model = (SELECT model FROM search_model) WHERE embedding IS NOT NULL;
UPDATE search_entries SET embedding = NULL WHERE model IS NULL;
ALTER TABLE search_entries ADD CONSTRAINT search_entries_model_named CHECK ((embedding IS NULL) = (model IS NULL));

-- A project's own provider (`{"provider": "openai", "url": …}`); NULL: the server's.
-- `embedding_model` names the model its vectors are made by now, the server's model
-- for projects that use the server's (set as the server adopts its model), NULL while
-- the project has none.
ALTER TABLE projects ADD COLUMN embedding jsonb, ADD COLUMN embedding_model text;
UPDATE projects SET embedding_model = (SELECT model FROM search_model);
DROP TABLE search_model;

-- Background jobs; for now, re-embedding a project's entries after its provider changed.
CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('reindex')),
    state       text NOT NULL CHECK (state IN ('running', 'done', 'failed', 'superseded')),
    -- The model the job embeds with.
    model       text NOT NULL,
    error       text,
    started_by  uuid REFERENCES users ON DELETE SET NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX jobs_project ON jobs (project_id, started_at DESC);
-- One running job per project: starting another supersedes it in the same transaction.
CREATE UNIQUE INDEX jobs_one_running ON jobs (project_id) WHERE state = 'running';

