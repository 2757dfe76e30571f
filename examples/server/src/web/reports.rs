//! The report pages (status x source, lost reasons, time in status) and the downloads
//! (CSV, XLSX, PDF) they and the pipeline offer, written by the library's exporters.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use crm_core::export::{self as export, ExportError, ExportOptions, Format};
use serde::Deserialize;

use super::pickers::{Opt, Pickers};
use super::{Ctx, Viewer, WebResult, fail, problem, render, urlencode};
use crate::AppState;
use crate::api::{Fields, ReportParams};
use crate::chart::{self, Bar, Dir};
use crate::i18n;
use crate::input;
use crate::problem::Problem;

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    owner: Option<String>,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
    campaign: Option<String>,
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
    filters: ReportFilters,
    /// Leads by status, and by source, drawn ([`crate::chart`]).
    by_status_chart: String,
    by_source_chart: String,
}

/// The filters every report page shows, as given, with the pickers' choices, and the
/// page's downloads under the same filters.
struct ReportFilters {
    from: String,
    to: String,
    campaign: String,
    sources: Vec<Opt>,
    owners: Vec<Opt>,
    csv_href: String,
    xlsx_href: String,
    pdf_href: String,
}

impl ReportFilters {
    /// The filters of the report page at `path`.
    async fn of(s: &AppState, v: &Viewer, path: &str, q: &ReportQuery) -> Self {
        let pick = Pickers::read(s, v).await;
        let t = v.ctx.t;
        let given = |x: &Option<String>| x.as_deref().unwrap_or_default().trim().to_owned();
        let query = kept_query(&[
            ("owner", &q.owner),
            ("source", &q.source),
            ("from", &q.from),
            ("to", &q.to),
            ("campaign", &q.campaign),
        ]);
        let href = |format: &str| format!("{path}?format={format}{query}");
        Self {
            from: given(&q.from),
            campaign: given(&q.campaign),
            to: given(&q.to),
            sources: pick.sources(t, &given(&q.source), Some(t.anyone)),
            owners: pick.people(&given(&q.owner), Some(t.anyone)),
            csv_href: href("csv"),
            xlsx_href: href("xlsx"),
            pdf_href: href("pdf"),
        }
    }
}

/// The report filter of a page's query.
fn filter_of(c: &Ctx, q: &ReportQuery) -> Result<crm_core::ReportFilter, axum::response::Response> {
    let params = ReportParams {
        owner: q.owner.clone(),
        source: q.source.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        campaign: q.campaign.clone(),
    };
    let mut f = Fields::default();
    let filter = input::report_filter(&mut f, &params);
    f.done(filter).map_err(|p| problem(c, p))
}

/// A count as a bar.
fn count_bar(c: &Ctx, label: String, n: u64) -> Bar {
    Bar {
        label,
        size: n as f64,
        text: c.num(n),
    }
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
    let filter = filter_of(c, &q)?;
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
    let dir = Dir::of(c.dir());
    let by_status: Vec<Bar> = (crm_core::LeadStatus::ALL.iter())
        .map(|st| {
            let n = r.by_status.get(st).copied().unwrap_or(0);
            count_bar(c, c.t.status_label(st.as_str()).to_owned(), n)
        })
        .collect();
    let by_source: Vec<Bar> = (r.by_source.iter())
        .map(|(src, n)| count_bar(c, c.t.source_label(src.as_str()), *n))
        .collect();
    let by_status_chart = chart::bars("chart-status", c.t.chart_by_status, &by_status, dir);
    let by_source_chart = chart::bars("chart-source", c.t.chart_by_source, &by_source, dir);
    let filters = ReportFilters::of(&s, &v, "/report", &q).await;
    Ok(render(&ReportPage {
        statuses,
        rows,
        totals,
        total: r.total,
        filters,
        by_status_chart,
        by_source_chart,
        c: v.ctx,
    }))
}

#[derive(Template)]
#[template(path = "reports/lost_reasons.html")]
struct LostReasonsPage {
    c: Ctx,
    filters: ReportFilters,
    /// Code, count and share of all lost leads (whole percent).
    rows: Vec<(String, u64, u64)>,
    total: u64,
    chart: String,
}

/// Lost leads by reason: the most frequent first, with each reason's share; or its
/// download (CSV, XLSX, PDF).
pub async fn lost_reasons(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let c = &v.ctx;
    let filter = filter_of(c, &q)?;
    if let Some(format) = q.format.as_deref() {
        return download(c, "lost-reasons", format, |format, opts| async move {
            let mut body = Vec::new();
            export::write_lost_reasons(&s.crm, v.employee, &filter, format, &opts, &mut body)
                .await?;
            Ok(body)
        })
        .await;
    }
    let r = (s.crm.lost_reason_report(v.employee, &filter).await).map_err(fail(c))?;
    let rows: Vec<(String, u64, u64)> = (r.rows.iter())
        .map(|row| (row.code.to_string(), row.count, r.share_percent(row.count)))
        .collect();
    let bars: Vec<Bar> = (rows.iter())
        .map(|(code, n, pct)| Bar {
            label: c.t.reason_label(code),
            size: *n as f64,
            text: c.num(format!("{n} ({pct}%)")),
        })
        .collect();
    let chart = chart::bars("chart-lost", c.t.lost_reasons, &bars, Dir::of(c.dir()));
    let filters = ReportFilters::of(&s, &v, "/report/lost-reasons", &q).await;
    Ok(render(&LostReasonsPage {
        filters,
        rows,
        total: r.total,
        chart,
        c: v.ctx,
    }))
}

#[derive(Template)]
#[template(path = "reports/time_in_status.html")]
struct TimeInStatusPage {
    c: Ctx,
    filters: ReportFilters,
    /// Per status over everything counted: label, leads, average in words.
    overall: Vec<(String, u64, String)>,
    /// Per owner, source and status: owner, source, status label, leads, average in words.
    rows: Vec<(String, String, String, u64, String)>,
    chart: String,
}

/// The average time leads spend in each status, overall and per owner and source (stays
/// not yet ended count until now); or its download (CSV, XLSX, PDF).
pub async fn time_in_status(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let c = &v.ctx;
    let filter = filter_of(c, &q)?;
    if let Some(format) = q.format.as_deref() {
        return download(c, "time-in-status", format, |format, opts| async move {
            let mut body = Vec::new();
            export::write_time_in_status(&s.crm, v.employee, &filter, format, &opts, &mut body)
                .await?;
            Ok(body)
        })
        .await;
    }
    let r = (s.crm.time_in_status_report(v.employee, &filter).await).map_err(fail(c))?;
    let names = super::names(&s, &v).await;
    let said = |micros: i64| {
        c.num(i18n::duration(
            c.lang,
            chrono::TimeDelta::microseconds(micros),
        ))
    };
    let overall: Vec<(String, u64, String)> = (r.overall.iter())
        .map(|(st, n, micros)| (c.t.status_label(st.as_str()).to_owned(), *n, said(*micros)))
        .collect();
    let bars: Vec<Bar> = (r.overall.iter().zip(&overall))
        .map(|((_, _, micros), (label, _, text))| Bar {
            label: label.clone(),
            size: *micros as f64,
            text: text.clone(),
        })
        .collect();
    let chart = chart::bars("chart-time", c.t.time_in_status, &bars, Dir::of(c.dir()));
    let rows = (r.rows.iter())
        .map(|a| {
            (
                super::who(&names, a.owner.get()),
                c.t.source_label(a.source.as_str()),
                c.t.status_label(a.status.as_str()).to_owned(),
                a.leads,
                said(a.average_micros),
            )
        })
        .collect();
    let filters = ReportFilters::of(&s, &v, "/report/time-in-status", &q).await;
    Ok(render(&TimeInStatusPage {
        filters,
        overall,
        rows,
        chart,
        c: v.ctx,
    }))
}
