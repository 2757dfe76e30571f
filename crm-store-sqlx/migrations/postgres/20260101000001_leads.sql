-- Leads: one row per lead, with the columns every query filters on.
--
-- Ids are UUID v7 (`uuid`, compared in byte order, the order of crm_core::LeadId): time
-- ordered for B-tree locality, and random enough in their low bits to spread across the
-- nodes of a distributed PostgreSQL-compatible database. Times are timestamptz
-- (microseconds, like the domain). Standard SQL only: no SQLite-isms, no sequences here.
CREATE TABLE leads (
    id                    uuid        NOT NULL PRIMARY KEY,
    name                  text        NOT NULL,
    email                 text,                  -- normalised (crm_core::Email): duplicate detection
    phone                 text,                  -- normalised (crm_core::Phone): duplicate detection
    company               text,
    source                text        NOT NULL,  -- slug
    status                text        NOT NULL,  -- new | contacted | interested | converted | lost
    owner                 bigint      NOT NULL,  -- the host's employee id
    created_by            bigint      NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               bigint      NOT NULL CHECK (version > 0),
    client_id             text,                  -- set once the clients system confirmed
    lost_reason           text,
    last_interaction_at   timestamptz,
    follow_up_notified_at timestamptz,
    search_text           text        NOT NULL   -- Lead::search_text(): what listing search matches
);

-- Listing without a status or owner filter (also with a source filter or a search, which
-- are checked row by row while walking it): keyset pagination on (created_at, id) DESC.
-- Also the report's created_at range.
CREATE INDEX leads_created ON leads (created_at DESC, id DESC);

-- Listing filtered by status: equality on status, then the same keyset.
CREATE INDEX leads_status_created ON leads (status, created_at DESC, id DESC);

-- Listing filtered by owner, and the report filtered by owner.
CREATE INDEX leads_owner_created ON leads (owner, created_at DESC, id DESC);

-- The report: GROUP BY status, source can be answered from this index alone (index-only
-- scan, already grouped), with owner and created_at filters checked in the index.
CREATE INDEX leads_report ON leads (status, source, owner, created_at);

-- Duplicate detection: open leads by normalised email and by normalised phone, oldest
-- (created_at, id) first. Partial: closed leads never block, so they are not indexed.
CREATE INDEX leads_open_email ON leads (email, created_at, id)
    WHERE status IN ('new', 'contacted', 'interested');
CREATE INDEX leads_open_phone ON leads (phone, created_at, id)
    WHERE status IN ('new', 'contacted', 'interested');

-- The follow-up sweep: a partial index holding only the leads still due (status 'new',
-- no interaction, not yet notified), oldest first, so the sweep reads exactly those.
CREATE INDEX leads_follow_up_due ON leads (created_at, id)
    WHERE status = 'new' AND last_interaction_at IS NULL AND follow_up_notified_at IS NULL;
