//! The follow-up rule: a `new` lead without any interaction, created at least a set time ago,
//! raises one notification to its responsible employee, once.
//!
//! A lead may also carry a next follow-up time (set when logging an interaction or editing
//! the lead): once that time has passed on an open lead, the sweep reminds its owner, once
//! per follow-up time ([`is_overdue`]). And a lead still without follow-up some working days
//! after its owner was notified is escalated to the owner's manager, once
//! ([`crate::escalation`]).
//!
//! With a [`WorkCalendar`] ([`FollowUpRule::in_calendar`]) the rule counts working time in
//! the host's time zone, working hours, weekend and holidays.
//!
//! Delivery is at least once. A sweep claims due leads in batches: in one atomic write the
//! store marks each lead notified and records its [`FollowUpNotice`] in an outbox with a
//! lease ([`FollowUpClaim::lease_until`]). The notices the notifier accepted leave the
//! outbox together once their batch is sent (one store write per batch,
//! [`crate::ports::StoreWrites::follow_ups_delivered`]). A notice whose sender crashed stays in the outbox and is claimed again by the
//! first sweep after its lease ran out, with the same [`NoticeId`]: a notifier that may see a
//! notice twice deduplicates on that id. A notice the notifier refused is released at once,
//! for the next sweep.

use chrono::{DateTime, Datelike, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::contact::Name;
use crate::ids::{EmployeeId, InteractionId, LeadId, NoticeId};
use crate::lead::{Lead, LeadRecord};
use crate::permissions::SystemActor;
use crate::status::LeadStatus;
use crate::validation::ValidationError;

/// How long a new lead may wait for its first interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleRepr", into = "RuleRepr")]
pub struct FollowUpRule {
    days: u32,
    weekend: Option<Vec<Weekday>>,
    calendar: Option<WorkCalendar>,
}

#[derive(Serialize, Deserialize)]
struct RuleRepr {
    days: u32,
    weekend: Option<Vec<Weekday>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<WorkCalendar>,
}

impl TryFrom<RuleRepr> for FollowUpRule {
    type Error = ValidationError;
    fn try_from(r: RuleRepr) -> Result<Self, Self::Error> {
        match (r.calendar, r.weekend) {
            (Some(c), _) => Self::in_calendar(r.days, c),
            (None, Some(w)) => Self::working_days(r.days, w),
            (None, None) => Self::calendar_days(r.days),
        }
    }
}

impl From<FollowUpRule> for RuleRepr {
    fn from(r: FollowUpRule) -> Self {
        RuleRepr {
            days: r.days,
            weekend: r.weekend,
            calendar: r.calendar,
        }
    }
}

impl Default for FollowUpRule {
    /// Five calendar days.
    fn default() -> Self {
        Self {
            days: 5,
            weekend: None,
            calendar: None,
        }
    }
}

impl FollowUpRule {
    /// The longest period accepted, in days (ten years).
    pub const MAX_DAYS: u32 = 3650;

    fn checked_days(days: u32) -> Result<u32, ValidationError> {
        if days > Self::MAX_DAYS {
            return Err(ValidationError::OutOfRange {
                field: "follow-up days",
                value: i64::from(days),
                min: 0,
                max: i64::from(Self::MAX_DAYS),
            });
        }
        Ok(days)
    }

    /// `days` calendar days (0 to [`FollowUpRule::MAX_DAYS`]).
    pub fn calendar_days(days: u32) -> Result<Self, ValidationError> {
        Ok(Self {
            days: Self::checked_days(days)?,
            weekend: None,
            calendar: None,
        })
    }

    /// `days` working days (0 to [`FollowUpRule::MAX_DAYS`]), skipping the `weekend` days
    /// (e.g. Friday and Saturday in Saudi Arabia, the UAE, Egypt and Kuwait). A weekend of
    /// all seven days is refused.
    pub fn working_days(days: u32, mut weekend: Vec<Weekday>) -> Result<Self, ValidationError> {
        weekend.sort_by_key(Weekday::num_days_from_monday);
        weekend.dedup();
        if weekend.len() >= 7 {
            return Err(ValidationError::InvalidRange {
                field: "weekend (it leaves no working day)",
            });
        }
        Ok(Self {
            days: Self::checked_days(days)?,
            weekend: Some(weekend),
            calendar: None,
        })
    }

    /// `days` working days (0 to [`FollowUpRule::MAX_DAYS`]) of `calendar`: a lead is due
    /// once `days` times the calendar's working-day length of working time has passed since
    /// it was created, counted in the host's time zone, inside working hours, skipping the
    /// weekend and holidays.
    pub fn in_calendar(days: u32, calendar: WorkCalendar) -> Result<Self, ValidationError> {
        Ok(Self {
            days: Self::checked_days(days)?,
            weekend: None,
            calendar: Some(calendar),
        })
    }

    /// The working calendar the rule counts in, if it has one.
    pub fn calendar(&self) -> Option<&WorkCalendar> {
        self.calendar.as_ref()
    }

    /// The number of days.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The weekend days skipped, when only working days count.
    pub fn weekend(&self) -> Option<&[Weekday]> {
        self.weekend.as_deref()
    }

    /// The latest creation time at which a lead is due at `now`: every lead created at or
    /// before it has waited the whole period. (Without a calendar: UTC days, and weekend
    /// days are UTC dates; with one, see [`FollowUpRule::in_calendar`].) Near
    /// the start of the calendar, where the period reaches before it, nothing is due.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if let Some(c) = &self.calendar {
            return c.back_days(now, self.days);
        }
        let back = |t: DateTime<Utc>, days: i64| {
            TimeDelta::try_days(days)
                .and_then(|d| t.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let weekend = match &self.weekend {
            Some(w) if !w.is_empty() => w,
            _ => return back(now, i64::from(self.days)),
        };
        // Any seven days in a row hold each working day once, so whole weeks are skipped at
        // once; the last (partial or whole) week is walked day by day so the cutoff lands on
        // a working day, as a walk over every day would.
        let per_week = 7 - weekend.len() as u32;
        let (mut weeks, mut left) = (self.days / per_week, self.days % per_week);
        if left == 0 && weeks > 0 {
            weeks -= 1;
            left = per_week;
        }
        let mut t = back(now, i64::from(weeks) * 7);
        while left > 0 && t > DateTime::<Utc>::MIN_UTC {
            t = back(t, 1);
            if !weekend.contains(&t.weekday()) {
                left -= 1;
            }
        }
        t
    }

    /// Whether `lead` is due for a follow-up notification at `now`.
    pub fn is_due(&self, lead: &Lead, now: DateTime<Utc>) -> bool {
        awaits_follow_up(lead) && lead.created_at() <= self.cutoff(now)
    }
}

/// Whether nobody has followed `lead` up and its owner was not yet notified: `new`, without
/// any interaction, never notified. (Due once it is also old enough: [`FollowUpRule::is_due`].)
pub fn awaits_follow_up(lead: &Lead) -> bool {
    lead.status() == LeadStatus::New
        && lead.merged_into().is_none()
        && lead.last_interaction_at().is_none()
        && lead.follow_up_notified_at().is_none()
}

/// `lead` marked notified at `at` by a first-contact notice, and the notice.
pub fn notify_first_contact(lead: &Lead, at: DateTime<Utc>) -> (LeadRecord, FollowUpNotice) {
    let mut r = lead.record().clone();
    r.follow_up_notified_at = Some(at);
    r.owner_notified_at = Some(at);
    (r, FollowUpNotice::for_lead(lead, at))
}

/// `lead` marked reminded at `at` of its overdue follow-up time, and the notice. `None` when
/// it has no follow-up time.
pub fn remind_overdue(lead: &Lead, at: DateTime<Utc>) -> Option<(LeadRecord, FollowUpNotice)> {
    let due_at = lead.next_follow_up_at()?;
    let mut r = lead.record().clone();
    r.follow_up_reminded_for = Some(due_at);
    r.owner_notified_at = Some(at);
    Some((
        r,
        FollowUpNotice::of_kind(lead, at, NoticeKind::Overdue { due_at }),
    ))
}

/// Refuses a sweep at a time later than the clock's: a sweep "in the future" would mark leads
/// notified before they were due.
pub fn check_sweep_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if at > now {
        return Err(ValidationError::InFuture {
            field: "sweep time",
            at,
            now,
        });
    }
    Ok(())
}

/// What a sweep asks the store to claim, atomically: first notices already in the outbox
/// whose claim ran out by `now` (their sender crashed, or refused them and released them),
/// each [`refreshed`] against its lead as it is now (a moot notice is dropped); then leads
/// that [`awaits_follow_up`] and were created at or before `cutoff`, oldest first, each marked
/// notified at `at` with a new notice; then leads [`is_overdue`] at `at`, oldest follow-up
/// time first (ties by lead id), each marked reminded (`follow_up_reminded_for` the
/// follow-up time, `owner_notified_at` = `at`) with an [`NoticeKind::Overdue`] notice; then,
/// when `escalation_cutoff` is set, leads [`crate::escalation::is_due`] under it, oldest
/// owner notification first (ties by lead id), each marked escalated with an
/// [`NoticeKind::Escalation`] notice. At most `limit` in all, each claimed until
/// `lease_until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowUpClaim {
    /// Leads created at or before it are due.
    pub cutoff: DateTime<Utc>,
    /// The sweep's time: what a newly due lead is marked notified at.
    pub at: DateTime<Utc>,
    /// The clock's time when claiming: claims that ran out by then are taken over.
    pub now: DateTime<Utc>,
    /// Until when the claimed notices are this sweep's to send (also the token that lets it
    /// release them: see [`crate::ports::StoreWrites::release_follow_up`]).
    pub lease_until: DateTime<Utc>,
    /// At most this many notices.
    pub limit: u32,
    /// Escalate leads whose owner was notified at or before it (`None`: no escalation).
    pub escalation_cutoff: Option<DateTime<Utc>>,
}

/// A notice taken over from a sender that did not deliver it, as it should be sent now: to
/// the lead's current owner under its current name, with the same id (so a notifier
/// deduplicates a second delivery); or `None` when what it was about is over (someone
/// contacted the lead, it moved on, it was merged into another lead, its follow-up time
/// changed) and the notice is moot.
pub fn refreshed(notice: &FollowUpNotice, lead: &Lead) -> Option<FollowUpNotice> {
    let still = match &notice.kind {
        NoticeKind::FirstContact => {
            lead.status() == LeadStatus::New
                && lead.merged_into().is_none()
                && lead.last_interaction_at().is_none()
        }
        NoticeKind::Overdue { due_at } => {
            lead.next_follow_up_at() == Some(*due_at) && follow_up_pending(lead, *due_at)
        }
        NoticeKind::Escalation { notified_at, .. } => still_unanswered(lead, *notified_at),
        // The message is news whatever became of the lead, unless it went into another.
        NoticeKind::Captured { .. } => lead.merged_into().is_none(),
    };
    still.then(|| FollowUpNotice {
        owner: lead.owner(),
        lead_name: lead.name().clone(),
        ..notice.clone()
    })
}

/// Whether nobody followed `lead` up since its owner was notified at `notified_at`: still
/// open, and no interaction at or after that time.
pub fn still_unanswered(lead: &Lead, notified_at: DateTime<Utc>) -> bool {
    lead.is_open() && lead.last_interaction_at().is_none_or(|t| t < notified_at)
}

/// Whether the owner of `lead` is due a reminder at `at`: the lead is open, its next
/// follow-up time has come, nothing happened with the lead since (no interaction at or after
/// that time), and the owner was not yet reminded of that time.
pub fn is_overdue(lead: &Lead, at: DateTime<Utc>) -> bool {
    lead.next_follow_up_at().is_some_and(|t| {
        t <= at && lead.follow_up_reminded_for() != Some(t) && follow_up_pending(lead, t)
    })
}

/// Whether the follow-up planned for `due_at` is still to be done: the lead is open and had
/// no interaction at or after that time.
fn follow_up_pending(lead: &Lead, due_at: DateTime<Utc>) -> bool {
    lead.is_open() && lead.last_interaction_at().is_none_or(|i| i < due_at)
}

/// Refuses a next follow-up time earlier than `now` (it would be overdue as it is set).
pub fn check_next_follow_up(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    match at {
        Some(t) if t < now => Err(ValidationError::InPast {
            field: "next follow-up time",
            at: t,
            now,
        }),
        _ => Ok(()),
    }
}

/// What a notice is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeKind {
    /// A new lead nobody contacted within the follow-up rule's period (to the owner).
    #[default]
    FirstContact,
    /// The lead's next follow-up time `due_at` has passed (to the owner).
    Overdue {
        /// The follow-up time.
        due_at: DateTime<Utc>,
    },
    /// Nobody followed the lead up after its owner was notified at `notified_at` (to the
    /// owner's manager).
    Escalation {
        /// When the owner was notified.
        notified_at: DateTime<Utc>,
        /// The owner's manager, filled in by the service when it sends the notice (the
        /// stores do not know the directory).
        manager: Option<EmployeeId>,
    },
    /// A capture channel took in a message or a submission from the lead
    /// ([`crate::capture`]): a new lead, or one already the owner's writing again (to the
    /// owner).
    Captured {
        /// The channel.
        by: SystemActor,
        /// The interaction it logged.
        interaction: InteractionId,
    },
}

impl NoticeKind {
    /// The stable name.
    pub fn name(&self) -> &'static str {
        match self {
            NoticeKind::FirstContact => "first_contact",
            NoticeKind::Overdue { .. } => "overdue",
            NoticeKind::Escalation { .. } => "escalation",
            NoticeKind::Captured { .. } => "captured",
        }
    }
}

/// The notification sent for a due lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpNotice {
    /// Identifies this notice: the same across redeliveries, so a notifier can deduplicate.
    pub id: NoticeId,
    /// The lead.
    pub lead_id: LeadId,
    /// Its name.
    pub lead_name: Name,
    /// Who should follow it up.
    pub owner: EmployeeId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the sweep found it due.
    pub now: DateTime<Utc>,
    /// What it is about (and so who receives it: [`FollowUpNotice::recipient`]).
    #[serde(default)]
    pub kind: NoticeKind,
}

impl FollowUpNotice {
    /// The first-contact notice for `lead`, found due at `now`.
    pub fn for_lead(lead: &Lead, now: DateTime<Utc>) -> Self {
        Self::of_kind(lead, now, NoticeKind::FirstContact)
    }

    /// A notice of `kind` about `lead`, found due at `now`.
    pub fn of_kind(lead: &Lead, now: DateTime<Utc>, kind: NoticeKind) -> Self {
        Self {
            id: NoticeId::new_at(now),
            lead_id: lead.id(),
            lead_name: lead.name().clone(),
            owner: lead.owner(),
            created_at: lead.created_at(),
            now,
            kind,
        }
    }

    /// Who receives it: the owner, or for an escalation the owner's manager (`None` until
    /// the service filled it in).
    pub fn recipient(&self) -> Option<EmployeeId> {
        match &self.kind {
            NoticeKind::Escalation { manager, .. } => *manager,
            _ => Some(self.owner),
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

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn fri_sat() -> Vec<Weekday> {
        vec![Weekday::Fri, Weekday::Sat]
    }

    /// The cutoff as a walk over every single day (the definition `cutoff` shortens).
    fn walked(days: u32, weekend: &[Weekday], now: DateTime<Utc>) -> DateTime<Utc> {
        let mut t = now;
        let mut left = days;
        while left > 0 {
            t -= TimeDelta::days(1);
            if !weekend.contains(&t.weekday()) {
                left -= 1;
            }
        }
        t
    }

    #[test]
    fn calendar_cutoff_is_five_days_back() {
        let cut = FollowUpRule::default().cutoff(at("2026-01-31T00:00:00Z"));
        assert_eq!(cut, at("2026-01-26T00:00:00Z"));
    }

    #[test]
    fn working_days_skip_friday_and_saturday() {
        // Sunday 2026-02-01 noon; five working days back skips Fri 30 and Sat 31 Jan.
        let rule = FollowUpRule::working_days(5, fri_sat()).unwrap();
        assert_eq!(
            rule.cutoff(at("2026-02-01T12:00:00Z")),
            at("2026-01-25T12:00:00Z")
        );
    }

    #[test]
    fn whole_weeks_give_the_same_cutoff_as_a_day_by_day_walk() {
        let start = at("2026-01-01T08:30:00Z");
        for offset in 0..14 {
            let now = start + TimeDelta::days(offset);
            for days in 0..40 {
                for weekend in [vec![], fri_sat(), vec![Weekday::Sun]] {
                    let rule = FollowUpRule::working_days(days, weekend.clone()).unwrap();
                    assert_eq!(
                        rule.cutoff(now),
                        walked(days, &weekend, now),
                        "{days} {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn out_of_range_rules_are_refused_not_overflowed() {
        assert!(FollowUpRule::calendar_days(100_000_000).is_err());
        assert!(FollowUpRule::working_days(100_000_000, fri_sat()).is_err());
        assert!(
            FollowUpRule::working_days(
                5,
                (0..7).filter_map(|d| Weekday::try_from(d).ok()).collect()
            )
            .is_err()
        );
        // The longest rule near the start of the calendar: nothing is due, nothing panics.
        let rule = FollowUpRule::working_days(FollowUpRule::MAX_DAYS, fri_sat()).unwrap();
        assert_eq!(
            rule.cutoff(DateTime::<Utc>::MIN_UTC + TimeDelta::days(3)),
            DateTime::<Utc>::MIN_UTC
        );
        let rule = FollowUpRule::calendar_days(FollowUpRule::MAX_DAYS).unwrap();
        assert_eq!(
            rule.cutoff(DateTime::<Utc>::MIN_UTC),
            DateTime::<Utc>::MIN_UTC
        );
    }

    #[test]
    fn a_sweep_in_the_future_is_refused() {
        let now = at("2026-01-04T09:00:00Z");
        assert!(check_sweep_time(now, now).is_ok());
        assert!(check_sweep_time(now - TimeDelta::days(1), now).is_ok());
        assert!(matches!(
            check_sweep_time(now + TimeDelta::seconds(1), now),
            Err(ValidationError::InFuture { .. })
        ));
    }

    #[test]
    fn a_first_contact_notice_for_a_lead_merged_away_is_moot() {
        use crate::contact::{Email, Name};
        use crate::ids::{EmployeeId, LeadId};
        use crate::lead::NewLead;
        use crate::source::Source;
        let t = at("2026-01-04T09:00:00Z");
        let owner = EmployeeId::new(1).unwrap();
        let mut input = NewLead::new(Name::parse("Huda").unwrap(), Source::web());
        input.email = Some(Email::parse("huda@example.com").unwrap());
        let lead = Lead::create(LeadId::new_at(t), input, owner, owner, t).unwrap();
        let notice = FollowUpNotice::for_lead(&lead, t);
        assert!(refreshed(&notice, &lead).is_some());
        let mut r = lead.record().clone();
        r.merged_into = Some(LeadId::new_at(t + TimeDelta::seconds(1)));
        let merged = Lead::from_record(r).unwrap();
        assert_eq!(refreshed(&notice, &merged), None);
    }

    #[test]
    fn serde_checks_the_rule() {
        let ok: FollowUpRule = serde_json::from_str(r#"{"days":5,"weekend":["Fri","Sat"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.weekend(), Some(&fri_sat()[..]));
        assert!(serde_json::from_str::<FollowUpRule>(r#"{"days":99999,"weekend":null}"#).is_err());
    }
}
