//! Rows back into domain types, the same way for both backends: each backend reads its
//! columns into plain values ([`Cols`]), and the functions here parse those values through
//! the domain's own constructors, so stored data is checked on the way out. A value that
//! does not parse is [`StoreError::Corrupt`].

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{
    BoxError, ClientId, ClientRequest, Currency, Email, Employee, EmployeeId, Event, EventId,
    FollowUpNotice, HistoryEntry, Interaction, InteractionId, Lead, LeadId, LeadRecord,
    LostReasonCode, Money, Name, NewEvent, Note, Opportunity, OpportunityId, PendingClient, Phone,
    Probability, Role, Source, StoreError, Team,
};
use uuid::Uuid;

/// Typed access to the columns of one row, by position. Each backend implements it for its
/// row type (SQLite stores times as unix microseconds, PostgreSQL as timestamptz).
pub(crate) trait Cols {
    /// How many columns the row has.
    fn len(&self) -> usize;
    fn uuid(&self, i: usize) -> Result<Uuid, BoxError>;
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, BoxError>;
    fn text(&self, i: usize) -> Result<String, BoxError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, BoxError>;
    fn int(&self, i: usize) -> Result<i64, BoxError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, BoxError>;
    fn ts(&self, i: usize) -> Result<DateTime<Utc>, BoxError>;
    fn opt_ts(&self, i: usize) -> Result<Option<DateTime<Utc>>, BoxError>;
    fn date(&self, i: usize) -> Result<NaiveDate, BoxError>;
    fn flag(&self, i: usize) -> Result<bool, BoxError>;
}

pub(crate) fn corrupt(what: &'static str) -> impl FnOnce(BoxError) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

/// Unix microseconds to a time (SQLite's representation).
pub(crate) fn from_micros(v: i64) -> Result<DateTime<Utc>, BoxError> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| format!("time {v} is out of range").into())
}

fn unsigned(v: i64) -> Result<u64, BoxError> {
    u64::try_from(v).map_err(|_| format!("{v} is negative").into())
}

fn parse_opt<T, E: Into<BoxError>>(
    v: Option<String>,
    f: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, BoxError> {
    v.map(|s| f(&s).map_err(Into::into)).transpose()
}

/// A phone from its key column and its display column (migration `..._phone_display.sql`:
/// the display is NULL only where a row has no phone, or was written by a binary older than
/// that migration, which then shows the key).
fn phone(key: Option<String>, display: Option<String>) -> Result<Option<Phone>, BoxError> {
    key.map(|k| Phone::from_stored(&k, display.as_deref()).map_err(Into::into))
        .transpose()
}

/// The lead columns, in the order [`lead`] reads them.
macro_rules! lead_cols {
    () => {
        "id, name, email, phone, company, source, status, owner, created_by, created_at, \
         updated_at, version, client_id, lost_reason, last_interaction_at, \
         follow_up_notified_at, phone_display, lost_reason_code, next_follow_up_at, \
         follow_up_reminded_for, owner_notified_at, escalated_for, merged_into"
    };
}
pub(crate) use lead_cols;

/// How many columns [`lead_cols!`] names.
pub(crate) const LEAD_COLS: usize = 23;

/// A lead row ([`lead_cols!`]).
pub(crate) fn lead(r: &impl Cols) -> Result<Lead, StoreError> {
    let read = || -> Result<Lead, BoxError> {
        Ok(Lead::from_record(LeadRecord {
            id: LeadId::from_uuid(r.uuid(0)?),
            name: Name::parse(&r.text(1)?)?,
            email: parse_opt(r.opt_text(2)?, Email::parse)?,
            phone: phone(r.opt_text(3)?, r.opt_text(16)?)?,
            company: parse_opt(r.opt_text(4)?, |s| Name::parse_field("company", s))?,
            source: Source::parse(&r.text(5)?)?,
            status: r.text(6)?.parse()?,
            owner: EmployeeId::new(r.int(7)?)?,
            created_by: EmployeeId::new(r.int(8)?)?,
            created_at: r.ts(9)?,
            updated_at: r.ts(10)?,
            version: unsigned(r.int(11)?)?,
            client_id: parse_opt(r.opt_text(12)?, ClientId::parse)?,
            lost_reason: parse_opt(r.opt_text(13)?, |s| Name::parse_field("lost_reason", s))?,
            last_interaction_at: r.opt_ts(14)?,
            follow_up_notified_at: r.opt_ts(15)?,
            lost_reason_code: parse_opt(r.opt_text(17)?, LostReasonCode::parse)?,
            next_follow_up_at: r.opt_ts(18)?,
            follow_up_reminded_for: r.opt_ts(19)?,
            owner_notified_at: r.opt_ts(20)?,
            escalated_for: r.opt_ts(21)?,
            merged_into: r.opt_uuid(22)?.map(LeadId::from_uuid),
        })?)
    };
    read().map_err(corrupt("lead"))
}

/// A history row: `version, at, actor, change` (with `lead_id` known).
pub(crate) fn history(lead_id: LeadId, r: &impl Cols) -> Result<HistoryEntry, StoreError> {
    let read = || -> Result<HistoryEntry, BoxError> {
        Ok(HistoryEntry {
            lead_id,
            version: unsigned(r.int(0)?)?,
            at: r.ts(1)?,
            actor: EmployeeId::new(r.int(2)?)?,
            change: serde_json::from_str(&r.text(3)?)?,
        })
    };
    read().map_err(corrupt("lead history entry"))
}

/// The interaction columns, in the order [`interaction`] reads them.
macro_rules! interaction_cols {
    () => {
        "id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at"
    };
}
pub(crate) use interaction_cols;

/// An interaction row ([`interaction_cols!`]).
pub(crate) fn interaction(r: &impl Cols) -> Result<Interaction, StoreError> {
    let read = || -> Result<Interaction, BoxError> {
        Ok(Interaction {
            id: InteractionId::from_uuid(r.uuid(0)?),
            lead_id: LeadId::from_uuid(r.uuid(1)?),
            kind: r.text(2)?.parse()?,
            occurred_at: r.ts(3)?,
            logged_by: EmployeeId::new(r.int(4)?)?,
            logged_at: r.ts(5)?,
            notes: Note::parse(&r.text(6)?)?,
            next_follow_up_at: r.opt_ts(7)?,
        })
    };
    read().map_err(corrupt("interaction"))
}

/// The opportunity columns, in the order [`opportunity`] reads them.
macro_rules! opportunity_cols {
    () => {
        "id, lead_id, title, value_minor, currency, expected_close, stage, created_by, \
         created_at, updated_at, version, probability"
    };
}
pub(crate) use opportunity_cols;

/// An opportunity row ([`opportunity_cols!`]).
pub(crate) fn opportunity(r: &impl Cols) -> Result<Opportunity, StoreError> {
    let read = || -> Result<Opportunity, BoxError> {
        Ok(Opportunity {
            id: OpportunityId::from_uuid(r.uuid(0)?),
            lead_id: LeadId::from_uuid(r.uuid(1)?),
            title: Name::parse_field("title", &r.text(2)?)?,
            value: Money::from_minor(r.int(3)?, Currency::parse(&r.text(4)?)?)?,
            expected_close: r.date(5)?,
            stage: r.text(6)?.parse()?,
            created_by: EmployeeId::new(r.int(7)?)?,
            created_at: r.ts(8)?,
            updated_at: r.ts(9)?,
            version: unsigned(r.int(10)?)?,
            probability: r
                .opt_int(11)?
                .map(|p| -> Result<Probability, BoxError> {
                    Ok(Probability::new(u8::try_from(p)?)?)
                })
                .transpose()?,
        })
    };
    read().map_err(corrupt("opportunity"))
}

/// The pending client columns, in the order [`pending_client`] reads them.
macro_rules! pending_cols {
    () => {
        "request, created_at, attempts, last_error, last_attempt_at, claimed_until"
    };
}
pub(crate) use pending_cols;

/// A pending client row ([`pending_cols!`]).
pub(crate) fn pending_client(r: &impl Cols) -> Result<PendingClient, StoreError> {
    let read = || -> Result<PendingClient, BoxError> {
        let request: ClientRequest = serde_json::from_str(&r.text(0)?)?;
        Ok(PendingClient {
            request,
            created_at: r.ts(1)?,
            attempts: u32::try_from(r.int(2)?)?,
            last_error: r.opt_text(3)?,
            last_attempt_at: r.opt_ts(4)?,
            claimed_until: r.opt_ts(5)?,
        })
    };
    read().map_err(corrupt("pending client"))
}

/// A follow-up notice, from the outbox's `notice` column.
pub(crate) fn notice(json: &str) -> Result<FollowUpNotice, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt("follow-up notice")(e.into()))
}

/// An event row: `seq, id, at, lead_id, actor, kind`.
pub(crate) fn event(r: &impl Cols) -> Result<Event, StoreError> {
    let read = || -> Result<Event, BoxError> {
        Ok(Event {
            seq: unsigned(r.int(0)?)?,
            event: NewEvent {
                id: EventId::from_uuid(r.uuid(1)?),
                at: r.ts(2)?,
                lead_id: LeadId::from_uuid(r.uuid(3)?),
                actor: r.opt_int(4)?.map(EmployeeId::new).transpose()?,
                kind: serde_json::from_str(&r.text(5)?)?,
            },
        })
    };
    read().map_err(corrupt("event"))
}

/// An employee row: `id, name, role, active, team, manages, manager` (`manages` a JSON array
/// of teams), the order of every employees statement in `directory.rs`.
pub(crate) fn employee(r: &impl Cols) -> Result<Employee, StoreError> {
    let read = || -> Result<Employee, BoxError> {
        Ok(Employee {
            id: EmployeeId::new(r.int(0)?)?,
            name: Name::parse(&r.text(1)?)?,
            role: r.text(2)?.parse::<Role>()?,
            active: r.flag(3)?,
            team: r.opt_text(4)?.as_deref().map(Team::parse).transpose()?,
            manages: serde_json::from_str(&r.text(5)?)?,
            manager: r.opt_int(6)?.map(EmployeeId::new).transpose()?,
        })
    };
    read().map_err(corrupt("employee"))
}

/// A client id read back from the clients table.
pub(crate) fn client_id(s: &str) -> Result<ClientId, StoreError> {
    ClientId::parse(s).map_err(|e| corrupt("client id")(e.into()))
}

/// JSON for a text column.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.into()))
}

/// A `u64` from the domain as a SQL `bigint`.
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{v} does not fit a bigint").into()))
}

/// A `u64` position clamped into `bigint` (positions beyond it mean "everything").
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
