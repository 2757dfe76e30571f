//! Importing leads: what a row of a lead file becomes, and the rule for a row that matches
//! an open lead ([`decide_row`]). Reading files is [`crate::import`]'s (feature `import`);
//! planning a batch is [`crate::decide::plan_import_batch`]; [`crate::Crm::import_leads`]
//! loads, plans and stores.
//!
//! A row matches an open lead when the oldest open lead with its normalised email, else its
//! phone, exists ([`crate::duplicates`]): among the stored leads and the leads earlier rows of
//! the same import create. What a matching row does is [`OnDuplicate`]. A row that an earlier
//! run of the same file wrote already (same file key and row number, [`ImportKey`]) is left
//! alone whatever the policy, so a file re-run after an interruption creates no lead twice.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::contact::Note;
use crate::error::CrmError;
use crate::ids::{EmployeeId, LeadId};
use crate::lead::NewLead;
use crate::permissions::AssigneeProblem;
use crate::validation::ValidationError;

/// A row read as a lead: the input to create it, and notes to log with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedLead {
    /// What to create.
    pub lead: NewLead,
    /// A first note, when the row had one.
    pub notes: Option<Note>,
}

/// One data row: its number and what it reads as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The row number people see in the file.
    pub row: usize,
    /// The lead, or why the row is not one.
    pub outcome: Result<ImportedLead, RowError>,
}

/// Why a row is refused, by meaning, so a page can say it in its own language; its
/// `Display` is one English line, what the CLI and the API give.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// A cell does not read as its field (`field` is the lowercase English name, `phone`).
    #[error("{field}: {error}")]
    Cell {
        /// The field the cell's column fills.
        field: &'static str,
        /// Why it does not read.
        error: ValidationError,
    },
    /// The row has neither a phone nor an email.
    #[error("a lead needs a phone or an email")]
    NoContact,
    /// A rule refused the lead the row gives (a source the host does not offer, ...).
    #[error("{0}")]
    Invalid(ValidationError),
    /// The owner the row names cannot be responsible for a lead.
    #[error("employee {employee} cannot be responsible for a lead: they are {problem}")]
    Assignee {
        /// The employee.
        employee: EmployeeId,
        /// Why not.
        problem: AssigneeProblem,
    },
    /// The importing employee may not write this lead (`reason` is the permission's).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The open lead it matched was converted, merged or deleted meanwhile.
    #[error("the lead {0} it matches is gone")]
    Gone(LeadId),
    /// It matches an open lead outside the importing employee's view, which is not named.
    #[error("it matches an open lead you do not see (ask a manager about it)")]
    Hidden,
    /// Any other refusal, in one line: a host's own reader's words ([`RowError::other`]),
    /// or a rule's.
    #[error("{0}")]
    Other(String),
}

impl RowError {
    /// A refusal in the words of a host's own reader, on one line of at most 200
    /// characters.
    pub fn other(text: &str) -> Self {
        Self::Other(one_line(text))
    }

    /// A cell of `field` that does not read.
    pub fn cell(field: &'static str, error: ValidationError) -> Self {
        Self::Cell { field, error }
    }
}

impl From<CrmError> for RowError {
    fn from(e: CrmError) -> Self {
        match e {
            CrmError::Validation(v) => Self::Invalid(v),
            CrmError::InvalidAssignee { employee, problem } => Self::Assignee { employee, problem },
            CrmError::Forbidden { reason, .. } => Self::Forbidden(reason),
            CrmError::ReadOnly(id) => Self::Gone(id),
            other => Self::Other(one_line(&other.to_string())),
        }
    }
}

impl Serialize for RowError {
    /// The English line: what the API and the CLI's JSON have always carried.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a row that matches an open lead does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    /// Leave the row out; the report names the lead it matched (the default).
    #[default]
    Skip,
    /// Update the matched lead with the row's non-empty fields (name, email, phone, company)
    /// and log its notes; the lead's history records what the import changed.
    Update,
    /// Create the lead anyway.
    Create,
}

impl OnDuplicate {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Update => "update",
            Self::Create => "create",
        }
    }
}

impl fmt::Display for OnDuplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not `skip`, `update` or `create`.
#[derive(Debug, thiserror::Error)]
#[error("on duplicate: {0:?} is not skip, update or create")]
pub struct UnknownPolicy(pub String);

impl FromStr for OnDuplicate {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "skip" => Ok(Self::Skip),
            "update" => Ok(Self::Update),
            "create" => Ok(Self::Create),
            other => Err(UnknownPolicy(other.to_owned())),
        }
    }
}

/// What one readable row does, before the library's other rules (permissions, assignment,
/// validation of the change) have their say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
    /// Create a new lead.
    Create,
    /// Update the matched open lead.
    Update(LeadId),
    /// Leave the row out.
    Skip(LeadId, SkipReason),
}

/// Why a row was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// It matches an open lead and the policy is [`OnDuplicate::Skip`].
    Duplicate,
    /// An earlier run of the same file imported it (the lead named is the one it wrote).
    AlreadyImported,
    /// It matches an open lead to update, and gives nothing that lead does not have.
    Unchanged,
}

impl SkipReason {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::AlreadyImported => "already_imported",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The rule for one readable row: a row an earlier run of the file wrote (`imported`, the
/// lead it wrote) is skipped; otherwise a row with no `matched` open lead is created, and a
/// matching one does what `policy` says.
pub fn decide_row(
    imported: Option<LeadId>,
    matched: Option<LeadId>,
    policy: OnDuplicate,
) -> RowAction {
    if let Some(done) = imported {
        return RowAction::Skip(done, SkipReason::AlreadyImported);
    }
    match (matched, policy) {
        (None, _) | (Some(_), OnDuplicate::Create) => RowAction::Create,
        (Some(id), OnDuplicate::Update) => RowAction::Update(id),
        (Some(id), OnDuplicate::Skip) => RowAction::Skip(id, SkipReason::Duplicate),
    }
}

/// The key an imported row is remembered by: the file's key (a hash of its content, say)
/// and the row number. Stored with the lead the row wrote, in the transaction that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImportKey(String);

impl ImportKey {
    /// The key of row `row` of the file keyed `file`.
    pub fn new(file: &str, row: usize) -> Self {
        Self(format!("{file}:{row}"))
    }
    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A key read back from a store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ImportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How [`crate::Crm::import_leads`] imports.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// What a row matching an open lead does.
    pub on_duplicate: OnDuplicate,
    /// Decide every row and write nothing.
    pub dry_run: bool,
    /// The file's key (e.g. the hex SHA-256 of its bytes): rows are remembered under it and
    /// their row number, so a second run of the same file leaves the rows the first one wrote
    /// alone. `None`: rows are not remembered.
    pub file_key: Option<String>,
    /// Rows per batch (one transaction each); 1 to 5,000.
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            on_duplicate: OnDuplicate::Skip,
            dry_run: false,
            file_key: None,
            batch_size: 1000,
        }
    }
}

/// What one row did (or, in a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RowOutcome {
    /// A lead was created (in a dry run: the id it would have had).
    Created {
        /// The lead.
        lead: LeadId,
        /// It matched this open lead and was created anyway ([`OnDuplicate::Create`]);
        /// `None` too when the lead it matched is outside the importing employee's view.
        #[serde(skip_serializing_if = "Option::is_none")]
        matched: Option<LeadId>,
    },
    /// The matched open lead was updated.
    Updated {
        /// The lead.
        lead: LeadId,
    },
    /// The row was left out.
    Skipped {
        /// The lead it matched (or an earlier run wrote), when the importing employee sees
        /// it: a lead outside their view is never named.
        #[serde(skip_serializing_if = "Option::is_none")]
        lead: Option<LeadId>,
        /// Why.
        reason: SkipReason,
    },
    /// The row was refused; the others go on.
    Failed {
        /// Why (serialized as its one English line).
        reason: RowError,
    },
}

impl RowOutcome {
    /// `created`, `updated`, `skipped` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Updated { .. } => "updated",
            Self::Skipped { .. } => "skipped",
            Self::Failed { .. } => "failed",
        }
    }
}

/// One row's outcome, with its row number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// The row number people see in the file.
    pub row: usize,
    /// What it did.
    #[serde(flatten)]
    pub outcome: RowOutcome,
}

/// What an import did, row by row, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// Every row ([`crate::Crm::import_leads`]), or those a host kept
    /// ([`ImportReport::push_bounded`]).
    pub rows: Vec<RowReport>,
    /// Rows done but not kept in `rows`, by outcome (`created`, `updated`, `skipped`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unlisted: BTreeMap<&'static str, usize>,
}

impl ImportReport {
    /// How many rows had the outcome named (`created`, `updated`, `skipped`, `failed`),
    /// listed or not.
    pub fn count(&self, outcome: &str) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome.as_str() == outcome)
            .count()
            + self.unlisted.get(outcome).copied().unwrap_or(0)
    }

    /// Adds a row's outcome, keeping memory bounded for a file of any length: the row is
    /// listed while fewer than `listed_at_most` rows are, and a failed row always is (its
    /// reason is what the person importing must see); any other row is only counted.
    pub fn push_bounded(&mut self, row: RowReport, listed_at_most: usize) {
        if self.rows.len() < listed_at_most || matches!(row.outcome, RowOutcome::Failed { .. }) {
            self.rows.push(row);
        } else {
            *self.unlisted.entry(row.outcome.as_str()).or_insert(0) += 1;
        }
    }
    /// The rows that failed: row number and reason.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &RowError)> {
        self.rows.iter().filter_map(|r| match &r.outcome {
            RowOutcome::Failed { reason } => Some((r.row, reason)),
            _ => None,
        })
    }
}

/// The text on one line, at most 200 characters: a reason fits an error listing.
pub fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> LeadId {
        LeadId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn each_policy_on_a_match() {
        let m = Some(id(1));
        assert_eq!(decide_row(None, None, OnDuplicate::Skip), RowAction::Create);
        assert_eq!(
            decide_row(None, m, OnDuplicate::Skip),
            RowAction::Skip(id(1), SkipReason::Duplicate)
        );
        assert_eq!(
            decide_row(None, m, OnDuplicate::Update),
            RowAction::Update(id(1))
        );
        assert_eq!(decide_row(None, m, OnDuplicate::Create), RowAction::Create);
        assert_eq!(
            decide_row(Some(id(2)), m, OnDuplicate::Create),
            RowAction::Skip(id(2), SkipReason::AlreadyImported)
        );
    }

    fn policy() -> impl Strategy<Value = OnDuplicate> {
        prop_oneof![
            Just(OnDuplicate::Skip),
            Just(OnDuplicate::Update),
            Just(OnDuplicate::Create)
        ]
    }

    proptest! {
        /// A row an earlier run wrote never writes again, whatever matches and whatever
        /// the policy.
        #[test]
        fn an_imported_row_is_never_written_twice(
            done in any::<u128>(), matched in proptest::option::of(any::<u128>()), p in policy()
        ) {
            prop_assert_eq!(
                decide_row(Some(id(done)), matched.map(id), p),
                RowAction::Skip(id(done), SkipReason::AlreadyImported)
            );
        }

        /// Without a match every policy creates; with one, only `create` does, `update`
        /// touches exactly the matched lead, and `skip` names it.
        #[test]
        fn a_match_decides_by_policy(matched in proptest::option::of(any::<u128>()), p in policy()) {
            let got = decide_row(None, matched.map(id), p);
            match (matched, p) {
                (None, _) => prop_assert_eq!(got, RowAction::Create),
                (Some(m), OnDuplicate::Create) => { let _ = m; prop_assert_eq!(got, RowAction::Create) }
                (Some(m), OnDuplicate::Update) => prop_assert_eq!(got, RowAction::Update(id(m))),
                (Some(m), OnDuplicate::Skip) => {
                    prop_assert_eq!(got, RowAction::Skip(id(m), SkipReason::Duplicate))
                }
            }
        }

        #[test]
        fn policies_read_back(p in policy()) {
            prop_assert_eq!(p.as_str().parse::<OnDuplicate>().ok(), Some(p));
        }
    }

    #[test]
    fn a_bounded_report_lists_the_first_rows_and_every_failure_and_counts_all() {
        let mut report = ImportReport::default();
        for n in 0..10 {
            let outcome = if n % 4 == 3 {
                RowOutcome::Failed {
                    reason: RowError::Hidden,
                }
            } else {
                RowOutcome::Created {
                    lead: id(n),
                    matched: None,
                }
            };
            report.push_bounded(
                RowReport {
                    row: n as usize,
                    outcome,
                },
                3,
            );
        }
        let listed: Vec<usize> = report.rows.iter().map(|r| r.row).collect();
        assert_eq!(listed, [0, 1, 2, 3, 7]);
        assert_eq!((report.count("created"), report.count("failed")), (8, 2));
    }

    #[test]
    fn reasons_fit_one_line() {
        assert_eq!(one_line("a\n b\t c"), "a b c");
        assert_eq!(one_line(&"x".repeat(300)).chars().count(), 200);
    }
}
