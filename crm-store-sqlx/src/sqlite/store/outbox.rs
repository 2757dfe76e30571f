//! The outbox claims, each one statement in its own transaction (concurrent claims get
//! disjoint entries), and the follow-up claim's candidate leads, read from the sweep's
//! partial indexes.

use crm_core::{FollowUpClaim, Lead, OutboxEntry, OutboxKind, OutboxRead, StoreError};
use rusqlite::Connection;

use super::conn::db;
use super::driver::rows;
use crate::bind::{Args, Binds};
use crate::rows::pending_cols;
use crate::{follow_up, outbox, rows};

/// Claims what an outbox read returns, oldest first (the outbox's order).
const CLAIM_NOTICES: &str = "UPDATE follow_up_notices SET claimed_until = $3 WHERE id IN \
     (SELECT id FROM follow_up_notices WHERE claimed_until <= $2 ORDER BY id LIMIT $1) \
     RETURNING notice, claimed_until";
const CLAIM_CLIENTS: &str = concat!(
    "UPDATE pending_clients SET claimed_until = $3 WHERE lead_id IN \
     (SELECT lead_id FROM pending_clients WHERE claimed_until IS NULL OR claimed_until <= $2 \
      ORDER BY created_at, lead_id LIMIT $1) RETURNING ",
    pending_cols!()
);

const AWAITING: &str = follow_up::candidates!(due, "INDEXED BY leads_follow_up_due", "");
const OVERDUE: &str = follow_up::candidates!(overdue, "INDEXED BY leads_follow_up_next", "");
const ESCALATION: &str = follow_up::candidates!(escalation, "INDEXED BY leads_owner_notified", "");

/// A claiming [`crm_core::LeadStore::outbox`] read, on the writer.
pub(super) fn claim(c: &Connection, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
    let sql = match read.kind {
        OutboxKind::FollowUps => CLAIM_NOTICES,
        OutboxKind::Clients => CLAIM_CLIENTS,
    };
    let mut a = Args::default();
    outbox::values(&mut a, read);
    outbox::entries(read.kind, &rows(c, sql, a).map_err(db)?)
}

/// [`crm_core::LeadStore::follow_up_candidates`]: each of the plan's three steps read as
/// [`crm_core::claim::plan`] orders and limits it, from its index. A lead a step
/// changes is in an earlier step's rows, so every lead the plan takes is here.
pub(super) fn follow_up_candidates(
    c: &mut Connection,
    claim: &FollowUpClaim,
) -> Result<Vec<Lead>, StoreError> {
    let tx = c.transaction().map_err(db)?;
    let step = |sql, by| {
        let mut a = Args::default();
        a.time(by).int(i64::from(claim.limit));
        rows(&tx, sql, a).map_err(db)
    };
    let mut found = step(AWAITING, claim.cutoff)?;
    found.extend(step(OVERDUE, claim.at)?);
    if let Some(cutoff) = claim.escalation_cutoff {
        found.extend(step(ESCALATION, cutoff)?);
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
