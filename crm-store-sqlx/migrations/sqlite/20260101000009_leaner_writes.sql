-- Leaner writes: fewer B-trees touched per call (see the crate README, "Performance notes").
-- Every rule is kept; only how the data is laid out changes.

-- 1. No covering report index: the report without a creation-date range reads the counts
-- the triggers of `..._lead_counts.sql` keep (0.3 ms at 100,000 leads; a GROUP BY over this
-- index took 25 ms), so `leads_report` served only reports with a date range, while every
-- insert and status change wrote it. Those now walk `leads_created` (the range) or
-- `leads_owner_created` (one owner).
DROP INDEX leads_report;

-- 2. Open leads as three comparisons, not `status IN (three values)`: SQLite builds a
-- temporary B-tree for an IN list of more than two values each time a statement evaluates
-- it, and every insert or status change of a lead evaluates the predicates of these two
-- partial indexes (EXPLAIN showed four temporary B-trees per status change). The duplicate
-- probes (crm-store-sqlx/src/lead_writes.rs) say "open" the same way, so they still use
-- these indexes.
DROP INDEX leads_open_email;
DROP INDEX leads_open_phone;
CREATE INDEX leads_open_email ON leads (email, created_at, id)
    WHERE (status = 'new' OR status = 'contacted' OR status = 'interested');
CREATE INDEX leads_open_phone ON leads (phone, created_at, id)
    WHERE (status = 'new' OR status = 'contacted' OR status = 'interested');

-- 3. The event outbox without AUTOINCREMENT: every append wrote `sqlite_sequence` too. The
-- store now gives each event the number after both the newest event and the acknowledged
-- watermark, so a number is never below what a consumer has acknowledged, even if a host
-- prunes old events (what AUTOINCREMENT guaranteed for us).
CREATE TABLE events_new (
    seq     INTEGER NOT NULL PRIMARY KEY,
    id      BLOB    NOT NULL,                -- EventId (consumers deduplicate on it)
    at      INTEGER NOT NULL,
    lead_id BLOB    NOT NULL,
    actor   INTEGER,
    kind    TEXT    NOT NULL                 -- JSON of crm_core::EventKind
);
INSERT INTO events_new (seq, id, at, lead_id, actor, kind)
    SELECT seq, id, at, lead_id, actor, kind FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

-- 4. Records keyed by their id as WITHOUT ROWID tables: a rowid table with a BLOB primary
-- key is two B-trees (the rows, and the key's index); keyed by the id it is one. Nothing
-- references these tables, so they are rebuilt in place.
CREATE TABLE interactions_new (
    id          BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    lead_id     BLOB    NOT NULL REFERENCES leads (id),
    kind        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    logged_by   INTEGER NOT NULL,
    logged_at   INTEGER NOT NULL,
    notes       TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO interactions_new SELECT id, lead_id, kind, occurred_at, logged_by, logged_at, notes
    FROM interactions;
DROP TABLE interactions;
ALTER TABLE interactions_new RENAME TO interactions;
-- Detail view: a lead's interactions by (occurred_at, id).
CREATE INDEX interactions_lead ON interactions (lead_id, occurred_at, id);

CREATE TABLE opportunities_new (
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
) WITHOUT ROWID;
INSERT INTO opportunities_new SELECT id, lead_id, title, value_minor, currency, expected_close,
    stage, created_by, created_at, updated_at, version FROM opportunities;
DROP TABLE opportunities;
ALTER TABLE opportunities_new RENAME TO opportunities;
-- Detail view: a lead's opportunities by (created_at, id).
CREATE INDEX opportunities_lead ON opportunities (lead_id, created_at, id);

CREATE TABLE pending_clients_new (
    lead_id         BLOB    NOT NULL PRIMARY KEY REFERENCES leads (id),
    request         TEXT    NOT NULL,        -- JSON of crm_core::ClientRequest
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER,
    claimed_until   INTEGER                  -- unix µs; NULL when free
) WITHOUT ROWID;
INSERT INTO pending_clients_new SELECT lead_id, request, created_at, attempts, last_error,
    last_attempt_at, claimed_until FROM pending_clients;
DROP TABLE pending_clients;
ALTER TABLE pending_clients_new RENAME TO pending_clients;
-- Dispatch: oldest conversion first.
CREATE INDEX pending_clients_created ON pending_clients (created_at, lead_id);

CREATE TABLE follow_up_notices_new (
    id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),  -- NoticeId, v7
    lead_id         BLOB    NOT NULL REFERENCES leads (id),
    notice          TEXT    NOT NULL,     -- JSON of crm_core::FollowUpNotice
    claimed_until   INTEGER NOT NULL,     -- unix µs; free once it has passed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER
) WITHOUT ROWID;
INSERT INTO follow_up_notices_new SELECT id, lead_id, notice, claimed_until, attempts,
    last_error, last_attempt_at FROM follow_up_notices;
DROP TABLE follow_up_notices;
ALTER TABLE follow_up_notices_new RENAME TO follow_up_notices;
