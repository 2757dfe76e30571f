//! Moving a lead through the status machine ([`crate::status::TRANSITIONS`]).

use chrono::{DateTime, Utc};

use super::lead_write;
use crate::conversion::{pending_client, triggers_conversion};
use crate::counting::{Counted, Counting, Outcome, recount};
use crate::employee::Employee;
use crate::error::{CrmError, Entity};
use crate::events::EventKind;
use crate::lead::Lead;
use crate::lost_reason::{LostReason, LostReasons};
use crate::permissions::{Action, authorize};
use crate::status::{LeadStatus, MoveRule};
use crate::write::LeadWrite;

/// Decides moving `lead` to `to` by `actor`, in this order: the actor may make the move
/// (reopening is management's), a converted lead is read-only, the table allows the move, the
/// lead is at the version read, a reason comes with `lost` and only with it, and its code is
/// in the host's list (`reasons`). A move to
/// `converted` also writes the pending client record, claimed by this caller until
/// `claim_until` (see [`crate::conversion`]). A move to `converted` or `lost` counts the
/// lead in the scoring frequencies as it is now (its features and owner's team in `counting`),
/// and a move out of `lost` takes it back out as it was counted
/// ([`crate::scoring::recount`]).
// Every argument is one input of the decision (state, actor, command, settings, time); a
// struct bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn decide_status_change(
    lead: &Lead,
    actor: &Employee,
    expected_version: u64,
    to: LeadStatus,
    lost_reason: Option<LostReason>,
    reasons: &LostReasons,
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
    counting: &Counting,
) -> Result<LeadWrite, CrmError> {
    let from = lead.status();
    let rule = from.move_rule(to);
    let action = if rule == Some(MoveRule::Management) {
        Action::ReopenLead
    } else {
        Action::ChangeStatus
    };
    authorize(actor, action, Some(lead.owner())).map_err(CrmError::from)?;
    if lead.is_read_only() {
        return Err(CrmError::ReadOnly(lead.id()));
    }
    if rule.is_none() {
        return Err(CrmError::InvalidTransition {
            from,
            to,
            allowed: from.allowed_targets(),
        });
    }
    if lead.version() != expected_version {
        return Err(CrmError::Conflict {
            entity: Entity::Lead,
            id: lead.id().to_string(),
            expected: expected_version,
        });
    }
    if to == LeadStatus::Lost
        && let Some(r) = &lost_reason
    {
        reasons.check(r)?;
    }
    let (new, change) = lead.moved(to, lost_reason, now)?;
    let outcome = match to {
        LeadStatus::Converted => Some(Outcome::Won),
        LeadStatus::Lost => Some(Outcome::Lost),
        _ => None,
    };
    let counted = outcome.map(|outcome| Counted {
        outcome,
        team: counting.team.clone(),
        features: counting.features.clone(),
    });
    let new = new.counted(counted)?;
    let score_changes = recount(lead.counted_as(), new.counted_as());
    let pending = triggers_conversion(lead, to).then(|| pending_client(&new, now, claim_until));
    let mut w = lead_write(
        new,
        actor.id,
        vec![change],
        EventKind::StatusChanged { from, to },
    );
    w.pending_client = pending;
    w.score_changes = score_changes;
    Ok(w)
}
