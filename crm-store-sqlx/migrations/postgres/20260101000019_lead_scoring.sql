-- Lead scoring (issue 24). What each decided lead was counted as (JSON of
-- crm_core::scoring::Counted, NULL while open), the counts over those leads that every
-- conversion, loss and reopening changes in its own commit, and each team's calibration
-- (JSON of crm_core::scoring::Calibration), written by training. Team '' is everyone's.
ALTER TABLE leads ADD COLUMN counted_as TEXT;

CREATE TABLE score_counts (
    team  TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    won   BIGINT NOT NULL DEFAULT 0,
    lost  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team, field, value)
);

CREATE TABLE score_calibrations (
    team        TEXT PRIMARY KEY,
    calibration TEXT NOT NULL
);
