//! The lead status machine: the one table of allowed moves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Where a lead stands in the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeadStatus {
    /// Just arrived; nobody has followed up yet.
    New,
    /// Someone reached the lead.
    Contacted,
    /// The lead showed interest.
    Interested,
    /// The lead became a client. Final and read-only.
    Converted,
    /// The lead was lost (with a reason). Management may reopen it.
    Lost,
}

/// Who may make a move in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveRule {
    /// Anyone who may edit leads.
    Editors,
    /// Management only.
    Management,
}

/// The whole status machine. `(from, to, who)`; any pair not listed is refused.
pub const TRANSITIONS: &[(LeadStatus, LeadStatus, MoveRule)] = {
    use LeadStatus::*;
    use MoveRule::*;
    &[
        (New, Contacted, Editors),
        (New, Interested, Editors),
        (New, Lost, Editors),
        (Contacted, Interested, Editors),
        (Contacted, Converted, Editors),
        (Contacted, Lost, Editors),
        (Interested, Converted, Editors),
        (Interested, Lost, Editors),
        (Lost, New, Management),
    ]
};

impl LeadStatus {
    /// Every status, in pipeline order (the order of reports).
    pub const ALL: [LeadStatus; 5] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Interested,
        LeadStatus::Converted,
        LeadStatus::Lost,
    ];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Interested => "interested",
            LeadStatus::Converted => "converted",
            LeadStatus::Lost => "lost",
        }
    }

    /// The statuses reachable from this one, in pipeline order.
    pub fn allowed_targets(self) -> Vec<LeadStatus> {
        TRANSITIONS
            .iter()
            .filter(|(from, _, _)| *from == self)
            .map(|(_, to, _)| *to)
            .collect()
    }

    /// Who may move a lead from this status to `to`, or `None` if the table has no such move.
    pub fn move_rule(self, to: LeadStatus) -> Option<MoveRule> {
        TRANSITIONS
            .iter()
            .find(|(from, t, _)| *from == self && *t == to)
            .map(|(_, _, rule)| *rule)
    }

    /// Whether a lead in this status is still being worked (counts for duplicate detection).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            LeadStatus::New | LeadStatus::Contacted | LeadStatus::Interested
        )
    }

    /// Whether a lead in this status can no longer be edited.
    pub fn is_read_only(self) -> bool {
        self == LeadStatus::Converted
    }
}

impl FromStr for LeadStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::text::parse_name(
            "status",
            s,
            &LeadStatus::ALL,
            LeadStatus::as_str,
            "new, contacted, interested, converted, lost",
        )
    }
}

impl fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::LeadStatus::*;
    use super::*;

    #[test]
    fn table_matches_the_design() {
        assert_eq!(New.allowed_targets(), [Contacted, Interested, Lost]);
        assert_eq!(Contacted.allowed_targets(), [Interested, Converted, Lost]);
        assert_eq!(Interested.allowed_targets(), [Converted, Lost]);
        assert_eq!(Converted.allowed_targets(), []);
        assert_eq!(Lost.allowed_targets(), [New]);
        assert_eq!(Lost.move_rule(New), Some(MoveRule::Management));
        assert_eq!(New.move_rule(Converted), None);
        assert_eq!(New.move_rule(New), None);
    }

    #[test]
    fn names_round_trip() {
        for s in LeadStatus::ALL {
            assert_eq!(s.as_str().parse::<LeadStatus>(), Ok(s));
        }
        assert!("won".parse::<LeadStatus>().is_err());
        assert_eq!(" Lost ".parse::<LeadStatus>(), Ok(Lost));
    }
}
