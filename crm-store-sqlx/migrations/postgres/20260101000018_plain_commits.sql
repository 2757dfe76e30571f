-- Plain commits (issue 20): a write is one transaction of ordinary statements, each
-- precondition read by a SELECT and checked in Rust between them. The duplicate check of
-- the one-statement writes (migrations 16 and 17) is now the store's own probe, run after
-- the contact locks in a statement of its own (READ COMMITTED: a fresh snapshot), so the
-- function is gone.
DROP FUNCTION crm_open_duplicates(bigint[], text, text, uuid);
