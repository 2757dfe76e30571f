//! The status x source report.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use crm_core::Report;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::GuardedInput;
use super::{ApiResult, Caller, Fields, Params};
use crate::AppState;
use crate::input;

/// Lead counts by status x source.
#[utoipa::path(get, path = "/api/v1/report", tag = "report", params(ReportParams),
    security(("bearer" = [])),
    responses((status = 200, body = ReportOut), GuardedInput))]
pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ReportParams>,
) -> ApiResult<Json<ReportOut>> {
    let mut f = Fields::default();
    let filter = input::report_filter(&mut f, &p);
    let filter = f.done(filter)?;
    let r = s.crm.report(caller.employee, &filter).await?;
    Ok(Json((&r).into()))
}

/// Report filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Only this responsible employee's leads.
    pub owner: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Created on or after (YYYY-MM-DD or RFC 3339).
    pub from: Option<String>,
    /// Created before (YYYY-MM-DD or RFC 3339).
    pub to: Option<String>,
    /// Only leads from this campaign (a web form's `utm_campaign`).
    pub campaign: Option<String>,
}

/// One cell of the report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportCellOut {
    /// Status.
    pub status: String,
    /// Source.
    pub source: String,
    /// Leads.
    pub count: u64,
}

/// A source's total.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceTotal {
    /// Source.
    pub source: String,
    /// Leads.
    pub total: u64,
}

/// Lead counts by status x source.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportOut {
    /// Non-empty cells.
    pub cells: Vec<ReportCellOut>,
    /// Totals by status.
    pub by_status: BTreeMap<String, u64>,
    /// Totals by source, in report order.
    pub by_source: Vec<SourceTotal>,
    /// All leads counted.
    pub total: u64,
}

impl From<&Report> for ReportOut {
    fn from(r: &Report) -> Self {
        Self {
            cells: r
                .cells
                .iter()
                .map(|c| ReportCellOut {
                    status: c.status.to_string(),
                    source: c.source.to_string(),
                    count: c.count,
                })
                .collect(),
            by_status: r
                .by_status
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            by_source: r
                .by_source
                .iter()
                .map(|(s, n)| SourceTotal {
                    source: s.to_string(),
                    total: *n,
                })
                .collect(),
            total: r.total,
        }
    }
}
