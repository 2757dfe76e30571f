//! Taking in a lead that arrived by itself ([`crate::capture`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::check_assignee;
use crate::assignment::{Turn, next_turn};
use crate::capture::{Capture, CaptureChannel, CaptureDetails, CaptureWrite, capture_key};
use crate::employee::Employee;
use crate::error::CrmError;
use crate::events::{EventKind, NewEvent};
use crate::follow_up::{FollowUpNotice, NoticeKind};
use crate::history::{Change, HistoryEntry};
use crate::ids::{EmployeeId, InteractionId, LeadId};
use crate::interaction::Interaction;
use crate::lead::{Lead, NewLead};
use crate::write::LeadWrite;

/// The state a capture is decided on: the open lead it matches, if any, and for a new lead
/// the rule's team and rotation as read.
#[derive(Clone, Copy, Debug)]
pub struct CaptureContext<'a> {
    /// The open lead with the capture's e-mail or phone ([`crate::duplicates`]'s match).
    pub matched: Option<&'a Lead>,
    /// The members of the rule's team.
    pub members: &'a [Employee],
    /// Whom the rule gave its last lead to.
    pub last: Option<EmployeeId>,
    /// The candidates' open leads (for a least-open rule).
    pub open: &'a BTreeMap<EmployeeId, u64>,
}

/// Decides a capture by `channel` at `now`: logged on the matched lead, or a new lead
/// given by the channel's rule; the interaction recorded as the channel's, the owner's
/// notice, and the key.
pub fn decide_capture(
    channel: &CaptureChannel,
    ctx: CaptureContext<'_>,
    capture: Capture,
    now: DateTime<Utc>,
) -> Result<CaptureWrite, CrmError> {
    let key = capture_key(&capture.key)?;
    let (lead, created) = match ctx.matched {
        Some(lead) => {
            if lead.is_read_only() {
                return Err(CrmError::ReadOnly(lead.id()));
            }
            (lead.clone(), None)
        }
        None => {
            let details = capture.details.checked()?;
            let (write, turn) =
                decide_new_lead(channel, &ctx, (&capture.key, details), capture.lead, now)?;
            (write.lead.clone(), Some((write, turn)))
        }
    };
    let mut interaction = Interaction::create(
        InteractionId::new_at(now),
        lead.id(),
        capture.interaction,
        lead.owner(),
        now,
    )?;
    interaction.captured_by = Some(channel.actor.clone());
    // No employee did this: the event has no actor (the history names the channel).
    let event = NewEvent::new(
        lead.id(),
        None,
        now,
        EventKind::InteractionLogged {
            interaction_id: interaction.id,
            kind: interaction.kind,
            occurred_at: interaction.occurred_at,
            next_follow_up_at: interaction.next_follow_up_at,
        },
    );
    let notice = FollowUpNotice::of_kind(
        &lead,
        now,
        NoticeKind::Captured {
            by: channel.actor.clone(),
            interaction: interaction.id,
        },
    );
    Ok(CaptureWrite {
        key,
        created,
        interaction,
        event,
        notice,
    })
}

/// The new lead: the rule's next turn owns it, its history says the channel took it in.
fn decide_new_lead(
    channel: &CaptureChannel,
    ctx: &CaptureContext<'_>,
    (key, details): (&str, CaptureDetails),
    input: NewLead,
    now: DateTime<Utc>,
) -> Result<(LeadWrite, Turn), CrmError> {
    let turn = next_turn(&channel.rule, ctx.members, ctx.last, ctx.open)?;
    check_assignee(turn.owner, ctx.members.iter().find(|e| e.id == turn.owner))?;
    let mut input = input;
    input.owner = Some(turn.owner);
    let lead = Lead::create(LeadId::new_at(now), input, turn.owner, turn.owner, now)?
        .in_campaign(details.utm_campaign.clone())?;
    let entry = |change| HistoryEntry {
        lead_id: lead.id(),
        version: lead.version(),
        at: now,
        actor: turn.owner,
        change,
    };
    let history = vec![
        entry(Change::Created {
            source: lead.source().clone(),
            owner: turn.owner,
        }),
        entry(Change::Captured {
            by: channel.actor.clone(),
            key: key.trim().to_owned(),
            details: Box::new(details),
        }),
    ];
    let event = EventKind::LeadCreated {
        name: lead.name().clone(),
        source: lead.source().clone(),
        owner: turn.owner,
    };
    let write = LeadWrite {
        history,
        events: vec![NewEvent::new(lead.id(), None, now, event)],
        pending_client: None,
        // A concurrent capture (or anyone) may have made an open lead with this contact
        // since it was read: the store refuses, and the capture is decided again.
        check_duplicates: true,
        score_changes: Vec::new(),
        lead,
    };
    Ok((write, turn))
}
