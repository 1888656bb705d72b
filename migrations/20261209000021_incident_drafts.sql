-- Incidents turned into requirement changes: each draft's change request and the
-- requirement it adds or amends (by identity, so a later rename keeps the provenance).
-- A draft whose change request merged is the requirement's provenance.
CREATE TABLE incident_drafts (
    id                uuid PRIMARY KEY,
    incident_id       uuid NOT NULL REFERENCES incidents ON DELETE CASCADE,
    -- Both unset while the draft is being made (its ID reserved), both set once it is.
    change_request_id uuid REFERENCES change_requests ON DELETE CASCADE,
    requirement_id    uuid REFERENCES requirements ON DELETE CASCADE,
    mode              text NOT NULL CHECK (mode IN ('new', 'amend')),
    -- The requirement's ID as drafted.
    key               text NOT NULL,
    -- The chat model that proposed the text; NULL when the template wrote it.
    proposed_by       text,
    created_by        uuid REFERENCES users ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- When its merge was announced (activity, outgoing webhooks); NULL until then.
    announced_at      timestamptz,
    CHECK ((change_request_id IS NULL) = (requirement_id IS NULL))
);
-- One draft of an incident in the making at a time.
CREATE UNIQUE INDEX incident_drafts_making ON incident_drafts (incident_id) WHERE change_request_id IS NULL;
CREATE INDEX incident_drafts_incident ON incident_drafts (incident_id);
CREATE INDEX incident_drafts_requirement ON incident_drafts (requirement_id);
CREATE INDEX incident_drafts_unannounced ON incident_drafts (change_request_id) WHERE announced_at IS NULL;

-- An incident that came back after the spec learnt from it: it fired again after its
-- draft merged (recurrence), or it is new and matches such a requirement (similar).
ALTER TABLE incidents
    ADD COLUMN regression_kind text CHECK (regression_kind IN ('recurrence', 'similar')),
    ADD COLUMN regression_requirement uuid REFERENCES requirements ON DELETE SET NULL,
    ADD COLUMN regression_at timestamptz,
    ADD CONSTRAINT incidents_regression_whole CHECK ((regression_kind IS NULL) = (regression_at IS NULL));
