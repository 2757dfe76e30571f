//! The preconditions of a commit: each read by a `SELECT` (locked the backend's way, see
//! [`Tx`]) and decided here.

use crm_core::changeset::Precondition;
use crm_core::{InteractionId, Lead, LeadId, OpportunityId, StoreError};

use super::{Stored, Tx, id_arg};
use crate::bind::{Args, Binds, args};
use crate::duplicates;
use crate::error::status_of;
use crate::lead_writes as lw;
use crate::rows::{self, Cols};

/// The follow-up columns of [`Tx::LEAD_STATE`], in [`LeadState::follow_up`]'s order.
const FOLLOW_UP_COLS: [&str; 6] = [
    "last_interaction_at",
    "next_follow_up_at",
    "follow_up_notified_at",
    "follow_up_reminded_for",
    "owner_notified_at",
    "escalated_for",
];

/// A lead as a precondition reads it ([`Tx::LEAD_STATE`]).
pub(super) struct LeadState {
    version: i64,
    read_only: bool,
    /// `last_interaction_at`, `next_follow_up_at` and the four follow-up marks, in unix µs.
    follow_up: [Option<i64>; 6],
}

pub(super) async fn lead_state<T: Tx>(
    t: &mut T,
    id: LeadId,
) -> Result<Option<LeadState>, StoreError> {
    let found = t.all(T::LEAD_STATE, id_arg(id.as_uuid())).await?;
    let Some(r) = found.first() else {
        return Ok(None);
    };
    let (version, status, merged_into, follow_up) = rows::parse("lead", || {
        let mut follow_up = [None; 6];
        for (slot, col) in follow_up.iter_mut().zip(FOLLOW_UP_COLS) {
            *slot = r.opt_ts(col)?.map(|t| t.timestamp_micros());
        }
        Ok((
            r.int("version")?,
            r.text("status")?,
            r.opt_uuid("merged_into")?,
            follow_up,
        ))
    })?;
    Ok(Some(LeadState {
        version,
        read_only: merged_into.is_some() || status_of(&status)?.is_read_only(),
        follow_up,
    }))
}

fn follow_up_state(lead: &Lead) -> [Option<i64>; 6] {
    let r = lead.record();
    [
        r.last_interaction_at,
        r.next_follow_up_at,
        r.follow_up_notified_at,
        r.follow_up_reminded_for,
        r.owner_notified_at,
        r.escalated_for,
    ]
    .map(|t| t.map(|t| t.timestamp_micros()))
}

fn at_version(version: i64, expected: u64) -> bool {
    u64::try_from(version).ok() == Some(expected)
}

/// Checks `p` against the state the steps before it left.
pub(super) async fn require<T: Tx>(
    t: &mut T,
    p: &Precondition,
    stored: &Stored,
) -> Result<(), StoreError> {
    let found = match p {
        Precondition::LeadAbsent(id) => Some(!stored.leads.contains(id)),
        Precondition::LeadVersion { id, version } => lead_state(t, *id)
            .await?
            .map(|s| at_version(s.version, *version)),
        Precondition::LeadWritable(id) => lead_state(t, *id).await?.map(|s| !s.read_only),
        Precondition::FollowUpState(lead) => lead_state(t, lead.id())
            .await?
            .map(|s| at_version(s.version, lead.version()) && s.follow_up == follow_up_state(lead)),
        Precondition::NoDuplicateOf(lead) => {
            let found = t
                .all(lw::DUPLICATE, args(|a| lw::duplicate(a, lead)))
                .await?;
            return match lw::duplicate_found(&found)? {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        Precondition::OpportunityAbsent(id) => {
            let found = t.all(T::OPPORTUNITY_VERSION, id_arg(id.as_uuid())).await?;
            Some(found.is_empty())
        }
        Precondition::OpportunityVersion { id, version } => {
            let found = t.one(T::OPPORTUNITY_VERSION, id_arg(id.as_uuid())).await?;
            let stored = found.map(|r| rows::parse("opportunity version", || r.int("version")));
            stored.transpose()?.map(|v| at_version(v, *version))
        }
        Precondition::OpportunityLeadWritable(id) => {
            return opportunity_lead_writable(t, *id).await;
        }
        Precondition::TurnIs { rule, after } => {
            let mut a = Args::default();
            a.str(rule);
            // The rule's turn is locked (PostgreSQL: its advisory lock, taken first).
            let found = t.one(crate::assignment::LAST_TURN, a).await?;
            let last = found.map(|r| rows::parse("assignment rotation", || r.int("last_owner")));
            Some(last.transpose()? == after.map(|a| a.get()))
        }
        Precondition::KeyFree(key) => Some(!stored.keys.contains(key.as_str())),
        Precondition::HoldsExactly { lead, moved, .. } => {
            if lead_state(t, *lead).await?.is_none() {
                return Err(p.refusal(false));
            }
            let held = t
                .all(duplicates::RECORDS_OF, id_arg(lead.as_uuid()))
                .await?;
            let (mut interactions, mut opportunities) = (Vec::new(), Vec::new());
            for r in &held {
                match rows::parse("merged record", || Ok((r.uuid("id")?, r.int("kind")?)))? {
                    (id, 0) => interactions.push(InteractionId::from_uuid(id)),
                    (id, _) => opportunities.push(OpportunityId::from_uuid(id)),
                }
            }
            Some(moved.is_exactly(interactions, opportunities))
        }
        Precondition::ClientPending(lead) => {
            let found = t.all(T::CLIENT_PENDING, id_arg(lead.as_uuid())).await?;
            Some(!found.is_empty())
        }
    };
    match found {
        Some(true) => Ok(()),
        Some(false) => Err(p.refusal(true)),
        None => Err(p.refusal(false)),
    }
}

/// [`Precondition::OpportunityLeadWritable`]: `ReadOnly` naming the opportunity's lead when
/// that lead is converted or merged.
async fn opportunity_lead_writable<T: Tx>(t: &mut T, id: OpportunityId) -> Result<(), StoreError> {
    let found = t.all(T::OPPORTUNITY_LEAD, id_arg(id.as_uuid())).await?;
    let Some(r) = found.first() else {
        return Err(Precondition::OpportunityLeadWritable(id).refusal(false));
    };
    let (lead, status, merged_into) = rows::parse("lead", || {
        Ok((r.uuid("id")?, r.text("status")?, r.opt_uuid("merged_into")?))
    })?;
    let lead = LeadId::from_uuid(lead);
    if merged_into.is_some() || status_of(&status)?.is_read_only() {
        return Err(StoreError::ReadOnly { lead });
    }
    Ok(())
}
