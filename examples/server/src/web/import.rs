//! The import page: a plain multipart form (CSV or XLSX, what a row matching an open lead
//! does, the CSRF token; no JavaScript needed) whose upload is first decided row by row and
//! nothing written (the preview), kept server-side under a random key for the signed-in
//! employee only; the confirm button imports that same file and shows the result, the
//! failed rows downloadable as CSV. The library decides who may import and every row.

use super::Form;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use crm_core::{ImportReport, OnDuplicate, RowOutcome};
use serde::Deserialize;

use super::kept::Kept as SentBack;
use super::{Ctx, Viewer, error_page, render};
use crate::AppState;
use crate::i18n::Lang;
use crate::import::{self, Kept, MAX_FILE_BYTES, Upload};
use crate::problem::Problem;
use crate::say;

type WebResult = Result<Response, Response>;

/// One row of the report as the page shows it.
pub struct RowView {
    row: usize,
    /// created, updated, skipped, failed.
    result: &'static str,
    /// The lead it wrote or matched, to link to.
    lead: String,
    /// Why, or what it matched.
    detail: String,
}

/// The counts and rows of a report.
pub struct ReportView {
    dry_run: bool,
    created: usize,
    updated: usize,
    skipped: usize,
    failed: usize,
    ignored: String,
    rows: Vec<RowView>,
}

impl ReportView {
    fn new(lang: Lang, report: &ImportReport, ignored: &[String]) -> Self {
        let rows = report
            .rows
            .iter()
            .map(|r| {
                let (lead, detail) = match &r.outcome {
                    RowOutcome::Created { lead, matched } => (
                        if report.dry_run {
                            String::new()
                        } else {
                            lead.to_string()
                        },
                        matched.map(|m| m.to_string()).unwrap_or_default(),
                    ),
                    RowOutcome::Updated { lead } => (lead.to_string(), String::new()),
                    RowOutcome::Skipped { lead, reason } => (
                        lead.map(|l| l.to_string()).unwrap_or_default(),
                        lang.strings().skip_label(*reason).to_owned(),
                    ),
                    RowOutcome::Failed { reason } => (String::new(), say::row_error(lang, reason)),
                };
                RowView {
                    row: r.row,
                    result: r.outcome.as_str(),
                    lead,
                    detail,
                }
            })
            .collect();
        Self {
            dry_run: report.dry_run,
            created: report.count("created"),
            updated: report.count("updated"),
            skipped: report.count("skipped"),
            failed: report.count("failed"),
            ignored: ignored.join(", "),
            rows,
        }
    }
}

#[derive(Template)]
#[template(path = "import/page.html")]
struct ImportPage {
    c: Ctx,
    /// The preview: the report of the dry run and the key of the kept upload.
    preview: Option<(ReportView, String)>,
    /// The result: the report and the key of the failed rows' CSV, if any failed.
    result: Option<(ReportView, Option<String>)>,
    on_duplicate: &'static str,
    max_mib: usize,
    /// The upload form sent back (its choices as made, what is wrong with the file); a
    /// browser never fills a file input again, so the file is chosen anew.
    kept: SentBack,
}

fn page(c: Ctx) -> ImportPage {
    ImportPage {
        c,
        preview: None,
        result: None,
        on_duplicate: OnDuplicate::Skip.as_str(),
        max_mib: MAX_FILE_BYTES / (1024 * 1024),
        kept: SentBack::default(),
    }
}

/// The upload form again (422) with its choices and why the file was refused; a refusal
/// that is not about the input (a stale form, a failure) is its error page.
fn sent_back(v: Viewer, kept: SentBack, p: Problem) -> WebResult {
    let lang = v.ctx.lang;
    if p.status != StatusCode::UNPROCESSABLE_ENTITY.as_u16() {
        return Err(error_page(lang, p));
    }
    let mut page = page(v.ctx);
    page.on_duplicate = (kept.typed.get("on_duplicate"))
        .and_then(|t| t.parse::<OnDuplicate>().ok())
        .unwrap_or_default()
        .as_str();
    page.kept = kept.invalid(lang, p);
    Ok((page.kept.status(), render(&page)).into_response())
}

/// The upload form.
pub async fn form(v: Viewer) -> WebResult {
    Ok(render(&page(v.ctx)))
}

/// Reads the multipart form: CSRF token, policy, encoding, file; the choices as sent go
/// in `kept`.
async fn read_form(
    v: &Viewer,
    mut m: Multipart,
    kept: &mut SentBack,
) -> Result<(Upload, OnDuplicate), Problem> {
    let bad = |detail: String| {
        Problem::invalid(vec![crate::problem::FieldError {
            field: "file".into(),
            detail,
            cause: None,
        }])
    };
    // The form's body could not be read: most often a file over the limit.
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        bad(match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => format!(
                "the file is larger than {} MiB; split it",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            _ => "the form could not be read; send it again".to_owned(),
        })
    };
    let mut csrf = String::new();
    let mut policy = None;
    let mut encoding = None;
    let mut bytes = None;
    while let Some(field) = m.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => bytes = Some(field.bytes().await.map_err(unreadable)?),
            other => {
                let text = field.text().await.map_err(unreadable)?;
                match other {
                    "csrf" => csrf = text,
                    "on_duplicate" => policy = Some(text),
                    "encoding" => encoding = Some(text),
                    _ => {}
                }
            }
        }
    }
    if !crate::auth::same_secret(&csrf, &v.ctx.csrf) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "the form is stale or came from another site; reload the page and retry",
        ));
    }
    kept.typed.extend([
        ("on_duplicate", policy.clone().unwrap_or_default()),
        ("encoding", encoding.clone().unwrap_or_default()),
    ]);
    let policy = import::on_duplicate(policy.as_deref())?;
    let encoding = import::encoding(encoding.as_deref())?;
    let bytes = bytes.ok_or_else(|| bad("no file was sent".into()))?;
    Ok((Upload::sniffed(bytes.to_vec(), encoding), policy))
}

/// The preview: every row decided, nothing written; the upload kept for the confirmation.
pub async fn preview(State(s): State<AppState>, v: Viewer, m: Multipart) -> WebResult {
    let lang = v.ctx.lang;
    let mut kept = SentBack::new("import", []);
    let (upload, policy) = match read_form(&v, m, &mut kept).await {
        Ok(sent) => sent,
        Err(p) => return sent_back(v, kept, p),
    };
    let done = match import::run(&s, lang, v.employee, &upload, policy, true).await {
        Ok(done) => done,
        Err(p) => return sent_back(v, kept, p),
    };
    let report = ReportView::new(lang, &done.report, &done.read.columns.ignored);
    let key = import::keep(v.employee, Kept::Upload(upload, policy));
    let mut p = page(v.ctx);
    p.on_duplicate = policy.as_str();
    p.preview = Some((report, key));
    Ok(render(&p))
}

/// The confirmation form.
#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    key: String,
}

/// Imports the previewed upload; shows the result.
pub async fn confirm(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<ConfirmForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let lang = v.ctx.lang;
    let Some(Kept::Upload(upload, policy)) = import::kept_for(v.employee, &form.key, true) else {
        return Err(error_page(
            lang,
            Problem::not_found("the upload is no longer kept (or is not yours): upload it again"),
        ));
    };
    let done = import::run(&s, lang, v.employee, &upload, policy, false)
        .await
        .map_err(|p| error_page(lang, p))?;
    let errors = if done.report.count("failed") > 0 {
        let csv = import::errors_csv(lang, &done.report, &done.read.sheet)
            .map_err(|p| error_page(lang, p))?;
        Some(import::keep(v.employee, Kept::Errors(csv)))
    } else {
        None
    };
    let report = ReportView::new(lang, &done.report, &done.read.columns.ignored);
    let mut p = page(v.ctx);
    p.on_duplicate = policy.as_str();
    p.result = Some((report, errors));
    Ok(render(&p))
}

/// The failed rows of an import as CSV.
pub async fn errors(v: Viewer, Path(key): Path<String>) -> WebResult {
    match import::kept_for(v.employee, &key, false) {
        Some(Kept::Errors(csv)) => Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"import-errors.csv\"",
                ),
            ],
            csv,
        )
            .into_response()),
        _ => Err(error_page(
            v.ctx.lang,
            Problem::not_found("these failed rows are no longer kept"),
        )),
    }
}
