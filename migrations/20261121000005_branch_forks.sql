-- Branching: where a branch came from, and for each document the Markdown it had when
-- the branch was made (the base of three-way merges back). Documents created on the
-- branch have no fork base.
ALTER TABLE branches ADD COLUMN forked_from uuid REFERENCES branches (id) ON DELETE SET NULL;
ALTER TABLE branch_documents ADD COLUMN fork_base text;
