-- The fingerprint of the documents a branch's requirements were last indexed from:
-- a server that kept what it worked out from them checks it is still what is stored
-- (another instance, or a merge, may have indexed the branch since).
ALTER TABLE branches ADD COLUMN requirements_fingerprint bigint;
