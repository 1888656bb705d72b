-- Contracts: OpenAPI and JSON Schema documents, a kind of document like the others
-- (co-edited, branched, merged), whose text is YAML or JSON rather than Markdown.
ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('constitution', 'spec', 'plan', 'tasks', 'contract'));
