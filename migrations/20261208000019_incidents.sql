-- Production feedback: incidents and alerts that ops tools report, deduplicated per
-- source and key, matched to the requirements they touch.

-- A tool's signing secret for a project (Sentry, PagerDuty and Grafana sign what they
-- send; Alertmanager and OTLP exporters authenticate with an API token instead). The
-- secret must be kept as given: verifying an HMAC needs it.
CREATE TABLE integrations (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    tool       text NOT NULL CHECK (tool IN ('sentry', 'pagerduty', 'grafana')),
    secret     bytea NOT NULL,
    set_by     uuid REFERENCES users ON DELETE SET NULL,
    set_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, tool)
);

CREATE TABLE incidents (
    id               uuid PRIMARY KEY,
    project_id       uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    source           text NOT NULL,
    -- What the source calls it: alert fingerprint, Sentry issue, PagerDuty incident...
    key              text NOT NULL,
    -- The source's own id when it is not the key (a report grouped by fingerprint).
    external_id      text,
    title            text NOT NULL,
    description      text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    service          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('firing', 'resolved')),
    -- Triage: open until someone links it to requirements or dismisses it.
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'linked', 'dismissed')),
    dismissed_reason text,
    labels           jsonb NOT NULL DEFAULT '{}',
    url              text,
    occurrences      integer NOT NULL DEFAULT 1,
    -- What the latest signal did to it (written by the same statement, so it is told
    -- without a second look).
    last_event       text NOT NULL DEFAULT 'opened'
                     CHECK (last_event IN ('opened', 'repeated', 'resolved', 'reopened')),
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    first_seen       timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, source, key),
    CHECK ((state = 'dismissed') = (dismissed_reason IS NOT NULL))
);
CREATE INDEX incidents_listing ON incidents (project_id, last_seen DESC);

-- An incident's timeline: each time it fired, repeated, resolved or reopened.
CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id uuid NOT NULL REFERENCES incidents ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('opened', 'repeated', 'resolved', 'reopened')),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- Deliveries already taken: a tool's retry of one is acknowledged and changes nothing.
CREATE TABLE incident_deliveries (
    project_id  uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    source      text NOT NULL,
    delivery    text NOT NULL,
    -- What it made, in its order: a replay answers with them.
    incidents   uuid[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source, delivery)
);
-- Old deliveries are forgotten (a tool retries for hours, not weeks).
CREATE INDEX incident_deliveries_received ON incident_deliveries (received_at);

-- Incidents to match against the requirements (new, or changed in what they say): the
-- queue lives here so a crash right after accepting loses nothing.
CREATE TABLE incident_queue (
    incident_id uuid PRIMARY KEY REFERENCES incidents ON DELETE CASCADE,
    -- When it was last queued: a matcher removes the row only if it is still the one it took.
    queued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Not before then: a matcher holds what it took for a while, a failure waits longer.
    not_before  timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0
);
CREATE INDEX incident_queue_due ON incident_queue (not_before);

-- What matching suggested, best first.
CREATE TABLE incident_candidates (
    incident_id    uuid NOT NULL REFERENCES incidents ON DELETE CASCADE,
    requirement_id uuid NOT NULL REFERENCES requirements ON DELETE CASCADE,
    rank           integer NOT NULL,
    score          real NOT NULL,
    PRIMARY KEY (incident_id, requirement_id)
);

-- What people confirmed.
CREATE TABLE incident_links (
    incident_id    uuid NOT NULL REFERENCES incidents ON DELETE CASCADE,
    requirement_id uuid NOT NULL REFERENCES requirements ON DELETE CASCADE,
    linked_by      uuid REFERENCES users ON DELETE SET NULL,
    linked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, requirement_id)
);
CREATE INDEX incident_links_requirement ON incident_links (requirement_id);
