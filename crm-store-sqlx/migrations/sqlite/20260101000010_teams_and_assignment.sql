-- Teams in the table-backed employee directory, and the assignment rules' rotation.
--
-- team: the employee's team (crm_core::Team, already folded), or NULL for none. The
-- visibility policies and the assignment rules look members up by team.
-- manages: the teams a manager leads, a JSON array of team names (read whole with the
-- employee, never filtered on).
ALTER TABLE employees ADD COLUMN team TEXT;
ALTER TABLE employees ADD COLUMN manages TEXT NOT NULL DEFAULT '[]';
CREATE INDEX employees_team ON employees (team) WHERE team IS NOT NULL;

-- Whom each assignment rule (crm_core::AssignmentRule::rotation_key) gave its last lead to.
-- A create takes its turn with a compare-and-set on last_owner in the transaction that
-- inserts the lead, so two concurrent creates never take the same turn.
CREATE TABLE assignment_rotations (
    rule       TEXT    NOT NULL PRIMARY KEY,
    last_owner INTEGER NOT NULL
);

-- The write check of a create whose turn a concurrent create took (see write_checks).
ALTER TABLE write_checks ADD COLUMN turn_taken INTEGER
    CONSTRAINT turn_taken CHECK (turn_taken IS NULL);
