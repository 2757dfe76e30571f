//! Listing leads: filters, text search and keyset pagination (newest first).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EmployeeId, LeadId};
use crate::lead::Lead;
use crate::source::Source;
use crate::status::LeadStatus;
use crate::text::search_key;
use crate::validation::ValidationError;

/// Where a page ends: the last lead's creation time and id. Leads are listed by
/// `(created_at, id)` descending, so a page after the cursor starts just below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Creation time of the last lead on the previous page.
    pub created_at: DateTime<Utc>,
    /// Its id.
    pub id: LeadId,
}

impl Cursor {
    /// The cursor after `lead`.
    pub fn after(lead: &Lead) -> Self {
        Self {
            created_at: lead.created_at(),
            id: lead.id(),
        }
    }

    /// Whether `lead` comes after this cursor in listing order.
    pub fn precedes(&self, lead: &Lead) -> bool {
        (lead.created_at(), lead.id()) < (self.created_at, self.id)
    }
}

impl fmt::Display for Cursor {
    /// `<unix microseconds>.<lead id>`: opaque to users, stable across versions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at.timestamp_micros(), self.id)
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::InvalidId {
            kind: "cursor",
            value: s.chars().take(80).collect(),
        };
        let (micros, id) = s.trim().split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(Self {
            created_at,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// Which leads to list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadQuery {
    /// Only this status.
    pub status: Option<LeadStatus>,
    /// Only this source.
    pub source: Option<Source>,
    /// Only this responsible employee.
    pub owner: Option<EmployeeId>,
    search: Option<String>,
    /// Start after this cursor.
    pub after: Option<Cursor>,
    limit: u32,
}

impl Default for LeadQuery {
    fn default() -> Self {
        Self {
            status: None,
            source: None,
            owner: None,
            search: None,
            after: None,
            limit: 50,
        }
    }
}

impl LeadQuery {
    /// Filters by status.
    pub fn status(mut self, s: LeadStatus) -> Self {
        self.status = Some(s);
        self
    }
    /// Filters by source.
    pub fn source(mut self, s: Source) -> Self {
        self.source = Some(s);
        self
    }
    /// Filters by responsible employee.
    pub fn owner(mut self, o: EmployeeId) -> Self {
        self.owner = Some(o);
        self
    }
    /// Searches name, email, phone and company for `text` (Arabic spelling variants and
    /// digits folded, see [`crate::text::search_key`]). Blank text searches nothing.
    pub fn search(mut self, text: &str) -> Self {
        let key = search_key(text);
        self.search = (!key.is_empty()).then_some(key);
        self
    }
    /// Continues after a cursor.
    pub fn after(mut self, c: Cursor) -> Self {
        self.after = Some(c);
        self
    }
    /// Sets the page size (1 to 1000).
    pub fn limit(mut self, n: u32) -> Result<Self, ValidationError> {
        if n == 0 || n > 1000 {
            return Err(ValidationError::InvalidLimit(n));
        }
        self.limit = n;
        Ok(self)
    }
    /// The page size.
    pub fn page_size(&self) -> u32 {
        self.limit
    }
    /// The normalised search key, if any.
    pub fn search_key(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// Whether `lead` passes the filters and the cursor (the reference that SQL adapters must
    /// match; `search_text` is [`Lead::search_text`]).
    pub fn matches(&self, lead: &Lead, search_text: &str) -> bool {
        self.status.is_none_or(|s| lead.status() == s)
            && self.source.as_ref().is_none_or(|s| lead.source() == s)
            && self.owner.is_none_or(|o| lead.owner() == o)
            && self
                .search
                .as_deref()
                .is_none_or(|k| search_text.contains(k))
            && self.after.is_none_or(|c| c.precedes(lead))
    }
}

/// One page of results and the cursor for the next, if there is more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass to [`LeadQuery::after`] for the next page.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_as_text() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: LeadId::new_at(DateTime::from_timestamp(5, 0).unwrap()),
        };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        assert!("nope".parse::<Cursor>().is_err());
    }

    #[test]
    fn limit_is_bounded() {
        assert!(LeadQuery::default().limit(0).is_err());
        assert!(LeadQuery::default().limit(1001).is_err());
        assert_eq!(
            LeadQuery::default().limit(10).map(|q| q.page_size()),
            Ok(10)
        );
    }

    #[test]
    fn blank_search_is_no_search() {
        assert_eq!(LeadQuery::default().search("  ").search_key(), None);
        assert_eq!(
            LeadQuery::default().search(" أحمد ").search_key(),
            Some("احمد")
        );
    }
}
