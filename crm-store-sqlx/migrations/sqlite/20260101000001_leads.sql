-- Leads: one row per lead, with the columns every query filters on.
--
-- Ids are UUID v7 stored as 16-byte BLOBs: SQLite compares BLOBs with memcmp, so
-- `ORDER BY id` is the byte order of the UUID, the order of `crm_core::LeadId`.
-- Times are INTEGER unix microseconds (UTC): SQL comparison orders them exactly.
CREATE TABLE leads (
    id                    BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    name                  TEXT    NOT NULL,
    email                 TEXT,              -- normalised (crm_core::Email): duplicate detection
    phone                 TEXT,              -- normalised (crm_core::Phone): duplicate detection
    company               TEXT,
    source                TEXT    NOT NULL,  -- slug
    status                TEXT    NOT NULL,  -- new | contacted | interested | converted | lost
    owner                 INTEGER NOT NULL,  -- the host's employee id
    created_by            INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL CHECK (version > 0),
    client_id             TEXT,              -- set once the clients system confirmed
    lost_reason           TEXT,
    last_interaction_at   INTEGER,
    follow_up_notified_at INTEGER,
    search_text           TEXT    NOT NULL   -- Lead::search_text(): what listing search matches
);

-- Listing without a status or owner filter (also with a source filter or a search, which
-- are checked row by row while walking it): keyset pagination on (created_at, id), read
-- backwards for newest first. Also the report's created_at range.
CREATE INDEX leads_created ON leads (created_at, id);

-- Listing filtered by status: equality on status, then the same keyset.
CREATE INDEX leads_status_created ON leads (status, created_at, id);

-- Listing filtered by owner, and the report filtered by owner.
CREATE INDEX leads_owner_created ON leads (owner, created_at, id);

-- The report: GROUP BY status, source walks this index in group order without a sort, and
-- owner and created_at are in the index, so its filters never touch the table (covering).
CREATE INDEX leads_report ON leads (status, source, owner, created_at);

-- Duplicate detection: open leads by normalised email and by normalised phone, oldest
-- (created_at, id) first. Partial: closed leads never block, so they are not indexed.
CREATE INDEX leads_open_email ON leads (email, created_at, id)
    WHERE status IN ('new', 'contacted', 'interested');
CREATE INDEX leads_open_phone ON leads (phone, created_at, id)
    WHERE status IN ('new', 'contacted', 'interested');

-- The follow-up sweep: only leads still due are in this partial index, oldest first, so the
-- sweep reads exactly the due leads up to its cutoff.
CREATE INDEX leads_follow_up_due ON leads (created_at, id)
    WHERE status = 'new' AND last_interaction_at IS NULL AND follow_up_notified_at IS NULL;
