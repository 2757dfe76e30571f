//! [`commit`]: a [`Changeset`] interpreted in one `BEGIN IMMEDIATE` transaction on the
//! writer's thread. Each precondition is a read checked in Rust (`require`) against the
//! state the steps before it left; each write is one or two plain statements. The first precondition
//! that does not hold ends the transaction (rolled back when dropped) with its refusal.
//!
//! The derived data the sqlx store keeps stays in step: `search_text` and `phone_display`
//! with every lead row, a status period per lead write that enters a status (the time-in-
//! status report), and the report counts (`lead_counts`, kept by the schema's triggers).

use chrono::{DateTime, Utc};
use crm_core::time_in_status::status_entered;
use crm_core::{
    Changeset, Committed, Entity, HistoryEntry, Lead, LeadId, LeadStatus, Step, StoreError, Write,
};
use rusqlite::{Connection, Transaction, TransactionBehavior, named_params};

use super::conn::db;
use super::read::{one, opt_us, parse, us};

const INSERT_LEAD: &str = "INSERT INTO leads (id, name, email, phone, phone_display, company, \
     source, status, owner, created_by, created_at, updated_at, version, client_id, \
     lost_reason, lost_reason_code, last_interaction_at, next_follow_up_at, \
     follow_up_notified_at, follow_up_reminded_for, owner_notified_at, escalated_for, \
     merged_into, search_text) \
     VALUES (:id, :name, :email, :phone, :phone_display, :company, :source, :status, :owner, \
     :created_by, :created_at, :updated_at, :version, :client_id, :lost_reason, \
     :lost_reason_code, :last_interaction_at, :next_follow_up_at, :follow_up_notified_at, \
     :follow_up_reminded_for, :owner_notified_at, :escalated_for, :merged_into, :search_text)";
/// Every field but `client_id`, `last_interaction_at` and the follow-up marks, which have
/// writes of their own and do not move the version.
const UPDATE_LEAD: &str = "UPDATE leads SET name = :name, email = :email, phone = :phone, \
     phone_display = :phone_display, company = :company, source = :source, status = :status, \
     owner = :owner, created_by = :created_by, created_at = :created_at, \
     updated_at = :updated_at, version = :version, lost_reason = :lost_reason, \
     lost_reason_code = :lost_reason_code, next_follow_up_at = :next_follow_up_at, \
     merged_into = :merged_into, search_text = :search_text WHERE id = :id";
/// The entry numbered after the entries already stored for the same lead version.
const INSERT_HISTORY: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) \
     VALUES (:lead, :version, (SELECT COALESCE(MAX(ord) + 1, 0) FROM lead_history \
       WHERE lead_id = :lead AND write_version = :version), :version, :at, :actor, :change)";
const CLOSE_STATUS_PERIOD: &str =
    "UPDATE lead_status_periods SET left_us = :at WHERE lead_id = :lead AND left_us IS NULL";
const OPEN_STATUS_PERIOD: &str = "INSERT INTO lead_status_periods (lead_id, entered_us, status) \
     VALUES (:lead, :at, :status) ON CONFLICT DO NOTHING";
/// Numbered after both the newest event and the acknowledged watermark (migration
/// `..._leaner_writes.sql`); one writer at a time, so numbers are commit order.
const INSERT_EVENT: &str = "INSERT INTO events (seq, id, at, lead_id, actor, kind) VALUES (\
     (SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) + 1 \
      FROM events), :id, :at, :lead, :actor, :kind)";
const UPSERT_PENDING: &str = "INSERT INTO pending_clients \
     (lead_id, request, created_at, attempts, last_error, last_attempt_at, claimed_until) \
     VALUES (:lead, :request, :created_at, :attempts, :last_error, :last_attempt_at, \
     :claimed_until) \
     ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
     created_at = excluded.created_at, attempts = excluded.attempts, \
     last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, \
     claimed_until = excluded.claimed_until";
const TOUCH_LEAD: &str = "UPDATE leads SET \
     last_interaction_at = MAX(COALESCE(last_interaction_at, :at), :at), \
     next_follow_up_at = COALESCE(:next, next_follow_up_at) WHERE id = :lead";
const INSERT_INTERACTION: &str = "INSERT INTO interactions \
     (id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at) \
     VALUES (:id, :lead, :kind, :occurred_at, :logged_by, :logged_at, :notes, :next)";
const INSERT_OPPORTUNITY: &str = "INSERT INTO opportunities (id, lead_id, title, value_minor, \
     currency, expected_close, stage, created_by, created_at, updated_at, version, probability) \
     VALUES (:id, :lead, :title, :value_minor, :currency, :expected_close, :stage, \
     :created_by, :created_at, :updated_at, :version, :probability)";
/// The opportunity's lead stays the stored one.
const UPDATE_OPPORTUNITY: &str = "UPDATE opportunities SET title = :title, \
     value_minor = :value_minor, currency = :currency, expected_close = :expected_close, \
     stage = :stage, created_by = :created_by, created_at = :created_at, \
     updated_at = :updated_at, version = :version, probability = :probability WHERE id = :id";
const SET_TURN: &str = "INSERT INTO assignment_rotations (rule, last_owner) VALUES (:rule, :owner) \
     ON CONFLICT (rule) DO UPDATE SET last_owner = excluded.last_owner";
const INSERT_KEY: &str = "INSERT INTO import_keys (key, lead_id) VALUES (:key, :lead)";
const INSERT_STAGE_PROBABILITY: &str = "INSERT INTO stage_probability_changes \
     (stage, probability, changed_by, changed_at) VALUES (:stage, :probability, :by, :at)";
/// The lead kept takes the later last interaction time of the two.
const KEEP_LAST_INTERACTION: &str = "UPDATE leads SET last_interaction_at = \
     (SELECT MAX(l.last_interaction_at) FROM leads l WHERE l.id = :to OR l.id = :from) \
     WHERE id = :to";
const MOVE_INTERACTIONS: &str = "UPDATE interactions SET lead_id = :to WHERE lead_id = :from";
const MOVE_OPPORTUNITIES: &str = "UPDATE opportunities SET lead_id = :to WHERE lead_id = :from";
/// Leads merged into the lead merged away go to the lead kept.
const REPOINT_MERGED: &str = "UPDATE leads SET merged_into = :to WHERE merged_into = :from";
const SET_MARKS: &str = "UPDATE leads SET follow_up_notified_at = :notified, \
     follow_up_reminded_for = :reminded, owner_notified_at = :owner_notified, \
     escalated_for = :escalated WHERE id = :id";
const PUT_NOTICE: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     VALUES (:id, :lead, :notice, :until) ON CONFLICT (id) DO UPDATE SET \
     lead_id = excluded.lead_id, notice = excluded.notice, claimed_until = excluded.claimed_until";
const DROP_NOTICE: &str = "DELETE FROM follow_up_notices WHERE id = :id";
/// Free from `:at` on, counting a failed attempt when there is an error.
const RELEASE_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = :at, \
     attempts = attempts + (:error IS NOT NULL), last_error = COALESCE(:error, last_error), \
     last_attempt_at = CASE WHEN :error IS NULL THEN last_attempt_at ELSE :at END \
     WHERE id = :id AND claimed_until = :claimed_until";
const RELEASE_CLIENT: &str = "UPDATE pending_clients SET claimed_until = NULL \
     WHERE lead_id = :lead AND claimed_until = :claimed_until";
const CLIENT_FAILED: &str = "UPDATE pending_clients SET attempts = attempts + 1, \
     last_error = :error, last_attempt_at = :at WHERE lead_id = :lead";
const SET_CLIENT: &str = "UPDATE leads SET client_id = :client WHERE id = :lead";
const DROP_PENDING: &str = "DELETE FROM pending_clients WHERE lead_id = :lead";
const ACK_STATE: &str =
    "SELECT acked, (SELECT COALESCE(MAX(seq), 0) FROM events) AS last FROM event_ack WHERE id = 1";
const SET_ACK: &str = "UPDATE event_ack SET acked = :acked WHERE id = 1";

/// [`crm_core::LeadStore::commit`] on the writer connection.
pub(super) fn commit(c: &mut Connection, changes: &Changeset) -> Result<Committed, StoreError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let mut done = Committed::default();
    let mut periods = Periods::default();
    for step in &changes.steps {
        match step {
            Step::Require(p) => super::require::require(&tx, p)?,
            Step::Write(Write::History(h)) => {
                periods.entry(&tx, h)?;
                history(&tx, h)?;
            }
            Step::Write(w) => {
                periods.flush(&tx)?;
                apply(&tx, w, &mut done)?;
            }
        }
    }
    periods.flush(&tx)?;
    tx.commit().map_err(db)?;
    Ok(done)
}

/// The status a run of history entries (one lead write's) last entered: one stay closed
/// and one opened per lead write, as [`status_entered`] reads the write's history.
#[derive(Default)]
struct Periods {
    lead: Option<LeadId>,
    entered: Option<(LeadStatus, DateTime<Utc>)>,
}

impl Periods {
    fn entry(&mut self, tx: &Transaction, h: &HistoryEntry) -> Result<(), StoreError> {
        if self.lead != Some(h.lead_id) {
            self.flush(tx)?;
            self.lead = Some(h.lead_id);
        }
        if let Some(e) = status_entered(std::slice::from_ref(h)) {
            self.entered = Some(e);
        }
        Ok(())
    }

    fn flush(&mut self, tx: &Transaction) -> Result<(), StoreError> {
        let (lead, entered) = (self.lead.take(), self.entered.take());
        let (Some(lead), Some((status, at))) = (lead, entered) else {
            return Ok(());
        };
        let (lead, at) = (lead.as_uuid(), us(at));
        exec(
            tx,
            CLOSE_STATUS_PERIOD,
            named_params! {":lead": lead, ":at": at},
        )?;
        let p = named_params! {":lead": lead, ":at": at, ":status": status.as_str()};
        exec(tx, OPEN_STATUS_PERIOD, p)?;
        Ok(())
    }
}

/// Runs a constant statement; how many rows it changed.
fn exec(
    tx: &Transaction,
    sql: &'static str,
    params: &[(&str, &dyn rusqlite::ToSql)],
) -> Result<usize, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut st| st.execute(params))
        .map_err(db)
}

/// A `u64` from the domain as an SQL integer.
pub(super) fn int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{v} does not fit a bigint").into()))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.into()))
}

pub(super) fn not_found(entity: Entity, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

fn history(tx: &Transaction, h: &HistoryEntry) -> Result<(), StoreError> {
    let p = named_params! {
        ":lead": h.lead_id.as_uuid(),
        ":version": int(h.version)?,
        ":at": us(h.at),
        ":actor": h.actor.get(),
        ":change": json(&h.change)?,
    };
    exec(tx, INSERT_HISTORY, p).map(drop)
}

/// Fails with `NotFound` when a write that changes one row changed none.
fn one_row(changed: usize, entity: Entity, id: impl ToString) -> Result<(), StoreError> {
    if changed == 0 {
        Err(not_found(entity, id))
    } else {
        Ok(())
    }
}

/// Applies one write (see the doc of each [`Write`] variant).
fn apply(tx: &Transaction, w: &Write, done: &mut Committed) -> Result<(), StoreError> {
    match w {
        Write::InsertLead(lead) => lead_row(tx, lead, INSERT_LEAD).map(drop)?,
        Write::UpdateLead(lead) => {
            let changed = lead_row(tx, lead, UPDATE_LEAD)?;
            one_row(changed, Entity::Lead, lead.id())?;
        }
        Write::History(h) => history(tx, h)?,
        Write::Event(e) => {
            let p = named_params! {
                ":id": e.id.as_uuid(),
                ":at": us(e.at),
                ":lead": e.lead_id.as_uuid(),
                ":actor": e.actor.map(|a| a.get()),
                ":kind": json(&e.kind)?,
            };
            exec(tx, INSERT_EVENT, p)?;
        }
        Write::PendingClient(pc) => {
            let p = named_params! {
                ":lead": pc.request.lead_id.as_uuid(),
                ":request": json(&pc.request)?,
                ":created_at": us(pc.created_at),
                ":attempts": i64::from(pc.attempts),
                ":last_error": pc.last_error,
                ":last_attempt_at": opt_us(pc.last_attempt_at),
                ":claimed_until": opt_us(pc.claimed_until),
            };
            exec(tx, UPSERT_PENDING, p)?;
        }
        Write::Interaction(i) => {
            let (lead, next) = (i.lead_id.as_uuid(), opt_us(i.next_follow_up_at));
            let p = named_params! {":lead": lead, ":at": us(i.occurred_at), ":next": next};
            one_row(exec(tx, TOUCH_LEAD, p)?, Entity::Lead, i.lead_id)?;
            let p = named_params! {
                ":id": i.id.as_uuid(),
                ":lead": lead,
                ":kind": i.kind.as_str(),
                ":occurred_at": us(i.occurred_at),
                ":logged_by": i.logged_by.get(),
                ":logged_at": us(i.logged_at),
                ":notes": i.notes.as_str(),
                ":next": next,
            };
            exec(tx, INSERT_INTERACTION, p)?;
        }
        Write::InsertOpportunity(o) => opportunity_row(tx, o, INSERT_OPPORTUNITY).map(drop)?,
        Write::UpdateOpportunity(o) => {
            let changed = opportunity_row(tx, o, UPDATE_OPPORTUNITY)?;
            one_row(changed, Entity::Opportunity, o.id)?;
        }
        Write::Turn { rule, owner } => {
            exec(
                tx,
                SET_TURN,
                named_params! {":rule": rule, ":owner": owner.get()},
            )?;
        }
        Write::ImportKey { key, lead } => {
            let p = named_params! {":key": key.as_str(), ":lead": lead.as_uuid()};
            exec(tx, INSERT_KEY, p)?;
        }
        Write::StageProbability(ch) => {
            let p = named_params! {
                ":stage": ch.stage.as_str(),
                ":probability": i64::from(ch.probability.percent()),
                ":by": ch.changed_by.get(),
                ":at": us(ch.changed_at),
            };
            exec(tx, INSERT_STAGE_PROBABILITY, p)?;
        }
        Write::MoveRecords { from, to } => {
            let p = named_params! {":from": from.as_uuid(), ":to": to.as_uuid()};
            one_row(exec(tx, KEEP_LAST_INTERACTION, p)?, Entity::Lead, to)?;
            for sql in [MOVE_INTERACTIONS, MOVE_OPPORTUNITIES, REPOINT_MERGED] {
                exec(tx, sql, p)?;
            }
        }
        Write::FollowUpMarks(lead) => {
            let r = lead.record();
            let p = named_params! {
                ":notified": opt_us(r.follow_up_notified_at),
                ":reminded": opt_us(r.follow_up_reminded_for),
                ":owner_notified": opt_us(r.owner_notified_at),
                ":escalated": opt_us(r.escalated_for),
                ":id": r.id.as_uuid(),
            };
            one_row(exec(tx, SET_MARKS, p)?, Entity::Lead, r.id)?;
        }
        Write::Notice {
            notice,
            claimed_until,
        } => {
            let p = named_params! {
                ":id": notice.id.as_uuid(),
                ":lead": notice.lead_id.as_uuid(),
                ":notice": json(notice)?,
                ":until": us(*claimed_until),
            };
            exec(tx, PUT_NOTICE, p)?;
        }
        Write::DropNotice(id) => {
            exec(tx, DROP_NOTICE, named_params! {":id": id.as_uuid()})?;
        }
        Write::ReleaseNotice {
            id,
            claimed_until,
            error,
            at,
        } => {
            let p = named_params! {
                ":at": us(*at),
                ":error": error,
                ":id": id.as_uuid(),
                ":claimed_until": us(*claimed_until),
            };
            exec(tx, RELEASE_NOTICE, p)?;
        }
        Write::ReleaseClient {
            lead,
            claimed_until,
        } => {
            let p = named_params! {":lead": lead.as_uuid(), ":claimed_until": us(*claimed_until)};
            exec(tx, RELEASE_CLIENT, p)?;
        }
        Write::ClientFailed { lead, error, at } => {
            let p = named_params! {":error": error, ":at": us(*at), ":lead": lead.as_uuid()};
            exec(tx, CLIENT_FAILED, p)?;
        }
        Write::ClientCreated { lead, client } => {
            let id = lead.as_uuid();
            let client: &str = client.as_ref();
            let p = named_params! {":client": client, ":lead": id};
            one_row(exec(tx, SET_CLIENT, p)?, Entity::Lead, lead)?;
            exec(tx, DROP_PENDING, named_params! {":lead": id})?;
        }
        Write::AckEvents(up_to) => done.events_acked += ack(tx, *up_to)?,
    }
    Ok(())
}

/// The lead's row, inserted or updated by `sql`; how many rows changed.
fn lead_row(tx: &Transaction, lead: &Lead, sql: &'static str) -> Result<usize, StoreError> {
    let r = lead.record();
    let client: Option<&str> = r.client_id.as_ref().map(|c| c.as_ref());
    let p = named_params! {
        ":id": r.id.as_uuid(),
        ":name": r.name.as_str(),
        ":email": r.email.as_ref().map(|e| e.as_str()),
        ":phone": r.phone.as_ref().map(|p| p.as_str()),
        ":phone_display": r.phone.as_ref().map(|p| p.display()),
        ":company": r.company.as_ref().map(|n| n.as_str()),
        ":source": r.source.as_str(),
        ":status": r.status.as_str(),
        ":owner": r.owner.get(),
        ":created_by": r.created_by.get(),
        ":created_at": us(r.created_at),
        ":updated_at": us(r.updated_at),
        ":version": int(r.version)?,
        ":client_id": client,
        ":lost_reason": r.lost_reason.as_ref().map(|n| n.as_str()),
        ":lost_reason_code": r.lost_reason_code.as_ref().map(|c| c.as_str()),
        ":last_interaction_at": opt_us(r.last_interaction_at),
        ":next_follow_up_at": opt_us(r.next_follow_up_at),
        ":follow_up_notified_at": opt_us(r.follow_up_notified_at),
        ":follow_up_reminded_for": opt_us(r.follow_up_reminded_for),
        ":owner_notified_at": opt_us(r.owner_notified_at),
        ":escalated_for": opt_us(r.escalated_for),
        ":merged_into": r.merged_into.map(|m| m.as_uuid()),
        ":search_text": lead.search_text(),
    };
    exec_some(tx, sql, p)
}

/// Runs `sql` with those of `params` it names (an update names fewer columns than the
/// insert of the same row); how many rows it changed.
fn exec_some(
    tx: &Transaction,
    sql: &'static str,
    params: &[(&str, &dyn rusqlite::ToSql)],
) -> Result<usize, StoreError> {
    let mut st = tx.prepare_cached(sql).map_err(db)?;
    for (name, value) in params {
        if let Some(i) = st.parameter_index(name).map_err(db)? {
            st.raw_bind_parameter(i, value).map_err(db)?;
        }
    }
    st.raw_execute().map_err(db)
}

/// The opportunity's row, inserted or updated by `sql`; how many rows changed.
fn opportunity_row(
    tx: &Transaction,
    o: &crm_core::Opportunity,
    sql: &'static str,
) -> Result<usize, StoreError> {
    let day = i64::from(chrono::Datelike::num_days_from_ce(&o.expected_close));
    let p = named_params! {
        ":id": o.id.as_uuid(),
        ":lead": o.lead_id.as_uuid(),
        ":title": o.title.as_str(),
        ":value_minor": o.value.minor(),
        ":currency": o.value.currency().code(),
        ":expected_close": day,
        ":stage": o.stage.as_str(),
        ":created_by": o.created_by.get(),
        ":created_at": us(o.created_at),
        ":updated_at": us(o.updated_at),
        ":version": int(o.version)?,
        ":probability": o.probability.map(|p| i64::from(p.percent())),
    };
    exec_some(tx, sql, p)
}

/// Moves the event watermark up to `up_to` (never past the newest event); how many events
/// it passed.
fn ack(tx: &Transaction, up_to: u64) -> Result<u64, StoreError> {
    let state = one(tx, ACK_STATE, &[], |r| {
        parse("event watermark", || {
            Ok((r.get::<_, i64>("acked")?, r.get::<_, i64>("last")?))
        })
    })?;
    let (acked, last) =
        state.ok_or_else(|| StoreError::Backend("the event watermark row is missing".into()))?;
    let new = i64::try_from(up_to).unwrap_or(i64::MAX).min(last);
    if new <= acked {
        return Ok(0);
    }
    exec(tx, SET_ACK, named_params! {":acked": new})?;
    u64::try_from(new - acked).map_err(|e| StoreError::Backend(e.into()))
}
