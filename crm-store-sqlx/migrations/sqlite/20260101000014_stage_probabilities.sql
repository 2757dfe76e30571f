-- Stage probabilities management stored (crm_core::stage_probability): every change is a
-- row, the newest per stage (highest seq) is in force, the older ones are its history. A
-- stage without a row keeps the host's configured probability. One INSERT per change, so a
-- change is atomic without a transaction of its own.
CREATE TABLE stage_probability_changes (
    seq         INTEGER NOT NULL PRIMARY KEY,
    stage       TEXT    NOT NULL
        CHECK (stage IN ('open', 'qualified', 'proposal', 'negotiation')),
    probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
    changed_by  INTEGER NOT NULL,
    -- Unix microseconds, like every time on SQLite.
    changed_at  INTEGER NOT NULL
);
-- The newest change of each stage.
CREATE INDEX stage_probability_changes_stage ON stage_probability_changes (stage, seq);
