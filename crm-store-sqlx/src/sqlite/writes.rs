//! The SQLite writes of leads, interactions, opportunities and conversions: each one
//! script, its checks inside (see `script`), and the explanations of a failed check.

use crm_core::{
    BoxError, ClientId, Entity, Interaction, Lead, LeadId, LeadWrite, MergeWrite, NewEvent,
    Opportunity, OpportunityId, OpportunityWrite, StoreError, Turn,
};
use sqlx::Sqlite;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use super::Handle;
use super::script::{Check, NotDone, Script, Why, done, write};
use crate::bind::{Args, Binds};
use crate::error::{conflict, db, is_constraint_violation, is_unique_violation, not_found};
use crate::events;
use crate::lead_writes::{self as lw, duplicate_probe};
use crate::records::{self, insert_opportunity, update_opportunity};
use crate::rows::{self, Cols, to_i64};
use crate::{assignment, conversion, duplicates, lead_writes};

/// Whether the duplicate probe finds a lead, for the `duplicate` write check.
const HAS_DUPLICATE: &str = concat!("EXISTS (", duplicate_probe!(), ")");
/// `changes()` right after a statement: how many rows it changed.
const NOTHING_CHANGED: &str = "changes() = 0";
/// Appends an event numbered after both the newest event and the acknowledged watermark
/// (migration `..._leaner_writes.sql`: what AUTOINCREMENT guaranteed, without writing
/// `sqlite_sequence` on every append). One writer at a time, so numbers are commit order.
/// A `VALUES` row, not `INSERT ... SELECT`: SQLite copies a select that reads the table it
/// inserts into through a temporary B-tree first.
const INSERT_EVENT: &str = "INSERT INTO events (seq, id, at, lead_id, actor, kind) VALUES (\
     (SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) + 1 \
      FROM events), $1, $2, $3, $4, $5)";
const INSERT_OPPORTUNITY: &str = insert_opportunity!();
/// [`records::UPDATE_OPPORTUNITY`] that also needs the lead not converted.
const UPDATE_OPPORTUNITY_OPEN_LEAD: &str = concat!(
    update_opportunity!(),
    " AND EXISTS (SELECT 1 FROM leads \
       WHERE leads.id = opportunities.lead_id AND status <> 'converted')"
);
const OPPORTUNITY_STATE: &str = "SELECT o.version, o.lead_id, l.status FROM opportunities o \
     LEFT JOIN leads l ON l.id = o.lead_id WHERE o.id = $1";

pub(super) fn push_events(s: &mut Script, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        events::event(s.push(INSERT_EVENT), e)?;
    }
    Ok(())
}

/// History, pending client and events of a lead write, and its duplicate check.
fn push_rest(s: &mut Script, w: &LeadWrite) -> Result<(), StoreError> {
    let write_version = to_i64(w.lead.version())?;
    for (ord, e) in (0i64..).zip(&w.history) {
        lw::history(
            s.push(lw::INSERT_HISTORY),
            write_version,
            ord,
            w.lead.id(),
            e,
        )?;
    }
    if let Some(p) = &w.pending_client {
        lw::pending(s.push(lw::UPSERT_PENDING), p)?;
    }
    if let Some(p) = lw::StatusPeriod::of(w) {
        p.close(s.push(lw::CLOSE_STATUS_PERIOD));
        p.open(s.push(lw::OPEN_STATUS_PERIOD));
    }
    push_events(s, &w.events)?;
    if w.check_duplicates {
        lw::duplicate(s.check(Check::Duplicate, HAS_DUPLICATE), &w.lead);
    }
    Ok(())
}

/// Inserts a lead and, first, takes its assignment `turn` when it has one.
pub(super) async fn insert_lead(
    h: &Handle,
    w: &LeadWrite,
    turn: Option<&Turn>,
) -> Result<(), StoreError> {
    let mut s = Script::write();
    if let Some(t) = turn {
        assignment::turn_values(s.push(assignment::take_turn(t)), t);
        s.check(Check::TurnTaken, NOTHING_CHANGED);
    }
    lw::insert_lead(s.push(lw::INSERT_LEAD), &w.lead)?;
    push_rest(&mut s, w)?;
    done(
        write(h, s.commit(), |check, e| {
            lead_write_failed(w, None, check, e)
        })
        .await,
    )
}

pub(super) async fn update_lead(
    h: &Handle,
    expected: u64,
    w: &LeadWrite,
) -> Result<(), StoreError> {
    let mut s = Script::write();
    if expected.checked_add(1) == Some(w.lead.version()) {
        lw::update_lead(s.push(lw::UPDATE_LEAD), expected, &w.lead)?;
        s.check(Check::LeadUnchanged, NOTHING_CHANGED);
        push_rest(&mut s, w)?;
    } else {
        // Not the next version: nothing to write, only a conflict to explain.
        s.check(Check::LeadUnchanged, "1");
    }
    done(
        write(h, s.commit(), |check, e| {
            lead_write_failed(w, Some(expected), check, e)
        })
        .await,
    )
}

pub(super) async fn insert_interaction(
    h: &Handle,
    i: &Interaction,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut s = Script::write();
    records::touch(s.push(records::TOUCH_INTERACTION), i);
    s.check(Check::LeadUnchanged, NOTHING_CHANGED);
    records::interaction(s.push(records::INSERT_INTERACTION), i);
    push_events(&mut s, events)?;
    done(
        write(h, s.commit(), |check, e| {
            record_write_failed(i.lead_id, Entity::Interaction, i.id, check, e)
        })
        .await,
    )
}

pub(super) async fn insert_opportunity(
    h: &Handle,
    o: &Opportunity,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut s = Script::write();
    records::opportunity(s.push(INSERT_OPPORTUNITY), o)?;
    s.check(Check::LeadUnchanged, NOTHING_CHANGED);
    push_events(&mut s, events)?;
    done(
        write(h, s.commit(), |check, e| {
            record_write_failed(o.lead_id, Entity::Opportunity, o.id, check, e)
        })
        .await,
    )
}

pub(super) async fn update_opportunity(
    h: &Handle,
    expected: u64,
    w: &OpportunityWrite,
) -> Result<(), StoreError> {
    let o = &w.opportunity;
    let mut s = Script::write();
    let next = expected.checked_add(1) == Some(o.version);
    if next {
        let sql = if w.lead_must_be_open {
            UPDATE_OPPORTUNITY_OPEN_LEAD
        } else {
            records::UPDATE_OPPORTUNITY
        };
        records::update(s.push(sql), expected, w)?;
        s.check(Check::OpportunityUnchanged, NOTHING_CHANGED);
        push_events(&mut s, &w.events)?;
    } else {
        // Not the next version: nothing to write, only a conflict to explain.
        s.check(Check::OpportunityUnchanged, "1");
    }
    done(
        write(h, s.commit(), |check, e| {
            if check == Some(Check::OpportunityUnchanged) {
                Why::Opportunity(o.id, expected, next)
            } else {
                Why::Error(db(e))
            }
        })
        .await,
    )
}

pub(super) async fn complete_conversion(
    h: &Handle,
    lead_id: LeadId,
    client_id: &ClientId,
    event: &NewEvent,
) -> Result<bool, StoreError> {
    let mut s = Script::write();
    // Only a conversion still pending is completed: a second completion finds no row
    // and changes nothing.
    s.push(conversion::DELETE_PENDING).uuid(lead_id.as_uuid());
    s.check(Check::NothingPending, NOTHING_CHANGED);
    s.push(conversion::SET_CLIENT)
        .str(client_id.as_ref())
        .uuid(lead_id.as_uuid());
    s.check(Check::LeadUnchanged, NOTHING_CHANGED);
    push_events(&mut s, std::slice::from_ref(event))?;
    let r = write(h, s.commit(), |check, e| {
        if check == Some(Check::LeadUnchanged) {
            Why::Error(not_found(Entity::Lead, lead_id))
        } else {
            Why::Error(db(e))
        }
    })
    .await;
    match r {
        Ok(()) => Ok(true),
        Err(NotDone::NothingToDo) => Ok(false),
        Err(NotDone::Refused(e)) => Err(e),
    }
}

fn one(f: impl FnOnce(&mut Args<Sqlite>)) -> Args<Sqlite> {
    let mut a = Args::default();
    f(&mut a);
    a
}

async fn run_all(
    c: &mut SqliteConnection,
    sql: &'static str,
    a: Args<Sqlite>,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, StoreError> {
    sqlx::query_with(sql, a.0.into_args().map_err(db)?)
        .fetch_all(&mut *c)
        .await
        .map_err(db)
}

/// `Duplicate` naming the oldest open lead with the email, else with the phone.
pub(super) async fn duplicate_of(
    c: &mut SqliteConnection,
    lead: &Lead,
) -> Result<StoreError, StoreError> {
    let found = run_all(c, lw::DUPLICATE, one(|a| lw::duplicate(a, lead))).await?;
    lw::duplicate_found(&found)?.ok_or_else(|| {
        StoreError::Backend("the duplicate check failed but the probe found no duplicate".into())
    })
}

pub(super) async fn lead_exists(c: &mut SqliteConnection, id: LeadId) -> Result<bool, StoreError> {
    let found = run_all(
        c,
        lw::LEAD_EXISTS,
        one(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?;
    Ok(!found.is_empty())
}

/// Why a change to a lead that must be writable matched no row.
pub(super) async fn not_writable(
    c: &mut SqliteConnection,
    id: LeadId,
) -> Result<StoreError, StoreError> {
    let status = lead_status(c, id).await?;
    lead_writes::not_writable(id, status.as_deref())
}

async fn lead_status(c: &mut SqliteConnection, id: LeadId) -> Result<Option<String>, StoreError> {
    run_all(
        c,
        lw::LEAD_STATUS,
        one(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?
    .first()
    .map(|r| r.text(0).map_err(rows::corrupt("lead status")))
    .transpose()
}

/// Why an opportunity update at `expected` changed no row.
pub(super) async fn opportunity_refused(
    c: &mut SqliteConnection,
    id: OpportunityId,
    expected: u64,
    next: bool,
) -> Result<StoreError, StoreError> {
    let found = run_all(
        c,
        OPPORTUNITY_STATE,
        one(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?;
    let Some(row) = found.first() else {
        return Ok(not_found(Entity::Opportunity, id));
    };
    let read = || -> Result<(i64, Uuid, Option<String>), BoxError> {
        Ok((row.int(0)?, row.uuid(1)?, row.opt_text(2)?))
    };
    let (version, lead, status) = read().map_err(rows::corrupt("opportunity"))?;
    if u64::try_from(version).ok() != Some(expected) || !next {
        return Ok(conflict(Entity::Opportunity, id, expected));
    }
    lead_writes::not_writable(LeadId::from_uuid(lead), status.as_deref())
}

/// What a failed lead write means: a failed check as it says; a unique key taken by an
/// insert means another write got there first; a missing lead (foreign key) or a taken
/// history version of an update is explained by the lead.
fn lead_write_failed(
    w: &LeadWrite,
    expected: Option<u64>,
    check: Option<Check>,
    e: sqlx::Error,
) -> Why<'_> {
    let id = w.lead.id();
    match (check, expected) {
        (Some(Check::TurnTaken), _) => Why::Error(assignment::turn_taken()),
        (Some(Check::Duplicate), _) => Why::Duplicate(&w.lead),
        (Some(Check::LeadUnchanged), Some(v)) => Why::LeadVersion(id, v),
        (None, None) if is_unique_violation(&e) => Why::Error(conflict(Entity::Lead, id, 0)),
        (None, Some(v)) if is_constraint_violation(&e) => Why::LeadVersion(id, v),
        _ => Why::Error(db(e)),
    }
}

/// What a failed insert of a record hanging off a lead (an interaction, an opportunity)
/// means: the lead refused it (missing or converted), or the record's id was taken.
fn record_write_failed(
    lead: LeadId,
    entity: Entity,
    id: impl ToString,
    check: Option<Check>,
    e: sqlx::Error,
) -> Why<'static> {
    if check == Some(Check::LeadUnchanged) {
        Why::LeadWritable(lead)
    } else if is_unique_violation(&e) {
        Why::Error(conflict(entity, id, 0))
    } else {
        Why::Error(db(e))
    }
}

/// A merge ([`crm_core::merge`]) in one script: both lead writes over their versions, the
/// statements of [`crate::duplicates::AFTER_WRITES`], history and the event.
pub(super) async fn merge_leads(h: &Handle, w: &MergeWrite) -> Result<(), StoreError> {
    let mut s = Script::write();
    // Both versions first, so a refusal is explained before anything is written.
    for (id, expected) in [
        (w.keep_id(), w.keep_version),
        (w.other_id(), w.other_version),
    ] {
        s.check(Check::LeadUnchanged, duplicates::NOT_AT_VERSION)
            .uuid(id.as_uuid())
            .int(to_i64(expected)?);
    }
    // The records of OTHER are the ones decided on (`MergeWrite::moved`): none was added
    // since the decision (adding one moves no version).
    let other = w.other_id().as_uuid();
    s.check(Check::LeadUnchanged, duplicates::INTERACTION_COUNT_DIFFERS)
        .uuid(other)
        .int(to_i64(w.moved.interactions.len() as u64)?);
    for id in &w.moved.interactions {
        s.check(Check::LeadUnchanged, duplicates::INTERACTION_NOT_HELD)
            .uuid(id.as_uuid())
            .uuid(other);
    }
    s.check(Check::LeadUnchanged, duplicates::OPPORTUNITY_COUNT_DIFFERS)
        .uuid(other)
        .int(to_i64(w.moved.opportunities.len() as u64)?);
    for id in &w.moved.opportunities {
        s.check(Check::LeadUnchanged, duplicates::OPPORTUNITY_NOT_HELD)
            .uuid(id.as_uuid())
            .uuid(other);
    }
    for (lw_, expected) in [(&w.keep, w.keep_version), (&w.other, w.other_version)] {
        if expected.checked_add(1) == Some(lw_.lead.version()) {
            lw::update_lead(s.push(lw::UPDATE_LEAD), expected, &lw_.lead)?;
            s.check(Check::LeadUnchanged, NOTHING_CHANGED);
        } else {
            s.check(Check::LeadUnchanged, "1");
        }
    }
    for sql in duplicates::AFTER_WRITES {
        duplicates::pair(s.push(sql), w);
    }
    push_rest(&mut s, &w.keep)?;
    push_rest(&mut s, &w.other)?;
    done(
        write(h, s.commit(), |check, e| {
            if check == Some(Check::LeadUnchanged) {
                Why::Merge(w)
            } else {
                Why::Error(db(e))
            }
        })
        .await,
    )
}

/// Why a merge's lead writes changed no row.
pub(super) async fn merge_refused(
    c: &mut SqliteConnection,
    w: &MergeWrite,
) -> Result<StoreError, StoreError> {
    let mut stored = [None, None];
    for (slot, id) in stored.iter_mut().zip([w.keep_id(), w.other_id()]) {
        let found = run_all(
            c,
            duplicates::LEAD_VERSION,
            one(|a| {
                a.uuid(id.as_uuid());
            }),
        )
        .await?;
        *slot = found
            .first()
            .map(|r| r.int(0).map_err(rows::corrupt("lead version")))
            .transpose()?;
    }
    Ok(duplicates::refused(w, stored))
}
