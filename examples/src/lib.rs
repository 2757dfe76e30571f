//! Shared pieces of the `crm` command-line tool and the `pipeline` benchmark: exit codes,
//! argument parsers and plain-text tables.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use crm_core::CrmError;

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
}

/// The exit code for an error.
pub fn exit_code(e: &CrmError) -> u8 {
    match e {
        CrmError::Validation(_)
        | CrmError::InvalidTransition { .. }
        | CrmError::InvalidAssignee { .. } => exit::VALIDATION,
        CrmError::Forbidden { .. }
        | CrmError::SystemForbidden { .. }
        | CrmError::UnknownActor(_)
        | CrmError::ReadOnly(_)
        | CrmError::AlreadyBootstrapped => exit::FORBIDDEN,
        CrmError::NotFound { .. } => exit::NOT_FOUND,
        CrmError::Conflict { .. } | CrmError::Duplicate { .. } => exit::CONFLICT,
        _ => exit::STORAGE,
    }
}

/// The error and its sources as one sentence.
pub fn sentence(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Parses a duration such as `90s`, `15m`, `1h30m`, `2d`.
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let err = || format!("invalid duration {s:?}: use e.g. 30s, 15m, 1h30m, 1d");
    let mut total = TimeDelta::zero();
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| err())?;
        num.clear();
        total += match c {
            's' => TimeDelta::try_seconds(n),
            'm' => TimeDelta::try_minutes(n),
            'h' => TimeDelta::try_hours(n),
            'd' => TimeDelta::try_days(n),
            _ => None,
        }
        .ok_or_else(err)?;
    }
    if !num.is_empty() || total <= TimeDelta::zero() {
        return Err(err());
    }
    Ok(total)
}

/// Parses an RFC 3339 instant (`2026-01-31T09:00:00Z`) or a date (`2026-01-31`, midnight UTC).
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.to_utc());
    }
    parse_date(s).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Parses a date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("invalid date {s:?}: use YYYY-MM-DD or an RFC 3339 time"))
}

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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("2d"), Ok(TimeDelta::days(2)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1x").is_err());
    }

    #[test]
    fn instants() {
        assert_eq!(
            parse_instant("2026-01-31").map(|t| t.to_rfc3339()),
            Ok("2026-01-31T00:00:00+00:00".into())
        );
        assert!(parse_instant("31/01/2026").is_err());
    }

    #[test]
    fn table_aligns_arabic_with_marks() {
        let mut t = Table::new(["name", "n"]);
        t.row(["أَحْمَد", "1"]);
        t.row(["Ali", "2"]);
        assert_eq!(t.render(), "name  n\nأَحْمَد  1\nAli   2\n");
    }
}
