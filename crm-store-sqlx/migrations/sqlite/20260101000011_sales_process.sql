-- The sales process (issue 10, part B): lost-reason codes, next follow-up times with overdue
-- reminders, escalation to the owner's manager, opportunity probabilities, and the status
-- periods that time in status is computed from.

-- Lost leads carry a code from the host's list; lost_reason keeps the free-text detail.
-- Leads lost before codes existed get `other`, their text staying as the detail.
ALTER TABLE leads ADD COLUMN lost_reason_code TEXT;
UPDATE leads SET lost_reason_code = 'other' WHERE status = 'lost';

-- Follow-ups (crm_core::follow_up): the next follow-up time, the time the owner was last
-- reminded of (once per time), and when the owner was last notified of either kind (what
-- escalation counts from); escalated_for is the notification that was escalated (once each).
ALTER TABLE leads ADD COLUMN next_follow_up_at INTEGER;
ALTER TABLE leads ADD COLUMN follow_up_reminded_for INTEGER;
ALTER TABLE leads ADD COLUMN owner_notified_at INTEGER;
ALTER TABLE leads ADD COLUMN escalated_for INTEGER;
UPDATE leads SET owner_notified_at = follow_up_notified_at;

-- The sweep's overdue reminders: only open leads with a follow-up time, by that time.
CREATE INDEX leads_follow_up_next ON leads (next_follow_up_at, id)
    WHERE next_follow_up_at IS NOT NULL AND status IN ('new', 'contacted', 'interested');
-- The sweep's escalations: only open leads whose owner was notified, by that time.
CREATE INDEX leads_owner_notified ON leads (owner_notified_at, id)
    WHERE owner_notified_at IS NOT NULL AND status IN ('new', 'contacted', 'interested');

-- The follow-up time an interaction set on its lead.
ALTER TABLE interactions ADD COLUMN next_follow_up_at INTEGER;

-- A probability (whole percent) overriding the stage's while the deal is open.
ALTER TABLE opportunities ADD COLUMN probability INTEGER
    CHECK (probability IS NULL OR probability BETWEEN 0 AND 100);
-- The pipeline report joins opportunities to their lead's owner and groups them.
CREATE INDEX opportunities_close ON opportunities (expected_close, lead_id);

-- The employee's manager (escalations go to them).
ALTER TABLE employees ADD COLUMN manager INTEGER;

-- One row per stay of a lead in a status: entered and left (NULL while it lasts), unix
-- microseconds on both backends, so the time-in-status report subtracts integers the same
-- way on each. Written with every lead write that creates the lead or moves its status.
CREATE TABLE lead_status_periods (
    lead_id    BLOB    NOT NULL REFERENCES leads (id),
    entered_us INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    left_us    INTEGER,
    PRIMARY KEY (lead_id, entered_us, status)
) WITHOUT ROWID;

-- The stays so far, from the stored history (creation, then each status change).
INSERT OR IGNORE INTO lead_status_periods (lead_id, entered_us, status, left_us)
SELECT lead_id, at, status,
       LEAD(at) OVER (PARTITION BY lead_id ORDER BY write_version, ord)
FROM (SELECT lead_id, write_version, ord, at,
             CASE json_extract(change, '$.type') WHEN 'created' THEN 'new'
                  ELSE json_extract(change, '$.to') END AS status
      FROM lead_history
      WHERE json_extract(change, '$.type') IN ('created', 'status_changed'));
