//! The history of a lead: every status change, reassignment and edit, with actor, time and
//! old and new values. Time spent in each status is derived from it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::ids::{EmployeeId, InteractionId, LeadId, OpportunityId};
use crate::lost_reason::LostReasonCode;
use crate::permissions::SystemActor;
use crate::source::Source;
use crate::status::LeadStatus;

/// A lead field that an edit can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadField {
    /// The name.
    Name,
    /// The email.
    Email,
    /// The phone.
    Phone,
    /// The company.
    Company,
    /// The source.
    Source,
    /// The next follow-up time.
    NextFollowUp,
}

impl fmt::Display for LeadField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeadField::Name => "name",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::Company => "company",
            LeadField::Source => "source",
            LeadField::NextFollowUp => "next_follow_up",
        })
    }
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The lead was created.
    Created {
        /// Its source.
        source: Source,
        /// Its responsible employee.
        owner: EmployeeId,
    },
    /// The status moved.
    StatusChanged {
        /// Old status.
        from: LeadStatus,
        /// New status.
        to: LeadStatus,
        /// The free-text detail of the reason, when moved to lost.
        lost_reason: Option<Name>,
        /// The reason code, when moved to lost.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lost_reason_code: Option<LostReasonCode>,
    },
    /// The responsible employee changed.
    Reassigned {
        /// Old owner.
        from: EmployeeId,
        /// New owner.
        to: EmployeeId,
    },
    /// A contact field changed.
    Edited {
        /// Which field.
        field: LeadField,
        /// Old value.
        old: Option<String>,
        /// New value.
        new: Option<String>,
    },
    /// Another lead was merged into this one ([`crate::merge`]).
    MergedFrom {
        /// The lead merged away.
        from: LeadId,
        /// Its interactions, moved to this lead.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interactions: Vec<InteractionId>,
        /// Its opportunities, moved to this lead.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        opportunities: Vec<OpportunityId>,
    },
    /// This lead was merged into another and is read-only from then on.
    MergedInto {
        /// The lead kept.
        into: LeadId,
    },
    /// The lead was taken in by a capture channel (a web form, a mailbox), written with its
    /// `Created` entry. That entry's actor is the
    /// employee the channel gave the lead to; this one names the channel.
    Captured {
        /// The channel.
        by: SystemActor,
        /// What it took in: the message's key, or the submission's.
        key: String,
        /// Where it came from and what the person agreed to.
        #[serde(
            default,
            skip_serializing_if = "crate::origin::CaptureDetails::is_empty"
        )]
        details: Box<crate::origin::CaptureDetails>,
    },
}

/// A history entry: what changed, who changed it, when, and the lead version it produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The lead.
    pub lead_id: LeadId,
    /// The lead version this change produced.
    pub version: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: EmployeeId,
    /// What.
    pub change: Change,
}

/// How long the lead spent in each status, from its history up to `now` (the current status
/// counts until `now`). Statuses never held are absent.
pub fn time_in_status(
    history: &[HistoryEntry],
    now: DateTime<Utc>,
) -> BTreeMap<LeadStatus, TimeDelta> {
    let mut out = BTreeMap::new();
    let mut current: Option<(LeadStatus, DateTime<Utc>)> = None;
    for e in history {
        match &e.change {
            Change::Created { .. } => current = Some((LeadStatus::New, e.at)),
            Change::StatusChanged { to, .. } => {
                if let Some((st, since)) = current {
                    *out.entry(st).or_insert_with(TimeDelta::zero) +=
                        (e.at - since).max(TimeDelta::zero());
                }
                current = Some((*to, e.at));
            }
            _ => {}
        }
    }
    if let Some((st, since)) = current {
        *out.entry(st).or_insert_with(TimeDelta::zero) += (now - since).max(TimeDelta::zero());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_in_status_adds_up_each_stay() {
        let lead = LeadId::from_uuid(uuid::Uuid::nil());
        let actor = EmployeeId::new(1).unwrap();
        let t = |h: i64| DateTime::from_timestamp(h * 3600, 0).unwrap();
        let entry = |h, change| HistoryEntry {
            lead_id: lead,
            version: 1,
            at: t(h),
            actor,
            change,
        };
        let moved = |from, to| Change::StatusChanged {
            from,
            to,
            lost_reason: None,
            lost_reason_code: None,
        };
        let h = vec![
            entry(
                0,
                Change::Created {
                    source: Source::web(),
                    owner: actor,
                },
            ),
            entry(2, moved(LeadStatus::New, LeadStatus::Contacted)),
            entry(
                3,
                Change::Reassigned {
                    from: actor,
                    to: EmployeeId::new(2).unwrap(),
                },
            ),
            entry(5, moved(LeadStatus::Contacted, LeadStatus::Interested)),
        ];
        let got = time_in_status(&h, t(10));
        assert_eq!(got.get(&LeadStatus::New), Some(&TimeDelta::hours(2)));
        assert_eq!(got.get(&LeadStatus::Contacted), Some(&TimeDelta::hours(3)));
        assert_eq!(got.get(&LeadStatus::Interested), Some(&TimeDelta::hours(5)));
        assert_eq!(got.get(&LeadStatus::Lost), None);
    }
}
