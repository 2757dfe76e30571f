//! The follow-up sweep's claim, the same on both backends, in a write transaction the
//! backend opened ([`Tx`]): the reclaim of the notices whose claim ran out, the read of the
//! due leads, and their marks and notices commit together, so a crash leaves either all of
//! a batch claimed (and its notices in the outbox) or none of it. Which leads a step reads,
//! and how it keeps them from a concurrent sweep, is the backend's statement
//! ([`ClaimSql`]).
//!
//! It overrides `crm_core::derived::claim_follow_ups` (a scan of every lead) with reads on
//! the partial indexes of the due leads.

use crm_core::{FollowUpClaim, FollowUpNotice, Lead, StoreError};

use crate::bind::Binds;
use crate::commit::Tx;
use crate::error::db;
use crate::follow_up::{self, Step};
use crate::reads::GET_LEAD;
use crate::rows::{self, Cols, json};

/// The statements of a claim that differ per backend.
pub(crate) trait ClaimSql: Tx {
    /// `notice` of the notices whose claim ran out by `$1`, oldest first, at most `$2`.
    const EXPIRED_NOTICES: &'static str;
    /// The leads newly due for a first contact (`crm_core::follow_up::awaits_follow_up`,
    /// created at or before `$1`), oldest first, at most `$2`.
    const DUE_FOLLOW_UPS: &'static str;
    /// `follow_up::overdue_leads!`, locked the backend's way.
    const OVERDUE_LEADS: &'static str;
    /// `follow_up::escalation_leads!`, locked the backend's way.
    const ESCALATION_LEADS: &'static str;
}

const RENEW_NOTICE: &str =
    "UPDATE follow_up_notices SET claimed_until = $1, notice = $2 WHERE id = $3";
const MARK_NOTIFIED: &str =
    "UPDATE leads SET follow_up_notified_at = $1, owner_notified_at = $1 WHERE id = $2";
const INSERT_NOTICE: &str =
    "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) VALUES ($1, $2, $3, $4)";

async fn leads<T: Tx>(t: &mut T, sql: &'static str, a: T::Args) -> Result<Vec<Lead>, StoreError> {
    t.all(sql, a)
        .await
        .map_err(db)?
        .iter()
        .map(rows::lead)
        .collect()
}

fn by_and_room<T: Tx>(by: chrono::DateTime<chrono::Utc>, room: u32) -> T::Args {
    let mut a = T::Args::default();
    a.time(by).int(i64::from(room));
    a
}

async fn exec<T: Tx>(t: &mut T, sql: &'static str, a: T::Args) -> Result<(), StoreError> {
    t.exec(sql, a).await.map_err(db)?;
    Ok(())
}

/// Puts new notices in the outbox, claimed until the claim's lease.
async fn insert_notices<T: Tx>(
    t: &mut T,
    claim: &FollowUpClaim,
    notices: &[FollowUpNotice],
) -> Result<(), StoreError> {
    for n in notices {
        let mut a = T::Args::default();
        a.uuid(n.id.as_uuid())
            .uuid(n.lead_id.as_uuid())
            .str(&json(n)?)
            .time(claim.lease_until);
        exec(t, INSERT_NOTICE, a).await?;
    }
    Ok(())
}

/// The claim (see [`crm_core::LeadStore::claim_follow_ups`]) in the open transaction `t`.
pub(crate) async fn claim_follow_ups<T: ClaimSql>(
    t: &mut T,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = t
        .all(T::EXPIRED_NOTICES, by_and_room::<T>(claim.now, claim.limit))
        .await
        .map_err(db)?
        .iter()
        .map(|r| rows::notice(&r.text(0).map_err(rows::corrupt("follow-up notice"))?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut their_leads = Vec::with_capacity(expired.len());
    for n in &expired {
        let mut a = T::Args::default();
        a.uuid(n.lead_id.as_uuid());
        their_leads.extend(leads(t, GET_LEAD, a).await?);
    }
    let (mut notices, moot) = follow_up::take_over(expired, their_leads);
    for n in &notices {
        let mut a = T::Args::default();
        a.time(claim.lease_until)
            .str(&json(n)?)
            .uuid(n.id.as_uuid());
        exec(t, RENEW_NOTICE, a).await?;
    }
    for id in &moot {
        let mut a = T::Args::default();
        a.uuid(id.as_uuid());
        exec(t, follow_up::DELETE_NOTICE, a).await?;
    }
    let room = follow_up::room(claim.limit, notices.len());
    if room == 0 {
        return Ok(notices);
    }
    let due = leads(t, T::DUE_FOLLOW_UPS, by_and_room::<T>(claim.cutoff, room)).await?;
    for l in &due {
        let mut a = T::Args::default();
        a.time(claim.at).uuid(l.id().as_uuid());
        exec(t, MARK_NOTIFIED, a).await?;
    }
    let fresh = follow_up::fresh(&due, claim.at);
    insert_notices(t, claim, &fresh).await?;
    notices.extend(fresh);
    // The later steps (overdue reminders, escalations), each reading the leads as the steps
    // before it left them, while the claim has room.
    for (step, by) in Step::of(claim) {
        let room = follow_up::room(claim.limit, notices.len());
        if room == 0 {
            break;
        }
        let sql = match step {
            Step::Overdue => T::OVERDUE_LEADS,
            Step::Escalation => T::ESCALATION_LEADS,
        };
        let due = leads(t, sql, by_and_room::<T>(by, room)).await?;
        let marked = step.apply(&due, claim.at);
        for (r, _) in &marked {
            let mut a = T::Args::default();
            follow_up::mark(&mut a, r);
            exec(t, follow_up::MARK_LEAD, a).await?;
        }
        let marked: Vec<FollowUpNotice> = marked.into_iter().map(|(_, n)| n).collect();
        insert_notices(t, claim, &marked).await?;
        notices.extend(marked);
    }
    Ok(notices)
}
