//! Giving a lead to another responsible employee.

use chrono::{DateTime, Utc};

use super::{check_assignee, check_change, lead_write};
use crate::employee::Employee;
use crate::error::CrmError;
use crate::events::EventKind;
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::permissions::Action;
use crate::write::LeadWrite;

/// Decides giving `lead` to `to` (`assignee`: what the directory returned for `to`). Sales
/// staff may hand over their own leads; management any lead.
pub fn decide_assign(
    lead: &Lead,
    actor: &Employee,
    expected_version: u64,
    to: EmployeeId,
    assignee: Option<&Employee>,
    now: DateTime<Utc>,
) -> Result<LeadWrite, CrmError> {
    check_change(lead, actor, Action::ReassignLead, Some(expected_version))?;
    check_assignee(to, assignee)?;
    let (new, change) = lead.reassigned(to, now)?;
    let event = EventKind::LeadAssigned {
        from: lead.owner(),
        to,
    };
    Ok(lead_write(new, actor.id, vec![change], event))
}
