//! Output of the `crm` tool: its exit codes, the stable `kind` of each error, durations
//! typed on the command line, and plain-text tables.

use crm_core::{CrmError, ErrorKind};

/// The exit codes of the `crm` tool.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Bad command line (clap's own code too).
    pub const USAGE: u8 = 2;
    /// Invalid input: a malformed value, a refused status move, an invalid assignee.
    pub const VALIDATION: u8 = 3;
    /// Not allowed: the acting employee may not do this, or the lead is read-only.
    pub const FORBIDDEN: u8 = 4;
    /// The lead, opportunity or employee does not exist.
    pub const NOT_FOUND: u8 = 5;
    /// Someone else changed the record (stale version), or a duplicate lead exists.
    pub const CONFLICT: u8 = 6;
    /// The database or a host system failed.
    pub const STORAGE: u8 = 7;
    /// A bulk change or a reassignment of all of an employee's leads refused some leads
    /// (the output lists which, and why); the others were changed.
    pub const PARTIAL: u8 = 8;
}

/// The exit code of an error kind.
pub fn exit_for(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput
        | ErrorKind::InvalidTransition
        | ErrorKind::InvalidAssignee
        | ErrorKind::MergeRefused => exit::VALIDATION,
        ErrorKind::Forbidden
        | ErrorKind::UnknownActor
        | ErrorKind::ReadOnly
        | ErrorKind::AlreadyBootstrapped => exit::FORBIDDEN,
        ErrorKind::NotFound => exit::NOT_FOUND,
        ErrorKind::Conflict | ErrorKind::Duplicate => exit::CONFLICT,
        _ => exit::STORAGE,
    }
}

/// The exit code for an error: [`exit_for`] its [`CrmError::kind`].
pub fn exit_code(e: &CrmError) -> u8 {
    exit_for(e.kind())
}

/// The stable `kind` of an error in `--json` error output (see [`ERROR_KINDS`]): the
/// library's own name for it.
pub fn error_kind(e: &CrmError) -> &'static str {
    e.kind().as_str()
}

/// Every `kind` of `--json` error output with its exit code, as `crm --help` shows it.
pub const ERROR_KINDS: &[(&str, u8, &str)] = &[
    (
        "usage",
        exit::USAGE,
        "the command line or a setting of the configuration is wrong",
    ),
    (
        "invalid_input",
        exit::VALIDATION,
        "a value is malformed or out of range",
    ),
    (
        "invalid_transition",
        exit::VALIDATION,
        "the status machine does not allow the move",
    ),
    (
        "invalid_assignee",
        exit::VALIDATION,
        "the employee cannot own leads",
    ),
    (
        "merge_refused",
        exit::VALIDATION,
        "the two leads cannot be merged (the same lead, merged, or converted)",
    ),
    ("unknown_actor", exit::FORBIDDEN, "--as names no employee"),
    (
        "forbidden",
        exit::FORBIDDEN,
        "the acting employee may not do this",
    ),
    (
        "read_only",
        exit::FORBIDDEN,
        "the lead is converted, or merged into another",
    ),
    ("not_found", exit::NOT_FOUND, "the record does not exist"),
    (
        "conflict",
        exit::CONFLICT,
        "someone else changed the record; reload and retry",
    ),
    (
        "duplicate",
        exit::CONFLICT,
        "an open lead has this email or phone",
    ),
    (
        "busy",
        exit::STORAGE,
        "the database stayed busy; nothing was written",
    ),
    ("storage", exit::STORAGE, "the database failed"),
    (
        "partial",
        exit::PARTIAL,
        "a bulk change refused some leads; the output lists which",
    ),
    (
        "host_system",
        exit::STORAGE,
        "the employee directory, clients system or notifier failed",
    ),
    (
        "already_bootstrapped",
        exit::FORBIDDEN,
        "the directory already has employees; a manager adds the next ones",
    ),
    (
        "not_configured",
        exit::STORAGE,
        "the host did not configure what this needs",
    ),
    (
        "mailbox",
        exit::STORAGE,
        "a mail server could not be reached or refused the login",
    ),
];

pub use crm_config::input::{MAX_DURATION_DAYS, parse_duration};

/// Display width of text in a terminal: combining marks (Arabic harakat, Latin accents)
/// take no column.
fn width(s: &str) -> usize {
    s.chars()
        .filter(
            |c| !matches!(*c as u32, 0x0300..=0x036F | 0x064B..=0x065F | 0x0670 | 0x200B..=0x200F),
        )
        .count()
}

/// A plain-text table with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a header row.
    pub fn new<S: ToString>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            rows: vec![header.into_iter().map(|h| h.to_string()).collect()],
        }
    }
    /// Adds a row.
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }
    /// Renders with two spaces between columns.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| width(c))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[i] - width(cell) + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    /// `crm --help` documents every kind the library has, with the exit code it maps to.
    #[test]
    fn every_error_kind_is_documented_with_its_exit_code() {
        for kind in ErrorKind::ALL {
            let row = ERROR_KINDS.iter().find(|(k, _, _)| *k == kind.as_str());
            assert_eq!(
                row.map(|(_, code, _)| *code),
                Some(exit_for(kind)),
                "{kind} in ERROR_KINDS"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("2d"), Ok(TimeDelta::days(2)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1x").is_err());
        assert_eq!(parse_duration("366d"), Ok(TimeDelta::days(366)));
        assert!(parse_duration("367d").is_err());
        assert!(parse_duration("9223372036854775807s").is_err());
        assert!(parse_duration("99999999999d").is_err());
        let many = "100000000000s".repeat(200);
        assert!(
            parse_duration(&many).is_err(),
            "overflowing sums are refused"
        );
    }

    #[test]
    fn table_aligns_arabic_with_marks() {
        let mut t = Table::new(["name", "n"]);
        t.row(["أَحْمَد", "1"]);
        t.row(["Ali", "2"]);
        assert_eq!(t.render(), "name  n\nأَحْمَد  1\nAli   2\n");
    }
}
