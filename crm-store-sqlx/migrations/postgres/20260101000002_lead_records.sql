-- What hangs off a lead: its history, interactions, opportunities, and the pending
-- "create client" record of a conversion. All are read per lead by the detail view, so each
-- is keyed or indexed by lead_id first, in the order the detail view returns them.

-- History, oldest first: (write_version, ord) is the lead version the write produced and the
-- entry's position inside that write. No global sequence, so no hot spot.
CREATE TABLE lead_history (
    lead_id       uuid        NOT NULL REFERENCES leads (id),
    write_version bigint      NOT NULL,
    ord           bigint      NOT NULL,
    version       bigint      NOT NULL,
    at            timestamptz NOT NULL,
    actor         bigint      NOT NULL,
    change        text        NOT NULL,          -- JSON of crm_core::Change
    PRIMARY KEY (lead_id, write_version, ord)
);

CREATE TABLE interactions (
    id          uuid        NOT NULL PRIMARY KEY,
    lead_id     uuid        NOT NULL REFERENCES leads (id),
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    logged_by   bigint      NOT NULL,
    logged_at   timestamptz NOT NULL,
    notes       text        NOT NULL
);
-- Detail view: a lead's interactions by (occurred_at, id).
CREATE INDEX interactions_lead ON interactions (lead_id, occurred_at, id);

-- Money is exact: integer minor units plus the ISO 4217 code.
CREATE TABLE opportunities (
    id             uuid        NOT NULL PRIMARY KEY,
    lead_id        uuid        NOT NULL REFERENCES leads (id),
    title          text        NOT NULL,
    value_minor    bigint      NOT NULL,
    currency       text        NOT NULL,
    expected_close date        NOT NULL,
    stage          text        NOT NULL,
    created_by     bigint      NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0)
);
-- Detail view: a lead's opportunities by (created_at, id).
CREATE INDEX opportunities_lead ON opportunities (lead_id, created_at, id);

-- One row per converted lead whose client is not yet created; deleted when it is.
CREATE TABLE pending_clients (
    lead_id         uuid        NOT NULL PRIMARY KEY REFERENCES leads (id),
    request         text        NOT NULL,        -- JSON of crm_core::ClientRequest
    created_at      timestamptz NOT NULL,
    attempts        bigint      NOT NULL DEFAULT 0,
    last_error      text,
    last_attempt_at timestamptz
);
-- dispatch_pending: oldest conversion first.
CREATE INDEX pending_clients_created ON pending_clients (created_at, lead_id);
