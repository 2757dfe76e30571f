//! `crm import FILE --dry-run`: reads a CSV or XLSX lead file and reports what each row would
//! be (a valid lead, or an error with its row number and reason), writing nothing.

use std::path::PathBuf;

use clap::Args;
use crm_core::Source;
use crm_core::import::{Columns, Encoding, Mapping, RowOptions, read_csv, read_rows, read_xlsx};
use crm_examples::Table;
use serde_json::json;

use super::{App, Failure, Out, invalid, usage};

/// What `crm import` reads.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// A .csv or .xlsx file of leads.
    file: PathBuf,
    /// Report what every row would do and write nothing. (Required: writing imports is not
    /// part of this version.)
    #[arg(long, required = true)]
    dry_run: bool,
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
