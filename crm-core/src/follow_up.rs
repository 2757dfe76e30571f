//! The follow-up rule: a `new` lead without any interaction, created at least a set time ago,
//! raises one notification to its responsible employee, once.

use chrono::{DateTime, Datelike, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::ids::{EmployeeId, LeadId};
use crate::lead::Lead;
use crate::status::LeadStatus;

/// How long a new lead may wait for its first interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRule {
    /// The number of days.
    pub days: u32,
    /// When set, only working days count: these weekdays are skipped (e.g. Friday and
    /// Saturday in Saudi Arabia, the UAE, Egypt and Kuwait).
    pub weekend: Option<Vec<Weekday>>,
}

impl Default for FollowUpRule {
    /// Five calendar days.
    fn default() -> Self {
        Self::calendar_days(5)
    }
}

impl FollowUpRule {
    /// `days` calendar days.
    pub fn calendar_days(days: u32) -> Self {
        Self {
            days,
            weekend: None,
        }
    }

    /// `days` working days, skipping the `weekend` days.
    pub fn working_days(days: u32, weekend: Vec<Weekday>) -> Self {
        Self {
            days,
            weekend: Some(weekend),
        }
    }

    /// The latest creation time at which a lead is due at `now`: every lead created at or
    /// before it has waited the whole period. (UTC days; weekend days are UTC dates.)
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let weekend = match &self.weekend {
            Some(w) if w.len() < 7 => w,
            _ => return now - TimeDelta::days(i64::from(self.days)),
        };
        let mut t = now;
        let mut left = self.days;
        while left > 0 {
            t -= TimeDelta::days(1);
            if !weekend.contains(&t.weekday()) {
                left -= 1;
            }
        }
        t
    }

    /// Whether `lead` is due for a follow-up notification at `now`.
    pub fn is_due(&self, lead: &Lead, now: DateTime<Utc>) -> bool {
        lead.status() == LeadStatus::New
            && lead.last_interaction_at().is_none()
            && lead.follow_up_notified_at().is_none()
            && lead.created_at() <= self.cutoff(now)
    }
}

/// The notification sent for a due lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpNotice {
    /// The lead.
    pub lead_id: LeadId,
    /// Its name.
    pub lead_name: Name,
    /// Who should follow it up.
    pub owner: EmployeeId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The sweep's time.
    pub now: DateTime<Utc>,
}

impl FollowUpNotice {
    /// The notice for `lead` at `now`.
    pub fn for_lead(lead: &Lead, now: DateTime<Utc>) -> Self {
        Self {
            lead_id: lead.id(),
            lead_name: lead.name().clone(),
            owner: lead.owner(),
            created_at: lead.created_at(),
            now,
        }
    }

    /// Whole days the lead has waited.
    pub fn days_waiting(&self) -> i64 {
        (self.now - self.created_at).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_cutoff_is_five_days_back() {
        let now = DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
            .unwrap()
            .to_utc();
        let cut = FollowUpRule::default().cutoff(now);
        assert_eq!(
            cut,
            DateTime::parse_from_rfc3339("2026-01-26T00:00:00Z")
                .unwrap()
                .to_utc()
        );
    }

    #[test]
    fn working_days_skip_friday_and_saturday() {
        // Sunday 2026-02-01 noon; five working days back skips Fri 30 and Sat 31 Jan.
        let now = DateTime::parse_from_rfc3339("2026-02-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let rule = FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]);
        assert_eq!(
            rule.cutoff(now),
            DateTime::parse_from_rfc3339("2026-01-25T12:00:00Z")
                .unwrap()
                .to_utc()
        );
    }
}
