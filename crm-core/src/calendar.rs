//! The host's working calendar: an IANA time zone (`Asia/Riyadh`, `Europe/Berlin`, via
//! `chrono-tz`), daily working hours in local wall-clock time, a weekend and a holiday list.
//! The follow-up and escalation rules count working time in it: "two working days" is twice
//! the length of a working day, counted only inside working hours of working days, with
//! weekdays and dates taken in the host's zone (not in UTC).
//!
//! Daylight-saving time: working hours are wall-clock times, so a working day from 09:00 to
//! 17:00 in Berlin is 8 hours on every day, including the days the clocks change (the change
//! happens at night). Hours that fall into a skipped hour start at the first valid instant
//! after it; on a repeated hour the earlier instant counts.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// How far back (in calendar days) a walk looks before giving up: beyond the longest rule
/// (ten years of working days) even with most days off.
const MAX_WALK_DAYS: u64 = 40_000;

/// A working calendar. The default is UTC, every day, all day (no weekend, no holidays):
/// working time is then plain elapsed time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarRepr", into = "CalendarRepr")]
pub struct WorkCalendar {
    tz: Tz,
    /// Working hours, minutes after local midnight: `start < end <= 1440`.
    start: u32,
    end: u32,
    weekend: Vec<Weekday>,
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Serialize, Deserialize)]
struct CalendarRepr {
    time_zone: String,
    working_hours: String,
    weekend: Vec<Weekday>,
    holidays: BTreeSet<NaiveDate>,
}

impl TryFrom<CalendarRepr> for WorkCalendar {
    type Error = ValidationError;
    fn try_from(r: CalendarRepr) -> Result<Self, Self::Error> {
        WorkCalendar::new(parse_time_zone(&r.time_zone)?)
            .working_hours(&r.working_hours)?
            .weekend(r.weekend)?
            .holidays(r.holidays)
    }
}

impl From<WorkCalendar> for CalendarRepr {
    fn from(c: WorkCalendar) -> Self {
        CalendarRepr {
            time_zone: c.tz.name().to_owned(),
            working_hours: c.hours_text(),
            weekend: c.weekend,
            holidays: c.holidays,
        }
    }
}

impl Default for WorkCalendar {
    fn default() -> Self {
        Self::new(Tz::UTC)
    }
}

/// Reads an IANA time zone name (`Asia/Riyadh`); refuses anything else.
pub fn parse_time_zone(name: &str) -> Result<Tz, ValidationError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| ValidationError::UnknownName {
            kind: "time zone",
            value: name.chars().take(40).collect(),
            expected: "an IANA time zone name such as Asia/Riyadh, Asia/Dubai, Africa/Cairo, \
                       Asia/Kuwait or Europe/Berlin",
        })
}

/// The weekend a locale expects when the host names none: Friday and Saturday for Arabic
/// locales (`ar`, `ar-SA`, `ar_EG.UTF-8`), Saturday and Sunday otherwise.
pub fn default_weekend(locale: &str) -> Vec<Weekday> {
    let lang = locale
        .trim()
        .split(['-', '_', '.', '@'])
        .next()
        .unwrap_or_default();
    if lang.eq_ignore_ascii_case("ar") {
        vec![Weekday::Fri, Weekday::Sat]
    } else {
        vec![Weekday::Sat, Weekday::Sun]
    }
}

/// Reads a weekday name (`fri`, `Friday`) or a comma-separated list of them; `none` is the
/// empty list.
pub fn parse_weekdays(list: &str) -> Result<Vec<Weekday>, ValidationError> {
    if list.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|d| {
            d.trim()
                .parse::<Weekday>()
                .map_err(|_| ValidationError::UnknownName {
                    kind: "weekday",
                    value: d.chars().take(40).collect(),
                    expected: "mon, tue, wed, thu, fri, sat, sun (or none)",
                })
        })
        .collect()
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl WorkCalendar {
    /// Every day, all day, in `tz`.
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            start: 0,
            end: 24 * 60,
            weekend: Vec::new(),
            holidays: BTreeSet::new(),
        }
    }

    /// Sets the daily working hours, `HH:MM-HH:MM` in local time (`09:00-17:00`, `08:30-24:00`);
    /// the start must lie before the end (no night shifts across midnight).
    pub fn working_hours(mut self, hours: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::InvalidList {
            field: "working hours",
            reason: format!(
                "{:?} is not HH:MM-HH:MM with the start before the end",
                hours.chars().take(40).collect::<String>()
            ),
        };
        let (a, b) = hours.split_once('-').ok_or_else(bad)?;
        let (start, end) = (
            parse_hhmm(a).ok_or_else(bad)?,
            parse_hhmm(b).ok_or_else(bad)?,
        );
        if start >= end {
            return Err(bad());
        }
        self.start = start;
        self.end = end;
        Ok(self)
    }

    /// Sets the weekend days; a weekend of all seven days is refused.
    pub fn weekend(mut self, mut days: Vec<Weekday>) -> Result<Self, ValidationError> {
        days.sort_by_key(Weekday::num_days_from_monday);
        days.dedup();
        if days.len() >= 7 {
            return Err(ValidationError::InvalidRange {
                field: "weekend (it leaves no working day)",
            });
        }
        self.weekend = days;
        Ok(self)
    }

    /// Sets the holidays (local dates).
    pub fn holidays(mut self, days: BTreeSet<NaiveDate>) -> Result<Self, ValidationError> {
        self.holidays = days;
        Ok(self)
    }

    /// The time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The weekend days.
    pub fn weekend_days(&self) -> &[Weekday] {
        &self.weekend
    }

    /// The holidays.
    pub fn holiday_dates(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// The working hours as `HH:MM-HH:MM`.
    pub fn hours_text(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    /// The length of one working day (its wall-clock hours).
    pub fn day_length(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.end - self.start))
    }

    /// Whether `date` (local) is a working day: neither weekend nor holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.weekend.contains(&date.weekday()) && !self.holidays.contains(&date)
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The UTC instant of `minutes` after local midnight of `date`: the earlier one of a
    /// repeated hour, the first valid one after a skipped hour.
    fn instant(&self, date: NaiveDate, minutes: u32) -> Option<DateTime<Utc>> {
        let midnight = date.and_time(NaiveTime::MIN);
        let mut local = midnight.checked_add_signed(TimeDelta::minutes(i64::from(minutes)))?;
        // A skipped hour (spring forward): move on in quarter hours until the wall-clock
        // time exists (zone gaps are at most a few hours).
        for _ in 0..16 {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.to_utc()),
                LocalResult::Ambiguous(a, _) => return Some(a.to_utc()),
                LocalResult::None => local = local.checked_add_signed(TimeDelta::minutes(15))?,
            }
        }
        None
    }

    /// The working hours of `date` (local) as a UTC interval, when it is a working day.
    pub fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        let (s, e) = (
            self.instant(date, self.start)?,
            self.instant(date, self.end)?,
        );
        (s < e).then_some((s, e))
    }

    /// The working time between two instants (zero when `to` is not after `from`).
    pub fn working_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        let mut total = TimeDelta::zero();
        if to <= from {
            return total;
        }
        let (mut d, last) = (self.local_date(from), self.local_date(to));
        while d <= last {
            if let Some((s, e)) = self.window(d) {
                let (s, e) = (s.max(from), e.min(to));
                if e > s {
                    total += e - s;
                }
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        total
    }

    /// The latest instant `t <= now` with `working_time(t, now) >= amount`: what happened at
    /// or before it has waited `amount` of working time by `now`. When the calendar runs out
    /// (near its start, or a walk longer than 40,000 days), the earliest instant: nothing
    /// waited long enough.
    pub fn back(&self, now: DateTime<Utc>, amount: TimeDelta) -> DateTime<Utc> {
        if amount <= TimeDelta::zero() {
            return now;
        }
        let mut left = amount;
        let mut d = self.local_date(now);
        for _ in 0..MAX_WALK_DAYS {
            if let Some((s, e)) = self.window(d) {
                let e = e.min(now);
                if e > s {
                    let len = e - s;
                    if len >= left {
                        return e - left;
                    }
                    left -= len;
                }
            }
            match d.checked_sub_days(Days::new(1)) {
                Some(p) => d = p,
                None => break,
            }
        }
        DateTime::<Utc>::MIN_UTC
    }

    /// [`WorkCalendar::back`] by `days` working days (each [`WorkCalendar::day_length`]).
    pub fn back_days(&self, now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        self.back(
            now,
            self.day_length() * i32::try_from(days).unwrap_or(i32::MAX),
        )
    }
}

impl fmt::Display for WorkCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tz.name(), self.hours_text())?;
        if !self.weekend.is_empty() {
            let names: Vec<String> = self.weekend.iter().map(|d| d.to_string()).collect();
            write!(f, ", weekend {}", names.join("+"))?;
        }
        if !self.holidays.is_empty() {
            write!(f, ", {} holiday(s)", self.holidays.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_utc()
    }

    fn riyadh() -> WorkCalendar {
        WorkCalendar::new(parse_time_zone("Asia/Riyadh").unwrap_or_else(|e| panic!("{e}")))
            .working_hours("09:00-17:00")
            .and_then(|c| c.weekend(vec![Weekday::Fri, Weekday::Sat]))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn riyadh_weekdays_are_local_not_utc() {
        let c = riyadh();
        // Thursday 2026-01-08 22:30 UTC is already Friday 01:30 in Riyadh: weekend.
        assert_eq!(c.local_date(at("2026-01-08T22:30:00Z")), date("2026-01-09"));
        assert!(!c.is_working_day(date("2026-01-09")));
        // One working day back from Sunday 10:00 Riyadh (07:00 UTC): the weekend is skipped,
        // one hour of Sunday plus seven of Thursday: Thursday 10:00 Riyadh.
        assert_eq!(
            c.back_days(at("2026-01-11T07:00:00Z"), 1),
            at("2026-01-08T07:00:00Z")
        );
        // Outside working hours nothing accrues: from Thursday 17:00 to Sunday 09:00 is zero.
        assert_eq!(
            c.working_time(at("2026-01-08T14:00:00Z"), at("2026-01-11T06:00:00Z")),
            TimeDelta::zero()
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let c = riyadh()
            .holidays([date("2026-01-08")].into_iter().collect())
            .unwrap_or_else(|e| panic!("{e}"));
        // Sunday 10:00 back one working day: Sunday 1 h, Thursday holiday, Wednesday 7 h.
        assert_eq!(
            c.back_days(at("2026-01-11T07:00:00Z"), 1),
            at("2026-01-07T07:00:00Z")
        );
    }

    #[test]
    fn berlin_working_days_keep_their_hours_across_daylight_saving() {
        let c =
            WorkCalendar::new(parse_time_zone("Europe/Berlin").unwrap_or_else(|e| panic!("{e}")))
                .working_hours("09:00-17:00")
                .and_then(|c| c.weekend(vec![Weekday::Sat, Weekday::Sun]))
                .unwrap_or_else(|e| panic!("{e}"));
        // Clocks go forward on Sunday 2026-03-29: Friday 09:00 is 08:00 UTC, Monday 09:00
        // is 07:00 UTC. One working day back from Monday 12:00 CEST (10:00 UTC) is Friday
        // 12:00 CET (11:00 UTC): 3 h on Monday and 5 h on Friday.
        assert_eq!(
            c.back_days(at("2026-03-30T10:00:00Z"), 1),
            at("2026-03-27T11:00:00Z")
        );
        assert_eq!(
            c.working_time(at("2026-03-27T11:00:00Z"), at("2026-03-30T10:00:00Z")),
            TimeDelta::hours(8)
        );
        // A night-time zone change: 00:00-24:00 on the short day is 23 hours long.
        let all = WorkCalendar::new(c.time_zone());
        assert_eq!(
            all.window(date("2026-03-29")).map(|(s, e)| e - s),
            Some(TimeDelta::hours(23))
        );
        // Working hours inside the skipped hour start after it.
        let odd = WorkCalendar::new(c.time_zone())
            .working_hours("02:30-04:00")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            odd.window(date("2026-03-29")),
            Some((at("2026-03-29T01:00:00Z"), at("2026-03-29T02:00:00Z")))
        );
    }

    #[test]
    fn arabic_locales_default_to_a_friday_saturday_weekend() {
        for l in ["ar", "ar-SA", "ar_EG.UTF-8", "AR_kw"] {
            assert_eq!(default_weekend(l), [Weekday::Fri, Weekday::Sat], "{l}");
        }
        for l in ["en-US", "de_DE.UTF-8", "", "arn"] {
            assert_eq!(default_weekend(l), [Weekday::Sat, Weekday::Sun], "{l}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("+03:00").is_err());
        for h in [
            "17:00-09:00",
            "9-17",
            "09:00-24:01",
            "09:00",
            "25:00-26:00",
            "09:00-09:00",
        ] {
            assert!(WorkCalendar::default().working_hours(h).is_err(), "{h}");
        }
        assert!(parse_weekdays("fri,funday").is_err());
        assert_eq!(parse_weekdays("none").ok(), Some(vec![]));
        let all = parse_weekdays("mon,tue,wed,thu,fri,sat,sun").unwrap_or_else(|e| panic!("{e}"));
        assert!(WorkCalendar::default().weekend(all).is_err());
    }

    #[test]
    fn serde_round_trips_and_checks() {
        let c = riyadh();
        let json = serde_json::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::from_str::<WorkCalendar>(&json).ok(),
            Some(c.clone())
        );
        assert!(serde_json::from_str::<WorkCalendar>(&json.replace("Riyadh", "Nowhere")).is_err());
    }

    proptest! {
        #[test]
        fn back_is_the_inverse_of_working_time(
            secs in 1_700_000_000i64..1_900_000_000,
            minutes in 0i64..30_000,
            berlin in any::<bool>(),
        ) {
            let c = if berlin {
                WorkCalendar::new(parse_time_zone("Europe/Berlin").unwrap_or_else(|e| panic!("{e}")))
                    .working_hours("08:00-16:30")
                    .and_then(|c| c.weekend(vec![Weekday::Sat, Weekday::Sun]))
                    .unwrap_or_else(|e| panic!("{e}"))
            } else {
                riyadh()
            };
            let now = DateTime::from_timestamp(secs, 0).unwrap_or_else(|| panic!("time"));
            let amount = TimeDelta::minutes(minutes);
            let t = c.back(now, amount);
            prop_assert_eq!(c.working_time(t, now), amount);
            // The latest such instant: a minute later is short of the amount.
            if amount > TimeDelta::zero() {
                prop_assert!(c.working_time(t + TimeDelta::minutes(1), now) < amount);
            }
        }
    }
}
