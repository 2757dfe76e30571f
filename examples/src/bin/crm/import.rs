//! `crm import FILE`: reads a CSV or XLSX lead file and imports it as the acting employee
//! through [`crm_core::Crm::import_leads`]: every row created, updated or skipped (a row
//! matching an open lead does what `--on-duplicate` says) or refused with its reason; the
//! refused rows go to `--errors FILE`. `--dry-run` reports what every row would do and
//! writes nothing; without `--as` it only checks that every row reads as a lead. The file's
//! SHA-256 keys its rows, so running it again after an interruption skips the rows done.

use std::path::PathBuf;

use clap::Args;
use std::io::IsTerminal;

use crm_core::import::{
    Columns, Encoding, ImportRow, Mapping, RowOptions, Sheet, read_csv, read_rows, read_xlsx,
};
use crm_core::{ImportOptions, ImportReport, OnDuplicate, RowOutcome, Source};
use crm_examples::{Table, exit};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{App, Failure, Out, invalid, usage};

/// What `crm import` reads.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// A .csv or .xlsx file of leads.
    file: PathBuf,
    /// Report what every row would do (create, update, skip, or the error) and write nothing.
    /// Without --as, only check that every row reads as a lead.
    #[arg(long)]
    dry_run: bool,
    /// What a row matching an open lead (same normalised email or phone) does: skip it,
    /// update that lead with the row's fields, or create it anyway.
    #[arg(long, default_value = "skip", value_parser = ["skip", "update", "create"])]
    on_duplicate: String,
    /// Write the rows that failed (row number, reason, and the row's cells) to this CSV file.
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// A TOML file mapping the file's headers to fields (`[columns]` then `"Header" = "name"`), for
    /// headers that are not recognised.
    #[arg(long)]
    map: Option<PathBuf>,
    /// The CSV file's encoding: utf-8 (with or without BOM) or windows-1256. A file that is
    /// not valid UTF-8 is refused unless windows-1256 is given.
    #[arg(long, default_value = "utf-8")]
    encoding: String,
    /// The CSV delimiter (, ; tab |), when the file's is ambiguous.
    #[arg(long)]
    delimiter: Option<String>,
    /// The source of rows that have none.
    #[arg(long, default_value = "other")]
    source: String,
}

fn file_error(path: &std::path::Path, e: impl std::fmt::Display) -> Failure {
    invalid(format!("{}: {e}", path.display()))
}

pub(crate) async fn run(app: &App, a: ImportArgs) -> Out {
    let encoding = match a.encoding.trim().to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Encoding::Utf8,
        "windows-1256" | "cp1256" => Encoding::Windows1256,
        other => {
            return Err(usage(format!(
                "--encoding {other:?}: use utf-8 or windows-1256"
            )));
        }
    };
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => return Err(usage(format!("--delimiter {d:?}: one character, or tab"))),
    };
    let opts = RowOptions {
        region: app
            .region
            .ok_or_else(|| usage("a phone region is needed (--region)"))?,
        default_source: Source::parse(&a.source)?,
    };
    let mapping = match &a.map {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| file_error(p, e))?;
            Some(Mapping::parse(&text).map_err(|e| file_error(p, e))?)
        }
        None => None,
    };
    let bytes = std::fs::read(&a.file).map_err(|e| file_error(&a.file, e))?;
    let xlsx = a
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let sheet = if xlsx {
        read_xlsx(&bytes)
    } else {
        read_csv(&bytes, encoding, delimiter)
    }
    .map_err(|e| file_error(&a.file, e))?;
    let columns = Columns::match_headers(&sheet.headers, mapping.as_ref())
        .map_err(|e| file_error(&a.file, e))?;
    let rows = read_rows(&sheet, &columns, &opts);
    if app.actor.is_some() || !a.dry_run {
        let key = hex::encode(Sha256::digest(&bytes));
        return write(app, &a, rows, key, &sheet, &columns).await;
    }
    let valid = rows.iter().filter(|r| r.outcome.is_ok()).count();
    let errors = rows.len() - valid;
    let listed: Vec<_> = rows
        .iter()
        .map(|r| match &r.outcome {
            Ok(l) => json!({"row": r.row, "valid": true, "lead": l.lead, "notes": l.notes}),
            Err(e) => json!({"row": r.row, "valid": false, "error": e}),
        })
        .collect();
    app.print(
        json!({"dry_run": true, "rows": listed, "valid": valid, "errors": errors, "ignored_columns": columns.ignored}),
        || {
            let mut t = Table::new(["row", "result", "lead or reason"]);
            for r in &rows {
                let (result, what) = match &r.outcome {
                    Ok(l) => (
                        "valid",
                        [
                            Some(l.lead.name.to_string()),
                            l.lead.phone.as_ref().map(|p| p.key().to_owned()),
                            l.lead.email.as_ref().map(|e| e.to_string()),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    ),
                    Err(e) => ("error", e.clone()),
                };
                t.row([r.row.to_string(), result.to_owned(), what]);
            }
            let mut s = t.render();
            s.push_str(&format!("dry run: {valid} valid, {errors} with errors; nothing was written\n"));
            if !columns.ignored.is_empty() {
                s.push_str(&format!("columns left out: {}\n", columns.ignored.join(", ")));
            }
            s
        },
    );
    Ok(())
}

/// Imports (or, with `--dry-run`, decides) every row as the acting employee.
async fn write(
    app: &App,
    a: &ImportArgs,
    rows: Vec<ImportRow>,
    file_key: String,
    sheet: &Sheet,
    columns: &Columns,
) -> Out {
    let actor = app.actor()?;
    let on_duplicate: OnDuplicate = a
        .on_duplicate
        .parse()
        .map_err(|e: crm_core::importing::UnknownPolicy| usage(e.to_string()))?;
    let opts = ImportOptions {
        on_duplicate,
        dry_run: a.dry_run,
        file_key: Some(file_key),
        batch_size: a.batch_size,
    };
    let bar = if app.json || !std::io::stdout().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::try_from(rows.len()).unwrap_or(u64::MAX)).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let report = app
        .crm
        .import_leads_with_progress(actor, rows, &opts, &|n| {
            bar.set_position(u64::try_from(n).unwrap_or(u64::MAX));
        })
        .await;
    bar.finish_and_clear();
    let report = report?;
    if let Some(path) = &a.errors {
        write_errors(path, &report, sheet).map_err(|e| file_error(path, e))?;
    }
    print(app, a, &report, columns);
    let failed = report.count("failed");
    if failed > 0 && !a.dry_run {
        return Err(Failure {
            code: exit::PARTIAL,
            kind: "partial",
            message: format!(
                "{failed} row(s) were refused and not imported{}",
                a.errors
                    .as_ref()
                    .map(|p| format!(" (listed in {})", p.display()))
                    .unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// The failed rows as CSV (UTF-8 with a BOM, for Excel): row number, reason, and the row's
/// cells under the file's headers, spreadsheet formulas neutralised.
fn write_errors(
    path: &std::path::Path,
    report: &ImportReport,
    sheet: &Sheet,
) -> Result<(), Box<dyn std::error::Error>> {
    use crm_core::export::csv::guarded;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    std::io::Write::write_all(&mut out, "\u{FEFF}".as_bytes())?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let mut header = vec!["row".to_owned(), "reason".to_owned()];
    header.extend(sheet.headers.iter().map(|h| guarded(h).into_owned()));
    w.write_record(&header)?;
    let cells: std::collections::HashMap<usize, &Vec<String>> =
        sheet.rows.iter().map(|(n, c)| (*n, c)).collect();
    for (row, reason) in report.failures() {
        let mut record = vec![row.to_string(), guarded(reason).into_owned()];
        if let Some(c) = cells.get(&row) {
            record.extend(c.iter().map(|c| guarded(c).into_owned()));
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

fn print(app: &App, a: &ImportArgs, report: &ImportReport, columns: &Columns) {
    let counts = ["created", "updated", "skipped", "failed"].map(|k| (k, report.count(k)));
    let mut v = json!({
        "dry_run": report.dry_run,
        "on_duplicate": a.on_duplicate,
        "rows": report.rows,
        "ignored_columns": columns.ignored,
    });
    for (k, n) in counts {
        v[k] = json!(n);
    }
    if let Some(p) = &a.errors {
        v["errors_file"] = json!(p.display().to_string());
    }
    app.print(v, || {
        let mut t = Table::new(["row", "result", "lead", "detail"]);
        for r in &report.rows {
            let (lead, detail) = match &r.outcome {
                RowOutcome::Created { lead, matched } => (
                    if report.dry_run {
                        String::new()
                    } else {
                        lead.to_string()
                    },
                    matched
                        .map(|m| format!("matches {m}, created anyway"))
                        .unwrap_or_default(),
                ),
                RowOutcome::Updated { lead } => (lead.to_string(), String::new()),
                RowOutcome::Skipped { lead, reason } => {
                    (lead.to_string(), reason.as_str().replace('_', " "))
                }
                RowOutcome::Failed { reason } => (String::new(), reason.clone()),
            };
            let result = if report.dry_run {
                match r.outcome.as_str() {
                    "created" => "would create",
                    "updated" => "would update",
                    "skipped" => "would skip",
                    _ => "error",
                }
            } else {
                r.outcome.as_str()
            };
            t.row([r.row.to_string(), result.to_owned(), lead, detail]);
        }
        let mut s = t.render();
        let [c, u, sk, f] = counts.map(|(_, n)| n);
        s.push_str(&format!(
            "{}{c} created, {u} updated, {sk} skipped, {f} failed{}\n",
            if report.dry_run { "dry run: " } else { "" },
            if report.dry_run {
                "; nothing was written"
            } else {
                ""
            }
        ));
        if !columns.ignored.is_empty() {
            s.push_str(&format!(
                "columns left out: {}\n",
                columns.ignored.join(", ")
            ));
        }
        s
    });
}
