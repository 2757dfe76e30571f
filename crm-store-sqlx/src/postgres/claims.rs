//! The follow-up sweep's claim on PostgreSQL, in one READ COMMITTED transaction: the reclaim
//! of the notices whose claim ran out, the read of the due leads (`FOR UPDATE SKIP LOCKED`:
//! concurrent sweeps split them), and their marks and notices commit together, so a crash
//! leaves either all of a batch claimed (and its notices in the outbox) or none of it.
//!
//! It overrides `crm_core::derived::claim_follow_ups` (a candidate read, then a commit over
//! each lead's follow-up state) with reads on the partial indexes of the due leads that lock
//! what they return, and writes a batch's first-contact marks and its notices as one
//! statement each (arrays), not one per notice.

use crm_core::{FollowUpClaim, FollowUpNotice, Lead, StoreError};
use uuid::Uuid;

use super::store::PgConn;
use sqlx::PgConnection;

use crate::bind::{Args, Binds};
use crate::commit::Tx;
use crate::db::Db;
use crate::error::db;
use crate::follow_up::{self, Step};
use crate::reads::GET_LEAD;
use crate::rows::{self, Cols, json};

/// `notice` of the notices whose claim ran out by `$1`, oldest first, at most `$2`.
const EXPIRED_NOTICES: &str = "SELECT notice FROM follow_up_notices \
     WHERE claimed_until <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED";
const DUE_FOLLOW_UPS: &str = follow_up::candidates!(due, "", " FOR UPDATE SKIP LOCKED");
const OVERDUE_LEADS: &str = follow_up::candidates!(overdue, "", " FOR UPDATE SKIP LOCKED");
const ESCALATION_LEADS: &str = follow_up::candidates!(escalation, "", " FOR UPDATE SKIP LOCKED");

const RENEW_NOTICE: &str =
    "UPDATE follow_up_notices SET claimed_until = $1, notice = $2 WHERE id = $3";
/// The first-contact marks of the leads `$2` (an array), at `$1`.
const MARK_NOTIFIED: &str =
    "UPDATE leads SET follow_up_notified_at = $1, owner_notified_at = $1 WHERE id = ANY($2)";
/// New notices, one per element of the arrays `$1` (ids), `$2` (leads) and `$3` (JSON),
/// claimed until `$4`.
const INSERT_NOTICES: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     SELECT id, lead_id, notice, $4 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) \
     AS n (id, lead_id, notice)";

/// The claim's transaction.
type Pg<'c> = PgConn<&'c mut PgConnection>;

async fn leads(t: &mut Pg<'_>, sql: &'static str, a: Args) -> Result<Vec<Lead>, StoreError> {
    t.all(sql, a).await?.iter().map(rows::lead).collect()
}

fn by_and_room(by: chrono::DateTime<chrono::Utc>, room: u32) -> Args {
    let mut a = Args::default();
    a.time(by).int(i64::from(room));
    a
}

async fn exec(t: &mut Pg<'_>, sql: &'static str, a: Args) -> Result<(), StoreError> {
    t.exec(sql, a).await?;
    Ok(())
}

/// Puts new notices in the outbox, claimed until the claim's lease: one statement.
async fn insert_notices(
    t: &mut Pg<'_>,
    claim: &FollowUpClaim,
    notices: &[FollowUpNotice],
) -> Result<(), StoreError> {
    if notices.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = notices.iter().map(|n| n.id.as_uuid()).collect();
    let leads: Vec<Uuid> = notices.iter().map(|n| n.lead_id.as_uuid()).collect();
    let texts = notices
        .iter()
        .map(json)
        .collect::<Result<Vec<String>, _>>()?;
    sqlx::query(INSERT_NOTICES)
        .bind(ids)
        .bind(leads)
        .bind(texts)
        .bind(claim.lease_until)
        .execute(t.conn())
        .await
        .map_err(db)?;
    Ok(())
}

/// The claim (see [`crm_core::LeadStore::claim_follow_ups`]) in the open transaction `t`.
pub(super) async fn claim_follow_ups(
    t: &mut Pg<'_>,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = t
        .all(EXPIRED_NOTICES, by_and_room(claim.now, claim.limit))
        .await?
        .iter()
        .map(|r| {
            rows::notice(
                &r.text("notice")
                    .map_err(rows::corrupt("follow-up notice"))?,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut their_leads = Vec::with_capacity(expired.len());
    for n in &expired {
        let mut a = Args::default();
        a.uuid(n.lead_id.as_uuid());
        their_leads.extend(leads(t, GET_LEAD, a).await?);
    }
    let (mut notices, moot) = follow_up::take_over(expired, their_leads);
    for n in &notices {
        let mut a = Args::default();
        a.time(claim.lease_until)
            .str(&json(n)?)
            .uuid(n.id.as_uuid());
        exec(t, RENEW_NOTICE, a).await?;
    }
    if !moot.is_empty() {
        let ids: Vec<Uuid> = moot.iter().map(|id| id.as_uuid()).collect();
        t.drop_notices(&ids).await?;
    }
    let room = follow_up::room(claim.limit, notices.len());
    if room == 0 {
        return Ok(notices);
    }
    let due = leads(t, DUE_FOLLOW_UPS, by_and_room(claim.cutoff, room)).await?;
    if !due.is_empty() {
        let ids: Vec<Uuid> = due.iter().map(|l| l.id().as_uuid()).collect();
        sqlx::query(MARK_NOTIFIED)
            .bind(claim.at)
            .bind(ids)
            .execute(t.conn())
            .await
            .map_err(db)?;
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
            Step::Overdue => OVERDUE_LEADS,
            Step::Escalation => ESCALATION_LEADS,
        };
        let due = leads(t, sql, by_and_room(by, room)).await?;
        let marked = step.apply(&due, claim.at);
        for (r, _) in &marked {
            let mut a = Args::default();
            follow_up::mark(&mut a, r);
            exec(t, follow_up::MARK_LEAD, a).await?;
        }
        let marked: Vec<FollowUpNotice> = marked.into_iter().map(|(_, n)| n).collect();
        insert_notices(t, claim, &marked).await?;
        notices.extend(marked);
    }
    Ok(notices)
}
