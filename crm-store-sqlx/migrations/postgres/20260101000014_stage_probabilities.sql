-- Stage probabilities management stored (crm_core::stage_probability): every change is a
-- row, the newest per stage (highest seq) is in force, the older ones are its history. A
-- stage without a row keeps the host's configured probability. One INSERT per change, so a
-- change is atomic without a transaction of its own.
CREATE TABLE stage_probability_changes (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stage       text        NOT NULL
        CHECK (stage IN ('open', 'qualified', 'proposal', 'negotiation')),
    probability bigint      NOT NULL CHECK (probability BETWEEN 0 AND 100),
    changed_by  bigint      NOT NULL,
    changed_at  timestamptz NOT NULL
);
-- The newest change of each stage.
CREATE INDEX stage_probability_changes_stage ON stage_probability_changes (stage, seq);
