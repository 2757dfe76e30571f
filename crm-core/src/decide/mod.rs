//! The decisions: one pure, synchronous function per use case, each in its own file. A
//! decision takes the current state (plain data the service loaded), the command, the acting
//! employee and the time, and returns the write to store or the refusal, in the manner of
//! cqrs-es's `handle`. It applies the rules where they live (the status table in
//! [`crate::status`], [`crate::permissions::authorize`], the lead's own changes in
//! [`crate::lead`]) and restates none of them; [`crate::Crm`] only loads, decides, stores and
//! calls the host's ports. Decisions are tested without a runtime or a store
//! (`crm-core/tests/decisions.rs`).

mod assign;
mod capture;
mod create;
mod edit;
mod import;
mod interaction;
mod opportunity;
mod status_change;

pub use assign::decide_assign;
pub use capture::{CaptureContext, decide_capture};
pub use create::{decide_create, decide_create_assigned};
pub use edit::decide_edit;
pub use import::{ImportContext, OpenLeads, Rotation, plan_import_batch};
pub use interaction::decide_interaction;
pub use opportunity::{decide_add_opportunity, decide_opportunity_update};
pub use status_change::decide_status_change;

use crate::employee::Employee;
use crate::error::{AssigneeProblem, CrmError, Entity};
use crate::events::{EventKind, NewEvent};
use crate::history::{Change, HistoryEntry};
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::permissions::{Action, authorize, can_own_leads};
use crate::write::LeadWrite;

/// The checks every change of an existing lead passes, in this order: the actor may do
/// `action` to this lead, the lead is not read-only, and it is still at the version the
/// caller read (when the change carries one).
pub fn check_change(
    lead: &Lead,
    actor: &Employee,
    action: Action,
    expected_version: Option<u64>,
) -> Result<(), CrmError> {
    authorize(actor, action, Some(lead.owner())).map_err(CrmError::from)?;
    if lead.is_read_only() {
        return Err(CrmError::ReadOnly(lead.id()));
    }
    if let Some(v) = expected_version
        && lead.version() != v
    {
        return Err(CrmError::Conflict {
            entity: Entity::Lead,
            id: lead.id().to_string(),
            expected: v,
        });
    }
    Ok(())
}

/// The assignment rule: the responsible employee exists (`employee` is what the directory
/// returned for `id`), is active, and is sales staff or management.
pub fn check_assignee(id: EmployeeId, employee: Option<&Employee>) -> Result<(), CrmError> {
    let problem = match employee {
        None => AssigneeProblem::Unknown,
        Some(e) => match can_own_leads(e) {
            Ok(()) => return Ok(()),
            Err(p) => p,
        },
    };
    Err(CrmError::InvalidAssignee {
        employee: id,
        problem,
    })
}

/// A lead write whose history entries (one per change) are stamped with the new lead's
/// version and time, with one event.
pub(crate) fn lead_write(
    lead: Lead,
    actor: EmployeeId,
    changes: Vec<Change>,
    event: EventKind,
) -> LeadWrite {
    let at = lead.updated_at();
    let history = changes
        .into_iter()
        .map(|change| HistoryEntry {
            lead_id: lead.id(),
            version: lead.version(),
            at,
            actor,
            change,
        })
        .collect();
    LeadWrite {
        history,
        events: vec![NewEvent::new(lead.id(), Some(actor), at, event)],
        pending_client: None,
        check_duplicates: false,
        score_changes: Vec::new(),
        lead,
    }
}
