-- The event outbox, written in the same transaction as the change it describes.
--
-- seq is an identity column: the one sequence of the schema, and so the one hot spot on a
-- distributed database. The store takes a transaction-scoped advisory lock before it
-- appends events, so transactions append (and commit) in seq order: a consumer that
-- acknowledges up to n can never later see an event below n appear.
CREATE TABLE events (
    seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      uuid        NOT NULL,                -- EventId (consumers deduplicate on it)
    at      timestamptz NOT NULL,
    lead_id uuid        NOT NULL,
    actor   bigint,
    kind    text        NOT NULL                 -- JSON of crm_core::EventKind
);

-- The consumer's watermark: every event with seq <= acked is acknowledged. One row.
CREATE TABLE event_ack (
    id    integer NOT NULL PRIMARY KEY CHECK (id = 1),
    acked bigint  NOT NULL
);
INSERT INTO event_ack (id, acked) VALUES (1, 0);
