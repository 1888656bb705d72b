-- An incident matched by words alone while matching was behind (a storm): it has its
-- candidates and waits, behind every incident not matched at all, to be matched by
-- meaning too.
ALTER TABLE incident_queue ADD COLUMN by_words boolean NOT NULL DEFAULT false;
DROP INDEX incident_queue_due;
CREATE INDEX incident_queue_due ON incident_queue (by_words, not_before);
