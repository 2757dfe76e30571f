//! What every front end reads and shows alike: dates and instants typed by people, and an
//! error as one sentence.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The longest part of an error message taken from a source error. Database errors can
/// carry whole statements; a message shows what went wrong, never SQL.
const MAX_PART: usize = 160;

/// The error and its sources as one sentence: each source once, its first line only, cut
/// at 160 characters, and parts that quote SQL left out.
pub fn sentence(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let full = c.to_string();
        let t = full.lines().next().unwrap_or_default().trim();
        if !t.is_empty() && !looks_like_sql(&full) && !s.contains(t) {
            s.push_str(": ");
            if t.chars().count() > MAX_PART {
                s.extend(t.chars().take(MAX_PART));
                s.push('…');
            } else {
                s.push_str(t);
            }
        }
        cur = c.source();
    }
    s
}

/// Whether a message quotes an SQL statement.
fn looks_like_sql(t: &str) -> bool {
    let upper = t.to_ascii_uppercase();
    [
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        "BEGIN IMMEDIATE",
        "CREATE TABLE",
        "COMMIT;",
    ]
    .iter()
    .any(|k| upper.contains(k))
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

/// The longest duration [`parse_duration`] accepts: a year.
pub const MAX_DURATION_DAYS: i64 = 366;

/// Parses a duration such as `90s`, `15m`, `1h30m`, `2d`, of at most [`MAX_DURATION_DAYS`].
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let shown: String = s.chars().take(40).collect();
    let err = || format!("invalid duration {shown:?}: use e.g. 30s, 15m, 1h30m, 1d");
    let mut total = TimeDelta::zero();
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| err())?;
        num.clear();
        let part = match c {
            's' => TimeDelta::try_seconds(n),
            'm' => TimeDelta::try_minutes(n),
            'h' => TimeDelta::try_hours(n),
            'd' => TimeDelta::try_days(n),
            _ => None,
        }
        .ok_or_else(err)?;
        total = total.checked_add(&part).ok_or_else(err)?;
    }
    if !num.is_empty() || total <= TimeDelta::zero() {
        return Err(err());
    }
    if total > TimeDelta::days(MAX_DURATION_DAYS) {
        return Err(format!(
            "duration {shown:?} is longer than {MAX_DURATION_DAYS} days"
        ));
    }
    Ok(total)
}

/// [`parse_duration`] as a standard duration, for timers.
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    parse_duration(s)?
        .to_std()
        .map_err(|_| format!("invalid duration {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_sql_out() {
        #[derive(Debug)]
        struct Outer(Inner);
        #[derive(Debug)]
        struct Inner(&'static str);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("storage failed")
            }
        }
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        impl std::error::Error for Inner {}
        let sql = Outer(Inner(
            "error in statement BEGIN IMMEDIATE; INSERT INTO leads (id) VALUES (?);\nCOMMIT;",
        ));
        assert_eq!(sentence(&sql), "storage failed");
        let long = Outer(Inner("database is locked\nsecond line"));
        assert_eq!(sentence(&long), "storage failed: database is locked");
    }

    #[test]
    fn instants() {
        assert_eq!(
            parse_instant("2026-01-31").map(|t| t.to_rfc3339()),
            Ok("2026-01-31T00:00:00+00:00".into())
        );
        assert!(parse_instant("31/01/2026").is_err());
    }
}
