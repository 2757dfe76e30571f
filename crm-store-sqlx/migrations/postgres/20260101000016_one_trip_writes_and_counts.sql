-- PostgreSQL performance (issue 9): what lets a lead write be one statement, and the
-- report read kept counts instead of every lead.

-- The duplicate check of a lead write, for the one statement the write is (see
-- `postgres/writes.rs`): first the transaction-scoped advisory locks on the normalised
-- email and phone (`keys`, sorted by the caller), held until the write commits, so two
-- writers of the same contact data check one after the other; then the oldest open lead
-- other than `lead` with the email (probe 0) and with the phone (probe 1).
-- VOLATILE and plpgsql on purpose: in READ COMMITTED a volatile function takes a fresh
-- snapshot for each of its statements, so the probe, run after the locks are held, sees a
-- lead that a writer holding them committed in the meantime (a plain subquery of the
-- write would see only the snapshot its statement started with). The probe is
-- `lead_writes::duplicate_probe!`, the one SQLite runs.
CREATE FUNCTION crm_open_duplicates(keys bigint[], email text, phone text, lead uuid)
RETURNS TABLE (probe bigint, found uuid)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) AS t (k) ORDER BY k;
    RETURN QUERY
        SELECT CAST(0 AS BIGINT), by_email.id FROM (SELECT l.id FROM leads l
            WHERE l.email = crm_open_duplicates.email
              AND (l.status = 'new' OR l.status = 'contacted' OR l.status = 'interested')
              AND l.id <> crm_open_duplicates.lead
            ORDER BY l.created_at, l.id LIMIT 1) AS by_email
        UNION ALL
        SELECT CAST(1 AS BIGINT), by_phone.id FROM (SELECT l.id FROM leads l
            WHERE l.phone = crm_open_duplicates.phone
              AND (l.status = 'new' OR l.status = 'contacted' OR l.status = 'interested')
              AND l.id <> crm_open_duplicates.lead
            ORDER BY l.created_at, l.id LIMIT 1) AS by_phone;
END
$$;

-- Report counts: leads per (owner, source, status), each bucket spread over 8 shard rows
-- by the lead's id (its last byte, random in a UUID v7), kept by triggers in the
-- transaction of every lead write. The report without a creation-date range sums at most
-- owners x sources x statuses x 8 rows, however many leads there are; two concurrent
-- writes contend on a count row only when they move leads of the same owner, source and
-- status whose ids fall in the same shard (1 in 8), never on one row every write updates.
-- A lead's shard never changes, so each shard row's count stays >= 0.
CREATE TABLE lead_counts (
    owner  bigint   NOT NULL,
    source text     NOT NULL,
    status text     NOT NULL,
    shard  smallint NOT NULL,
    n      bigint   NOT NULL CHECK (n >= 0),
    PRIMARY KEY (owner, source, status, shard)
);

CREATE FUNCTION lead_counts_shard(id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$ SELECT CAST(get_byte(uuid_send(id), 15) % 8 AS smallint) $$;

-- Moves one lead between buckets. A merged lead (`merged_into`, migration 12) is in none:
-- it leaves every report. A move takes its two rows in key order, so two moves in opposite
-- directions (owner 1 -> 2 and 2 -> 1) cannot deadlock.
CREATE FUNCTION lead_counts_move() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_in boolean := false;
    old_in boolean := false;
    add_first boolean := true;
BEGIN
    -- NEW is not set in a DELETE trigger, nor OLD in an INSERT one: read each only when set.
    IF TG_OP <> 'DELETE' THEN
        new_in := NEW.merged_into IS NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_in := OLD.merged_into IS NULL;
    END IF;
    IF new_in AND old_in THEN
        add_first := (NEW.owner, NEW.source, NEW.status) < (OLD.owner, OLD.source, OLD.status);
    END IF;
    IF new_in AND add_first THEN
        INSERT INTO lead_counts (owner, source, status, shard, n)
            VALUES (NEW.owner, NEW.source, NEW.status, lead_counts_shard(NEW.id), 1)
            ON CONFLICT (owner, source, status, shard) DO UPDATE SET n = lead_counts.n + 1;
    END IF;
    IF old_in THEN
        UPDATE lead_counts SET n = n - 1
            WHERE owner = OLD.owner AND source = OLD.source AND status = OLD.status
              AND shard = lead_counts_shard(OLD.id);
    END IF;
    IF new_in AND NOT add_first THEN
        INSERT INTO lead_counts (owner, source, status, shard, n)
            VALUES (NEW.owner, NEW.source, NEW.status, lead_counts_shard(NEW.id), 1)
            ON CONFLICT (owner, source, status, shard) DO UPDATE SET n = lead_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_counts_move();
-- Fires only for writes that set one of the four columns, and only counts a real move.
CREATE TRIGGER lead_counts_update AFTER UPDATE OF owner, source, status, merged_into ON leads
    FOR EACH ROW
    WHEN (OLD.owner IS DISTINCT FROM NEW.owner OR OLD.source IS DISTINCT FROM NEW.source
          OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.merged_into IS DISTINCT FROM NEW.merged_into)
    EXECUTE FUNCTION lead_counts_move();
-- The store never deletes leads; a host that prunes its database keeps the counts right.
CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_counts_move();

-- The triggers' lock on `leads` (held until the migration commits) keeps any write from
-- landing between them and this backfill.
INSERT INTO lead_counts (owner, source, status, shard, n)
    SELECT owner, source, status, lead_counts_shard(id), COUNT(*)
    FROM leads WHERE merged_into IS NULL
    GROUP BY owner, source, status, lead_counts_shard(id);
