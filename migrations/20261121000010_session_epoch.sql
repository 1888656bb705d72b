-- Sessions carry the epoch their user had when they began; raising the user's epoch
-- ends every session started before (a password change ends the other sessions).
ALTER TABLE users ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;
