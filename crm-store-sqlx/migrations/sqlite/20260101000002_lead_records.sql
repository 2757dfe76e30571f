-- What hangs off a lead: its history, interactions, opportunities, and the pending
-- "create client" record of a conversion. All are read per lead by the detail view, so each
-- is keyed or indexed by lead_id first, in the order the detail view returns them.

-- History, oldest first: (write_version, ord) is the lead version the write produced and the
-- entry's position inside that write. No global sequence, so no hot spot.
CREATE TABLE lead_history (
    lead_id       BLOB    NOT NULL REFERENCES leads (id),
    write_version INTEGER NOT NULL,
    ord           INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    actor         INTEGER NOT NULL,
    change        TEXT    NOT NULL,          -- JSON of crm_core::Change
    PRIMARY KEY (lead_id, write_version, ord)
) WITHOUT ROWID;

CREATE TABLE interactions (
    id          BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    lead_id     BLOB    NOT NULL REFERENCES leads (id),
    kind        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    logged_by   INTEGER NOT NULL,
    logged_at   INTEGER NOT NULL,
    notes       TEXT    NOT NULL
);
-- Detail view: a lead's interactions by (occurred_at, id).
CREATE INDEX interactions_lead ON interactions (lead_id, occurred_at, id);

-- Money is exact: integer minor units plus the ISO 4217 code.
CREATE TABLE opportunities (
    id             BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    lead_id        BLOB    NOT NULL REFERENCES leads (id),
    title          TEXT    NOT NULL,
    value_minor    INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    expected_close INTEGER NOT NULL,         -- days since 0001-01-01 (chrono num_days_from_ce)
    stage          TEXT    NOT NULL,
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL CHECK (version > 0)
);
-- Detail view: a lead's opportunities by (created_at, id).
CREATE INDEX opportunities_lead ON opportunities (lead_id, created_at, id);

-- One row per converted lead whose client is not yet created; deleted when it is.
CREATE TABLE pending_clients (
    lead_id         BLOB    NOT NULL PRIMARY KEY REFERENCES leads (id),
    request         TEXT    NOT NULL,        -- JSON of crm_core::ClientRequest
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER
);
-- dispatch_pending: oldest conversion first.
CREATE INDEX pending_clients_created ON pending_clients (created_at, lead_id);
