//! The reports, filtered by owner, source and creation date, built once for both backends:
//! leads by status and source, lost leads by reason, the pipeline's groups and the time-in-
//! status groups. Each groups in SQL; the domain rolls the groups up.

use chrono::{DateTime, Utc};
use crm_core::{
    Currency, EmployeeId, LeadStatus, LostReasonCode, LostReasonReport, OpportunityStage,
    PipelineFilter, PipelineRow, Report, ReportFilter, Scope, Source, StageProbabilities,
    StatusTimeRow, StoreError,
};

use crate::bind::{Binds, Built};
use crate::db::Db;
use crate::rows::Cols;

/// Counts over the leads themselves.
/// Merged leads ([`crm_core::merge`]) leave every report.
const FROM_LEADS: &str =
    "SELECT status, source, COUNT(*) AS n FROM leads WHERE merged_into IS NULL";

/// The counts the schema's triggers keep per (owner, source, status) (on PostgreSQL spread
/// over shard rows): at most owners x sources x statuses rows, however many leads.
const FROM_COUNTS: &str =
    "SELECT status, source, CAST(SUM(n) AS BIGINT) AS n FROM lead_counts WHERE n > 0";

/// The report for `filter` over the leads in `scope`: from the kept counts, unless it has a
/// creation-date range or a campaign (which they do not keep).
pub(crate) async fn report<D: Db>(
    db: &mut D,
    filter: &ReportFilter,
    scope: &Scope,
) -> Result<Report, StoreError> {
    let dated =
        filter.created_from.is_some() || filter.created_to.is_some() || filter.campaign.is_some();
    let mut b = Built::head(if dated { FROM_LEADS } else { FROM_COUNTS });
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY status, source");
    let counts = db
        .read_built(b, "report row", |r| {
            Ok((
                r.text("status")?.parse::<LeadStatus>()?,
                Source::parse(&r.text("source")?)?,
                u64::try_from(r.int("n")?)?,
            ))
        })
        .await?;
    Ok(Report::from_counts(counts))
}

/// `filter`'s conditions on the leads (columns unqualified, or of the alias `l` in the joins,
/// which name the lead columns the same way).
fn lead_filter(b: &mut Built, filter: &ReportFilter, scope: &Scope) {
    crate::assignment::scope(b, scope, "owner");
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
    if let Some(c) = &filter.campaign {
        b.sql(" AND campaign = ").str(c);
    }
}

/// Lost leads by reason code.
const LOST_REASONS: &str = "SELECT lost_reason_code, COUNT(*) AS n FROM leads \
     WHERE status = 'lost' AND lost_reason_code IS NOT NULL AND merged_into IS NULL";

/// Lost leads counted by reason code under `filter`, of the leads in `scope`.
pub(crate) async fn lost_reasons<D: Db>(
    db: &mut D,
    filter: &ReportFilter,
    scope: &Scope,
) -> Result<LostReasonReport, StoreError> {
    let mut b = Built::head(LOST_REASONS);
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY lost_reason_code");
    let counts = db
        .read_built(b, "lost reason row", |r| {
            Ok((
                LostReasonCode::parse(&r.text("lost_reason_code")?)?,
                u64::try_from(r.int("n")?)?,
            ))
        })
        .await?;
    Ok(LostReasonReport::from_counts(counts))
}

/// Time in each status per owner and source: each stay from entry to exit (or to now; never
/// negative), summed, with the number of leads that held the status. The head stops where
/// the report's time (unix µs) is bound, once per use.
const STATUS_TIMES: [&str; 3] = [
    "SELECT owner, source, status, CAST(COUNT(DISTINCT lead_id) AS BIGINT) AS leads, \
     CAST(SUM(CASE WHEN COALESCE(left_us, ",
    ") > entered_us THEN COALESCE(left_us, ",
    ") - entered_us ELSE 0 END) AS BIGINT) AS total \
     FROM (SELECT p.lead_id, p.entered_us, p.left_us, p.status, \
                  l.owner, l.source, l.created_at \
           FROM lead_status_periods p JOIN leads l ON l.id = p.lead_id \
           WHERE l.merged_into IS NULL) AS stays \
     WHERE 1 = 1",
];

/// The time-in-status groups under `filter` of the leads in `scope`, stays counted until `now`.
pub(crate) async fn status_times<D: Db>(
    db: &mut D,
    filter: &ReportFilter,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Vec<StatusTimeRow>, StoreError> {
    let now = now.timestamp_micros();
    let mut b = Built::head(STATUS_TIMES[0]);
    b.int(now)
        .sql(STATUS_TIMES[1])
        .int(now)
        .sql(STATUS_TIMES[2]);
    lead_filter(&mut b, filter, scope);
    b.sql(" GROUP BY owner, source, status");
    db.read_built(b, "time in status row", |r| {
        Ok(StatusTimeRow {
            owner: EmployeeId::new(r.int("owner")?)?,
            source: Source::parse(&r.text("source")?)?,
            status: r.text("status")?.parse::<LeadStatus>()?,
            leads: u64::try_from(r.int("leads")?)?,
            total_micros: r.int("total")?,
        })
    })
    .await
}

/// Opportunities with their lead's owner and the probability that counts for each
/// (`crm_core::StageProbabilities::for_opportunity`: the override while open, else the
/// stage's, bound in stage order), grouped by currency, owner, stage and expected-close day
/// with the weighted sum of `crm_core::pipeline::weighted_minor`. The domain rolls days up
/// into months.
const PIPELINE_HEAD: &str = "SELECT currency, owner, stage, expected_close, \
     CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(value_minor) AS BIGINT) AS total, \
     CAST(SUM((value_minor / 100) * p + ((value_minor % 100) * p + 50) / 100) AS BIGINT) AS weighted \
     FROM (SELECT o.currency, l.owner, o.stage, o.expected_close, o.value_minor, \
             CASE WHEN o.probability IS NOT NULL AND o.stage NOT IN ('won', 'lost') \
                  THEN o.probability \
                  ELSE CASE o.stage WHEN 'won' THEN 100 WHEN 'lost' THEN 0 ";

/// The pipeline's groups under `filter`, of the leads in `scope`.
pub(crate) async fn pipeline<D: Db>(
    db: &mut D,
    filter: &PipelineFilter,
    scope: &Scope,
    probabilities: &StageProbabilities,
) -> Result<Vec<PipelineRow>, StoreError> {
    let mut b = Built::head(PIPELINE_HEAD);
    for stage in OpportunityStage::ALL.into_iter().filter(|s| s.is_open()) {
        b.sql(" WHEN ")
            .str(stage.as_str())
            .sql(" THEN ")
            .int(i64::from(probabilities.of(stage).percent()));
    }
    b.sql(
        " ELSE 0 END END AS p \
         FROM opportunities o JOIN leads l ON l.id = o.lead_id \
         WHERE l.merged_into IS NULL",
    );
    crate::assignment::scope(&mut b, scope, "l.owner");
    if let Some(o) = filter.owner {
        b.sql(" AND l.owner = ").int(o.get());
    }
    if let Some(f) = filter.close_from {
        b.sql(" AND o.expected_close >= ").day(f);
    }
    if let Some(t) = filter.close_to {
        b.sql(" AND o.expected_close <= ").day(t);
    }
    b.sql(") AS valued GROUP BY currency, owner, stage, expected_close");
    db.read_built(b, "pipeline row", |r| {
        let day = r.date("expected_close")?;
        Ok(PipelineRow {
            currency: Currency::parse(&r.text("currency")?)?,
            owner: EmployeeId::new(r.int("owner")?)?,
            stage: r.text("stage")?.parse::<OpportunityStage>()?,
            month: crm_core::pipeline::month_of(day),
            count: u64::try_from(r.int("n")?)?,
            total_minor: r.int("total")?,
            weighted_minor: r.int("weighted")?,
        })
    })
    .await
}
