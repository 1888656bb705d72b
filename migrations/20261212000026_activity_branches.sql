-- The branch an entry's change was made on (documents live per branch), so the activity
-- links to the document where it is.
ALTER TABLE audit_log ADD COLUMN branch_id uuid REFERENCES branches (id) ON DELETE SET NULL;
