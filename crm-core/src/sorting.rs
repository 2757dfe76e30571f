//! Sorting a lead list by any of its columns: [`Sort`] names the column and the direction
//! (`name`, `-created`), [`compare`] is the order, and [`crate::Crm::leads_sorted`] reads
//! every lead a query matches and keeps the first `limit` of them in that order, so memory
//! stays bounded by the list shown, not by the leads read. (The newest-first list pages
//! with a cursor instead: [`crate::LeadQuery::after`].)
//!
//! Text compares by its characters (Unicode order: for Arabic, the alphabet's order), the
//! same on every store since the sort is the library's, not the database's collation.
//! Leads without the value (no company, no follow-up) come last in either direction; ties
//! go newest first, then by id, so two reads give one order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::validation::ValidationError;

/// A column a lead list sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// The person's name.
    Name,
    /// The company (none last).
    Company,
    /// The status, in pipeline order.
    Status,
    /// The source.
    Source,
    /// The responsible employee, by name.
    Owner,
    /// When the lead was created.
    Created,
    /// The next follow-up time (none last).
    FollowUp,
    /// The last change.
    Updated,
}

impl SortKey {
    /// Every key, with its name in [`Sort`]'s text form.
    pub const ALL: [(SortKey, &'static str); 8] = [
        (SortKey::Name, "name"),
        (SortKey::Company, "company"),
        (SortKey::Status, "status"),
        (SortKey::Source, "source"),
        (SortKey::Owner, "owner"),
        (SortKey::Created, "created"),
        (SortKey::FollowUp, "follow_up"),
        (SortKey::Updated, "updated"),
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("name", |(_, n)| n)
    }
}

/// A column and a direction: `name` ascending, `-name` descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

impl Sort {
    /// The same column the other way.
    pub fn reversed(self) -> Self {
        Self {
            descending: !self.descending,
            ..self
        }
    }
}

impl FromStr for Sort {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        SortKey::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(key, _)| Sort {
                key: *key,
                descending,
            })
            .ok_or_else(|| ValidationError::UnknownName {
                kind: "sort",
                value: s.chars().take(40).collect(),
                expected: "name, company, status, source, owner, created, follow_up, updated \
                           (- first for largest first)",
            })
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.key.as_str())
    }
}

/// `a` against `b` by an optional value: present values in the direction asked, absent
/// ones last either way.
fn present_first<T: Ord>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) if descending => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The order of `sort` (owners by their names in `names`, then by id), ties newest first
/// then by id.
pub fn compare(sort: Sort, names: &BTreeMap<EmployeeId, String>, a: &Lead, b: &Lead) -> Ordering {
    let d = sort.descending;
    let by_key = match sort.key {
        SortKey::Name => present_first(Some(a.name().as_str()), Some(b.name().as_str()), d),
        SortKey::Company => present_first(
            a.company().map(|c| c.as_str()),
            b.company().map(|c| c.as_str()),
            d,
        ),
        // `LeadStatus`'s order is the pipeline's.
        SortKey::Status => present_first(Some(a.status()), Some(b.status()), d),
        SortKey::Source => present_first(Some(a.source().as_str()), Some(b.source().as_str()), d),
        SortKey::Owner => {
            let owner = |l: &Lead| (names.get(&l.owner()).map(String::as_str), l.owner());
            present_first(Some(owner(a)), Some(owner(b)), d)
        }
        SortKey::Created => present_first(Some(a.created_at()), Some(b.created_at()), d),
        SortKey::FollowUp => present_first(a.next_follow_up_at(), b.next_follow_up_at(), d),
        SortKey::Updated => present_first(Some(a.updated_at()), Some(b.updated_at()), d),
    };
    by_key.then_with(|| (b.created_at(), b.id()).cmp(&(a.created_at(), a.id())))
}

/// Keeps the first `keep` of `leads` in `sort`'s order among `kept` (already in order),
/// holding at most twice `keep` (and at least one page) at any time.
pub fn keep_first(
    kept: &mut Vec<Lead>,
    leads: Vec<Lead>,
    sort: Sort,
    names: &BTreeMap<EmployeeId, String>,
    keep: usize,
    page: usize,
) {
    kept.extend(leads);
    if kept.len() > keep.saturating_mul(2).max(page) {
        kept.sort_by(|a, b| compare(sort, names, a, b));
        kept.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::contact::{Email, Name};
    use crate::ids::LeadId;
    use crate::lead::{LeadRecord, NewLead};
    use crate::source::Source;
    use crate::status::LeadStatus;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn lead(n: u32, name: &str, f: impl FnOnce(&mut LeadRecord)) -> Lead {
        let me = EmployeeId::new(1).unwrap_or_else(|e| panic!("{e}"));
        let created = at("2026-12-01T08:00:00Z") + chrono::TimeDelta::minutes(i64::from(n));
        let input = NewLead::new(
            Name::parse(name).unwrap_or_else(|e| panic!("{e}")),
            Source::web(),
        )
        .email(Email::parse(&format!("{n}@example.sa")).unwrap_or_else(|e| panic!("{e}")));
        let l = Lead::create(LeadId::new_at(created), input, me, me, created)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = l.record().clone();
        f(&mut r);
        Lead::from_record(r).unwrap_or_else(|e| panic!("{e}"))
    }

    fn names_in(leads: &[Lead], sort: &str) -> Vec<String> {
        let sort: Sort = sort.parse().unwrap_or_else(|e| panic!("{e}"));
        let mut v = leads.to_vec();
        v.sort_by(|a, b| compare(sort, &BTreeMap::new(), a, b));
        v.iter().map(|l| l.name().to_string()).collect()
    }

    #[test]
    fn each_column_sorts_both_ways_and_absent_values_come_last() {
        let company = |c: &str| {
            let c = Name::parse(c).unwrap_or_else(|e| panic!("{e}"));
            move |r: &mut LeadRecord| r.company = Some(c)
        };
        let leads = vec![
            lead(1, "ثامر", company("ب")),
            lead(2, "أحمد", |_| {}),
            lead(3, "باسم", company("أ")),
        ];
        // Arabic names in the alphabet's order (ا before ب before ث).
        assert_eq!(names_in(&leads, "name"), ["أحمد", "باسم", "ثامر"]);
        assert_eq!(names_in(&leads, "-name"), ["ثامر", "باسم", "أحمد"]);
        // No company: last, whichever way.
        assert_eq!(names_in(&leads, "company"), ["باسم", "ثامر", "أحمد"]);
        assert_eq!(names_in(&leads, "-company"), ["ثامر", "باسم", "أحمد"]);
        assert_eq!(names_in(&leads, "created"), ["ثامر", "أحمد", "باسم"]);
        assert_eq!(names_in(&leads, "-created"), ["باسم", "أحمد", "ثامر"]);
        // Statuses in the pipeline's order, not their names' (contacted < interested < new).
        let status = |s: LeadStatus| move |r: &mut LeadRecord| r.status = s;
        let leads = vec![
            lead(1, "ثامر", status(LeadStatus::Interested)),
            lead(2, "أحمد", status(LeadStatus::New)),
            lead(3, "باسم", status(LeadStatus::Contacted)),
        ];
        assert_eq!(names_in(&leads, "status"), ["أحمد", "باسم", "ثامر"]);
        assert_eq!(names_in(&leads, "-status"), ["ثامر", "باسم", "أحمد"]);
    }

    #[test]
    fn the_first_are_kept_with_bounded_memory() {
        let sort: Sort = "name".parse().unwrap_or_else(|e| panic!("{e}"));
        let names = BTreeMap::new();
        let all: Vec<Lead> = (0..50)
            .map(|n| lead(n, &format!("n{:02}", 49 - n), |_| {}))
            .collect();
        let mut kept = Vec::new();
        for chunk in all.chunks(7) {
            keep_first(&mut kept, chunk.to_vec(), sort, &names, 3, 7);
            assert!(kept.len() <= 14, "{}", kept.len());
        }
        kept.sort_by(|a, b| compare(sort, &names, a, b));
        kept.truncate(3);
        let got: Vec<_> = kept.iter().map(|l| l.name().to_string()).collect();
        assert_eq!(got, ["n00", "n01", "n02"]);
    }

    #[test]
    fn sorts_read_and_write_as_text() {
        for (key, name) in SortKey::ALL {
            let s: Sort = name.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((s.key, s.descending), (key, false));
            assert_eq!(s.reversed().to_string(), format!("-{name}"));
        }
        assert!("colour".parse::<Sort>().is_err());
    }
}
