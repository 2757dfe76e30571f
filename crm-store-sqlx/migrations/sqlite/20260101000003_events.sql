-- The event outbox, written in the same transaction as the change it describes.
-- seq: AUTOINCREMENT never reuses a number, and SQLite has one writer at a time, so seq
-- order is commit order: a consumer that acknowledges up to n never skips an event.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      BLOB    NOT NULL,                -- EventId (consumers deduplicate on it)
    at      INTEGER NOT NULL,
    lead_id BLOB    NOT NULL,
    actor   INTEGER,
    kind    TEXT    NOT NULL                 -- JSON of crm_core::EventKind
);

-- The consumer's watermark: every event with seq <= acked is acknowledged. One row.
CREATE TABLE event_ack (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    acked INTEGER NOT NULL
);
INSERT INTO event_ack (id, acked) VALUES (1, 0);
