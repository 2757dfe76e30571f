//! Creating a lead.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{check_assignee, lead_write};
use crate::assignment::{AssignmentRule, Turn, next_turn};
use crate::employee::Employee;
use crate::error::CrmError;
use crate::events::EventKind;
use crate::history::Change;
use crate::ids::{EmployeeId, LeadId};
use crate::lead::{Lead, NewLead};
use crate::permissions::{Action, authorize};
use crate::write::LeadWrite;

/// Decides a lead creation by `actor`: authorised, owned by `input.owner` (the actor when
/// `None`; `owner` is what the directory returned for that id), in status `new` at `now`.
pub fn decide_create(
    actor: &Employee,
    owner: Option<&Employee>,
    input: NewLead,
    now: DateTime<Utc>,
) -> Result<LeadWrite, CrmError> {
    authorize(actor, Action::CreateLead, None).map_err(CrmError::from)?;
    let owner_id = input.owner.unwrap_or(actor.id);
    check_assignee(owner_id, owner)?;
    let check_duplicates = !input.allow_duplicate;
    let lead = Lead::create(LeadId::new_at(now), input, owner_id, actor.id, now)?;
    let created = Change::Created {
        source: lead.source().clone(),
        owner: owner_id,
    };
    let event = EventKind::LeadCreated {
        name: lead.name().clone(),
        source: lead.source().clone(),
        owner: owner_id,
    };
    let mut w = lead_write(lead, actor.id, vec![created], event);
    w.check_duplicates = check_duplicates;
    Ok(w)
}

/// Decides a lead creation whose owner an assignment rule picks (the input names none):
/// authorised, then given to the next turn of `rule` ([`crate::assignment::next_turn`] over
/// the team's `members`, the stored `last` turn and the candidates' `open` leads). Returns
/// the write and the turn the store must take with it.
pub fn decide_create_assigned(
    actor: &Employee,
    rule: &AssignmentRule,
    members: &[Employee],
    last: Option<EmployeeId>,
    open: &BTreeMap<EmployeeId, u64>,
    input: NewLead,
    now: DateTime<Utc>,
) -> Result<(LeadWrite, Turn), CrmError> {
    authorize(actor, Action::CreateLead, None).map_err(CrmError::from)?;
    let turn = next_turn(rule, members, last, open)?;
    let owner = members.iter().find(|e| e.id == turn.owner);
    let write = decide_create(actor, owner, input.owner(turn.owner), now)?;
    Ok((write, turn))
}
