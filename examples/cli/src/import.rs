//! `crm import FILE`: reads a CSV or XLSX lead file and imports it as the acting employee
//! through [`crm_core::Crm::import_leads`]: every row created, updated or skipped (a row
//! matching an open lead does what `--on-duplicate` says) or refused with its reason; the
//! refused rows go to `--errors FILE`. `--dry-run` reports what every row would do and
//! writes nothing; without `--as` it only checks that every row reads as a lead. The file's
//! SHA-256 keys its rows, so running it again after an interruption skips the rows done.

use std::path::PathBuf;

use clap::Args;

use crm_cli::output::exit;
use crm_core::import::{Columns, Encoding, ImportRow, Mapping, RowOptions};
use crm_core::{ImportOptions, OnDuplicate, Source};
use serde_json::json;

use crate::app::{App, Failure, Out, usage};
use file::{Opened, file_error, next_batch, open, progress_bar};
use output::{ErrorsFile, Output, cells_of, output_failed};

mod file;
mod output;

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
    let opened = open(app, &a.file, encoding, delimiter)?;
    let columns = Columns::match_headers(&opened.headers, mapping.as_ref())
        .map_err(|e| file_error(&a.file, e))?;
    if app.actor.is_some() || !a.dry_run {
        return write(app, &a, opened, &columns, &opts).await;
    }
    check(app, &a, opened, &columns, &opts)
}

/// `--dry-run` without `--as`: whether every row reads as a lead, row by row.
fn check(app: &App, a: &ImportArgs, opened: Opened, columns: &Columns, opts: &RowOptions) -> Out {
    let Opened { mut rows, len, .. } = opened;
    let bar = progress_bar(app, len, "{bar:40} {msg} {elapsed}");
    let mut out = Output::begin(
        app,
        json!({"dry_run": true, "ignored_columns": columns.ignored}),
        &["row", "result", "lead or reason"],
    )
    .map_err(output_failed)?;
    let (mut valid, mut errors, mut read) = (0usize, 0usize, 0usize);
    loop {
        let batch = next_batch(
            &mut rows,
            a.batch_size.clamp(1, 5000),
            columns,
            opts,
            &mut read,
        )
        .map_err(|e| file_error(&a.file, e))?;
        if batch.is_empty() {
            break;
        }
        let listed = batch.into_iter().map(|(r, _)| match r.outcome {
            Ok(l) => {
                valid += 1;
                let what = [
                    Some(l.lead.name.to_string()),
                    l.lead.phone.as_ref().map(|p| p.key().to_owned()),
                    l.lead.email.as_ref().map(|e| e.to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
                (
                    json!({"row": r.row, "valid": true, "lead": l.lead, "notes": l.notes}),
                    vec![r.row.to_string(), "valid".to_owned(), what],
                )
            }
            Err(e) => {
                errors += 1;
                (
                    json!({"row": r.row, "valid": false, "error": e}),
                    vec![r.row.to_string(), "error".to_owned(), e.to_string()],
                )
            }
        });
        out.rows(&bar, listed).map_err(output_failed)?;
        bar.set_position(rows.position(read));
        bar.set_message(format!("{} rows", valid + errors));
    }
    bar.finish_and_clear();
    let mut s = format!("dry run: {valid} valid, {errors} with errors; nothing was written\n");
    if !columns.ignored.is_empty() {
        s.push_str(&format!(
            "columns left out: {}\n",
            columns.ignored.join(", ")
        ));
    }
    out.end(json!({"valid": valid, "errors": errors}), &s)
        .map_err(output_failed)
}

/// Imports (or, with `--dry-run`, decides) every row as the acting employee, a batch at a
/// time: read, decided and stored, reported, then the next.
async fn write(
    app: &App,
    a: &ImportArgs,
    opened: Opened,
    columns: &Columns,
    row_opts: &RowOptions,
) -> Out {
    let actor = app.actor()?;
    let on_duplicate: OnDuplicate = a
        .on_duplicate
        .parse()
        .map_err(|e: crm_core::importing::UnknownPolicy| usage(e.to_string()))?;
    let Opened {
        headers,
        mut rows,
        len,
        sha256,
    } = opened;
    let opts = ImportOptions {
        on_duplicate,
        dry_run: a.dry_run,
        file_key: Some(sha256),
        batch_size: a.batch_size,
    };
    let mut run = app.crm.start_import(actor, &opts).await?;
    let mut errors = match &a.errors {
        Some(path) => Some(ErrorsFile::create(path, &headers).map_err(|e| file_error(path, e))?),
        None => None,
    };
    let bar = progress_bar(app, len, "{bar:40} {msg} {elapsed}");
    let mut out = Output::begin(
        app,
        json!({
            "dry_run": a.dry_run,
            "on_duplicate": a.on_duplicate,
            "ignored_columns": columns.ignored,
        }),
        &["row", "result", "lead", "detail"],
    )
    .map_err(output_failed)?;
    let mut counts = [
        ("created", 0usize),
        ("updated", 0),
        ("skipped", 0),
        ("failed", 0),
    ];
    let mut read = 0;
    let result = loop {
        let batch = match next_batch(&mut rows, a.batch_size, columns, row_opts, &mut read) {
            Ok(b) if b.is_empty() => break Ok(()),
            Ok(b) => b,
            Err(e) => break Err(file_error(&a.file, e)),
        };
        let (batch, cells): (Vec<ImportRow>, Vec<Vec<String>>) = batch.into_iter().unzip();
        let reports = match run.import(batch).await {
            Ok(r) => r,
            Err(e) => break Err(e.into()),
        };
        for r in &reports {
            if let Some(c) = counts.iter_mut().find(|(k, _)| *k == r.outcome.as_str()) {
                c.1 += 1;
            }
        }
        if let (Some(file), Some(path)) = (&mut errors, &a.errors)
            && let Err(e) = file.write(&reports, &cells)
        {
            break Err(file_error(path, e));
        }
        let listed = reports.iter().map(|r| {
            (
                serde_json::to_value(r).unwrap_or_default(),
                cells_of(r, opts.dry_run),
            )
        });
        out.rows(&bar, listed).map_err(output_failed)?;
        bar.set_position(rows.position(read));
        bar.set_message(format!("{} rows", run.rows_done()));
    };
    bar.finish_and_clear();
    if let (Some(file), Some(path)) = (errors, &a.errors) {
        file.finish().map_err(|e| file_error(path, e))?;
    }
    let mut tail = json!({});
    for (k, n) in counts {
        tail[k] = json!(n);
    }
    if let Some(p) = &a.errors {
        tail["errors_file"] = json!(p.display().to_string());
    }
    if result.is_err() {
        // The rows listed were done; the ones after them were not.
        tail["complete"] = json!(false);
    }
    let [c, u, sk, f] = counts.map(|(_, n)| n);
    let mut s = format!(
        "{}{c} created, {u} updated, {sk} skipped, {f} failed{}\n",
        if a.dry_run { "dry run: " } else { "" },
        if a.dry_run {
            "; nothing was written"
        } else {
            ""
        }
    );
    if !columns.ignored.is_empty() {
        s.push_str(&format!(
            "columns left out: {}\n",
            columns.ignored.join(", ")
        ));
    }
    out.end(tail, &s).map_err(output_failed)?;
    result?;
    if f > 0 && !a.dry_run {
        return Err(Failure {
            code: exit::PARTIAL,
            kind: "partial",
            message: format!(
                "{f} row(s) were refused and not imported{}",
                a.errors
                    .as_ref()
                    .map(|p| format!(" (listed in {})", p.display()))
                    .unwrap_or_default()
            ),
        });
    }
    Ok(())
}
