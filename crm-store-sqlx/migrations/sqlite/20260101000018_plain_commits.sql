-- Plain commits (issue 20): a write is one transaction of ordinary statements, each
-- precondition read by a SELECT and checked in Rust between them. The one-round-trip
-- scripts that failed a check by inserting into `write_checks` (migration 5) are gone,
-- and the table with them.
DROP TABLE write_checks;
