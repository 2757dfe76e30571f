-- Nothing on SQLite: migration 16 is PostgreSQL's one-statement writes and sharded report
-- counts; SQLite keeps its counts in `lead_counts` (migration 6) and writes each change as
-- one script. This file keeps the two backends' migration numbers in step.
SELECT 1;
