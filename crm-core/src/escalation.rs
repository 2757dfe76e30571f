//! Escalation: a lead still without follow-up a number of working days after its owner was
//! notified (by a first-contact notice or an overdue reminder) notifies the owner's manager,
//! once per owner notification.
//!
//! "Without follow-up": the lead is still open (new, contacted or interested) and no
//! interaction happened at or after the owner's notification. Working days are counted in the
//! follow-up rule's [`crate::WorkCalendar`] (plain 24-hour days without one). The manager is
//! [`crate::Employee::manager`] of the owner, looked up when the notice is sent; an owner
//! without an active manager leaves the notice in the outbox, failed, until one is set.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::employee::Employee;
use crate::follow_up::{FollowUpNotice, NoticeKind, still_unanswered};
use crate::lead::{Lead, LeadRecord};
use crate::validation::ValidationError;

/// After how many working days without follow-up a notified owner's manager is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct EscalationRule(u32);

impl EscalationRule {
    /// `days` working days, 1 to [`crate::FollowUpRule::MAX_DAYS`].
    pub fn after_working_days(days: u32) -> Result<Self, ValidationError> {
        if !(1..=crate::FollowUpRule::MAX_DAYS).contains(&days) {
            return Err(ValidationError::OutOfRange {
                field: "escalation days",
                value: i64::from(days),
                min: 1,
                max: i64::from(crate::FollowUpRule::MAX_DAYS),
            });
        }
        Ok(Self(days))
    }

    /// The number of working days.
    pub fn days(self) -> u32 {
        self.0
    }

    /// The latest owner-notification time that is due for escalation at `now`.
    pub fn cutoff(self, calendar: &WorkCalendar, now: DateTime<Utc>) -> DateTime<Utc> {
        calendar.back_days(now, self.0)
    }
}

impl TryFrom<u32> for EscalationRule {
    type Error = ValidationError;
    fn try_from(d: u32) -> Result<Self, Self::Error> {
        Self::after_working_days(d)
    }
}

impl From<EscalationRule> for u32 {
    fn from(r: EscalationRule) -> u32 {
        r.0
    }
}

/// Whether `lead` is due for escalation under `cutoff`: its owner was notified at or before
/// it, that notification was not escalated yet, and nobody followed the lead up since.
pub fn is_due(lead: &Lead, cutoff: DateTime<Utc>) -> bool {
    lead.owner_notified_at().is_some_and(|n| {
        n <= cutoff && lead.escalated_for() != Some(n) && still_unanswered(lead, n)
    })
}

/// `lead` marked escalated, with its notice found at `at` (the manager is filled in when
/// sent: [`addressed`]). `None` when it has no owner notification.
pub fn escalate(lead: &Lead, at: DateTime<Utc>) -> Option<(LeadRecord, FollowUpNotice)> {
    let notified_at = lead.owner_notified_at()?;
    let mut r = lead.record().clone();
    r.escalated_for = Some(notified_at);
    let notice = FollowUpNotice::of_kind(
        lead,
        at,
        NoticeKind::Escalation {
            notified_at,
            manager: None,
        },
    );
    Some((r, notice))
}

/// Refuses saving `saved` with a manager that is itself or not in `staff` (the directory
/// as it is): its escalations could never be delivered.
pub fn check_manager(staff: &[Employee], saved: &Employee) -> Result<(), ValidationError> {
    match saved.manager {
        Some(m) if m == saved.id => Err(ValidationError::InvalidId {
            kind: "manager (an employee cannot be their own manager)",
            value: m.to_string(),
        }),
        Some(m) if !staff.iter().any(|e| e.id == m) => Err(ValidationError::InvalidId {
            kind: "manager (not in the employee directory)",
            value: m.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Why an escalation cannot be sent. The sweep does not fail on it: it reports the notice
/// in [`crate::SweepReport::failed`] (as a `PortError` of port `escalation`), the notice
/// stays in the outbox, counted as a failed delivery with this message, and goes out with
/// the first sweep after the directory is fixed. What to do is the directory's: give the owner an
/// active manager (`UnknownOwner`: add the owner back, or reassign their leads).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoManager {
    /// The owner is not in the directory.
    #[error("the lead's owner is not in the employee directory")]
    UnknownOwner,
    /// The owner has no manager set.
    #[error("the lead's owner has no manager to escalate to; set one (crm employee add --manager)")]
    NoneSet,
    /// The manager is not in the directory or inactive.
    #[error("the owner's manager is unknown or inactive")]
    Unavailable,
}

/// The escalation `notice` addressed to `manager` (what the directory returned for the
/// owner's manager), or why it cannot be. Other notices pass unchanged.
pub fn addressed(
    notice: &FollowUpNotice,
    owner: Option<&Employee>,
    manager: Option<&Employee>,
) -> Result<FollowUpNotice, NoManager> {
    let NoticeKind::Escalation { notified_at, .. } = notice.kind else {
        return Ok(notice.clone());
    };
    let owner = owner.ok_or(NoManager::UnknownOwner)?;
    let id = owner.manager.ok_or(NoManager::NoneSet)?;
    match manager {
        Some(m) if m.id == id && m.active => Ok(FollowUpNotice {
            kind: NoticeKind::Escalation {
                notified_at,
                manager: Some(m.id),
            },
            ..notice.clone()
        }),
        _ => Err(NoManager::Unavailable),
    }
}
