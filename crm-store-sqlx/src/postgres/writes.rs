//! The PostgreSQL writes of leads, interactions, opportunities and conversions: each one
//! READ COMMITTED transaction, statement by statement (see the module docs for what makes
//! each race-free).

use crm_core::{
    BoxError, ClientId, Entity, Interaction, Lead, LeadId, LeadWrite, NewEvent, Opportunity,
    OpportunityWrite, StoreError, Turn,
};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Handle;
use crate::bind::{Args, Binds};
use crate::error::{conflict, db, is_unique_violation, not_found, status_of};
use crate::events;
use crate::lead_writes::{self as lw};
use crate::records::{self, insert_opportunity};
use crate::rows::{self, Cols, to_i64};
use crate::{assignment, conversion, lead_writes};

/// Serialises duplicate checks on the same normalised contact data (keys sorted by the
/// caller, so two writers never wait on each other in opposite orders).
const LOCK_CONTACTS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t (k)";
/// Appends one event under the events advisory lock (two-key form, so it cannot collide
/// with the one-key contact locks), taken in the same round trip.
const INSERT_EVENT: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     SELECT $1, $2, $3, $4, $5 FROM pg_advisory_xact_lock(208825600, 1)";
/// [`insert_opportunity!`]; `FOR SHARE` holds off a concurrent conversion until this
/// transaction ends.
const INSERT_OPPORTUNITY: &str = concat!(insert_opportunity!(), " FOR SHARE");
/// The opportunity's version and its lead's status, both locked until the write ends.
const OPPORTUNITY_STATE: &str = "SELECT o.version, o.lead_id, \
     (SELECT l.status FROM leads l WHERE l.id = o.lead_id FOR SHARE) \
     FROM opportunities o WHERE o.id = $1 FOR NO KEY UPDATE";

/// A write transaction (READ COMMITTED).
pub(super) struct WriteTx {
    pub(super) tx: Transaction<'static, Postgres>,
}

impl WriteTx {
    pub(super) async fn begin(h: &Handle) -> Result<Self, StoreError> {
        let tx = h.pool.begin().await.map_err(crate::error::db)?;
        Ok(WriteTx { tx })
    }

    /// Commits on `Ok`, rolls back on `Err`.
    pub(super) async fn finish<T>(self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Ok(v) => {
                self.tx.commit().await.map_err(crate::error::db)?;
                Ok(v)
            }
            Err(e) => {
                if let Err(re) = self.tx.rollback().await {
                    tracing::warn!(error = %re, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

/// Values for one statement.
pub(super) fn values(f: impl FnOnce(&mut Args<Postgres>)) -> Args<Postgres> {
    let mut a = Args::default();
    f(&mut a);
    a
}

/// Runs `sql` in the transaction: how many rows it changed, or the database error.
pub(super) async fn exec(
    c: &mut PgConnection,
    sql: &'static str,
    a: Args<Postgres>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query_with(sql, a.0.into_args()?)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

/// Every row `sql` returns in the transaction.
pub(super) async fn all(
    c: &mut PgConnection,
    sql: &'static str,
    a: Args<Postgres>,
) -> Result<Vec<PgRow>, StoreError> {
    sqlx::query_with(sql, a.0.into_args().map_err(db)?)
        .fetch_all(&mut *c)
        .await
        .map_err(db)
}

/// Runs `sql`, mapping a taken unique key to `taken`.
async fn exec_unique(
    c: &mut PgConnection,
    sql: &'static str,
    a: Args<Postgres>,
    taken: impl FnOnce() -> StoreError,
) -> Result<u64, StoreError> {
    exec(c, sql, a).await.map_err(|e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            db(e)
        }
    })
}

/// A stable 64-bit key (FNV-1a) for an advisory lock on one normalised contact value.
fn contact_key(field: &str, value: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in field.bytes().chain([0]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// `Duplicate` naming the oldest open lead with the email, else with the phone. First takes
/// the advisory locks of the lead's email and phone (held until the transaction ends), so a
/// concurrent writer of the same contact data runs its check after this one committed.
async fn duplicate_of(c: &mut PgConnection, lead: &Lead) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = [
        lead.email().map(|e| contact_key("email", e.as_str())),
        lead.phone().map(|p| contact_key("phone", p.as_str())),
    ]
    .into_iter()
    .flatten()
    .collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query(LOCK_CONTACTS)
        .bind(keys)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let found = all(c, lw::DUPLICATE, values(|a| lw::duplicate(a, lead))).await?;
    match lw::duplicate_found(&found)? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub(super) async fn append_events(
    c: &mut PgConnection,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    for e in events {
        let mut a = Args::default();
        events::event(&mut a, e)?;
        exec(c, INSERT_EVENT, a).await.map_err(db)?;
    }
    Ok(())
}

/// History, pending client and events of a lead write.
async fn write_rest(c: &mut PgConnection, w: &LeadWrite) -> Result<(), StoreError> {
    let (id, version) = (w.lead.id(), w.lead.version());
    let write_version = to_i64(version)?;
    for (ord, e) in (0i64..).zip(&w.history) {
        let mut a = Args::default();
        lw::history(&mut a, write_version, ord, id, e)?;
        exec_unique(c, lw::INSERT_HISTORY, a, || {
            conflict(Entity::Lead, id, version.saturating_sub(1))
        })
        .await?;
    }
    if let Some(p) = &w.pending_client {
        let mut a = Args::default();
        lw::pending(&mut a, p)?;
        exec(c, lw::UPSERT_PENDING, a).await.map_err(db)?;
    }
    if let Some(p) = lw::StatusPeriod::of(w) {
        exec(c, lw::CLOSE_STATUS_PERIOD, values(|a| p.close(a)))
            .await
            .map_err(db)?;
        exec(c, lw::OPEN_STATUS_PERIOD, values(|a| p.open(a)))
            .await
            .map_err(db)?;
    }
    append_events(c, &w.events).await
}

async fn lead_exists(c: &mut PgConnection, id: LeadId) -> Result<bool, StoreError> {
    let found = all(
        c,
        lw::LEAD_EXISTS,
        values(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?;
    Ok(!found.is_empty())
}

/// Why a change to a lead that must be writable matched no row.
async fn not_writable(c: &mut PgConnection, id: LeadId) -> Result<StoreError, StoreError> {
    let status = all(
        c,
        lw::LEAD_STATUS,
        values(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?
    .first()
    .map(|r| r.text(0).map_err(rows::corrupt("lead status")))
    .transpose()?;
    lead_writes::not_writable(id, status.as_deref())
}

pub(super) async fn insert_lead_in(c: &mut PgConnection, w: &LeadWrite) -> Result<(), StoreError> {
    let mut a = Args::default();
    lw::insert_lead(&mut a, &w.lead)?;
    exec_unique(c, lw::INSERT_LEAD, a, || {
        conflict(Entity::Lead, w.lead.id(), 0)
    })
    .await?;
    if w.check_duplicates {
        duplicate_of(c, &w.lead).await?;
    }
    write_rest(c, w).await
}

/// Takes the assignment `turn` (the rule's row stays locked until the transaction ends, so
/// a concurrent create of the same rule waits, then finds the turn taken), then inserts.
pub(super) async fn insert_lead_taking_turn_in(
    c: &mut PgConnection,
    w: &LeadWrite,
    turn: &Turn,
) -> Result<(), StoreError> {
    let taken = exec(
        c,
        assignment::take_turn(turn),
        values(|a| assignment::turn_values(a, turn)),
    )
    .await
    .map_err(db)?;
    if taken == 0 {
        return Err(assignment::turn_taken());
    }
    insert_lead_in(c, w).await
}

pub(super) async fn update_lead_in(
    c: &mut PgConnection,
    expected: u64,
    w: &LeadWrite,
) -> Result<(), StoreError> {
    let lead = &w.lead;
    let id = lead.id();
    let updated = if expected.checked_add(1) == Some(lead.version()) {
        let mut a = Args::default();
        lw::update_lead(&mut a, expected, lead)?;
        exec(c, lw::UPDATE_LEAD, a).await.map_err(db)?
    } else {
        0
    };
    if updated == 0 {
        return Err(if lead_exists(c, id).await? {
            conflict(Entity::Lead, id, expected)
        } else {
            not_found(Entity::Lead, id)
        });
    }
    if w.check_duplicates {
        duplicate_of(c, lead).await?;
    }
    write_rest(c, w).await
}

pub(super) async fn insert_interaction_in(
    c: &mut PgConnection,
    i: &Interaction,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let touched = exec(
        c,
        records::TOUCH_INTERACTION,
        values(|a| records::touch(a, i)),
    )
    .await
    .map_err(db)?;
    if touched == 0 {
        return Err(not_writable(c, i.lead_id).await?);
    }
    let a = values(|a| records::interaction(a, i));
    exec_unique(c, records::INSERT_INTERACTION, a, || {
        conflict(Entity::Interaction, i.id, 0)
    })
    .await?;
    append_events(c, events).await
}

pub(super) async fn insert_opportunity_in(
    c: &mut PgConnection,
    o: &Opportunity,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut a = Args::default();
    records::opportunity(&mut a, o)?;
    let inserted = exec_unique(c, INSERT_OPPORTUNITY, a, || {
        conflict(Entity::Opportunity, o.id, 0)
    })
    .await?;
    if inserted == 0 {
        return Err(not_writable(c, o.lead_id).await?);
    }
    append_events(c, events).await
}

pub(super) async fn update_opportunity_in(
    c: &mut PgConnection,
    expected: u64,
    w: &OpportunityWrite,
) -> Result<(), StoreError> {
    let o = &w.opportunity;
    let found = all(
        c,
        OPPORTUNITY_STATE,
        values(|a| {
            a.uuid(o.id.as_uuid());
        }),
    )
    .await?;
    let row = found
        .first()
        .ok_or_else(|| not_found(Entity::Opportunity, o.id))?;
    let read = || -> Result<(i64, Uuid, Option<String>), BoxError> {
        Ok((row.int(0)?, row.uuid(1)?, row.opt_text(2)?))
    };
    let (version, lead_id, status) = read().map_err(rows::corrupt("opportunity"))?;
    let lead_id = LeadId::from_uuid(lead_id);
    if u64::try_from(version).ok() != Some(expected) || expected.checked_add(1) != Some(o.version) {
        return Err(conflict(Entity::Opportunity, o.id, expected));
    }
    match status {
        None => return Err(not_found(Entity::Lead, lead_id)),
        Some(s) if w.lead_must_be_open && status_of(&s)?.is_read_only() => {
            return Err(StoreError::ReadOnly { lead: lead_id });
        }
        Some(_) => {}
    }
    let mut a = Args::default();
    records::update(&mut a, expected, w)?;
    exec(c, records::UPDATE_OPPORTUNITY, a).await.map_err(db)?;
    append_events(c, &w.events).await
}

pub(super) async fn complete_conversion_in(
    c: &mut PgConnection,
    lead_id: LeadId,
    client_id: &ClientId,
    event: &NewEvent,
) -> Result<bool, StoreError> {
    let removed = exec(
        c,
        conversion::DELETE_PENDING,
        values(|a| {
            a.uuid(lead_id.as_uuid());
        }),
    )
    .await
    .map_err(db)?;
    if removed == 0 {
        return Ok(false);
    }
    let set = exec(
        c,
        conversion::SET_CLIENT,
        values(|a| {
            a.str(client_id.as_ref()).uuid(lead_id.as_uuid());
        }),
    )
    .await
    .map_err(db)?;
    if set == 0 {
        return Err(not_found(Entity::Lead, lead_id));
    }
    append_events(c, std::slice::from_ref(event)).await?;
    Ok(true)
}

/// Locks both leads of a merge, in id order (two merges of the same pair never wait on
/// each other in opposite orders), and reads their versions.
const LOCK_PAIR: &str =
    "SELECT id, version FROM leads WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE";

/// A merge ([`crm_core::merge`]): both leads locked and their versions checked, both lead
/// writes, then the statements of [`crate::duplicates::AFTER_WRITES`], history and the
/// event.
pub(super) async fn merge_leads_in(
    c: &mut PgConnection,
    w: &crm_core::MergeWrite,
) -> Result<(), StoreError> {
    let [a, b] = crate::duplicates::ids_sorted(w);
    let locked = all(
        c,
        LOCK_PAIR,
        values(|v| {
            v.uuid(a.as_uuid()).uuid(b.as_uuid());
        }),
    )
    .await?;
    let mut stored = [None, None];
    for r in &locked {
        let read = || -> Result<(Uuid, i64), BoxError> { Ok((r.uuid(0)?, r.int(1)?)) };
        let (id, version) = read().map_err(rows::corrupt("lead version"))?;
        for (slot, lead) in stored.iter_mut().zip([w.keep_id(), w.other_id()]) {
            if lead.as_uuid() == id {
                *slot = Some(version);
            }
        }
    }
    if !crate::duplicates::at_versions(w, stored) {
        return Err(crate::duplicates::refused(w, stored));
    }
    for (lw_, expected) in [(&w.keep, w.keep_version), (&w.other, w.other_version)] {
        let updated = if expected.checked_add(1) == Some(lw_.lead.version()) {
            let mut a = Args::default();
            lw::update_lead(&mut a, expected, &lw_.lead)?;
            exec(c, lw::UPDATE_LEAD, a).await.map_err(db)?
        } else {
            0
        };
        if updated == 0 {
            return Err(conflict(Entity::Lead, lw_.lead.id(), expected));
        }
    }
    for sql in crate::duplicates::AFTER_WRITES {
        exec(c, sql, values(|a| crate::duplicates::pair(a, w)))
            .await
            .map_err(db)?;
    }
    write_rest(c, &w.keep).await?;
    write_rest(c, &w.other).await
}
