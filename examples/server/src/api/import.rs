//! `POST /api/v1/import`: a lead file (CSV or XLSX) as the request body, imported as the
//! caller (or with `dry_run=true` decided row by row and nothing written); the answer is
//! the per-row report.

use axum::Json;
use axum::body::Body as RawBody;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use crm_core::{ImportReport, RowOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::ImportRefusals;
use super::{ApiResult, Caller, Params};
use crate::AppState;
use crate::import::{self, MAX_FILE_BYTES, Upload, XLSX_TYPE};
use crate::problem::Problem;

/// `?dry_run=&on_duplicate=&encoding=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Decide every row and write nothing (absent: false).
    pub dry_run: Option<bool>,
    /// What a row matching an open lead (same normalised email or phone) does: `skip` (the
    /// default), `update` that lead with the row's fields, or `create` it anyway.
    pub on_duplicate: Option<String>,
    /// A CSV file's encoding: `utf-8` (the default, with or without BOM) or
    /// `windows-1256`.
    pub encoding: Option<String>,
}

/// What one row did (or would do).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportRowOut {
    /// The row number in the file (the header is row 1).
    pub row: usize,
    /// `created`, `updated`, `skipped` or `failed`.
    pub result: String,
    /// The lead created, updated or matched (absent for a failed row, and for a row a dry
    /// run would create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<String>,
    /// A created row matched this open lead and was created anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// Why a row was skipped (`duplicate`, `already_imported`, `unchanged`) or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The per-row report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportOut {
    /// Nothing was written.
    pub dry_run: bool,
    /// The policy applied.
    pub on_duplicate: String,
    /// Rows created (or that would be).
    pub created: usize,
    /// Rows that updated a lead.
    pub updated: usize,
    /// Rows left out.
    pub skipped: usize,
    /// Rows refused, each with its reason.
    pub failed: usize,
    /// Headers of the file that fill no field.
    pub ignored_columns: Vec<String>,
    /// The first 1,000 rows and every failed row, in file order (the counts cover every
    /// row).
    pub rows: Vec<ImportRowOut>,
}

impl ImportOut {
    /// The report as the API shows it.
    pub fn new(report: &ImportReport, on_duplicate: &str, ignored: &[String]) -> Self {
        let rows = report
            .rows
            .iter()
            .map(|r| {
                let mut out = ImportRowOut {
                    row: r.row,
                    result: r.outcome.as_str().to_owned(),
                    lead: None,
                    matched: None,
                    reason: None,
                };
                match &r.outcome {
                    RowOutcome::Created { lead, matched } => {
                        if !report.dry_run {
                            out.lead = Some(lead.to_string());
                        }
                        out.matched = matched.map(|m| m.to_string());
                    }
                    RowOutcome::Updated { lead } => out.lead = Some(lead.to_string()),
                    RowOutcome::Skipped { lead, reason } => {
                        out.lead = lead.map(|l| l.to_string());
                        out.reason = Some(reason.as_str().to_owned());
                    }
                    RowOutcome::Failed { reason } => out.reason = Some(reason.to_string()),
                }
                out
            })
            .collect();
        Self {
            dry_run: report.dry_run,
            on_duplicate: on_duplicate.to_owned(),
            created: report.count("created"),
            updated: report.count("updated"),
            skipped: report.count("skipped"),
            failed: report.count("failed"),
            ignored_columns: ignored.to_vec(),
            rows,
        }
    }
}

/// Imports a lead file sent as the body (`text/csv`, or the XLSX media type) as the caller:
/// each row is created, updated or skipped as `on_duplicate` says (matching the open leads
/// by normalised email, else phone), or refused with its reason while the others go on.
/// With `dry_run=true` nothing is written and the report says what each row would do. The
/// file's content keys its rows: sending the same file again skips the rows it wrote. A
/// file that cannot be read (encoding, delimiter, headers, a broken workbook) is 422 naming
/// the problem; more than 5 MiB is 413.
#[utoipa::path(post, path = "/api/v1/import", tag = "leads", params(ImportQuery),
    request_body(description = "The lead file: a header row (Arabic or English names) then \
        one lead per row", content(
        (String = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    security(("bearer" = [])),
    responses((status = 200, body = ImportOut), ImportRefusals))]
pub async fn import(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ImportQuery>,
    headers: HeaderMap,
    body: RawBody,
) -> ApiResult<Json<ImportOut>> {
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let xlsx = match media.as_str() {
        "text/csv" => false,
        XLSX_TYPE => true,
        other => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send the file as text/csv or {XLSX_TYPE}, not {other:?}"),
            ));
        }
    };
    let policy = import::on_duplicate(q.on_duplicate.as_deref())?;
    let encoding = import::encoding(q.encoding.as_deref())?;
    let bytes = axum::body::to_bytes(body, MAX_FILE_BYTES)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the file is larger than {MAX_FILE_BYTES} bytes; split it"),
            )
        })?;
    let upload = Upload {
        bytes: bytes.to_vec(),
        xlsx,
        encoding,
    };
    let done = import::run(
        &s,
        crate::i18n::Lang::En,
        caller.employee,
        &upload,
        policy,
        q.dry_run.unwrap_or(false),
    )
    .await?;
    Ok(Json(ImportOut::new(
        &done.report,
        policy.as_str(),
        &done.read.columns.ignored,
    )))
}
