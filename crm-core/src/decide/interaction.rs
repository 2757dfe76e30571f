//! Logging an interaction.

use chrono::{DateTime, Utc};

use super::check_change;
use crate::employee::Employee;
use crate::error::CrmError;
use crate::events::{EventKind, NewEvent};
use crate::ids::InteractionId;
use crate::interaction::{Interaction, NewInteraction};
use crate::lead::Lead;
use crate::permissions::Action;

/// Decides logging an interaction on `lead` by `actor` at `now`: the interaction and its
/// event. The lead must not be converted; the interaction must not lie in the future.
pub fn decide_interaction(
    lead: &Lead,
    actor: &Employee,
    input: NewInteraction,
    now: DateTime<Utc>,
) -> Result<(Interaction, NewEvent), CrmError> {
    check_change(lead, actor, Action::LogInteraction, None)?;
    let i = Interaction::create(InteractionId::new_at(now), lead.id(), input, actor.id, now)?;
    let event = NewEvent::new(
        lead.id(),
        Some(actor.id),
        now,
        EventKind::InteractionLogged {
            interaction_id: i.id,
            kind: i.kind,
            occurred_at: i.occurred_at,
            next_follow_up_at: i.next_follow_up_at,
        },
    );
    Ok((i, event))
}
