//! Listing leads: filters, text search and keyset pagination (newest first).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{Phone, PhoneRegion};
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
    /// The phone key of the search text, when it reads as a phone number.
    #[serde(default)]
    search_phone: Option<String>,
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
            search_phone: None,
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
    /// digits folded, see [`crate::text::search_key`]). Blank text searches nothing. Text
    /// that reads as a phone number in international form (`+966 50 123 4567`,
    /// `00966501234567`) also finds the leads with that number, however it was typed; see
    /// [`LeadQuery::search_in`] for local forms.
    pub fn search(self, text: &str) -> Self {
        self.search_in(text, None)
    }

    /// [`LeadQuery::search`], where text that reads as a phone number in `region`'s local
    /// form (`050-123-4567` in `SA`) or in international form also finds the leads with that
    /// number (the key the duplicate check compares, [`Phone::key`]), however it was typed.
    /// Text that does not read as a phone is searched as text only; text that does is
    /// searched both ways, so no lead the text itself finds is lost.
    pub fn search_in(mut self, text: &str, region: Option<PhoneRegion>) -> Self {
        let key = search_key(text);
        self.search = (!key.is_empty()).then_some(key);
        let phone = match region {
            Some(r) => Phone::parse_in(text, r),
            None => Phone::parse(text),
        };
        self.search_phone = self
            .search
            .as_ref()
            .and_then(|_| phone.ok())
            .map(|p| p.key().to_owned());
        self
    }
    /// Continues after a cursor.
    pub fn after(mut self, c: Cursor) -> Self {
        self.after = Some(c);
        self
    }
    /// The same query from its first page (no cursor).
    pub fn from_start(mut self) -> Self {
        self.after = None;
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
    /// The phone key the search text reads as, if it reads as a phone number: a lead whose
    /// search text contains either this or [`LeadQuery::search_key`] matches.
    pub fn search_phone_key(&self) -> Option<&str> {
        self.search_phone.as_deref()
    }

    /// Whether `lead` passes the filters and the cursor (the reference that SQL adapters must
    /// match; `search_text` is [`Lead::search_text`]).
    pub fn matches(&self, lead: &Lead, search_text: &str) -> bool {
        self.status.is_none_or(|s| lead.status() == s)
            && self.source.as_ref().is_none_or(|s| lead.source() == s)
            && self.owner.is_none_or(|o| lead.owner() == o)
            && self.search.as_deref().is_none_or(|k| {
                search_text.contains(k)
                    || self
                        .search_phone
                        .as_deref()
                        .is_some_and(|p| search_text.contains(p))
            })
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
    fn text_that_reads_as_a_phone_searches_its_key_too() {
        let sa = PhoneRegion::parse("SA").unwrap();
        for typed in [
            "+966 50 123 4567",
            "050 123 4567",
            "050-123-4567",
            "00966501234567",
            "٠٥٠١٢٣٤٥٦٧",
        ] {
            let q = LeadQuery::default().search_in(typed, Some(sa));
            assert_eq!(q.search_phone_key(), Some("+966501234567"), "{typed}");
        }
        // Without a region only the international forms read as a phone.
        let q = LeadQuery::default().search("050 123 4567");
        assert_eq!(q.search_phone_key(), None);
        let q = LeadQuery::default().search("+966 50 123 4567");
        assert_eq!(q.search_phone_key(), Some("+966501234567"));
        // Text stays text; a partial number is no phone.
        for text in ["أحمد", "050", "a@b.co"] {
            let q = LeadQuery::default().search_in(text, Some(sa));
            assert_eq!(q.search_phone_key(), None, "{text}");
        }
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
