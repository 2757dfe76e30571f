//! PostgreSQL claims: the follow-up sweep's, the conversion dispatcher's, and the event
//! watermark. Claims take rows `FOR UPDATE SKIP LOCKED`, so concurrent sweeps and
//! dispatchers split the rows instead of waiting on each other or taking the same ones.

use chrono::{DateTime, Utc};
use crm_core::{FollowUpClaim, FollowUpNotice, PendingClient, StoreError};
use sqlx::postgres::PgConnection;
use uuid::Uuid;

use super::Handle;
use super::writes::{all, exec, values};
use crate::bind::Binds;
use crate::db::{Db, args};
use crate::error::db;
use crate::events::{self, ack_state};
use crate::follow_up;
use crate::rows::{self, Cols, json, lead_cols, pending_cols};

/// Notices whose claim ran out, oldest (notice id) first, locked; those another sweep is
/// claiming right now are skipped.
const EXPIRED_NOTICES: &str = "SELECT notice FROM follow_up_notices WHERE claimed_until <= $1 \
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED";
const LEADS_BY_ID: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = ANY($1)");
const RENEW_NOTICES: &str = "UPDATE follow_up_notices f SET claimed_until = $1, notice = t.n \
     FROM UNNEST($2::uuid[], $3::text[]) AS t (i, n) WHERE f.id = t.i";
const DELETE_NOTICES: &str = "DELETE FROM follow_up_notices WHERE id = ANY($1)";
/// The sweep's due leads (`crm_core::follow_up::awaits_follow_up`, created at or before the
/// cutoff), on the partial index `leads_follow_up_due`, locked; rows another sweep (or a
/// write) holds are skipped, so concurrent sweeps split the due leads.
const DUE_FOLLOW_UPS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL AND merged_into IS NULL \
     AND follow_up_notified_at IS NULL AND created_at <= $1 ORDER BY created_at, id LIMIT $2 \
     FOR UPDATE SKIP LOCKED"
);
const MARK_NOTIFIED: &str =
    "UPDATE leads SET follow_up_notified_at = $1, owner_notified_at = $1 WHERE id = ANY($2)";
/// The later steps' leads, locked; rows another sweep (or a write) holds are skipped.
const OVERDUE_LEADS: &str = concat!(follow_up::overdue_leads!(), " FOR UPDATE SKIP LOCKED");
const ESCALATION_LEADS: &str = concat!(follow_up::escalation_leads!(), " FOR UPDATE SKIP LOCKED");
const INSERT_NOTICES: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     SELECT i, l, n, $4 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS t (i, l, n)";
/// Free pending clients (no claim, or one that ran out), oldest conversion first, claimed;
/// rows another dispatcher is claiming right now are skipped.
const CLAIM_PENDING: &str = concat!(
    "WITH free AS MATERIALIZED (SELECT lead_id FROM pending_clients \
       WHERE claimed_until IS NULL OR claimed_until <= $2 \
       ORDER BY created_at, lead_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     UPDATE pending_clients p SET claimed_until = $1 FROM free \
     WHERE p.lead_id = free.lead_id RETURNING ",
    pending_cols!()
);
const ACK_STATE: &str = concat!(ack_state!(), " FOR UPDATE");

/// Runs an array statement in the transaction.
async fn run(
    c: &mut PgConnection,
    q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<(), StoreError> {
    q.execute(&mut *c).await.map_err(db)?;
    Ok(())
}

/// The follow-up claim (see [`crm_core::LeadStore::claim_follow_ups`]) inside a write
/// transaction.
pub(super) async fn claim_follow_ups_in(
    c: &mut PgConnection,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = all(
        c,
        EXPIRED_NOTICES,
        values(|a| {
            a.time(claim.now).int(i64::from(claim.limit));
        }),
    )
    .await?
    .iter()
    .map(|r| rows::notice(&r.text(0).map_err(rows::corrupt("follow-up notice"))?))
    .collect::<Result<Vec<_>, _>>()?;
    let leads = if expired.is_empty() {
        vec![]
    } else {
        let ids: Vec<Uuid> = expired.iter().map(|n| n.lead_id.as_uuid()).collect();
        sqlx::query(LEADS_BY_ID)
            .bind(ids)
            .fetch_all(&mut *c)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?
    };
    let (mut notices, moot) = follow_up::take_over(expired, leads);
    if !notices.is_empty() {
        let ids: Vec<Uuid> = notices.iter().map(|n| n.id.as_uuid()).collect();
        let texts = notices.iter().map(json).collect::<Result<Vec<_>, _>>()?;
        run(
            c,
            sqlx::query(RENEW_NOTICES)
                .bind(claim.lease_until)
                .bind(ids)
                .bind(texts),
        )
        .await?;
    }
    if !moot.is_empty() {
        let ids: Vec<Uuid> = moot.iter().map(|id| id.as_uuid()).collect();
        run(c, sqlx::query(DELETE_NOTICES).bind(ids)).await?;
    }
    let room = follow_up::room(claim.limit, notices.len());
    if room == 0 {
        return Ok(notices);
    }
    first_contacts_in(c, claim, room, &mut notices).await?;
    claim_steps_in(c, claim, &mut notices).await?;
    Ok(notices)
}

/// The claim's first-contact step: newly due leads, marked notified, with their notices.
async fn first_contacts_in(
    c: &mut PgConnection,
    claim: &FollowUpClaim,
    room: u32,
    notices: &mut Vec<FollowUpNotice>,
) -> Result<(), StoreError> {
    let due = all(
        c,
        DUE_FOLLOW_UPS,
        values(|a| {
            a.time(claim.cutoff).int(i64::from(room));
        }),
    )
    .await?
    .iter()
    .map(rows::lead)
    .collect::<Result<Vec<_>, _>>()?;
    if due.is_empty() {
        return Ok(());
    }
    let fresh = follow_up::fresh(&due, claim.at);
    let lead_ids: Vec<Uuid> = due.iter().map(|l| l.id().as_uuid()).collect();
    run(c, sqlx::query(MARK_NOTIFIED).bind(claim.at).bind(&lead_ids)).await?;
    let ids: Vec<Uuid> = fresh.iter().map(|n| n.id.as_uuid()).collect();
    let texts = fresh.iter().map(json).collect::<Result<Vec<_>, _>>()?;
    run(
        c,
        sqlx::query(INSERT_NOTICES)
            .bind(ids)
            .bind(&lead_ids)
            .bind(texts)
            .bind(claim.lease_until),
    )
    .await?;
    notices.extend(fresh);
    Ok(())
}

/// The claim's later steps (overdue reminders, escalations), each reading the leads as the
/// steps before it left them, while the claim has room.
async fn claim_steps_in(
    c: &mut PgConnection,
    claim: &FollowUpClaim,
    notices: &mut Vec<FollowUpNotice>,
) -> Result<(), StoreError> {
    for (step, by) in follow_up::Step::of(claim) {
        let room = follow_up::room(claim.limit, notices.len());
        if room == 0 {
            return Ok(());
        }
        let sql = match step {
            follow_up::Step::Overdue => OVERDUE_LEADS,
            follow_up::Step::Escalation => ESCALATION_LEADS,
        };
        let due = all(
            c,
            sql,
            values(|a| {
                a.time(by).int(i64::from(room));
            }),
        )
        .await?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
        let marked = step.apply(&due, claim.at);
        if marked.is_empty() {
            continue;
        }
        for (r, _) in &marked {
            exec(c, follow_up::MARK_LEAD, values(|a| follow_up::mark(a, r)))
                .await
                .map_err(db)?;
        }
        let ids: Vec<Uuid> = marked.iter().map(|(_, n)| n.id.as_uuid()).collect();
        let leads: Vec<Uuid> = marked.iter().map(|(_, n)| n.lead_id.as_uuid()).collect();
        let texts = marked
            .iter()
            .map(|(_, n)| json(n))
            .collect::<Result<Vec<_>, _>>()?;
        run(
            c,
            sqlx::query(INSERT_NOTICES)
                .bind(ids)
                .bind(leads)
                .bind(texts)
                .bind(claim.lease_until),
        )
        .await?;
        notices.extend(marked.into_iter().map(|(_, n)| n));
    }
    Ok(())
}

/// What [`claim_follow_ups_in`] would return, changing nothing: the same claim in a
/// transaction that is rolled back.
pub(super) async fn preview_follow_ups(
    h: &Handle,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let mut w = super::writes::WriteTx::begin(h).await?;
    let r = claim_follow_ups_in(&mut w.tx, claim).await;
    if let Err(e) = w.tx.rollback().await {
        tracing::warn!(error = %e, "rollback failed");
    }
    r
}

/// Claims free pending clients.
pub(super) async fn claim_pending_clients(
    h: &Handle,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<PendingClient>, StoreError> {
    let a = args::<Handle>(|a| {
        a.time(lease_until).time(now).int(i64::from(limit));
    });
    let claimed = h
        .all(CLAIM_PENDING, a)
        .await?
        .iter()
        .map(rows::pending_client)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows::in_claim_order(claimed))
}

/// Moves the event watermark up to `up_to` (never past the newest event).
pub(super) async fn ack_events_in(c: &mut PgConnection, up_to: u64) -> Result<u64, StoreError> {
    let state = all(c, ACK_STATE, values(|_| {})).await?;
    let row = state
        .first()
        .ok_or_else(|| StoreError::Backend("the event watermark row is missing".into()))?;
    let Some((new, passed)) = events::next_ack(row, up_to)? else {
        return Ok(0);
    };
    exec(
        c,
        events::SET_ACK,
        values(|a| {
            a.int(new);
        }),
    )
    .await
    .map_err(db)?;
    Ok(passed)
}
