-- Write checks. A write reaches SQLite as one script, BEGIN IMMEDIATE to COMMIT, in one
-- round trip (see src/sqlite.rs: the round trips to sqlx's worker thread cost more than
-- SQLite's own work). A script cannot branch, so each check is an insert into this table
-- that happens only when the check fails, e.g.
--     INSERT INTO write_checks (lead_unchanged) SELECT 1 WHERE changes() = 0;
-- and the column's named CHECK constraint refuses it: the script stops before COMMIT with
-- "CHECK constraint failed: lead_unchanged", the store explains the failure inside the
-- still open transaction, and rolls it back. The table never holds a row.
CREATE TABLE write_checks (
    lead_unchanged        INTEGER CONSTRAINT lead_unchanged CHECK (lead_unchanged IS NULL),
    duplicate             INTEGER CONSTRAINT duplicate CHECK (duplicate IS NULL),
    opportunity_unchanged INTEGER CONSTRAINT opportunity_unchanged
                                  CHECK (opportunity_unchanged IS NULL),
    nothing_pending       INTEGER CONSTRAINT nothing_pending CHECK (nothing_pending IS NULL)
);
