-- Ready host systems for hosts without their own: an employee directory and a clients
-- table. Hosts with their own HR or ERP system implement the ports instead and leave these
-- tables empty.
CREATE TABLE employees (
    id     bigint  NOT NULL PRIMARY KEY,         -- the host's employee id (positive)
    name   text    NOT NULL,
    role   text    NOT NULL,                     -- sales | manager | other
    active boolean NOT NULL
);

-- One client per converted lead: lead_id is the idempotency key of create_client.
CREATE TABLE clients (
    id         text        NOT NULL PRIMARY KEY,
    lead_id    uuid        NOT NULL UNIQUE,
    name       text        NOT NULL,
    email      text,
    phone      text,
    company    text,
    owner      bigint      NOT NULL,
    created_at timestamptz NOT NULL
);
