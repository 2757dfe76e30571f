//! Time in status: how long a lead spent in each status (from its stored history:
//! [`crate::history::time_in_status`]), and the report of the average time leads spend in
//! each status, per owner and source.
//!
//! The average of a status is over the leads that held it at some point: the sum of their
//! time in it (a stay that has not ended counts until the report's time; a lead that came
//! back to a status adds both stays) divided by their number, truncated to the microsecond.
//! Leads are grouped by their owner and source as they are now.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::history::{Change, HistoryEntry, time_in_status};
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::report::ReportFilter;
use crate::source::Source;
use crate::status::LeadStatus;
use crate::validation::ValidationError;

/// The status a write's history entries leave the lead in, and since when: the last
/// creation or status change among them (`None` when the write does not move the status).
/// Stores that keep status periods open one there.
pub fn status_entered(history: &[HistoryEntry]) -> Option<(LeadStatus, DateTime<Utc>)> {
    history.iter().rev().find_map(|e| match &e.change {
        Change::Created { .. } => Some((LeadStatus::New, e.at)),
        Change::StatusChanged { to, .. } => Some((*to, e.at)),
        _ => None,
    })
}

/// One group as a store returns it: leads of one owner and source that held `status`, and
/// their total time in it, in microseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTimeRow {
    /// The leads' owner.
    pub owner: EmployeeId,
    /// Their source.
    pub source: Source,
    /// The status.
    pub status: LeadStatus,
    /// Leads that held it.
    pub leads: u64,
    /// Their total time in it (microseconds).
    pub total_micros: i64,
}

impl StatusTimeRow {
    /// The rows over leads and their histories under `filter`, at `now`: the reference
    /// computation SQL adapters match.
    pub fn from_histories<'a>(
        leads: impl IntoIterator<Item = (&'a Lead, &'a [HistoryEntry])>,
        filter: &ReportFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, ValidationError> {
        let mut groups: BTreeMap<(EmployeeId, (usize, String), LeadStatus), StatusTimeRow> =
            BTreeMap::new();
        for (lead, history) in leads {
            if !filter.matches(lead) {
                continue;
            }
            for (status, spent) in time_in_status(history, now) {
                let src = lead.source();
                let key = (
                    lead.owner(),
                    (src.report_order().0, src.as_str().to_owned()),
                    status,
                );
                let row = groups.entry(key).or_insert_with(|| StatusTimeRow {
                    owner: lead.owner(),
                    source: src.clone(),
                    status,
                    leads: 0,
                    total_micros: 0,
                });
                row.leads += 1;
                row.total_micros = row
                    .total_micros
                    .checked_add(spent.num_microseconds().unwrap_or(i64::MAX))
                    .ok_or(ValidationError::OutOfRange {
                        field: "time in status (microseconds)",
                        value: i64::MAX,
                        min: 0,
                        max: i64::MAX,
                    })?;
            }
        }
        Ok(groups.into_values().collect())
    }
}

/// The average time in one status for one owner and source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTimeAverage {
    /// Owner.
    pub owner: EmployeeId,
    /// Source.
    pub source: Source,
    /// Status.
    pub status: LeadStatus,
    /// Leads that held the status.
    pub leads: u64,
    /// Their average time in it (microseconds, truncated).
    pub average_micros: i64,
}

impl StatusTimeAverage {
    /// The average as a duration.
    pub fn average(&self) -> TimeDelta {
        TimeDelta::microseconds(self.average_micros)
    }
}

/// Average time in each status per owner and source, with every owner's averages over all
/// sources and the overall averages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInStatusReport {
    /// Per owner (by id), source (report order) and status (pipeline order).
    pub rows: Vec<StatusTimeAverage>,
    /// Per status over everything counted (owner and source of each row: absent).
    pub overall: Vec<(LeadStatus, u64, i64)>,
}

impl TimeInStatusReport {
    /// Builds the report from the rows a store returned (any order; repeated groups add up).
    pub fn from_rows(rows: &[StatusTimeRow]) -> Self {
        type Key = (EmployeeId, (usize, String), LeadStatus);
        let mut groups: BTreeMap<Key, (Source, u64, i128)> = BTreeMap::new();
        let mut overall: BTreeMap<LeadStatus, (u64, i128)> = BTreeMap::new();
        for r in rows {
            let key = (
                r.owner,
                (r.source.report_order().0, r.source.as_str().to_owned()),
                r.status,
            );
            let g = groups.entry(key).or_insert((r.source.clone(), 0, 0));
            g.1 += r.leads;
            g.2 += i128::from(r.total_micros);
            let o = overall.entry(r.status).or_insert((0, 0));
            o.0 += r.leads;
            o.1 += i128::from(r.total_micros);
        }
        let avg = |n: u64, total: i128| -> i64 {
            if n == 0 {
                return 0;
            }
            i64::try_from(total / i128::from(n)).unwrap_or(i64::MAX)
        };
        Self {
            rows: groups
                .into_iter()
                .map(
                    |((owner, _, status), (source, leads, total))| StatusTimeAverage {
                        owner,
                        source,
                        status,
                        leads,
                        average_micros: avg(leads, total),
                    },
                )
                .collect(),
            overall: overall
                .into_iter()
                .map(|(s, (n, t))| (s, n, avg(n, t)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_are_per_lead_and_truncated() {
        let e = |id| EmployeeId::new(id).unwrap_or_else(|e| panic!("{e}"));
        let row = |owner, status, leads, total_micros| StatusTimeRow {
            owner: e(owner),
            source: Source::web(),
            status,
            leads,
            total_micros,
        };
        let r = TimeInStatusReport::from_rows(&[
            row(1, LeadStatus::New, 2, 7),
            row(1, LeadStatus::New, 1, 2),
            row(2, LeadStatus::New, 1, 11),
            row(2, LeadStatus::Contacted, 1, 5),
        ]);
        let got: Vec<_> = r
            .rows
            .iter()
            .map(|a| (a.owner, a.status, a.leads, a.average_micros))
            .collect();
        assert_eq!(
            got,
            [
                (e(1), LeadStatus::New, 3, 3),
                (e(2), LeadStatus::New, 1, 11),
                (e(2), LeadStatus::Contacted, 1, 5)
            ]
        );
        assert_eq!(
            r.overall,
            [(LeadStatus::New, 4, 5), (LeadStatus::Contacted, 1, 5)]
        );
    }
}
