//! The error types of the core: one for bad input, one for stores, one for host ports, and
//! [`CrmError`], the one every use case returns.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{EmployeeId, LeadId};
use crate::permissions::Action;
use crate::status::LeadStatus;

/// A boxed error from an adapter or a host system, kept whole so its chain survives.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Input that does not make a valid domain value, naming the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required text field is empty after trimming.
    #[error("{field} must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A text field is longer than its limit.
    #[error("{field} is {len} characters long; the limit is {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The limit in characters.
        max: usize,
        /// The length given.
        len: usize,
    },
    /// A field holds a control or bidi-override character.
    #[error("{field} contains the forbidden character U+{codepoint:04X}")]
    ForbiddenCharacter {
        /// The field.
        field: &'static str,
        /// The offending code point.
        codepoint: u32,
    },
    /// An email address that is not syntactically valid.
    #[error("invalid email address {value:?}: {reason}")]
    InvalidEmail {
        /// What was given (truncated).
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A phone number that is not valid.
    #[error("invalid phone number {value:?}: {reason}")]
    InvalidPhone {
        /// What was given (truncated).
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A phone region that is not an ISO 3166 alpha-2 code with a numbering plan.
    #[error("unknown phone region {code:?}; expected an ISO 3166 alpha-2 code such as SA")]
    UnknownRegion {
        /// What was given (truncated).
        code: String,
    },
    /// A lead needs a way to reach it.
    #[error("a lead needs an email address or a phone number")]
    MissingContact,
    /// An identifier that does not parse.
    #[error("invalid {kind} {value:?}")]
    InvalidId {
        /// Which kind of id.
        kind: &'static str,
        /// What was given (truncated).
        value: String,
    },
    /// A lead source that is not a valid slug.
    #[error("invalid source {value:?}: {reason}")]
    InvalidSource {
        /// What was given (truncated).
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A name that is not one of an enum's stable names.
    #[error("unknown {kind} {value:?}; expected one of: {expected}")]
    UnknownName {
        /// What kind of name (status, interaction kind, ...).
        kind: &'static str,
        /// What was given (truncated).
        value: String,
        /// The accepted names.
        expected: &'static str,
    },
    /// A currency code that is not in ISO 4217.
    #[error("unknown ISO 4217 currency code {code:?}")]
    UnknownCurrency {
        /// What was given (truncated).
        code: String,
    },
    /// A money amount that is negative or does not fit.
    #[error("invalid amount {value:?}: {reason}")]
    InvalidAmount {
        /// What was given (truncated).
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Moving a lead to `lost` needs a reason.
    #[error("a lost reason is required to mark a lead lost")]
    LostReasonRequired,
    /// A reason was given for a move that is not to `lost`, where it would be dropped.
    #[error("a reason is only taken when a lead is marked lost, not when it moves to {to}")]
    ReasonWithoutLost {
        /// The requested status.
        to: LeadStatus,
    },
    /// A time that lies after the clock's current time.
    #[error("{field} {at} is in the future (now is {now})")]
    InFuture {
        /// The field.
        field: &'static str,
        /// The time given.
        at: chrono::DateTime<chrono::Utc>,
        /// The clock's time.
        now: chrono::DateTime<chrono::Utc>,
    },
    /// A range whose start lies after its end.
    #[error("{field}: the start lies after the end")]
    InvalidRange {
        /// The field.
        field: &'static str,
    },
    /// A number outside its accepted range.
    #[error("{field} {value} is outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: i64,
        /// The smallest accepted.
        min: i64,
        /// The largest accepted.
        max: i64,
    },
    /// A page size outside 1..=1000.
    #[error("page size {0} is outside 1..=1000")]
    InvalidLimit(u32),
    /// An edit that changes nothing.
    #[error("the edit changes nothing")]
    NothingToChange,
    /// The first employee of a new installation must be an active manager (who can then add
    /// the others).
    #[error("the first employee must be an active manager, who then adds the others")]
    FirstEmployeeNotManager,
}

/// What kind of record an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A lead.
    Lead,
    /// An interaction.
    Interaction,
    /// An opportunity.
    Opportunity,
    /// An employee.
    Employee,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Lead => "lead",
            Entity::Interaction => "interaction",
            Entity::Opportunity => "opportunity",
            Entity::Employee => "employee",
        })
    }
}

/// Which normalised contact field matched an existing lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    /// The normalised email address.
    Email,
    /// The normalised phone number.
    Phone,
}

impl fmt::Display for ContactField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContactField::Email => "email",
            ContactField::Phone => "phone",
        })
    }
}

/// An error reported by a store adapter, by meaning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// The record changed since the caller read it (optimistic concurrency).
    #[error("{entity} {id} was changed by someone else (expected version {expected})")]
    Conflict {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
        /// The version the caller read.
        expected: u64,
    },
    /// An open lead already has this normalised email or phone.
    #[error("open lead {existing} already has this {field}")]
    Duplicate {
        /// The lead that already has it.
        existing: LeadId,
        /// Which field matched.
        field: ContactField,
    },
    /// The lead is converted, so it is read-only.
    #[error("lead {lead} is converted and read-only")]
    ReadOnly {
        /// The lead.
        lead: LeadId,
    },
    /// The database stayed busy past the wait limit, or the transaction collided with a
    /// concurrent one (a serialization failure or a deadlock). Nothing was applied; retry.
    #[error("the database is busy; nothing was applied; retry")]
    Busy(#[source] BoxError),
    /// The database cannot be reached (refused, unknown host, timed out, authentication).
    #[error("cannot connect to the database at {target}")]
    Unavailable {
        /// Where: host, port and database (never the password).
        target: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// Stored data no longer parses into a domain value.
    #[error("stored {what} is invalid")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it does not parse.
        #[source]
        source: BoxError,
    },
    /// The database schema is newer than this code.
    #[error("the database schema (version {found}) is newer than this code (version {supported})")]
    SchemaTooNew {
        /// Newest migration in the database.
        found: i64,
        /// Newest migration this code knows.
        supported: i64,
    },
    /// Any other backend failure.
    #[error("storage backend failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Whether the same call may succeed if simply made again: the database was busy, or
    /// the transaction lost a race (nothing was applied).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

/// An error from a host port (employees, clients, notifier).
#[derive(Debug, thiserror::Error)]
#[error("{port} failed")]
pub struct PortError {
    port: &'static str,
    #[source]
    source: BoxError,
}

impl PortError {
    /// Wraps a host error, naming the port it came from.
    pub fn new(port: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            port,
            source: source.into(),
        }
    }
    /// The port that failed.
    pub fn port(&self) -> &'static str {
        self.port
    }
}

/// Why an employee cannot be made responsible for a lead. Displayed as the predicate of
/// "they are ...": `inactive`, `not in the employee directory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeProblem {
    /// The employee directory does not know them.
    Unknown,
    /// They are not active.
    Inactive,
    /// They are neither sales staff nor management.
    NotSales,
}

impl fmt::Display for AssigneeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssigneeProblem::Unknown => "not in the employee directory",
            AssigneeProblem::Inactive => "inactive",
            AssigneeProblem::NotSales => "neither sales staff nor management",
        })
    }
}

/// Every error a [`crate::Crm`] use case can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrmError {
    /// Bad input.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// The acting employee is not in the employee directory.
    #[error("employee {0} is not in the employee directory")]
    UnknownActor(EmployeeId),
    /// The acting employee may not do this.
    #[error("forbidden: {actor} may not {action}: {reason}")]
    Forbidden {
        /// Who tried.
        actor: EmployeeId,
        /// What they tried.
        action: Action,
        /// Why not.
        reason: &'static str,
    },
    /// A system actor may not do this (not named by the host, or not an action for it).
    #[error("forbidden: system actor {} may not {action}: {reason}", actor.as_str())]
    SystemForbidden {
        /// Who tried.
        actor: crate::permissions::SystemActor,
        /// What they tried.
        action: Action,
        /// Why not.
        reason: &'static str,
    },
    /// The operation needs a port the host did not give the builder.
    #[error("this operation needs {0}, which the host did not configure")]
    NotConfigured(&'static str),
    /// The directory already has employees: a manager adds the next ones.
    #[error("the directory already has employees; a manager adds the next ones")]
    AlreadyBootstrapped,
    /// The status machine does not allow this move.
    #[error(
        "cannot move a lead from {from} to {to}; allowed from {from}: {}",
        list(allowed)
    )]
    InvalidTransition {
        /// The current status.
        from: LeadStatus,
        /// The requested status.
        to: LeadStatus,
        /// The statuses reachable from `from`.
        allowed: Vec<LeadStatus>,
    },
    /// The lead is converted, so it is read-only.
    #[error("lead {0} is converted and read-only")]
    ReadOnly(LeadId),
    /// The employee cannot be made responsible for a lead.
    #[error("employee {employee} cannot be responsible for a lead: they are {problem}")]
    InvalidAssignee {
        /// The employee.
        employee: EmployeeId,
        /// Why not.
        problem: AssigneeProblem,
    },
    /// The record changed since the caller read it.
    #[error(
        "{entity} {id} was changed by someone else (you read version {expected}); reload and retry"
    )]
    Conflict {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
        /// The version the caller read.
        expected: u64,
    },
    /// An open lead already has this email or phone.
    #[error(
        "open lead {existing} already has this {field}; create another only if it is a different \
         person"
    )]
    Duplicate {
        /// The lead that has it.
        existing: LeadId,
        /// Which field matched.
        field: ContactField,
    },
    /// The store failed.
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// A host port failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

impl From<crate::permissions::Refusal> for CrmError {
    fn from(r: crate::permissions::Refusal) -> Self {
        CrmError::Forbidden {
            actor: r.actor,
            action: r.action,
            reason: r.reason,
        }
    }
}

fn list(statuses: &[LeadStatus]) -> String {
    if statuses.is_empty() {
        return "none (final)".into();
    }
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<StoreError> for CrmError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => CrmError::NotFound { entity, id },
            StoreError::Conflict {
                entity,
                id,
                expected,
            } => CrmError::Conflict {
                entity,
                id,
                expected,
            },
            StoreError::Duplicate { existing, field } => CrmError::Duplicate { existing, field },
            StoreError::ReadOnly { lead } => CrmError::ReadOnly(lead),
            other => CrmError::Store(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_are_send_sync_static() {
        assert_send_sync::<CrmError>();
        assert_send_sync::<StoreError>();
        assert_send_sync::<PortError>();
        assert_send_sync::<ValidationError>();
    }

    #[test]
    fn transition_error_names_allowed_targets() {
        let e = CrmError::InvalidTransition {
            from: LeadStatus::New,
            to: LeadStatus::Converted,
            allowed: vec![
                LeadStatus::Contacted,
                LeadStatus::Interested,
                LeadStatus::Lost,
            ],
        };
        assert_eq!(
            e.to_string(),
            "cannot move a lead from new to converted; allowed from new: contacted, interested, lost"
        );
    }

    #[test]
    fn busy_and_unavailable_say_what_to_do() {
        assert!(StoreError::Busy("x".into()).to_string().contains("retry"));
        let e = StoreError::Unavailable {
            target: "127.0.0.1:1/x".into(),
            source: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to the database at 127.0.0.1:1/x"
        );
        assert!(StoreError::Busy("x".into()).is_retryable());
        assert!(!e.is_retryable());
    }

    #[test]
    fn assignee_messages_are_grammatical() {
        let msg = |problem| {
            CrmError::InvalidAssignee {
                employee: EmployeeId::new(7).unwrap_or_else(|e| panic!("{e}")),
                problem,
            }
            .to_string()
        };
        assert_eq!(
            msg(AssigneeProblem::Inactive),
            "employee 7 cannot be responsible for a lead: they are inactive"
        );
        assert_eq!(
            msg(AssigneeProblem::Unknown),
            "employee 7 cannot be responsible for a lead: they are not in the employee directory"
        );
        assert_eq!(
            msg(AssigneeProblem::NotSales),
            "employee 7 cannot be responsible for a lead: they are neither sales staff nor management"
        );
    }

    #[test]
    fn the_duplicate_message_names_no_api_field() {
        let e = CrmError::Duplicate {
            existing: LeadId::from_uuid(uuid::Uuid::nil()),
            field: ContactField::Email,
        };
        let s = e.to_string();
        assert!(s.contains("already has this email"), "{s}");
        assert!(!s.contains("allow_duplicate"), "{s}");
    }

    #[test]
    fn store_errors_map_by_meaning() {
        let e: CrmError = StoreError::ReadOnly {
            lead: LeadId::from_uuid(uuid::Uuid::nil()),
        }
        .into();
        assert!(matches!(e, CrmError::ReadOnly(_)));
        let e: CrmError = StoreError::Backend("boom".into()).into();
        assert!(matches!(e, CrmError::Store(StoreError::Backend(_))));
    }
}
