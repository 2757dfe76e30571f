//! The PostgreSQL writes that stay a READ COMMITTED transaction of several statements (see
//! the module docs for what makes each race-free): a create taking an assignment turn, an
//! opportunity update, a conversion's completion. The per-lead writes are `one_trip`.

use crm_core::{
    BoxError, ClientId, Entity, Lead, LeadId, LeadWrite, NewEvent, OpportunityWrite, StoreError,
    Turn,
};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{Handle, one_trip};
use crate::bind::{Args, Binds};
use crate::error::{conflict, db, not_found, status_of};
use crate::events;
use crate::records;
use crate::rows::{self, Cols};
use crate::{assignment, conversion};

/// Appends one event under the events advisory lock (two-key form, so it cannot collide
/// with the one-key contact locks), taken in the same round trip.
const INSERT_EVENT: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     SELECT $1, $2, $3, $4, $5 FROM pg_advisory_xact_lock(208825600, 1)";
/// Takes transaction-scoped advisory locks, one per key (the keys of `one_trip::contact_key`,
/// the same ones `crm_open_duplicates` of migration 16 takes), in the order given.
const LOCK_CONTACTS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t (k)";
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

/// Takes the advisory locks of the emails and phones of `leads` (held until the transaction
/// ends), in key order.
pub(super) async fn lock_contacts(c: &mut PgConnection, leads: &[&Lead]) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = leads
        .iter()
        .flat_map(|lead| {
            [
                lead.email()
                    .map(|e| one_trip::contact_key("email", e.as_str())),
                lead.phone()
                    .map(|p| one_trip::contact_key("phone", p.as_str())),
            ]
        })
        .flatten()
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    sqlx::query(LOCK_CONTACTS)
        .bind(keys)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(())
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
    one_trip::insert_lead(&mut *c, w).await
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
    // The records of OTHER are the ones decided on: adding one locks the lead (and moves no
    // version), so with both leads locked this read is what the merge moves.
    let held = all(
        c,
        crate::duplicates::RECORDS_OF,
        values(|v| {
            v.uuid(w.other_id().as_uuid());
        }),
    )
    .await?;
    let (mut interactions, mut opportunities) = (Vec::new(), Vec::new());
    for r in &held {
        let read = || -> Result<(Uuid, i64), BoxError> { Ok((r.uuid(0)?, r.int(1)?)) };
        match read().map_err(rows::corrupt("merged record"))? {
            (id, 0) => interactions.push(crm_core::InteractionId::from_uuid(id)),
            (id, _) => opportunities.push(crm_core::OpportunityId::from_uuid(id)),
        }
    }
    if !w.moved.is_exactly(interactions, opportunities) {
        return Err(crate::duplicates::refused(w, stored));
    }
    // Each lead's new version with its history, events and status period: one statement
    // each (see `one_trip`); then the records move and OTHER points at KEEP.
    one_trip::update_lead(&mut *c, w.keep_version, &w.keep).await?;
    one_trip::update_lead(&mut *c, w.other_version, &w.other).await?;
    for sql in crate::duplicates::AFTER_WRITES {
        exec(c, sql, values(|a| crate::duplicates::pair(a, w)))
            .await
            .map_err(db)?;
    }
    Ok(())
}
