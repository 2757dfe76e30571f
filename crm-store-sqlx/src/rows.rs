//! Rows back into domain types, the same way for both backends: each backend reads its
//! columns into plain values ([`Cols`]), and the functions here parse those values through
//! the domain's own constructors, so stored data is checked on the way out. A value that
//! does not parse is [`StoreError::Corrupt`].

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{
    BoxError, ClientId, ClientRequest, Currency, Email, Employee, EmployeeId, Event, EventId,
    FollowUpNotice, HistoryEntry, Interaction, InteractionId, Lead, LeadId, LeadRecord,
    LostReasonCode, Money, Name, NewEvent, Note, Opportunity, OpportunityId, PendingClient, Phone,
    Probability, Role, Source, StoreError, SystemActor, Team,
};
use uuid::Uuid;

/// Typed access to the columns of one row, by name. Each driver implements it for its row
/// type (SQLite stores times as unix microseconds, PostgreSQL as timestamptz).
pub(crate) trait Cols {
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, BoxError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, BoxError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, BoxError>;
    fn opt_ts(&self, col: &str) -> Result<Option<DateTime<Utc>>, BoxError>;
    fn date(&self, col: &str) -> Result<NaiveDate, BoxError>;
    fn flag(&self, col: &str) -> Result<bool, BoxError>;

    fn uuid(&self, col: &str) -> Result<Uuid, BoxError> {
        self.opt_uuid(col)?.ok_or_else(|| null(col))
    }
    fn text(&self, col: &str) -> Result<String, BoxError> {
        self.opt_text(col)?.ok_or_else(|| null(col))
    }
    fn int(&self, col: &str) -> Result<i64, BoxError> {
        self.opt_int(col)?.ok_or_else(|| null(col))
    }
    fn ts(&self, col: &str) -> Result<DateTime<Utc>, BoxError> {
        self.opt_ts(col)?.ok_or_else(|| null(col))
    }
}

fn null(col: &str) -> BoxError {
    format!("{col} is NULL").into()
}

/// A day stored as its number of days from the common era (SQLite's representation).
pub(crate) fn from_days(days: i64) -> Result<NaiveDate, BoxError> {
    i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("day number {days} is out of range").into())
}

/// A stored boolean of SQLite (0 or 1).
pub(crate) fn from_flag(v: i64) -> Result<bool, BoxError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(format!("{v} is not a boolean").into()),
    }
}

pub(crate) fn corrupt(what: &'static str) -> impl FnOnce(BoxError) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

/// What `read` reads from a row; what does not read is stored data gone bad (`what`).
pub(crate) fn parse<T>(
    what: &'static str,
    read: impl FnOnce() -> Result<T, BoxError>,
) -> Result<T, StoreError> {
    read().map_err(corrupt(what))
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

/// The lead columns [`lead`] reads.
macro_rules! lead_cols {
    () => {
        "id, name, email, phone, company, source, status, owner, created_by, created_at, \
         updated_at, version, client_id, lost_reason, last_interaction_at, \
         follow_up_notified_at, phone_display, lost_reason_code, next_follow_up_at, \
         follow_up_reminded_for, owner_notified_at, escalated_for, merged_into, counted_as, \
         campaign"
    };
}
pub(crate) use lead_cols;

/// A lead row ([`lead_cols!`]).
pub(crate) fn lead(r: &impl Cols) -> Result<Lead, StoreError> {
    parse("lead", || {
        Ok(Lead::from_record(LeadRecord {
            id: LeadId::from_uuid(r.uuid("id")?),
            name: Name::parse(&r.text("name")?)?,
            email: parse_opt(r.opt_text("email")?, Email::parse)?,
            phone: phone(r.opt_text("phone")?, r.opt_text("phone_display")?)?,
            company: parse_opt(r.opt_text("company")?, |s| Name::parse_field("company", s))?,
            source: Source::parse(&r.text("source")?)?,
            status: r.text("status")?.parse()?,
            owner: EmployeeId::new(r.int("owner")?)?,
            created_by: EmployeeId::new(r.int("created_by")?)?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            version: unsigned(r.int("version")?)?,
            client_id: parse_opt(r.opt_text("client_id")?, ClientId::parse)?,
            lost_reason: parse_opt(r.opt_text("lost_reason")?, |s| {
                Name::parse_field("lost_reason", s)
            })?,
            last_interaction_at: r.opt_ts("last_interaction_at")?,
            follow_up_notified_at: r.opt_ts("follow_up_notified_at")?,
            lost_reason_code: parse_opt(r.opt_text("lost_reason_code")?, LostReasonCode::parse)?,
            next_follow_up_at: r.opt_ts("next_follow_up_at")?,
            follow_up_reminded_for: r.opt_ts("follow_up_reminded_for")?,
            owner_notified_at: r.opt_ts("owner_notified_at")?,
            escalated_for: r.opt_ts("escalated_for")?,
            merged_into: r.opt_uuid("merged_into")?.map(LeadId::from_uuid),
            counted_as: (r.opt_text("counted_as")?)
                .map(|c| serde_json::from_str(&c))
                .transpose()?,
            campaign: r.opt_text("campaign")?,
        })?)
    })
}

/// A history row: `lead_id, version, at, actor, change`.
pub(crate) fn history(r: &impl Cols) -> Result<HistoryEntry, StoreError> {
    parse("lead history entry", || {
        Ok(HistoryEntry {
            lead_id: LeadId::from_uuid(r.uuid("lead_id")?),
            version: unsigned(r.int("version")?)?,
            at: r.ts("at")?,
            actor: EmployeeId::new(r.int("actor")?)?,
            change: serde_json::from_str(&r.text("change")?)?,
        })
    })
}

/// The interaction columns [`interaction`] reads.
macro_rules! interaction_cols {
    () => {
        "id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at, \
         captured_by"
    };
}
pub(crate) use interaction_cols;

/// An interaction row ([`interaction_cols!`]).
pub(crate) fn interaction(r: &impl Cols) -> Result<Interaction, StoreError> {
    parse("interaction", || {
        Ok(Interaction {
            id: InteractionId::from_uuid(r.uuid("id")?),
            lead_id: LeadId::from_uuid(r.uuid("lead_id")?),
            kind: r.text("kind")?.parse()?,
            occurred_at: r.ts("occurred_at")?,
            logged_by: EmployeeId::new(r.int("logged_by")?)?,
            logged_at: r.ts("logged_at")?,
            notes: Note::parse(&r.text("notes")?)?,
            next_follow_up_at: r.opt_ts("next_follow_up_at")?,
            captured_by: (r.opt_text("captured_by")?)
                .map(|c| SystemActor::parse(&c))
                .transpose()?,
        })
    })
}

/// The opportunity columns [`opportunity`] reads.
macro_rules! opportunity_cols {
    () => {
        "id, lead_id, title, value_minor, currency, expected_close, stage, created_by, \
         created_at, updated_at, version, probability"
    };
}
pub(crate) use opportunity_cols;

/// An opportunity row ([`opportunity_cols!`]).
pub(crate) fn opportunity(r: &impl Cols) -> Result<Opportunity, StoreError> {
    parse("opportunity", || {
        Ok(Opportunity {
            id: OpportunityId::from_uuid(r.uuid("id")?),
            lead_id: LeadId::from_uuid(r.uuid("lead_id")?),
            title: Name::parse_field("title", &r.text("title")?)?,
            value: Money::from_minor(
                r.int("value_minor")?,
                Currency::parse(&r.text("currency")?)?,
            )?,
            expected_close: r.date("expected_close")?,
            stage: r.text("stage")?.parse()?,
            created_by: EmployeeId::new(r.int("created_by")?)?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            version: unsigned(r.int("version")?)?,
            probability: r
                .opt_int("probability")?
                .map(|p| -> Result<Probability, BoxError> {
                    Ok(Probability::new(u8::try_from(p)?)?)
                })
                .transpose()?,
        })
    })
}

/// The pending client columns [`pending_client`] reads.
macro_rules! pending_cols {
    () => {
        "request, created_at, attempts, last_error, last_attempt_at, claimed_until"
    };
}
pub(crate) use pending_cols;

/// A pending client row ([`pending_cols!`]).
pub(crate) fn pending_client(r: &impl Cols) -> Result<PendingClient, StoreError> {
    parse("pending client", || {
        let request: ClientRequest = serde_json::from_str(&r.text("request")?)?;
        Ok(PendingClient {
            request,
            created_at: r.ts("created_at")?,
            attempts: u32::try_from(r.int("attempts")?)?,
            last_error: r.opt_text("last_error")?,
            last_attempt_at: r.opt_ts("last_attempt_at")?,
            claimed_until: r.opt_ts("claimed_until")?,
        })
    })
}

/// A follow-up notice, from the outbox's `notice` column.
pub(crate) fn notice(json: &str) -> Result<FollowUpNotice, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt("follow-up notice")(e.into()))
}

/// An event row: `seq, id, at, lead_id, actor, kind`.
pub(crate) fn event(r: &impl Cols) -> Result<Event, StoreError> {
    parse("event", || {
        Ok(Event {
            seq: unsigned(r.int("seq")?)?,
            event: NewEvent {
                id: EventId::from_uuid(r.uuid("id")?),
                at: r.ts("at")?,
                lead_id: LeadId::from_uuid(r.uuid("lead_id")?),
                actor: r.opt_int("actor")?.map(EmployeeId::new).transpose()?,
                kind: serde_json::from_str(&r.text("kind")?)?,
            },
        })
    })
}

/// An employee row: `id, name, role, active, team, manages, manager` (`manages` a JSON array
/// of teams), the order of every employees statement in `directory.rs`.
pub(crate) fn employee(r: &impl Cols) -> Result<Employee, StoreError> {
    parse("employee", || {
        Ok(Employee {
            id: EmployeeId::new(r.int("id")?)?,
            name: Name::parse(&r.text("name")?)?,
            role: r.text("role")?.parse::<Role>()?,
            active: r.flag("active")?,
            team: r
                .opt_text("team")?
                .as_deref()
                .map(Team::parse)
                .transpose()?,
            manages: serde_json::from_str(&r.text("manages")?)?,
            manager: r.opt_int("manager")?.map(EmployeeId::new).transpose()?,
        })
    })
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
