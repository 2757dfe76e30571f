//! Identifiers. Records created by the library get UUID v7 ids (time-ordered, so B-tree
//! friendly, and spread across nodes of a distributed database); employees and clients belong
//! to the host, so their ids are the host's.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::ValidationError;

/// A UUID v7 whose timestamp comes from the injected clock, not the system clock.
pub(crate) fn uuid_v7_at(at: DateTime<Utc>) -> Uuid {
    let secs = u64::try_from(at.timestamp()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, time-ordered by `at` (the injected clock's instant).
            pub fn new_at(at: DateTime<Utc>) -> Self {
                Self(uuid_v7_at(at))
            }
            /// Wraps an existing UUID (e.g. read back from storage).
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| ValidationError::InvalidId {
                    kind: $what,
                    value: s.chars().take(64).collect(),
                })
            }
        }
    };
}

uuid_id!(
    /// Identifies a lead.
    LeadId,
    "lead id"
);
uuid_id!(
    /// Identifies an interaction logged against a lead.
    InteractionId,
    "interaction id"
);
uuid_id!(
    /// Identifies a sales opportunity.
    OpportunityId,
    "opportunity id"
);
uuid_id!(
    /// Identifies an event in the outbox.
    EventId,
    "event id"
);
uuid_id!(
    /// Identifies a follow-up notice: the same on every redelivery, so a notifier can
    /// deduplicate on it.
    NoticeId,
    "notice id"
);

/// Identifies an employee in the host's employee system (a positive integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct EmployeeId(i64);

impl EmployeeId {
    /// Parses a positive employee id.
    pub fn new(id: i64) -> Result<Self, ValidationError> {
        if id > 0 {
            Ok(Self(id))
        } else {
            Err(ValidationError::InvalidId {
                kind: "employee id",
                value: id.to_string(),
            })
        }
    }
    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for EmployeeId {
    type Error = ValidationError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<EmployeeId> for i64 {
    fn from(v: EmployeeId) -> i64 {
        v.0
    }
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for EmployeeId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = crate::text::ascii_digits(s.trim());
        digits
            .parse::<i64>()
            .map_err(|_| ValidationError::InvalidId {
                kind: "employee id",
                value: s.chars().take(64).collect(),
            })
            .and_then(Self::new)
    }
}

/// Identifies a client record in the host's clients system (opaque, non-empty, at most 128
/// characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Parses a client id.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 128 || t.chars().any(char::is_control) {
            return Err(ValidationError::InvalidId {
                kind: "client id",
                value: t.chars().take(64).collect(),
            });
        }
        Ok(Self(t.to_owned()))
    }
}

crate::text::string_newtype!(ClientId, ClientId::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employee_id_accepts_arabic_indic_digits() {
        assert_eq!("٤٢".parse::<EmployeeId>().map(EmployeeId::get), Ok(42));
        assert!("0".parse::<EmployeeId>().is_err());
        assert!("-3".parse::<EmployeeId>().is_err());
    }

    #[test]
    fn lead_ids_are_ordered_by_clock_time() {
        let a = chrono::DateTime::from_timestamp(1_000, 0).unwrap_or_default();
        let b = chrono::DateTime::from_timestamp(2_000, 0).unwrap_or_default();
        assert!(LeadId::new_at(a) < LeadId::new_at(b));
    }

    #[test]
    fn client_id_rejects_blank() {
        assert!(ClientId::parse("  ").is_err());
        assert_eq!(ClientId::parse(" c-1 ").map(String::from), Ok("c-1".into()));
    }
}
