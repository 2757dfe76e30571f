-- Ready host systems for hosts without their own: an employee directory and a clients
-- table. Hosts with their own HR or ERP system implement the ports instead and leave these
-- tables empty.
CREATE TABLE employees (
    id     INTEGER NOT NULL PRIMARY KEY,     -- the host's employee id (positive)
    name   TEXT    NOT NULL,
    role   TEXT    NOT NULL,                 -- sales | manager | other
    active INTEGER NOT NULL                  -- 0 or 1
);

-- One client per converted lead: lead_id is the idempotency key of create_client.
CREATE TABLE clients (
    id         TEXT    NOT NULL PRIMARY KEY,
    lead_id    BLOB    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    email      TEXT,
    phone      TEXT,
    company    TEXT,
    owner      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
