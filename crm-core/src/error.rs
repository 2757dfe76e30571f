//! The error types of the core: one for bad input, one for stores, one for host ports, and
//! [`CrmError`], the one every use case returns.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{EmployeeId, LeadId};
use crate::permissions::Action;
use crate::status::LeadStatus;

pub use crate::permissions::AssigneeProblem;
pub use crate::validation::ValidationError;

/// A boxed error from an adapter or a host system, kept whole so its chain survives.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
///
/// Adapters return the variant that says what happened (the conformance suite in
/// `crm-tests` checks which one); [`Crm`](crate::Crm) maps `NotFound`, `Conflict`,
/// `Duplicate` and `ReadOnly` to the [`CrmError`] of the same name and wraps the rest in
/// [`CrmError::Store`]. A host that calls a store directly handles them as each variant
/// says. Whatever the variant, a failed write changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist: an id that was never stored, or (for a write) a lead
    /// deleted meanwhile. Show it; retrying the same call gives the same answer.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// The record changed since the caller read it (optimistic concurrency): the stored
    /// version is not `expected`. Reload, decide again on the new state, then retry.
    #[error("{entity} {id} was changed by someone else (expected version {expected})")]
    Conflict {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
        /// The version the caller read.
        expected: u64,
    },
    /// An open lead already has this normalised email or phone, and the write asked for
    /// the check ([`crate::LeadWrite::check_duplicates`]). Show the existing lead; create
    /// again with duplicates allowed only if it is a different person.
    #[error("open lead {existing} already has this {field}")]
    Duplicate {
        /// The lead that already has it.
        existing: LeadId,
        /// Which field matched.
        field: ContactField,
    },
    /// The lead is converted or merged into another, so it is read-only (it changed after
    /// the caller read it). Show it; do not retry.
    #[error("lead {lead} is read-only (converted, or merged into another lead)")]
    ReadOnly {
        /// The lead.
        lead: LeadId,
    },
    /// The database stayed busy past the wait limit, or the transaction collided with a
    /// concurrent one (a serialization failure or a deadlock), or the rotation of an
    /// assignment rule was taken by a concurrent create ([`crate::StoreWrites::insert_lead_taking_turn`]).
    /// Nothing was applied: retry the whole call, best after a short pause
    /// ([`StoreError::is_retryable`]).
    #[error("the database is busy; nothing was applied; retry")]
    Busy(#[source] BoxError),
    /// The database cannot be reached (refused, unknown host, timed out, authentication).
    /// An operator's problem, not the user's: log it with its source, show "try again
    /// later", and retry after the database is back (not in a tight loop).
    #[error("cannot connect to the database at {target}")]
    Unavailable {
        /// Where: host, port and database (never the password).
        target: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// Stored data no longer parses into a domain value: a row written by other code, or
    /// edited by hand. Retrying cannot help: log it with its source and have an operator
    /// fix the row.
    #[error("stored {what} is invalid")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it does not parse.
        #[source]
        source: BoxError,
    },
    /// The database schema is newer than this code: a newer release migrated it. Refused
    /// at connect, so old code never writes into a schema it does not know. Deploy the
    /// newer release (or restore a backup); do not retry.
    #[error("the database schema (version {found}) is newer than this code (version {supported})")]
    SchemaTooNew {
        /// Newest migration in the database.
        found: i64,
        /// Newest migration this code knows.
        supported: i64,
    },
    /// Any other backend failure (an I/O error, a full disk, an unsupported database URL,
    /// a bug). Log it with its source; show a generic failure. Retrying may or may not help.
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

/// An error from a host port (employee directory, clients system, notifier), wrapping the
/// host's own error as its source.
///
/// Hosts return it from their port implementations; [`Crm`](crate::Crm) returns it as
/// [`CrmError::Port`] where the use case cannot go on without the port (reading the
/// acting employee), and keeps going where it can: a failed client creation leaves the
/// conversion pending for [`Crm::dispatch_pending`](crate::Crm::dispatch_pending), a
/// failed notice stays in the outbox for the next sweep. Log it with its source;
/// retrying later is safe (the clients port is keyed by lead, notices by id).
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

/// Why two leads cannot be merged ([`crate::merge`]). Here, a leaf of the error type, so
/// the merge module can import the error without a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MergeRefusal {
    /// Both ids name the same lead.
    SameLead,
    /// The lead to keep was itself merged into another lead.
    KeepMerged,
    /// The lead to merge away was merged already.
    OtherMerged,
    /// The lead to merge away is converted: a client's lead is never merged away.
    OtherConverted,
    /// The lead to keep is converted, hence read-only.
    KeepConverted,
}

impl std::fmt::Display for MergeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MergeRefusal::SameLead => "a lead cannot be merged into itself",
            MergeRefusal::KeepMerged => {
                "the lead to keep was merged into another lead; merge into that one"
            }
            MergeRefusal::OtherMerged => "the lead to merge away is merged already",
            MergeRefusal::OtherConverted => "a converted lead is never merged away",
            MergeRefusal::KeepConverted => "the lead to keep is converted and read-only",
        })
    }
}

/// Every error a [`crate::Crm`] use case can return, by meaning: each variant says when it
/// happens and what the caller should do. A refused use case changed nothing.
///
/// In short: `Validation`, `InvalidTransition`, `Duplicate`, `InvalidAssignee` are for the
/// person to fix (show the message); `Forbidden`, `SystemForbidden`, `UnknownActor`,
/// `NotFound`, `ReadOnly`, `MergeRefused` are final for this actor (show, do not retry); `Conflict` means
/// reload and decide again; `Store` and `Port` are the systems' failures (log; retry as
/// each says); `NotConfigured` and `AlreadyBootstrapped` are the host's set-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrmError {
    /// Bad input: a field that does not parse, a missing lost reason, a limit out of range.
    /// Show the message (it names the field) and let the person correct the input; the same
    /// input fails again.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The record does not exist, or is outside what the acting employee may see (the
    /// visibility policy makes the two look the same, on purpose). Show "not found"; do
    /// not retry.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// The acting employee is not in the employee directory (a stale session, an id from
    /// another system). Sign the person out or fix the directory; do not retry.
    #[error("employee {0} is not in the employee directory")]
    UnknownActor(EmployeeId),
    /// The acting employee may not do this ([`crate::permissions`]): read-only role,
    /// inactive, someone else's lead, an action for management. Show the reason; do not
    /// retry as the same employee.
    #[error("forbidden: {actor} may not {action}: {reason}")]
    Forbidden {
        /// Who tried.
        actor: EmployeeId,
        /// What they tried.
        action: Action,
        /// Why not.
        reason: &'static str,
    },
    /// A system actor may not do this (not named by the host with
    /// [`crate::CrmBuilder::system_actor`], or not an action for it: system actors run the
    /// sweep, the dispatch and scoring's training only). A set-up error of the host; do not retry.
    #[error("forbidden: system actor {} may not {action}: {reason}", actor.as_str())]
    SystemForbidden {
        /// Who tried.
        actor: crate::permissions::SystemActor,
        /// What they tried.
        action: Action,
        /// Why not.
        reason: &'static str,
    },
    /// The operation needs a port the host did not give the builder (an employee admin
    /// port for `save_employee`, a team directory for team visibility). A set-up error of
    /// the host: configure the port; do not retry.
    #[error("this operation needs {0}, which the host did not configure")]
    NotConfigured(&'static str),
    /// [`crate::Crm::bootstrap_manager`] on a directory that already has employees: a
    /// manager adds the next ones with `save_employee`. Show it; do not retry.
    #[error("the directory already has employees; a manager adds the next ones")]
    AlreadyBootstrapped,
    /// The status machine does not allow this move ([`crate::status::TRANSITIONS`]); the
    /// error lists the moves that are allowed. Show it (offer only `allowed`); do not retry.
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
    /// The lead is converted or merged into another, so it is read-only (only a converted
    /// lead's opportunities' stages may still change). Show it; do not retry.
    #[error("lead {0} is read-only (converted, or merged into another lead)")]
    ReadOnly(LeadId),
    /// The two leads cannot be merged ([`crate::merge`]): `reason` says why. Show it; do
    /// not retry the same pair.
    #[error("cannot merge lead {other} into lead {keep}: {reason}")]
    MergeRefused {
        /// The lead to keep.
        keep: LeadId,
        /// The lead to merge away.
        other: LeadId,
        /// Why not.
        reason: MergeRefusal,
    },
    /// The employee cannot be made responsible for a lead: unknown, inactive, or neither
    /// sales staff nor management. Show it and let the person choose someone else.
    #[error("employee {employee} cannot be responsible for a lead: they are {problem}")]
    InvalidAssignee {
        /// The employee.
        employee: EmployeeId,
        /// Why not.
        problem: AssigneeProblem,
    },
    /// The record changed since the caller read it (someone else saved first; `expected`
    /// is the version the caller sent). Reload the record, show the person what changed,
    /// and let them decide again: retrying with the new version is a new decision.
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
    /// An open lead already has this email or phone. Show the existing lead; create again
    /// with duplicates allowed only if the person confirms it is someone else.
    ///
    /// The refusal stands whether or not the acting employee sees that lead (the same
    /// person must not be entered twice), but a lead outside their view
    /// ([`crate::visibility`]) is not named: `existing` is `None`, and `ask` names who can
    /// see it, the manager of its owner in the employee directory (a name the directory
    /// shows anyone; no id, no owner, nothing of the lead), when the owner has an active one.
    #[error("{}", duplicate_message(existing.as_ref(), *field, ask.as_ref()))]
    Duplicate {
        /// The lead that has it, when the acting employee sees it.
        existing: Option<LeadId>,
        /// Which field matched.
        field: ContactField,
        /// Whom to ask about a lead the acting employee does not see: its owner's manager.
        ask: Option<crate::contact::Name>,
    },
    /// The store failed for a reason that is not the caller's ([`StoreError::Busy`],
    /// `Unavailable`, `Corrupt`, `SchemaTooNew`, `Backend`; the source says which). Nothing
    /// was written. Retry the call when the store error [`StoreError::is_retryable`]
    /// (`Busy`); otherwise log it with its source and show a generic failure.
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// A host port failed where the use case cannot go on without it (see [`PortError`]).
    /// Log it; retrying later is safe.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// What kind of refusal or failure a [`CrmError`] is, with a stable name: the one thing
/// every front end maps from (the `crm` tool's exit code and `--json` error `kind`, the
/// problem type and HTTP status of `crm-server`), so a refusal reads the same everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value is malformed or out of range ([`CrmError::Validation`]).
    InvalidInput,
    /// The status machine does not allow the move.
    InvalidTransition,
    /// The employee cannot own leads.
    InvalidAssignee,
    /// The two leads cannot be merged.
    MergeRefused,
    /// The acting employee is not in the directory.
    UnknownActor,
    /// The acting employee (or system actor) may not do this.
    Forbidden,
    /// The lead is converted, or merged into another.
    ReadOnly,
    /// The record does not exist, or is outside the actor's view.
    NotFound,
    /// Someone else changed the record: reload and decide again.
    Conflict,
    /// An open lead has this email or phone.
    Duplicate,
    /// The directory already has employees.
    AlreadyBootstrapped,
    /// The host did not configure a port this needs.
    NotConfigured,
    /// The database stayed busy; nothing was written; retry.
    Busy,
    /// A host system (clients, notifier) failed.
    HostSystem,
    /// The database failed.
    Storage,
}

impl ErrorKind {
    /// Every kind, in the order of their documentation.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::InvalidInput,
        ErrorKind::InvalidTransition,
        ErrorKind::InvalidAssignee,
        ErrorKind::MergeRefused,
        ErrorKind::UnknownActor,
        ErrorKind::Forbidden,
        ErrorKind::ReadOnly,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Duplicate,
        ErrorKind::AlreadyBootstrapped,
        ErrorKind::NotConfigured,
        ErrorKind::Busy,
        ErrorKind::HostSystem,
        ErrorKind::Storage,
    ];

    /// The stable name (`not_found`, `read_only`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InvalidTransition => "invalid_transition",
            ErrorKind::InvalidAssignee => "invalid_assignee",
            ErrorKind::MergeRefused => "merge_refused",
            ErrorKind::UnknownActor => "unknown_actor",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::AlreadyBootstrapped => "already_bootstrapped",
            ErrorKind::NotConfigured => "not_configured",
            ErrorKind::Busy => "busy",
            ErrorKind::HostSystem => "host_system",
            ErrorKind::Storage => "storage",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CrmError {
    /// What kind of error this is ([`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CrmError::Validation(_) => ErrorKind::InvalidInput,
            CrmError::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            CrmError::InvalidAssignee { .. } => ErrorKind::InvalidAssignee,
            CrmError::MergeRefused { .. } => ErrorKind::MergeRefused,
            CrmError::UnknownActor(_) => ErrorKind::UnknownActor,
            CrmError::Forbidden { .. } | CrmError::SystemForbidden { .. } => ErrorKind::Forbidden,
            CrmError::ReadOnly(_) => ErrorKind::ReadOnly,
            CrmError::NotFound { .. } => ErrorKind::NotFound,
            CrmError::Conflict { .. } => ErrorKind::Conflict,
            CrmError::Duplicate { .. } => ErrorKind::Duplicate,
            CrmError::AlreadyBootstrapped => ErrorKind::AlreadyBootstrapped,
            CrmError::NotConfigured(_) => ErrorKind::NotConfigured,
            CrmError::Store(s) if s.is_retryable() => ErrorKind::Busy,
            CrmError::Store(_) => ErrorKind::Storage,
            CrmError::Port(_) => ErrorKind::HostSystem,
        }
    }
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

fn duplicate_message(
    existing: Option<&LeadId>,
    field: ContactField,
    ask: Option<&crate::contact::Name>,
) -> String {
    let whom = match (existing, ask) {
        (Some(id), _) => {
            return format!(
                "open lead {id} already has this {field}; create another only if it is a different person"
            );
        }
        (None, Some(name)) => format!("ask {name}, the manager of its owner, about it"),
        (None, None) => "ask a manager about it".to_owned(),
    };
    format!(
        "an open lead you do not see already has this {field} ({whom}); create another only if \
         it is a different person"
    )
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
            StoreError::Duplicate { existing, field } => CrmError::Duplicate {
                existing: Some(existing),
                field,
                ask: None,
            },
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
            existing: Some(LeadId::from_uuid(uuid::Uuid::nil())),
            field: ContactField::Email,
            ask: None,
        };
        let s = e.to_string();
        assert!(s.contains("already has this email"), "{s}");
        assert!(!s.contains("allow_duplicate"), "{s}");
    }

    #[test]
    fn a_duplicate_outside_the_view_is_not_named() {
        let hidden = |ask: Option<&str>| {
            CrmError::Duplicate {
                existing: None,
                field: ContactField::Phone,
                ask: ask.map(|a| crate::contact::Name::parse(a).unwrap_or_else(|e| panic!("{e}"))),
            }
            .to_string()
        };
        assert_eq!(
            hidden(Some("سارة")),
            "an open lead you do not see already has this phone (ask سارة, the manager of its \
             owner, about it); create another only if it is a different person"
        );
        assert_eq!(
            hidden(None),
            "an open lead you do not see already has this phone (ask a manager about it); create \
             another only if it is a different person"
        );
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
