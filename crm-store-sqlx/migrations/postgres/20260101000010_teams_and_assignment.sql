-- Teams in the table-backed employee directory, and the assignment rules' rotation.
--
-- team: the employee's team (crm_core::Team, already folded), or NULL for none. The
-- visibility policies and the assignment rules look members up by team.
-- manages: the teams a manager leads, a JSON array of team names (read whole with the
-- employee, never filtered on; text, as on SQLite, so the statements are shared).
ALTER TABLE employees ADD COLUMN team text;
ALTER TABLE employees ADD COLUMN manages text NOT NULL DEFAULT '[]';
CREATE INDEX employees_team ON employees (team) WHERE team IS NOT NULL;

-- Whom each assignment rule (crm_core::AssignmentRule::rotation_key) gave its last lead to.
-- A create takes its turn with a compare-and-set on last_owner in the transaction that
-- inserts the lead, so two concurrent creates never take the same turn.
CREATE TABLE assignment_rotations (
    rule       text   NOT NULL PRIMARY KEY,
    last_owner bigint NOT NULL
);
