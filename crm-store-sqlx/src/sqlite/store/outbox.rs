//! The outboxes (follow-up notices, pending clients), read or claimed in one job, and the
//! follow-up claim's candidate leads read from the sweep's partial indexes.

use chrono::{DateTime, Utc};
use crm_core::{BoxError, FollowUpClaim, Lead, OutboxEntry, OutboxKind, OutboxRead, StoreError};
use rusqlite::{Connection, TransactionBehavior};

use super::conn::db;
use super::driver::{execute, rows};
use crate::bind::{Args, Binds};
use crate::rows::{self, Cols, lead_cols, pending_cols};

/// Notices free at `$1` (every notice when it is NULL), oldest id first.
const NOTICES: &str = "SELECT id, notice, claimed_until FROM follow_up_notices \
     WHERE $1 IS NULL OR claimed_until <= $1 ORDER BY id LIMIT $2";
const CLAIM_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = $1 WHERE id = $2";
/// Pending clients free at `$1` (all when it is NULL), oldest conversion first.
const CLIENTS: &str = concat!(
    "SELECT lead_id, ",
    pending_cols!(),
    " FROM pending_clients \
     WHERE $1 IS NULL OR claimed_until IS NULL OR claimed_until <= $1 \
     ORDER BY created_at, lead_id LIMIT $2"
);
const CLAIM_CLIENT: &str = "UPDATE pending_clients SET claimed_until = $1 WHERE lead_id = $2";

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
     AND merged_into IS NULL AND created_at <= $1 \
     ORDER BY created_at, id LIMIT $2"
);
/// Open leads whose follow-up time came by `$1` with nothing done since
/// (`crm_core::follow_up::is_overdue`), on the partial index `leads_follow_up_next`.
const OVERDUE: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads INDEXED BY leads_follow_up_next WHERE next_follow_up_at IS NOT NULL \
     AND status IN ('new', 'contacted', 'interested') AND next_follow_up_at <= $1 \
     AND merged_into IS NULL \
     AND (follow_up_reminded_for IS NULL OR follow_up_reminded_for <> next_follow_up_at) \
     AND (last_interaction_at IS NULL OR last_interaction_at < next_follow_up_at) \
     ORDER BY next_follow_up_at, id LIMIT $2"
);
/// Open leads whose owner was notified by `$1` and not answered nor escalated for it
/// (`crm_core::escalation::is_due`), on the partial index `leads_owner_notified`.
const ESCALATION: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads INDEXED BY leads_owner_notified WHERE owner_notified_at IS NOT NULL \
     AND status IN ('new', 'contacted', 'interested') AND owner_notified_at <= $1 \
     AND merged_into IS NULL \
     AND (escalated_for IS NULL OR escalated_for <> owner_notified_at) \
     AND (last_interaction_at IS NULL OR last_interaction_at < owner_notified_at) \
     ORDER BY owner_notified_at, id LIMIT $2"
);

/// `$1` and `$2` of a read.
fn values(at: Option<DateTime<Utc>>, limit: u32) -> Args {
    let mut a = Args::default();
    a.opt_time(at).int(i64::from(limit));
    a
}

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
    let claim = |sql, id: uuid::Uuid| -> Result<(), StoreError> {
        let mut a = Args::default();
        a.opt_time(read.claim_until).uuid(id);
        execute(&tx, sql, a).map_err(db)?;
        Ok(())
    };
    let found = rows(
        &tx,
        match read.kind {
            OutboxKind::FollowUps => NOTICES,
            OutboxKind::Clients => CLIENTS,
        },
        values(read.due_at, read.limit),
    )
    .map_err(db)?;
    let mut entries = Vec::with_capacity(found.len());
    for r in &found {
        let id = r.uuid(match read.kind {
            OutboxKind::FollowUps => "id",
            OutboxKind::Clients => "lead_id",
        });
        let id = id.map_err(rows::corrupt("outbox entry"))?;
        if read.claim_until.is_some() {
            claim(
                match read.kind {
                    OutboxKind::FollowUps => CLAIM_NOTICE,
                    OutboxKind::Clients => CLAIM_CLIENT,
                },
                id,
            )?;
        }
        entries.push(match read.kind {
            OutboxKind::FollowUps => {
                let read_notice =
                    || -> Result<_, BoxError> { Ok((r.text("notice")?, r.ts("claimed_until")?)) };
                let (notice, until) = read_notice().map_err(rows::corrupt("follow-up notice"))?;
                OutboxEntry::Notice {
                    notice: rows::notice(&notice)?,
                    claimed_until: read.claim_until.unwrap_or(until),
                }
            }
            OutboxKind::Clients => {
                let mut pending = rows::pending_client(r)?;
                if read.claim_until.is_some() {
                    pending.claimed_until = read.claim_until;
                }
                OutboxEntry::Client(pending)
            }
        });
    }
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
    let mut found = rows(&tx, AWAITING, values(Some(claim.cutoff), claim.limit)).map_err(db)?;
    found.extend(rows(&tx, OVERDUE, values(Some(claim.at), claim.limit)).map_err(db)?);
    if let Some(cutoff) = claim.escalation_cutoff {
        found.extend(rows(&tx, ESCALATION, values(Some(cutoff), claim.limit)).map_err(db)?);
    }
    tx.finish().map_err(db)?;
    let mut leads = found
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
    // A lead may be in two steps' rows: once is enough.
    leads.sort_by_key(Lead::id);
    leads.dedup_by_key(|l| l.id());
    Ok(leads)
}
