//! The reads the store answers better than crm-core's scans: the reports (grouped in SQL,
//! or read from the `lead_counts` the schema's triggers keep), the import lookup and the
//! duplicate groups (from the contact indexes).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use crm_core::{
    BoxError, Currency, DuplicateGroup, EmployeeId, ImportKey, ImportLookup, LeadStatus,
    LostReasonCode, LostReasonReport, OpportunityStage, PipelineFilter, PipelineRow, Report,
    ReportFilter, Scope, Source, StageProbabilities, StatusTimeRow, StoreError,
};
use rusqlite::{Connection, Row};

use super::conn::{corrupt, db};
use super::read::{Built, imported, json_text, lead, parse, us};
use crate::rows::{Cols, lead_cols};

/// The report without a creation-date range: the counts per (owner, source, status).
const REPORT_COUNTS: &str = "SELECT status, source, SUM(n) AS n FROM lead_counts WHERE n > 0";
/// The report over the leads themselves (merged ones leave every report).
const REPORT_LEADS: &str =
    "SELECT status, source, COUNT(*) AS n FROM leads WHERE merged_into IS NULL";
const LOST_REASONS: &str = "SELECT lost_reason_code, COUNT(*) AS n FROM leads \
     WHERE status = 'lost' AND lost_reason_code IS NOT NULL AND merged_into IS NULL";
const OPEN_BY_OWNER: &str = "SELECT owner, SUM(n) AS n FROM lead_counts \
     WHERE (status = 'new' OR status = 'contacted' OR status = 'interested')";
/// Each stay from entry to exit (or to the report's time, bound twice; never negative).
const STATUS_TIMES: [&str; 3] = [
    "SELECT owner, source, status, COUNT(DISTINCT lead_id) AS leads, \
     SUM(CASE WHEN COALESCE(left_us, ",
    ") > entered_us THEN COALESCE(left_us, ",
    ") - entered_us ELSE 0 END) AS total \
     FROM (SELECT p.lead_id, p.entered_us, p.left_us, p.status, \
                  l.owner, l.source, l.created_at \
           FROM lead_status_periods p JOIN leads l ON l.id = p.lead_id \
           WHERE l.merged_into IS NULL) AS stays \
     WHERE 1 = 1",
];
/// Opportunities with their lead's owner and the probability that counts for each (the
/// override while open, else the stage's, bound in stage order), grouped by currency, owner,
/// stage and day with the weighted sum of `crm_core::pipeline::weighted_minor`.
const PIPELINE_HEAD: &str = "SELECT currency, owner, stage, expected_close, COUNT(*) AS n, \
     SUM(value_minor) AS total, \
     SUM((value_minor / 100) * p + ((value_minor % 100) * p + 50) / 100) AS weighted \
     FROM (SELECT o.currency, l.owner, o.stage, o.expected_close, o.value_minor, \
             CASE WHEN o.probability IS NOT NULL AND o.stage NOT IN ('won', 'lost') \
                  THEN o.probability \
                  ELSE CASE o.stage WHEN 'won' THEN 100 WHEN 'lost' THEN 0";
const OPEN_CONTACTS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE (status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND merged_into IS NULL AND (email IN (SELECT value FROM json_each(:emails)) \
     OR phone IN (SELECT value FROM json_each(:phones)))"
);
/// Open leads, not merged: what duplicate groups are made of.
const OPEN: &str = "(status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND merged_into IS NULL";
/// The fuzzy key: the name's and the company's lines of `search_text`, as the index
/// `leads_open_name_company` has them.
const NAME_COMPANY: &str = "substr(search_text, 1, instr(search_text || char(10), char(10)) - 1), \
     substr(search_text, length(rtrim(search_text, replace(search_text, char(10), ''))) + 1)";

fn count(r: &Row, col: &str) -> Result<u64, BoxError> {
    Ok(u64::try_from(r.get::<_, i64>(col)?)?)
}

/// `filter`'s conditions on the leads (or the counts, which name the columns the same).
fn lead_filter(b: &mut Built, filter: &ReportFilter, scope: &Scope) {
    b.scope(scope, "owner");
    if let Some(o) = filter.owner {
        b.sql(" AND owner = ").bind(o.get());
    }
    if let Some(s) = &filter.source {
        b.sql(" AND source = ").bind(s.as_str().to_owned());
    }
    if let Some(f) = filter.created_from {
        b.sql(" AND created_at >= ").bind(us(f));
    }
    if let Some(t) = filter.created_to {
        b.sql(" AND created_at < ").bind(us(t));
    }
}

pub(super) fn report(
    c: &Connection,
    filter: &ReportFilter,
    scope: &Scope,
) -> Result<Report, StoreError> {
    let dated = filter.created_from.is_some() || filter.created_to.is_some();
    let mut b = Built::head(if dated { REPORT_LEADS } else { REPORT_COUNTS });
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY status, source");
    let counts = b.rows(c, |r| {
        parse("report row", || -> Result<_, BoxError> {
            Ok((
                r.get::<_, String>("status")?.parse::<LeadStatus>()?,
                Source::parse(&r.get::<_, String>("source")?)?,
                count(r, "n")?,
            ))
        })
    })?;
    Ok(Report::from_counts(counts))
}

pub(super) fn lost_reasons(
    c: &Connection,
    filter: &ReportFilter,
    scope: &Scope,
) -> Result<LostReasonReport, StoreError> {
    let mut b = Built::head(LOST_REASONS);
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY lost_reason_code");
    let counts = b.rows(c, |r| {
        parse("lost reason row", || -> Result<_, BoxError> {
            let code = LostReasonCode::parse(&r.get::<_, String>("lost_reason_code")?)?;
            Ok((code, count(r, "n")?))
        })
    })?;
    Ok(LostReasonReport::from_counts(counts))
}

pub(super) fn open_by_owner(
    c: &Connection,
    owners: &BTreeSet<EmployeeId>,
) -> Result<std::collections::BTreeMap<EmployeeId, u64>, StoreError> {
    let mut b = Built::head(OPEN_BY_OWNER);
    b.scope(&Scope::Owners(owners.clone()), "owner");
    b.sql(" GROUP BY owner HAVING SUM(n) > 0");
    let rows = b.rows(c, |r| {
        let read =
            || -> Result<_, BoxError> { Ok((EmployeeId::new(r.get("owner")?)?, count(r, "n")?)) };
        read().map_err(corrupt("open leads by owner"))
    })?;
    Ok(rows.into_iter().collect())
}

pub(super) fn status_times(
    c: &Connection,
    filter: &ReportFilter,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Vec<StatusTimeRow>, StoreError> {
    let now = us(now);
    let mut b = Built::head(STATUS_TIMES[0]);
    b.bind(now)
        .sql(STATUS_TIMES[1])
        .bind(now)
        .sql(STATUS_TIMES[2]);
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY owner, source, status");
    b.rows(c, |r| {
        parse("time in status row", || -> Result<_, BoxError> {
            Ok(StatusTimeRow {
                owner: EmployeeId::new(r.get("owner")?)?,
                source: Source::parse(&r.get::<_, String>("source")?)?,
                status: r.get::<_, String>("status")?.parse::<LeadStatus>()?,
                leads: count(r, "leads")?,
                total_micros: r.get("total")?,
            })
        })
    })
}

pub(super) fn pipeline(
    c: &Connection,
    filter: &PipelineFilter,
    scope: &Scope,
    probabilities: &StageProbabilities,
) -> Result<Vec<PipelineRow>, StoreError> {
    let mut b = Built::head(PIPELINE_HEAD);
    for stage in OpportunityStage::ALL.into_iter().filter(|s| s.is_open()) {
        b.sql(" WHEN ")
            .bind(stage.as_str().to_owned())
            .sql(" THEN ")
            .bind(i64::from(probabilities.of(stage).percent()));
    }
    b.sql(
        " ELSE 0 END END AS p \
         FROM opportunities o JOIN leads l ON l.id = o.lead_id \
         WHERE l.merged_into IS NULL",
    );
    b.scope(scope, "l.owner");
    if let Some(o) = filter.owner {
        b.sql(" AND l.owner = ").bind(o.get());
    }
    let days = |d: chrono::NaiveDate| i64::from(chrono::Datelike::num_days_from_ce(&d));
    if let Some(f) = filter.close_from {
        b.sql(" AND o.expected_close >= ").bind(days(f));
    }
    if let Some(t) = filter.close_to {
        b.sql(" AND o.expected_close <= ").bind(days(t));
    }
    b.sql(") AS valued GROUP BY currency, owner, stage, expected_close");
    b.rows(c, |r| {
        parse("pipeline row", || -> Result<_, BoxError> {
            Ok(PipelineRow {
                currency: Currency::parse(&r.get::<_, String>("currency")?)?,
                owner: EmployeeId::new(r.get("owner")?)?,
                stage: r.get::<_, String>("stage")?.parse::<OpportunityStage>()?,
                month: crm_core::pipeline::month_of(r.date("expected_close")?),
                count: count(r, "n")?,
                total_minor: r.get("total")?,
                weighted_minor: r.get("weighted")?,
            })
        })
    })
}

pub(super) fn import_lookup(
    c: &mut Connection,
    keys: &[ImportKey],
    emails: &[String],
    phones: &[String],
) -> Result<ImportLookup, StoreError> {
    let tx = c.transaction().map_err(db)?;
    let imported = imported(&tx, keys)?;
    let p = rusqlite::named_params! {":emails": json_text(&emails), ":phones": json_text(&phones)};
    let open = super::read::all(&tx, OPEN_CONTACTS, p, lead)?;
    tx.finish().map_err(db)?;
    Ok(ImportLookup { imported, open })
}

/// The open leads in `scope` that share a key with another, grouped by the core's own
/// [`crm_core::duplicates::duplicate_groups`] (same groups, same order).
pub(super) fn duplicate_groups(
    c: &Connection,
    scope: &Scope,
    fuzzy: bool,
) -> Result<Vec<DuplicateGroup>, StoreError> {
    let mut b = Built::head(concat!("SELECT ", lead_cols!(), " FROM leads WHERE "));
    b.sql(OPEN).scope(scope, "owner");
    b.sql(" AND (email IN (SELECT email FROM leads WHERE email IS NOT NULL AND ")
        .sql(OPEN)
        .scope(scope, "owner")
        .sql(" GROUP BY email HAVING COUNT(*) > 1)");
    b.sql(" OR phone IN (SELECT phone FROM leads WHERE phone IS NOT NULL AND ")
        .sql(OPEN)
        .scope(scope, "owner")
        .sql(" GROUP BY phone HAVING COUNT(*) > 1)");
    if fuzzy {
        b.sql(" OR (company IS NOT NULL AND (")
            .sql(NAME_COMPANY)
            .sql(") IN (SELECT ")
            .sql(NAME_COMPANY)
            .sql(" FROM leads WHERE company IS NOT NULL AND ")
            .sql(OPEN)
            .scope(scope, "owner")
            .sql(" GROUP BY 1, 2 HAVING COUNT(*) > 1))");
    }
    b.sql(")");
    let leads = b.rows(c, lead)?;
    Ok(crm_core::duplicates::duplicate_groups(leads.iter(), fuzzy))
}
