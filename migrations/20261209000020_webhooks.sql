-- Outgoing webhooks: addresses a project's owners register to be told of its events,
-- and the queue of deliveries to them (Standard Webhooks, signed, retried with backoff).

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    url         text NOT NULL CHECK (char_length(url) <= 2000),
    events      text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                    'change_request.opened', 'change_request.merged', 'incident.regression',
                    'requirement.added_from_incident']::text[]),
    -- The raw key: signing each delivery needs it, so it is kept as made.
    secret      bytea NOT NULL,
    description text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    created_by  uuid REFERENCES users ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_project ON webhooks (project_id, created_at);

-- One event for one webhook. Its id is the `webhook-id` header (receivers deduplicate by
-- it) and its payload the exact body sent, so every attempt signs and sends the same.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event           text NOT NULL CHECK (event IN ('change_request.opened', 'change_request.merged',
                        'incident.regression', 'requirement.added_from_incident', 'ping')),
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- Due then; a sender pushes it forward before sending, so a crash retries it.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Until then a sender holds it (an attempt is under way): no retry by hand sends it twice.
    leased_until    timestamptz,
    -- Its webhook is inactive: kept out of the senders' index until it is active again.
    paused          boolean NOT NULL DEFAULT false,
    last_status     integer,
    last_error      text CHECK (char_length(last_error) <= 300),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending' AND NOT paused;
CREATE INDEX webhook_deliveries_listing ON webhook_deliveries (webhook_id, created_at DESC);
-- Finished deliveries are forgotten after 30 days.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE state <> 'pending';
