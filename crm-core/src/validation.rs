//! Input that does not make a valid domain value: the leaf error every parser returns. It
//! depends on no other module of the crate, so every module can use it without an import
//! cycle ([`crate::error::CrmError`], the top-level error, wraps it).

/// Input that does not make a valid domain value, naming the field and the reason.
///
/// Every variant is the input's fault, never a passing failure: the same input fails again,
/// so do not retry. Show the message to whoever typed the value (it names the field, and
/// where there is a list of accepted values, the list) and let them correct it; nothing was
/// written. From a builder or a configuration file (`RepeatedRule`, `InvalidList`,
/// `OnlyManagersLeadTeams`, ...) it is the host's configuration to fix. Each variant below
/// says when it is returned.
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
    /// A lost-reason code that is not in the host's list ([`crate::lost_reason::LostReasons`]).
    #[error("unknown lost reason {code:?}; expected one of: {expected}")]
    UnknownLostReason {
        /// What was given (truncated).
        code: String,
        /// The codes in force, comma-separated.
        expected: String,
    },
    /// A source the host did not list, from someone who may not add one
    /// ([`crate::source::Sources`]).
    #[error("source {value:?} is not one of the host's: {expected}")]
    UnlistedSource {
        /// What was given.
        value: String,
        /// The listed sources, comma-separated.
        expected: String,
    },
    /// A currency the host did not list ([`crate::money::Currencies`]).
    #[error("currency {code} is not one of the host's: {expected}")]
    UnlistedCurrency {
        /// The code given.
        code: String,
        /// The listed currencies, comma-separated.
        expected: String,
    },
    /// A lost-reason code that is not a valid slug.
    #[error("invalid lost reason {value:?}: {reason}")]
    InvalidLostReasonCode {
        /// What was given (truncated).
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A list (of lost-reason codes, holidays, ...) that is empty or repeats an entry.
    #[error("{field}: {reason}")]
    InvalidList {
        /// The list.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A reason was given for a move that is not to `lost`, where it would be dropped.
    #[error("a reason is only taken when a lead is marked lost")]
    ReasonWithoutLost,
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
    /// A time that lies before the clock's current time, where only a future one makes sense.
    #[error("{field} {at} is in the past (now is {now})")]
    InPast {
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
    /// A change that would leave the directory without an active manager.
    #[error("this would leave no active manager to manage employees; make another manager first")]
    LastManager,
    /// The first employee of a new installation must be an active manager (who can then add
    /// the others).
    #[error("the first employee must be an active manager, who then adds the others")]
    FirstEmployeeNotManager,
    /// Only managers lead teams.
    #[error("only managers lead teams; employee {employee} is not a manager")]
    OnlyManagersLeadTeams {
        /// The employee.
        employee: i64,
    },
    /// An assignment rule's team has no one to give leads to.
    #[error("team {team:?} has no active sales staff to give leads to")]
    NoActiveSales {
        /// The team.
        team: String,
    },
    /// An employee whose leads are to be spread over their team is in no team.
    #[error("employee {employee} is in no team; name the team to give their leads to")]
    NoTeam {
        /// The employee.
        employee: i64,
    },
    /// Two assignment rules for the same source (or two without a source).
    #[error("two assignment rules for {what}; give one rule per source")]
    RepeatedRule {
        /// The source, or "every other source".
        what: String,
    },
    /// The same lead twice in one bulk change: which of the two was meant cannot be told.
    #[error("lead {id} is listed more than once")]
    RepeatedLead {
        /// The lead.
        id: String,
    },
    /// A bulk change without leads, or with more than it takes at once.
    #[error("a bulk change takes 1 to {max} leads; {count} were given")]
    BulkSize {
        /// How many were given.
        count: usize,
        /// The most it takes.
        max: usize,
    },
    /// More rows than a PDF export takes: a PDF is laid out whole in memory, so its size is
    /// bounded; CSV and XLSX stream any number of rows.
    #[error(
        "a PDF export takes at most {max} rows; narrow the filters, or export CSV or XLSX, \
         which take any number"
    )]
    PdfTooLong {
        /// The most it takes.
        max: usize,
    },
}
