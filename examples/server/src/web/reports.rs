//! The status x source report and the downloads (CSV, XLSX, PDF) it and the pipeline
//! offer, written by the library's exporters.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use crm_core::export::{self as export, ExportError, ExportOptions, Format};
use serde::Deserialize;

use super::{Ctx, Viewer, WebResult, fail, problem, render, urlencode};
use crate::AppState;
use crate::api::{Fields, ReportParams};
use crate::i18n;
use crate::input;
use crate::problem::Problem;

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    owner: Option<String>,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "reports/report.html")]
struct ReportPage {
    c: Ctx,
    statuses: &'static [&'static str],
    rows: Vec<(String, Vec<u64>, u64)>,
    totals: Vec<u64>,
    total: u64,
    from: String,
    to: String,
    source: String,
    csv_href: String,
    xlsx_href: String,
    pdf_href: String,
}

/// How the library's exporters write for this viewer: the page's language, and the
/// viewer's time zone (each date at the offset in force on it).
pub(super) fn export_options(c: &Ctx) -> ExportOptions {
    ExportOptions {
        locale: c.lang.locale(),
        zone: c.tz,
        bom: true,
    }
}

/// A download named `name` in `format` (`csv`, `xlsx` or `pdf`; anything else is a 404),
/// its bytes written by `write`, one of the library's exporters, with [`export_options`].
pub(super) async fn download<F, Fut>(c: &Ctx, name: &str, format: &str, write: F) -> WebResult
where
    F: FnOnce(Format, ExportOptions) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, ExportError>>,
{
    let format: Format = format
        .parse()
        .map_err(|_| problem(c, Problem::not_found(c.t.not_found)))?;
    let body = write(format, export_options(c))
        .await
        .map_err(|e| match e {
            ExportError::Crm(e) => fail(c)(e),
            other => problem(
                c,
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "export",
                    other.to_string(),
                ),
            ),
        })?;
    let mime = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Pdf => "application/pdf",
    };
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.as_str());
    Ok((
        [
            (CONTENT_TYPE, mime.to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The non-empty filters of a page as query pairs (`&k=v...`), for its download links.
pub(super) fn kept_query(pairs: &[(&str, &Option<String>)]) -> String {
    let mut query = String::new();
    for (k, val) in pairs {
        if let Some(x) = val.as_deref().filter(|x| !x.is_empty()) {
            query.push_str(&format!("&{k}={}", urlencode(x)));
        }
    }
    query
}

/// The status x source report, as a table or a download (CSV, XLSX, PDF).
pub async fn report(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let c = &v.ctx;
    let params = ReportParams {
        owner: q.owner.clone(),
        source: q.source.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
    };
    let mut f = Fields::default();
    let filter = input::report_filter(&mut f, &params);
    let filter = f.done(filter).map_err(|p| problem(c, p))?;
    if let Some(format) = q.format.as_deref() {
        return download(c, "report", format, |format, opts| async move {
            let mut body = Vec::new();
            export::write_report(&s.crm, v.employee, &filter, format, &opts, &mut body).await?;
            Ok(body)
        })
        .await;
    }
    let r = s.crm.report(v.employee, &filter).await.map_err(fail(c))?;
    let statuses = i18n::STATUSES;
    let rows = r
        .by_source
        .iter()
        .map(|(src, total)| {
            let counts = crm_core::LeadStatus::ALL
                .iter()
                .map(|st| r.count(*st, src))
                .collect();
            (src.to_string(), counts, *total)
        })
        .collect();
    let totals = crm_core::LeadStatus::ALL
        .iter()
        .map(|st| r.by_status.get(st).copied().unwrap_or(0))
        .collect();
    let query = kept_query(&[
        ("owner", &q.owner),
        ("source", &q.source),
        ("from", &q.from),
        ("to", &q.to),
    ]);
    let href = |format: &str| format!("/report?format={format}{query}");
    Ok(render(&ReportPage {
        statuses,
        rows,
        totals,
        total: r.total,
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        source: q.source.unwrap_or_default(),
        csv_href: href("csv"),
        xlsx_href: href("xlsx"),
        pdf_href: href("pdf"),
        c: v.ctx,
    }))
}
