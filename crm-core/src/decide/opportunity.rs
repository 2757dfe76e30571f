//! Adding and changing opportunities.

use chrono::{DateTime, Utc};

use super::check_change;
use crate::employee::Employee;
use crate::error::{CrmError, Entity};
use crate::events::{EventKind, NewEvent};
use crate::ids::OpportunityId;
use crate::lead::Lead;
use crate::opportunity::{NewOpportunity, Opportunity, OpportunityPatch};
use crate::permissions::{Action, authorize};
use crate::write::OpportunityWrite;

/// Decides adding an opportunity to `lead` by `actor` at `now`. The lead must not be
/// converted.
pub fn decide_add_opportunity(
    lead: &Lead,
    actor: &Employee,
    input: NewOpportunity,
    now: DateTime<Utc>,
) -> Result<(Opportunity, NewEvent), CrmError> {
    check_change(lead, actor, Action::AddOpportunity, None)?;
    let o = Opportunity::create(OpportunityId::new_at(now), lead.id(), input, actor.id, now);
    let event = NewEvent::new(
        lead.id(),
        Some(actor.id),
        now,
        EventKind::OpportunityCreated {
            opportunity_id: o.id,
            value: o.value,
            stage: o.stage,
            expected_close: o.expected_close,
            probability: o.probability,
        },
    );
    Ok((o, event))
}

/// Decides a change of `current` (an opportunity of `lead`) by `actor`. On a converted lead
/// only the stage may change (the deal is still won or lost after the lead became a client);
/// anything else is refused as read-only, like the lead itself.
pub fn decide_opportunity_update(
    lead: &Lead,
    current: &Opportunity,
    actor: &Employee,
    expected_version: u64,
    patch: &OpportunityPatch,
    now: DateTime<Utc>,
) -> Result<OpportunityWrite, CrmError> {
    let stage_only = patch.is_stage_only();
    if lead.is_read_only() && stage_only {
        authorize(actor, Action::EditOpportunity, Some(lead.owner())).map_err(CrmError::from)?;
    } else {
        check_change(lead, actor, Action::EditOpportunity, None)?;
    }
    if current.version != expected_version {
        return Err(CrmError::Conflict {
            entity: Entity::Opportunity,
            id: current.id.to_string(),
            expected: expected_version,
        });
    }
    let new = current.edited(patch, now)?;
    let event = NewEvent::new(
        lead.id(),
        Some(actor.id),
        now,
        EventKind::OpportunityUpdated {
            opportunity_id: new.id,
            value: new.value,
            stage: new.stage,
            expected_close: new.expected_close,
            probability: new.probability,
        },
    );
    Ok(OpportunityWrite {
        opportunity: new,
        events: vec![event],
        lead_must_be_open: !stage_only,
    })
}
