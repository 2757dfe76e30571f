//! "My day": where a salesperson starts the day. Of the leads an employee owns, the
//! follow-ups that are overdue and those due before the day ends, the new leads nobody has
//! contacted yet with the days they have waited, and the open opportunities expected to
//! close this month. The day and the month are the viewer's, in their time zone.
//!
//! [`plan`] is the pure rule; [`crate::Crm::my_day`] reads the employee's leads and
//! opportunities and applies it.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::lead::Lead;
use crate::opportunity::Opportunity;
use crate::status::LeadStatus;

/// A lead with a follow-up due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// The lead.
    pub lead: Lead,
    /// When the follow-up was planned.
    pub due_at: DateTime<Utc>,
}

/// A new lead nobody has contacted yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// The lead.
    pub lead: Lead,
    /// Whole days since it was created.
    pub days: i64,
}

/// An open opportunity expected to close this month, with its lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Closing {
    /// The opportunity.
    pub opportunity: Opportunity,
    /// Its lead.
    pub lead: Lead,
}

/// An employee's day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MyDay {
    /// Follow-ups whose time has come with nothing done since, the oldest first.
    pub overdue: Vec<FollowUp>,
    /// Follow-ups due later today, the soonest first.
    pub today: Vec<FollowUp>,
    /// Leads still `new` with no interaction, the longest waiting first.
    pub waiting: Vec<Waiting>,
    /// Open opportunities expected to close this month (days already past included: they
    /// are late, not gone), the earliest first.
    pub closing: Vec<Closing>,
}

impl MyDay {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.overdue.is_empty()
            && self.today.is_empty()
            && self.waiting.is_empty()
            && self.closing.is_empty()
    }
}

/// The first instant of `day` in `tz` (a day that starts in a DST gap starts when the gap
/// ends).
fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + chrono::TimeDelta::hours(h)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// The day of `leads` (the employee's own) and `opportunities` (theirs, with their leads)
/// at `now` in `tz`. Decided and merged leads have no follow-ups; a follow-up is done once
/// an interaction happened at or after its time.
pub fn plan(
    leads: &[Lead],
    opportunities: &[(Opportunity, Lead)],
    now: DateTime<Utc>,
    tz: Tz,
) -> MyDay {
    let today = now.with_timezone(&tz).date_naive();
    let tomorrow = start_of(today.checked_add_days(Days::new(1)).unwrap_or(today), tz);
    let mut day = MyDay::default();
    for lead in leads
        .iter()
        .filter(|l| l.is_open() && l.merged_into().is_none())
    {
        if let Some(due) = lead.next_follow_up_at()
            && lead.last_interaction_at().is_none_or(|t| t < due)
        {
            let item = FollowUp {
                lead: lead.clone(),
                due_at: due,
            };
            if due <= now {
                day.overdue.push(item);
            } else if due < tomorrow {
                day.today.push(item);
            }
        }
        if lead.status() == LeadStatus::New && lead.last_interaction_at().is_none() {
            day.waiting.push(Waiting {
                lead: lead.clone(),
                days: (now - lead.created_at()).num_days().max(0),
            });
        }
    }
    let month = (today.year(), today.month());
    for (o, lead) in opportunities {
        let close = o.expected_close;
        if o.stage.is_open() && (close.year(), close.month()) == month {
            day.closing.push(Closing {
                opportunity: o.clone(),
                lead: lead.clone(),
            });
        }
    }
    day.overdue.sort_by_key(|f| (f.due_at, f.lead.id()));
    day.today.sort_by_key(|f| (f.due_at, f.lead.id()));
    day.waiting
        .sort_by_key(|w| (std::cmp::Reverse(w.days), w.lead.created_at(), w.lead.id()));
    day.closing
        .sort_by_key(|c| (c.opportunity.expected_close, c.opportunity.id));
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{Email, Name};
    use crate::ids::{EmployeeId, LeadId};
    use crate::lead::{LeadRecord, NewLead};
    use crate::source::Source;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn lead(n: u32, created: &str, f: impl FnOnce(&mut LeadRecord)) -> Lead {
        let me = EmployeeId::new(1).unwrap_or_else(|e| panic!("{e}"));
        let input = NewLead::new(
            Name::parse(&format!("عميل {n}")).unwrap_or_else(|e| panic!("{e}")),
            Source::web(),
        )
        .email(Email::parse(&format!("{n}@example.sa")).unwrap_or_else(|e| panic!("{e}")));
        let l = Lead::create(LeadId::new_at(at(created)), input, me, me, at(created))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = l.record().clone();
        f(&mut r);
        Lead::from_record(r).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Riyadh is UTC+3: at 22:30 UTC on Dec 6 it is already 01:30 on Dec 7 there.
    #[test]
    fn the_day_is_the_viewers() {
        let riyadh: Tz = "Asia/Riyadh".parse().unwrap_or_else(|e| panic!("{e}"));
        let now = at("2026-12-07T06:00:00Z"); // 09:00 in Riyadh
        let due = |t: &str| {
            let t = at(t);
            move |r: &mut LeadRecord| {
                r.next_follow_up_at = Some(t);
                r.status = LeadStatus::Contacted;
            }
        };
        let overdue = lead(1, "2026-12-01T08:00:00Z", due("2026-12-06T22:30:00Z"));
        let today = lead(2, "2026-12-01T08:00:00Z", due("2026-12-07T20:30:00Z"));
        let tomorrow = lead(3, "2026-12-01T08:00:00Z", due("2026-12-07T21:00:00Z"));
        let answered = lead(4, "2026-12-01T08:00:00Z", |r| {
            due("2026-12-06T09:00:00Z")(r);
            r.last_interaction_at = Some(at("2026-12-06T10:00:00Z"));
        });
        let waiting = lead(5, "2026-12-02T07:00:00Z", |_| {});
        let contacted_new = lead(6, "2026-12-03T07:00:00Z", |r| {
            r.last_interaction_at = Some(at("2026-12-03T09:00:00Z"));
        });
        let lost = lead(7, "2026-12-01T08:00:00Z", |r| {
            due("2026-12-06T09:00:00Z")(r);
            r.status = LeadStatus::Lost;
            let price = crate::LostReasonCode::parse("price");
            r.lost_reason_code = Some(price.unwrap_or_else(|e| panic!("{e}")));
        });
        let leads = [
            overdue,
            today,
            tomorrow,
            answered,
            waiting,
            contacted_new,
            lost,
        ];
        let day = plan(&leads, &[], now, riyadh);
        let names = |v: &[FollowUp]| {
            v.iter()
                .map(|f| f.lead.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&day.overdue), ["عميل 1"]);
        assert_eq!(
            names(&day.today),
            ["عميل 2"],
            "until midnight in Riyadh, 21:00 UTC"
        );
        assert_eq!(day.waiting.len(), 1);
        assert_eq!(
            (day.waiting[0].lead.name().as_str(), day.waiting[0].days),
            ("عميل 5", 4)
        );
        assert!(plan(&[], &[], now, riyadh).is_empty());
    }
}
