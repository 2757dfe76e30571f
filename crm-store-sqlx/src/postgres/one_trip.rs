//! The per-lead writes on PostgreSQL as one statement each: one round trip, run on its own
//! (autocommit: the statement is its transaction) or inside a caller's transaction, and
//! prepared once per connection (the SQL text is static, sqlx caches it).
//!
//! Each statement is data-modifying CTEs gated on the one that makes the write (`written`):
//! when it changes nothing (a version that moved on, a converted lead, a duplicate), nothing
//! else is written either, and the final `SELECT` says why. Every rule the statement-by-
//! statement transaction kept holds: the version check is the `UPDATE ... WHERE version`
//! itself; the duplicate check takes the contact locks and probes with a fresh snapshot
//! (`crm_open_duplicates`, migration 16); history, pending client, status periods and the
//! event outbox (appended under its advisory lock, so sequence numbers follow commit order)
//! are written in the same statement.
//!
//! Parameters: `$1` to `$5` are the events' arrays (ids, times, leads, actors, kinds); a lead
//! write's duplicate check and other rows follow (`$6` to `$24`), then the lead's own values
//! from `$25`, bound by the shared binders in `lead_writes` and `records`.

use chrono::{DateTime, Utc};
use crm_core::{Entity, Interaction, Lead, LeadId, LeadWrite, NewEvent, Opportunity, StoreError};
use sqlx::postgres::{PgExecutor, PgRow};
use sqlx::{Postgres, Row};
use uuid::Uuid;

use crate::bind::{Add, Args, Binds};
use crate::error::{conflict, db, is_unique_violation, not_found};
use crate::lead_writes::{self as lw};
use crate::records;
use crate::rows::{self, json, to_i64};

/// Appends the write's events once it is made, under the events advisory lock (two-key
/// form, so it cannot collide with the one-key contact locks).
macro_rules! events_added {
    () => {
        "events_added AS (INSERT INTO events (id, at, lead_id, actor, kind) \
           SELECT e.id, e.at, e.lead_id, e.actor, e.kind \
           FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::bigint[], $5::text[]) \
             AS e (id, at, lead_id, actor, kind) \
           CROSS JOIN pg_advisory_xact_lock(208825600, 1) \
           WHERE EXISTS (SELECT 1 FROM written))"
    };
}

/// The duplicate check of a lead write: contact locks `$6`, email `$7`, phone `$8`, lead `$9`
/// (no locks and no contact data when the write does not check). Skipped, function call and
/// all, when there is nothing to check (a one-time filter).
macro_rules! duplicates {
    () => {
        "WITH dup AS MATERIALIZED (SELECT probe, found \
           FROM crm_open_duplicates($6, $7, $8, $9) \
           WHERE cardinality($6) > 0 OR $7 IS NOT NULL OR $8 IS NOT NULL), "
    };
}

/// What a lead write writes besides the lead: its history (`$10` to `$14`, at write version
/// `$15`), its pending client (`$16` to `$22`, when `$17` is set), its status period
/// (entered `$23` in status `$24`, when set) and its events; then whether it was written,
/// whether the lead exists, and the duplicates found.
macro_rules! lead_rest {
    () => {
        concat!(
            "history_added AS (INSERT INTO lead_history \
               (lead_id, write_version, ord, version, at, actor, change) \
               SELECT $9, $15, h.ord, h.version, h.at, h.actor, h.change \
               FROM unnest($10::bigint[], $11::bigint[], $12::timestamptz[], $13::bigint[], \
                           $14::text[]) AS h (ord, version, at, actor, change) \
               WHERE EXISTS (SELECT 1 FROM written)), \
             pending_set AS (INSERT INTO pending_clients (lead_id, request, created_at, \
               attempts, last_error, last_attempt_at, claimed_until) \
               SELECT $16, $17, $18, $19, $20, $21, $22 \
               WHERE $17 IS NOT NULL AND EXISTS (SELECT 1 FROM written) \
               ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
               created_at = excluded.created_at, attempts = excluded.attempts, \
               last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, \
               claimed_until = excluded.claimed_until), \
             period_closed AS (UPDATE lead_status_periods SET left_us = $23 \
               WHERE lead_id = $9 AND left_us IS NULL AND $23 IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM written)), \
             period_opened AS (INSERT INTO lead_status_periods (lead_id, entered_us, status) \
               SELECT $9, $23, $24 WHERE $23 IS NOT NULL AND EXISTS (SELECT 1 FROM written) \
               ON CONFLICT DO NOTHING), ",
            events_added!(),
            " SELECT (SELECT COUNT(*) FROM written), \
                EXISTS (SELECT 1 FROM leads WHERE id = $9), \
                ARRAY(SELECT probe FROM dup), ARRAY(SELECT found FROM dup)"
        )
    };
}

/// Inserts a lead (`lead_writes::INSERT_LEAD`'s values from `$25`) unless it duplicates one.
const INSERT_LEAD: &str = concat!(
    duplicates!(),
    "written AS (INSERT INTO leads (",
    lw::lead_columns!(),
    ") SELECT $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, \
       $40, $41, $42, $43, $44, $45, $46, $47 \
       WHERE NOT EXISTS (SELECT 1 FROM dup) RETURNING id), ",
    lead_rest!()
);

/// Updates a lead at its version (`lead_writes::UPDATE_LEAD`'s values from `$25`) unless it
/// would duplicate one.
const UPDATE_LEAD: &str = concat!(
    duplicates!(),
    "written AS (UPDATE leads SET name = $25, email = $26, phone = $27, \
       phone_display = $28, company = $29, source = $30, status = $31, owner = $32, \
       updated_at = $33, version = $34, lost_reason = $35, search_text = $36, \
       lost_reason_code = $39, next_follow_up_at = $40 \
       WHERE id = $37 AND version = $38 AND NOT EXISTS (SELECT 1 FROM dup) RETURNING id), ",
    lead_rest!()
);

/// Records an interaction (`records::touch`'s values from `$6`, then
/// `records::interaction`'s from `$9`) on a lead that exists and is neither converted nor
/// merged; then whether it was written and the lead's status (`merged` for a merged lead).
const INSERT_INTERACTION: &str = concat!(
    "WITH written AS (UPDATE leads SET last_interaction_at = \
       CASE WHEN last_interaction_at IS NULL OR last_interaction_at < $6 THEN $6 \
       ELSE last_interaction_at END, \
       next_follow_up_at = COALESCE($8, next_follow_up_at) \
       WHERE id = $7 AND status <> 'converted' AND merged_into IS NULL RETURNING id), \
     added AS (INSERT INTO interactions \
       (id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at) \
       SELECT $9, $10, $11, $12, $13, $14, $15, $16 WHERE EXISTS (SELECT 1 FROM written)), ",
    events_added!(),
    " SELECT (SELECT COUNT(*) FROM written), \
     (SELECT CASE WHEN merged_into IS NULL THEN status ELSE 'merged' END FROM leads WHERE id = $7)"
);

/// Records an opportunity (`records::opportunity`'s values from `$6`) on a lead that exists
/// and is neither converted nor merged, which stays share-locked until the write ends
/// (holding off a concurrent conversion); then whether it was written and the lead's status.
const INSERT_OPPORTUNITY: &str = concat!(
    "WITH written AS (INSERT INTO opportunities (id, lead_id, title, value_minor, currency, \
       expected_close, stage, created_by, created_at, updated_at, version, probability) \
       SELECT $6, id, $7, $8, $9, $10, $11, $12, $13, $14, $15, $17 FROM leads \
       WHERE id = $16 AND status <> 'converted' AND merged_into IS NULL FOR SHARE RETURNING lead_id), ",
    events_added!(),
    " SELECT (SELECT COUNT(*) FROM written), \
     (SELECT CASE WHEN merged_into IS NULL THEN status ELSE 'merged' END FROM leads WHERE id = $16)"
);

/// `$1` to `$5`: the events' columns as arrays.
fn events(a: &mut Args<Postgres>, events: &[NewEvent]) -> Result<(), StoreError> {
    let kinds = events
        .iter()
        .map(|e| json(&e.kind))
        .collect::<Result<Vec<_>, _>>()?;
    a.0.add(events.iter().map(|e| e.id.as_uuid()).collect::<Vec<Uuid>>())
        .add(events.iter().map(|e| e.at).collect::<Vec<DateTime<Utc>>>())
        .add(
            events
                .iter()
                .map(|e| e.lead_id.as_uuid())
                .collect::<Vec<Uuid>>(),
        )
        .add(
            events
                .iter()
                .map(|e| e.actor.map(|a| a.get()))
                .collect::<Vec<Option<i64>>>(),
        )
        .add(kinds);
    Ok(())
}

/// `$6` to `$24`: the duplicate check, history, pending client and status period of `w`.
fn lead_rest(a: &mut Args<Postgres>, w: &LeadWrite) -> Result<(), StoreError> {
    let lead = &w.lead;
    let (email, phone) = if w.check_duplicates {
        (
            lead.email().map(|e| e.as_str()),
            lead.phone().map(|p| p.as_str()),
        )
    } else {
        (None, None)
    };
    let mut keys: Vec<i64> = [
        email.map(|e| contact_key("email", e)),
        phone.map(|p| contact_key("phone", p)),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Sorted, so two writers never wait on each other's locks in opposite orders.
    keys.sort_unstable();
    keys.dedup();
    a.0.add(keys);
    a.opt_str(email).opt_str(phone).uuid(lead.id().as_uuid());

    let mut ords = Vec::with_capacity(w.history.len());
    let mut versions = Vec::with_capacity(w.history.len());
    let mut ats = Vec::with_capacity(w.history.len());
    let mut actors = Vec::with_capacity(w.history.len());
    let mut changes = Vec::with_capacity(w.history.len());
    for (ord, e) in (0i64..).zip(&w.history) {
        ords.push(ord);
        versions.push(to_i64(e.version)?);
        ats.push(e.at);
        actors.push(e.actor.get());
        changes.push(json(&e.change)?);
    }
    a.0.add(ords)
        .add(versions)
        .add(ats)
        .add(actors)
        .add(changes);
    a.int(to_i64(lead.version())?);

    match &w.pending_client {
        Some(p) => lw::pending(a, p)?,
        None => {
            a.uuid(lead.id().as_uuid())
                .opt_str(None)
                .opt_time(None)
                .opt_int(None)
                .opt_str(None)
                .opt_time(None)
                .opt_time(None);
        }
    }
    match lw::StatusPeriod::of(w) {
        Some(p) => p.entered(a),
        None => {
            a.opt_int(None).opt_str(None);
        }
    }
    Ok(())
}

/// A stable 64-bit key (FNV-1a) for an advisory lock on one normalised contact value.
pub(super) fn contact_key(field: &str, value: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in field.bytes().chain([0]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Runs one statement: its one row, a taken unique key mapped to `taken`.
async fn one_row<'c>(
    c: impl PgExecutor<'c>,
    sql: &'static str,
    a: Args<Postgres>,
    taken: impl FnOnce() -> StoreError,
) -> Result<PgRow, StoreError> {
    sqlx::query_with(sql, a.0.into_args().map_err(db)?)
        .fetch_one(c)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken()
            } else {
                db(e)
            }
        })
}

/// What a lead write's statement answered: `Ok` when it wrote; else `Duplicate` when the
/// check found one, `NotFound` when the lead is missing, or `otherwise`.
fn lead_written(
    row: &PgRow,
    id: LeadId,
    otherwise: impl FnOnce() -> StoreError,
) -> Result<(), StoreError> {
    let read = || -> Result<_, sqlx::Error> {
        Ok((
            row.try_get::<i64, _>(0)?,
            row.try_get::<bool, _>(1)?,
            row.try_get::<Vec<i64>, _>(2)?,
            row.try_get::<Vec<Uuid>, _>(3)?,
        ))
    };
    let (written, exists, probes, found) =
        read().map_err(|e| rows::corrupt("lead write result")(Box::new(e)))?;
    if written > 0 {
        return Ok(());
    }
    if let Some(e) = lw::duplicate_among(
        probes
            .into_iter()
            .zip(found.into_iter().map(LeadId::from_uuid)),
    ) {
        return Err(e);
    }
    Err(if exists {
        otherwise()
    } else {
        not_found(Entity::Lead, id)
    })
}

/// Inserts the lead of `w` with everything its write carries, in one statement.
pub(super) async fn insert_lead<'c>(
    c: impl PgExecutor<'c>,
    w: &LeadWrite,
) -> Result<(), StoreError> {
    let id = w.lead.id();
    let mut a = Args::default();
    events(&mut a, &w.events)?;
    lead_rest(&mut a, w)?;
    lw::insert_lead(&mut a, &w.lead)?;
    let row = one_row(c, INSERT_LEAD, a, || conflict(Entity::Lead, id, 0)).await?;
    // Not written and no duplicate: the insert's gate has no other way to fail.
    lead_written(&row, id, || conflict(Entity::Lead, id, 0))
}

/// Writes version `expected + 1` of the lead of `w` over version `expected`, with
/// everything its write carries, in one statement.
pub(super) async fn update_lead<'c>(
    c: impl PgExecutor<'c>,
    expected: u64,
    w: &LeadWrite,
) -> Result<(), StoreError> {
    let lead: &Lead = &w.lead;
    let id = lead.id();
    if expected.checked_add(1) != Some(lead.version()) {
        // Not the next version: nothing to write, only a conflict to explain.
        let found = sqlx::query(lw::LEAD_EXISTS)
            .bind(id.as_uuid())
            .fetch_optional(c)
            .await
            .map_err(db)?;
        return Err(match found {
            Some(_) => conflict(Entity::Lead, id, expected),
            None => not_found(Entity::Lead, id),
        });
    }
    let mut a = Args::default();
    events(&mut a, &w.events)?;
    lead_rest(&mut a, w)?;
    lw::update_lead(&mut a, expected, lead)?;
    let row = one_row(c, UPDATE_LEAD, a, || conflict(Entity::Lead, id, expected)).await?;
    lead_written(&row, id, || conflict(Entity::Lead, id, expected))
}

/// Why a record's statement wrote nothing, from the lead's status it read.
fn record_written(row: &PgRow, lead: LeadId) -> Result<(), StoreError> {
    let read = || -> Result<_, sqlx::Error> {
        Ok((
            row.try_get::<i64, _>(0)?,
            row.try_get::<Option<String>, _>(1)?,
        ))
    };
    let (written, status) =
        read().map_err(|e| rows::corrupt("record write result")(Box::new(e)))?;
    if written > 0 {
        Ok(())
    } else {
        Err(lw::not_writable(lead, status.as_deref())?)
    }
}

/// Records interaction `i` and its events in one statement.
pub(super) async fn insert_interaction<'c>(
    c: impl PgExecutor<'c>,
    i: &Interaction,
    evs: &[NewEvent],
) -> Result<(), StoreError> {
    let mut a = Args::default();
    events(&mut a, evs)?;
    records::touch(&mut a, i);
    records::interaction(&mut a, i);
    let row = one_row(c, INSERT_INTERACTION, a, || {
        conflict(Entity::Interaction, i.id, 0)
    })
    .await?;
    record_written(&row, i.lead_id)
}

/// Records opportunity `o` and its events in one statement.
pub(super) async fn insert_opportunity<'c>(
    c: impl PgExecutor<'c>,
    o: &Opportunity,
    evs: &[NewEvent],
) -> Result<(), StoreError> {
    let mut a = Args::default();
    events(&mut a, evs)?;
    records::opportunity(&mut a, o)?;
    let row = one_row(c, INSERT_OPPORTUNITY, a, || {
        conflict(Entity::Opportunity, o.id, 0)
    })
    .await?;
    record_written(&row, o.lead_id)
}
