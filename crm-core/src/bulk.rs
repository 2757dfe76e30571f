//! Bulk changes: one change (give to an employee, or move to a status) over many leads, each
//! lead succeeding or failing on its own, as if changed one by one: the permission, the
//! visibility, the version and the status table are checked per lead, and the outcome lists
//! both the changed leads and the refused ones with why.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decide::{decide_assign, decide_status_change};
use crate::employee::Employee;
use crate::error::{CrmError, Entity};
use crate::ids::{EmployeeId, LeadId};
use crate::lead::Lead;
use crate::lost_reason::{LostReason, LostReasons};
use crate::permissions::{Action, authorize};
use crate::status::LeadStatus;
use crate::validation::ValidationError;
use crate::visibility::Scope;
use crate::write::LeadWrite;

/// The most leads one bulk change takes.
pub const MAX_BULK: usize = 10_000;

/// One lead of a bulk change, with the version the caller read (`None`: whatever version
/// it is at when the change reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkTarget {
    /// The lead.
    pub id: LeadId,
    /// The version read.
    pub version: Option<u64>,
}

/// What a bulk change does to each lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum BulkChange {
    /// Give each lead to this employee.
    Assign {
        /// The new responsible employee.
        to: EmployeeId,
    },
    /// Move each lead to this status.
    Status {
        /// The new status.
        to: LeadStatus,
        /// Why, for `lost`: a code from the host's list, with an optional detail.
        reason: Option<LostReason>,
    },
}

/// What a bulk change (or a reassignment of all of an employee's leads) did: the leads
/// changed, as they are now, and the ones refused, with why. Every lead is in one of them.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// Changed leads, in the order given.
    pub done: Vec<Lead>,
    /// Refused leads, in the order given, with the error each would have got alone.
    pub failed: Vec<(LeadId, CrmError)>,
}

/// Checks the targets as a whole: 1 to [`MAX_BULK`] of them, no lead twice (which of two
/// versions was meant cannot be told).
pub fn check_targets(targets: &[BulkTarget]) -> Result<(), ValidationError> {
    if targets.is_empty() || targets.len() > MAX_BULK {
        return Err(ValidationError::BulkSize {
            count: targets.len(),
            max: MAX_BULK,
        });
    }
    let mut seen = BTreeSet::new();
    for t in targets {
        if !seen.insert(t.id) {
            return Err(ValidationError::RepeatedLead {
                id: t.id.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks the actor as a whole: an employee who may only read (read-only role, inactive)
/// could change none of the leads, so the whole change is refused as every other write is,
/// instead of listing each lead as refused (which reads as a partial success). Whether each
/// lead is theirs to reassign is still checked per lead.
pub fn check_actor(actor: &Employee, change: &BulkChange) -> Result<(), CrmError> {
    let (action, owner) = match change {
        // As for a lead of their own: the owner of each lead is checked when it is reached.
        BulkChange::Assign { .. } => (Action::ReassignLead, Some(actor.id)),
        BulkChange::Status { .. } => (Action::ChangeStatus, None),
    };
    authorize(actor, action, owner).map_err(CrmError::from)
}

/// Decides the change for one lead: `lead` is what the store holds for `target.id` (if
/// anything), `scope` what `actor` sees, `assignee` what the directory returned for the new
/// owner of an assignment. A lead missing or out of scope is `NotFound`; otherwise the
/// decision is the one the single-lead use case takes.
#[allow(clippy::too_many_arguments)] // the state a decision needs, each from its own port
pub fn decide_bulk_item(
    lead: Option<&Lead>,
    scope: &Scope,
    actor: &Employee,
    target: BulkTarget,
    change: &BulkChange,
    assignee: Option<&Employee>,
    reasons: &LostReasons,
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
    counting: &crate::counting::Counting,
) -> Result<LeadWrite, CrmError> {
    let lead = lead
        .filter(|l| scope.admits(l.owner()))
        .ok_or_else(|| CrmError::NotFound {
            entity: Entity::Lead,
            id: target.id.to_string(),
        })?;
    let version = target.version.unwrap_or(lead.version());
    match change {
        BulkChange::Assign { to } => decide_assign(lead, actor, version, *to, assignee, now),
        BulkChange::Status { to, reason } => decide_status_change(
            lead,
            actor,
            version,
            *to,
            reason.clone(),
            reasons,
            now,
            claim_until,
            counting,
        ),
    }
}
