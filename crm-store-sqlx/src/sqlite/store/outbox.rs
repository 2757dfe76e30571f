//! The outboxes (follow-up notices, pending clients), read or claimed in one job, and the
//! follow-up claim's candidate leads read from the sweep's partial indexes.

use chrono::DateTime;
use crm_core::{BoxError, FollowUpClaim, Lead, OutboxEntry, OutboxKind, OutboxRead, StoreError};
use rusqlite::{Connection, TransactionBehavior, named_params};

use super::conn::{corrupt, db};
use super::read::{all, lead, opt_us, parse, pending_client, us};
use crate::rows::{lead_cols, pending_cols};

/// Notices free at `:due` (every notice when it is NULL), oldest id first.
const NOTICES: &str = "SELECT id, notice, claimed_until FROM follow_up_notices \
     WHERE :due IS NULL OR claimed_until <= :due ORDER BY id LIMIT :limit";
const CLAIM_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = :until WHERE id = :id";
/// Pending clients free at `:due` (all when it is NULL), oldest conversion first.
const CLIENTS: &str = concat!(
    "SELECT lead_id, ",
    pending_cols!(),
    " FROM pending_clients \
     WHERE :due IS NULL OR claimed_until IS NULL OR claimed_until <= :due \
     ORDER BY created_at, lead_id LIMIT :limit"
);
const CLAIM_CLIENT: &str = "UPDATE pending_clients SET claimed_until = :until WHERE lead_id = :id";

/// Leads still `new` and never notified nor contacted, created by the cutoff, oldest first
/// (`crm_core::follow_up::awaits_follow_up`), on the partial index `leads_follow_up_due`.
///
/// The three candidate reads name their partial index (`INDEXED BY`): left to itself, the
/// planner (no `ANALYZE` statistics) took `leads_status_created` for them, a walk over every
/// open lead (and a sort) for each batch of a sweep, so a notice cost more the more leads
/// there were (measured: 54 us per notice at 5,000 leads, 146 us at 20,000).
const AWAITING: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads INDEXED BY leads_follow_up_due \
     WHERE status = 'new' AND last_interaction_at IS NULL AND follow_up_notified_at IS NULL \
     AND merged_into IS NULL AND created_at <= :cutoff \
     ORDER BY created_at, id LIMIT :limit"
);
/// Open leads whose follow-up time came by `:at` with nothing done since
/// (`crm_core::follow_up::is_overdue`), on the partial index `leads_follow_up_next`.
const OVERDUE: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads INDEXED BY leads_follow_up_next WHERE next_follow_up_at IS NOT NULL \
     AND status IN ('new', 'contacted', 'interested') AND next_follow_up_at <= :at \
     AND merged_into IS NULL \
     AND (follow_up_reminded_for IS NULL OR follow_up_reminded_for <> next_follow_up_at) \
     AND (last_interaction_at IS NULL OR last_interaction_at < next_follow_up_at) \
     ORDER BY next_follow_up_at, id LIMIT :limit"
);
/// Open leads whose owner was notified by `:cutoff` and not answered nor escalated for it
/// (`crm_core::escalation::is_due`), on the partial index `leads_owner_notified`.
const ESCALATION: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads INDEXED BY leads_owner_notified WHERE owner_notified_at IS NOT NULL \
     AND status IN ('new', 'contacted', 'interested') AND owner_notified_at <= :cutoff \
     AND merged_into IS NULL \
     AND (escalated_for IS NULL OR escalated_for <> owner_notified_at) \
     AND (last_interaction_at IS NULL OR last_interaction_at < owner_notified_at) \
     ORDER BY owner_notified_at, id LIMIT :limit"
);

/// [`crm_core::LeadStore::outbox`]: a claiming read in a write transaction, so concurrent
/// claims get disjoint entries.
pub(super) fn outbox(
    c: &mut Connection,
    read: &OutboxRead,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let tx = c
        .transaction_with_behavior(if read.claim_until.is_some() {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        })
        .map_err(db)?;
    let due = opt_us(read.due_at);
    let limit = i64::from(read.limit);
    let until = opt_us(read.claim_until);
    let entries = match read.kind {
        OutboxKind::FollowUps => {
            let p = named_params! {":due": due, ":limit": limit};
            let found = all(&tx, NOTICES, p, |r| {
                parse("follow-up notice", || -> Result<_, BoxError> {
                    let id: uuid::Uuid = r.get("id")?;
                    let notice = serde_json::from_str(&r.get::<_, String>("notice")?)?;
                    let until = r.get::<_, i64>("claimed_until")?;
                    let until = DateTime::from_timestamp_micros(until)
                        .ok_or_else(|| format!("time {until} is out of range"))?;
                    Ok((id, notice, until))
                })
            })?;
            let mut out = Vec::with_capacity(found.len());
            for (id, notice, mut claimed_until) in found {
                if let Some(u) = read.claim_until {
                    let p = named_params! {":until": us(u), ":id": id};
                    tx.prepare_cached(CLAIM_NOTICE)
                        .and_then(|mut s| s.execute(p))
                        .map_err(db)?;
                    claimed_until = u;
                }
                out.push(OutboxEntry::Notice {
                    notice,
                    claimed_until,
                });
            }
            out
        }
        OutboxKind::Clients => {
            let p = named_params! {":due": due, ":limit": limit};
            let found = all(&tx, CLIENTS, p, |r| {
                let id: uuid::Uuid = r
                    .get("lead_id")
                    .map_err(|e| corrupt("pending client")(e.into()))?;
                Ok((id, pending_client(r)?))
            })?;
            let mut out = Vec::with_capacity(found.len());
            for (id, mut pending) in found {
                if let Some(u) = until {
                    let p = named_params! {":until": u, ":id": id};
                    tx.prepare_cached(CLAIM_CLIENT)
                        .and_then(|mut s| s.execute(p))
                        .map_err(db)?;
                    pending.claimed_until = read.claim_until;
                }
                out.push(OutboxEntry::Client(pending));
            }
            out
        }
    };
    tx.commit().map_err(db)?;
    Ok(entries)
}

/// [`crm_core::LeadStore::follow_up_candidates`]: each of the plan's three steps read as
/// [`crm_core::claim::plan`] orders and limits it, from its index. A lead a step
/// changes is in an earlier step's rows, so every lead the plan takes is here.
pub(super) fn follow_up_candidates(
    c: &mut Connection,
    claim: &FollowUpClaim,
) -> Result<Vec<Lead>, StoreError> {
    let tx = c.transaction().map_err(db)?;
    let limit = i64::from(claim.limit);
    let mut leads = all(
        &tx,
        AWAITING,
        named_params! {":cutoff": us(claim.cutoff), ":limit": limit},
        lead,
    )?;
    let p = named_params! {":at": us(claim.at), ":limit": limit};
    leads.extend(all(&tx, OVERDUE, p, lead)?);
    if let Some(cutoff) = claim.escalation_cutoff {
        let p = named_params! {":cutoff": us(cutoff), ":limit": limit};
        leads.extend(all(&tx, ESCALATION, p, lead)?);
    }
    tx.finish().map_err(db)?;
    // A lead may be in two steps' rows: once is enough.
    leads.sort_by_key(Lead::id);
    leads.dedup_by_key(|l| l.id());
    Ok(leads)
}
