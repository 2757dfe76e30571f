//! The follow-up rule: a `new` lead without any interaction, created at least a set time ago,
//! raises one notification to its responsible employee, once.

use chrono::{DateTime, Datelike, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::error::ValidationError;
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
    /// The longest period a rule may have, in days (ten years).
    pub const MAX_DAYS: u32 = 3650;

    /// The rule itself if its period is 1..=[`Self::MAX_DAYS`] days; a host building a rule
    /// from user input checks it here. ([`Self::cutoff`] never fails, whatever the period.)
    pub fn checked(self) -> Result<Self, ValidationError> {
        if (1..=Self::MAX_DAYS).contains(&self.days) {
            Ok(self)
        } else {
            Err(ValidationError::OutOfRange {
                field: "follow-up days",
                value: u64::from(self.days),
                min: 1,
                max: u64::from(Self::MAX_DAYS),
            })
        }
    }

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
        self.checked_cutoff(now).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// [`Self::cutoff`], or `None` when it lies before the earliest representable time.
    fn checked_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let back = |t: DateTime<Utc>, days: u32| {
            t.checked_sub_signed(TimeDelta::try_days(i64::from(days))?)
        };
        let weekend = match &self.weekend {
            Some(w) if w.len() < 7 => w,
            _ => return back(now, self.days),
        };
        let working = 7
            - (0..7u8)
                .filter(|d| {
                    weekend
                        .iter()
                        .any(|w| w.num_days_from_monday() == u32::from(*d))
                })
                .count() as u32;
        // Whole weeks first (each holds `working` working days, wherever it starts), so the
        // day-by-day walk below takes at most one week whatever the period.
        let weeks = self.days.saturating_sub(1) / working;
        let mut t = back(now, weeks.checked_mul(7)?)?;
        let mut left = self.days - weeks * working;
        while left > 0 {
            t = back(t, 1)?;
            if !weekend.contains(&t.weekday()) {
                left -= 1;
            }
        }
        Some(t)
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

    /// The day-by-day walk of the original rule, to check the week-skipping one against.
    fn walked(rule: &FollowUpRule, now: DateTime<Utc>) -> DateTime<Utc> {
        let weekend = rule.weekend.clone().unwrap_or_default();
        let mut t = now;
        let mut left = rule.days;
        while left > 0 {
            t -= TimeDelta::days(1);
            if !weekend.contains(&t.weekday()) {
                left -= 1;
            }
        }
        t
    }

    #[test]
    fn skipping_whole_weeks_matches_the_day_by_day_walk() {
        let start = DateTime::parse_from_rfc3339("2026-02-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let weekends = [
            vec![Weekday::Fri, Weekday::Sat],
            vec![Weekday::Sat, Weekday::Sun],
            vec![Weekday::Fri],
            vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
            ],
            vec![Weekday::Fri, Weekday::Fri, Weekday::Sat],
        ];
        for weekend in weekends {
            for offset in 0..7 {
                let now = start + TimeDelta::days(offset);
                for days in 0..40 {
                    let rule = FollowUpRule::working_days(days, weekend.clone());
                    assert_eq!(
                        rule.cutoff(now),
                        walked(&rule, now),
                        "{days} {weekend:?} {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn huge_periods_do_not_panic_and_are_refused_by_checked() {
        let now = Utc::now();
        for rule in [
            FollowUpRule::calendar_days(u32::MAX),
            FollowUpRule::calendar_days(100_000_000),
            FollowUpRule::working_days(u32::MAX, vec![Weekday::Fri, Weekday::Sat]),
        ] {
            assert_eq!(rule.cutoff(now), DateTime::<Utc>::MIN_UTC);
            assert!(matches!(
                rule.checked(),
                Err(ValidationError::OutOfRange { max: 3650, .. })
            ));
        }
        assert!(FollowUpRule::calendar_days(0).checked().is_err());
        assert!(FollowUpRule::calendar_days(3650).checked().is_ok());
        assert!(FollowUpRule::default().checked().is_ok());
    }
}
