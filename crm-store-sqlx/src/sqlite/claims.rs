//! SQLite writes that read before they decide, in one `BEGIN IMMEDIATE` transaction under
//! the write gate: the follow-up sweep's claim, the conversion dispatcher's claim, and the
//! event watermark. Holding the write lock from the start, sweeps and dispatchers of several
//! processes take turns.

use chrono::{DateTime, Utc};
use crm_core::{FollowUpClaim, FollowUpNotice, PendingClient, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use tokio::sync::OwnedMutexGuard;

use super::Handle;
use super::script::{Script, ScriptConn};
use crate::bind::{Args, Binds};
use crate::error::db;
use crate::events::{self, ack_state};
use crate::follow_up::{self, DELETE_NOTICE};
use crate::import;
use crate::rows::{self, Cols, json, lead_cols, pending_cols};

/// Notices whose claim ran out, oldest (notice id) first.
const EXPIRED_NOTICES: &str = "SELECT notice FROM follow_up_notices \
     WHERE claimed_until <= $1 ORDER BY id LIMIT $2";
const LEADS_BY_ID_HEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id IN (");
const RENEW_NOTICE: &str =
    "UPDATE follow_up_notices SET claimed_until = $1, notice = $2 WHERE id = $3";
/// The sweep's due leads (`crm_core::follow_up::awaits_follow_up`, created at or before the
/// cutoff), on the partial index `leads_follow_up_due`.
const DUE_FOLLOW_UPS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL AND merged_into IS NULL \
     AND follow_up_notified_at IS NULL AND created_at <= $1 ORDER BY created_at, id LIMIT $2"
);
/// Marks a batch's first-contact leads notified (`IN (` and the ids follow).
const MARK_NOTIFIED_HEAD: &str =
    "UPDATE leads SET follow_up_notified_at = $1, owner_notified_at = $2 WHERE id IN (";
const OVERDUE_LEADS: &str = follow_up::overdue_leads!();
const ESCALATION_LEADS: &str = follow_up::escalation_leads!();
const INSERT_NOTICE: &str =
    "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) VALUES ($1, $2, $3, $4)";
/// The values of one [`INSERT_NOTICE`] row.
const NOTICE_VALUES: usize = 4;
/// Free pending clients (no claim, or one that ran out), oldest conversion first, claimed.
const CLAIM_PENDING: &str = concat!(
    "UPDATE pending_clients SET claimed_until = $1 WHERE lead_id IN \
     (SELECT lead_id FROM pending_clients \
       WHERE claimed_until IS NULL OR claimed_until <= $2 \
       ORDER BY created_at, lead_id LIMIT $3) RETURNING ",
    pending_cols!()
);
const ACK_STATE: &str = ack_state!();

/// A write transaction: the write gate, then `BEGIN IMMEDIATE` on the writer connection.
pub(super) struct WriteTx {
    conn: ScriptConn,
    _gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(super) async fn begin(h: &Handle) -> Result<Self, StoreError> {
        let gate = h.gate().await;
        let mut conn = ScriptConn::for_write(h).await?;
        conn.begin_immediate().await.map_err(db)?;
        Ok(Self { conn, _gate: gate })
    }

    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.connection()
    }

    /// Commits on `Ok`, rolls back on `Err`.
    pub(super) async fn finish<T>(mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Ok(v) => {
                self.conn.commit().await.map_err(db)?;
                Ok(v)
            }
            Err(e) => {
                self.conn.rollback().await;
                Err(e)
            }
        }
    }
}

async fn all(
    c: &mut SqliteConnection,
    sql: &'static str,
    f: impl FnOnce(&mut Args<Sqlite>),
) -> Result<Vec<sqlx::sqlite::SqliteRow>, StoreError> {
    let mut a = Args::default();
    f(&mut a);
    sqlx::query_with(sql, a.0.into_args().map_err(db)?)
        .fetch_all(&mut *c)
        .await
        .map_err(db)
}

/// The follow-up claim (see [`crm_core::LeadStore::claim_follow_ups`]): the reclaim, the
/// read of the due leads and their marks and notices commit together, so a crash leaves
/// either all of a batch claimed (and its notices in the outbox) or none of it.
pub(super) async fn claim_follow_ups(
    h: &Handle,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = claim_follow_ups_in(w.conn(), claim).await;
    w.finish(r).await
}

async fn claim_follow_ups_in(
    c: &mut SqliteConnection,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = all(c, EXPIRED_NOTICES, |a| {
        a.time(claim.now).int(i64::from(claim.limit));
    })
    .await?
    .iter()
    .map(|r| rows::notice(&r.text(0).map_err(rows::corrupt("follow-up notice"))?))
    .collect::<Result<Vec<_>, _>>()?;
    let leads = if expired.is_empty() {
        vec![]
    } else {
        let mut qb = QueryBuilder::<Sqlite>::new(LEADS_BY_ID_HEAD);
        let mut ids = qb.separated(", ");
        for n in &expired {
            ids.push_bind(n.lead_id.as_uuid());
        }
        qb.push(")")
            .build()
            .fetch_all(&mut *c)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?
    };
    let (mut notices, moot) = follow_up::take_over(expired, leads);
    let room = follow_up::room(claim.limit, notices.len());
    let due = if room == 0 {
        vec![]
    } else {
        all(c, DUE_FOLLOW_UPS, |a| {
            a.time(claim.cutoff).int(i64::from(room));
        })
        .await?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?
    };
    let fresh = follow_up::fresh(&due, claim.at);
    if notices.is_empty() && moot.is_empty() && fresh.is_empty() {
        claim_steps_in(c, claim, &mut notices).await?;
        return Ok(notices);
    }
    // Every renewal, deletion, mark and new notice of the batch in one round trip.
    let mut s = Script::within();
    for n in &notices {
        s.push(RENEW_NOTICE)
            .time(claim.lease_until)
            .str(&json(n)?)
            .uuid(n.id.as_uuid());
    }
    for id in &moot {
        s.push(DELETE_NOTICE).uuid(id.as_uuid());
    }
    // The batch's marks and notices as multi-row statements: sqlx hands every statement's
    // result back from its worker thread, so a statement per lead cost a hand-off per lead.
    for chunk in fresh.chunks(import::per_statement(1)) {
        let a = s
            .push(&import::numbered_list(MARK_NOTIFIED_HEAD, 3, chunk.len()))
            .time(claim.at)
            .time(claim.at);
        for n in chunk {
            a.uuid(n.lead_id.as_uuid());
        }
    }
    push_notices(&mut s, &fresh, claim.lease_until)?;
    s.execute(c).await?;
    notices.extend(fresh);
    claim_steps_in(c, claim, &mut notices).await?;
    Ok(notices)
}

/// The claim's later steps (overdue reminders, escalations), each reading the leads as the
/// steps before it left them, while the claim has room.
async fn claim_steps_in(
    c: &mut SqliteConnection,
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
        let due = all(c, sql, |a| {
            a.time(by).int(i64::from(room));
        })
        .await?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
        let marked = step.apply(&due, claim.at);
        if marked.is_empty() {
            continue;
        }
        let mut s = Script::within();
        for (r, _) in &marked {
            follow_up::mark(s.push(follow_up::MARK_LEAD), r);
        }
        let marked: Vec<FollowUpNotice> = marked.into_iter().map(|(_, n)| n).collect();
        push_notices(&mut s, &marked, claim.lease_until)?;
        s.execute(c).await?;
        notices.extend(marked);
    }
    Ok(())
}

/// New notices into the outbox, claimed until `lease_until`: one multi-row insert per
/// [`import::per_statement`] notices.
fn push_notices(
    s: &mut Script,
    notices: &[FollowUpNotice],
    lease_until: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in notices.chunks(import::per_statement(NOTICE_VALUES)) {
        let sql = import::multi_row(INSERT_NOTICE, chunk.len()).ok_or_else(|| {
            StoreError::Backend(format!("not a one-row insert: {INSERT_NOTICE}").into())
        })?;
        let a = s.push(&sql);
        for n in chunk {
            a.uuid(n.id.as_uuid())
                .uuid(n.lead_id.as_uuid())
                .str(&json(n)?)
                .time(lease_until);
        }
    }
    Ok(())
}

/// What [`claim_follow_ups`] would return, changing nothing: the same claim in a
/// transaction that is rolled back.
pub(super) async fn preview_follow_ups(
    h: &Handle,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = claim_follow_ups_in(w.conn(), claim).await;
    // Rolled back whatever happened: a preview changes nothing.
    w.conn.rollback().await;
    r
}

/// Claims free pending clients (one statement under the write gate).
pub(super) async fn claim_pending_clients(
    h: &Handle,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<PendingClient>, StoreError> {
    let _gate = h.gate().await;
    let mut c = h.write_conn().await?;
    let claimed = all(&mut c, CLAIM_PENDING, |a| {
        a.time(lease_until).time(now).int(i64::from(limit));
    })
    .await?
    .iter()
    .map(rows::pending_client)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(rows::in_claim_order(claimed))
}

/// Moves the event watermark up to `up_to` (never past the newest event).
pub(super) async fn ack_events(h: &Handle, up_to: u64) -> Result<u64, StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = ack_events_in(w.conn(), up_to).await;
    w.finish(r).await
}

async fn ack_events_in(c: &mut SqliteConnection, up_to: u64) -> Result<u64, StoreError> {
    let state = all(c, ACK_STATE, |_| {}).await?;
    let row = state
        .first()
        .ok_or_else(|| StoreError::Backend("the event watermark row is missing".into()))?;
    let Some((new, passed)) = events::next_ack(row, up_to)? else {
        return Ok(0);
    };
    all(c, events::SET_ACK, |a| {
        a.int(new);
    })
    .await?;
    Ok(passed)
}
