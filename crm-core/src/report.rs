//! The lead reports under a filter: counts by status x source, with totals; lost leads by
//! reason code.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::lost_reason::LostReasonCode;
use crate::source::Source;
use crate::status::LeadStatus;
use crate::validation::ValidationError;

/// Which leads a report counts. Creation times are a half-open range `[from, to)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    /// Only this responsible employee's leads.
    pub owner: Option<EmployeeId>,
    /// Only this source.
    pub source: Option<Source>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Only leads from this campaign ([`Lead::campaign`]: a web form's `utm_campaign`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

impl ReportFilter {
    /// Checks the date range.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match (self.created_from, self.created_to) {
            (Some(f), Some(t)) if f > t => Err(ValidationError::InvalidRange {
                field: "created_from/created_to",
            }),
            _ => Ok(()),
        }
    }

    /// Whether `lead` passes the filter (the reference that SQL adapters must match).
    pub fn matches(&self, lead: &Lead) -> bool {
        self.owner.is_none_or(|o| lead.owner() == o)
            && self.source.as_ref().is_none_or(|s| lead.source() == s)
            && self.created_from.is_none_or(|f| lead.created_at() >= f)
            && self.created_to.is_none_or(|t| lead.created_at() < t)
            && (self.campaign.as_deref()).is_none_or(|c| lead.campaign() == Some(c))
    }
}

/// One cell of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCell {
    /// Status.
    pub status: LeadStatus,
    /// Source.
    pub source: Source,
    /// Number of leads.
    pub count: u64,
}

/// Counts by status x source, with totals per status, per source and overall. Cells with a
/// zero count are left out; every status appears in `by_status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Non-zero cells, by status (pipeline order) then source (report order).
    pub cells: Vec<ReportCell>,
    /// Total per status, every status present.
    pub by_status: BTreeMap<LeadStatus, u64>,
    /// Total per source, in report order.
    pub by_source: Vec<(Source, u64)>,
    /// All leads counted.
    pub total: u64,
}

impl Report {
    /// Builds the report from (status, source, count) triples in any order; repeated pairs add
    /// up.
    pub fn from_counts(counts: impl IntoIterator<Item = (LeadStatus, Source, u64)>) -> Self {
        let mut grid: BTreeMap<(LeadStatus, (usize, String)), (Source, u64)> = BTreeMap::new();
        for (status, source, count) in counts {
            if count == 0 {
                continue;
            }
            let key = (
                status,
                (source.report_order().0, source.as_str().to_owned()),
            );
            grid.entry(key).or_insert((source, 0)).1 += count;
        }
        let mut by_status: BTreeMap<LeadStatus, u64> =
            LeadStatus::ALL.iter().map(|s| (*s, 0)).collect();
        let mut by_source: BTreeMap<(usize, String), (Source, u64)> = BTreeMap::new();
        let mut cells = Vec::with_capacity(grid.len());
        let mut total = 0;
        for ((status, skey), (source, count)) in grid {
            *by_status.entry(status).or_insert(0) += count;
            by_source.entry(skey).or_insert((source.clone(), 0)).1 += count;
            total += count;
            cells.push(ReportCell {
                status,
                source,
                count,
            });
        }
        Self {
            cells,
            by_status,
            by_source: by_source.into_values().collect(),
            total,
        }
    }

    /// The reference computation over leads in memory.
    pub fn from_leads<'a>(
        leads: impl IntoIterator<Item = &'a Lead>,
        filter: &ReportFilter,
    ) -> Self {
        // Count by borrowed keys first: one allocation per cell, not per lead.
        let mut counts: std::collections::HashMap<(LeadStatus, &Source), u64> =
            std::collections::HashMap::new();
        for l in leads.into_iter().filter(|l| filter.matches(l)) {
            *counts.entry((l.status(), l.source())).or_insert(0) += 1;
        }
        Self::from_counts(
            counts
                .into_iter()
                .map(|((status, source), n)| (status, source.clone(), n)),
        )
    }

    /// The count of one cell.
    pub fn count(&self, status: LeadStatus, source: &Source) -> u64 {
        self.cells
            .iter()
            .find(|c| c.status == status && &c.source == source)
            .map_or(0, |c| c.count)
    }
}

/// How many leads are lost for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostReasonCount {
    /// The code.
    pub code: LostReasonCode,
    /// Leads lost with it.
    pub count: u64,
}

/// Lost leads counted by reason code, under a [`crate::ReportFilter`]: the most frequent
/// reason first (ties by code), zero counts left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostReasonReport {
    /// One row per code with at least one lead.
    pub rows: Vec<LostReasonCount>,
    /// Lost leads counted.
    pub total: u64,
}

impl LostReasonReport {
    /// `count`'s share of every lost lead counted, as a whole percent (rounded half up);
    /// 0 when none was lost.
    pub fn share_percent(&self, count: u64) -> u64 {
        (count * 100 + self.total / 2)
            .checked_div(self.total)
            .unwrap_or(0)
    }

    /// Builds the report from (code, count) pairs in any order; repeated codes add up.
    pub fn from_counts(counts: impl IntoIterator<Item = (LostReasonCode, u64)>) -> Self {
        let mut by: BTreeMap<LostReasonCode, u64> = Default::default();
        for (code, n) in counts {
            if n > 0 {
                *by.entry(code).or_insert(0) += n;
            }
        }
        let mut rows: Vec<LostReasonCount> = by
            .into_iter()
            .map(|(code, count)| LostReasonCount { code, count })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
        Self {
            total: rows.iter().map(|r| r.count).sum(),
            rows,
        }
    }

    /// The reference computation over leads in memory.
    pub fn from_leads<'a>(
        leads: impl IntoIterator<Item = &'a Lead>,
        filter: &ReportFilter,
    ) -> Self {
        Self::from_counts(
            leads
                .into_iter()
                .filter(|l| filter.matches(l))
                .filter_map(|l| l.lost_reason_code().cloned())
                .map(|c| (c, 1)),
        )
    }

    /// The count for one code.
    pub fn count(&self, code: &str) -> u64 {
        self.rows
            .iter()
            .find(|r| r.code.as_str() == code)
            .map_or(0, |r| r.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_order_is_stable() {
        let r = Report::from_counts([
            (LeadStatus::Lost, Source::parse("fair").unwrap(), 2),
            (LeadStatus::New, Source::web(), 3),
            (LeadStatus::New, Source::web(), 1),
            (LeadStatus::New, Source::referral(), 0),
            (LeadStatus::Contacted, Source::referral(), 5),
        ]);
        assert_eq!(r.total, 11);
        assert_eq!(r.count(LeadStatus::New, &Source::web()), 4);
        assert_eq!(r.by_status[&LeadStatus::Converted], 0);
        assert_eq!(r.by_status[&LeadStatus::Lost], 2);
        let sources: Vec<_> = r.by_source.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(sources, [("web", 4), ("referral", 5), ("fair", 2)]);
        assert_eq!(r.cells.len(), 3);
    }

    fn lr(s: &str) -> LostReasonCode {
        LostReasonCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn report_orders_by_count_then_code() {
        let r = LostReasonReport::from_counts([
            (lr("timing"), 2),
            (lr("price"), 3),
            (lr("competitor"), 2),
            (lr("price"), 1),
            (lr("other"), 0),
        ]);
        let got: Vec<_> = r.rows.iter().map(|r| (r.code.as_str(), r.count)).collect();
        assert_eq!(got, [("price", 4), ("competitor", 2), ("timing", 2)]);
        assert_eq!(r.total, 8);
        assert_eq!(r.count("other"), 0);
    }
}
