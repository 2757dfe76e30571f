//! The report (leads by status and source), filtered by owner, source and creation date,
//! built once for both backends.

use crm_core::{BoxError, LeadStatus, Report, ReportFilter, Source, StoreError};

use crate::bind::{Binds, Filter};
use crate::db::Db;
use crate::rows::{self, Cols};

/// Counts over the leads themselves (on the covering index `leads_report`).
pub(crate) const FROM_LEADS: &str = "SELECT status, source, COUNT(*) FROM leads WHERE 1 = 1";

/// The report for `filter`. Without a creation-date range it reads `undated` instead (a
/// statement with the same columns and filters, e.g. over maintained counts), when given.
pub(crate) async fn report<D: Db>(
    db: &D,
    filter: &ReportFilter,
    undated: Option<&'static str>,
) -> Result<Report, StoreError> {
    let dated = filter.created_from.is_some() || filter.created_to.is_some();
    let mut b = D::Built::head(match undated {
        Some(head) if !dated => head,
        _ => FROM_LEADS,
    });
    if let Some(o) = filter.owner {
        b.sql(" AND owner = ").int(o.get());
    }
    if let Some(s) = &filter.source {
        b.sql(" AND source = ").str(s.as_str());
    }
    if let Some(f) = filter.created_from {
        b.sql(" AND created_at >= ").time(f);
    }
    if let Some(t) = filter.created_to {
        b.sql(" AND created_at < ").time(t);
    }
    b.sql(" GROUP BY status, source");
    let counts = db
        .built(b)
        .await?
        .iter()
        .map(|r| {
            let read = || -> Result<_, BoxError> {
                Ok((
                    r.text(0)?.parse::<LeadStatus>()?,
                    Source::parse(&r.text(1)?)?,
                    u64::try_from(r.int(2)?)?,
                ))
            };
            read().map_err(rows::corrupt("report row"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Report::from_counts(counts))
}
