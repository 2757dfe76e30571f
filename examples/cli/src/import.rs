//! `crm import FILE`: reads a CSV or XLSX lead file and imports it as the acting employee
//! through [`crm_core::Crm::import_leads`]: every row created, updated or skipped (a row
//! matching an open lead does what `--on-duplicate` says) or refused with its reason; the
//! refused rows go to `--errors FILE`. `--dry-run` reports what every row would do and
//! writes nothing; without `--as` it only checks that every row reads as a lead. The file's
//! SHA-256 keys its rows, so running it again after an interruption skips the rows done.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use crm_cli::output::{Table, exit};
use crm_core::import::{
    Columns, CsvRows, Encoding, FileError, ImportRow, Mapping, RowOptions, TextCheck, read_row,
    read_xlsx,
};
use crm_core::{ImportOptions, OnDuplicate, RowOutcome, RowReport, Source};
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

/// How many bytes the first pass over a CSV file reads at a time.
const CHUNK: usize = 256 << 10;

/// The rows of the file as they are read: a CSV file streamed batch by batch; an XLSX
/// sheet, which calamine reads whole, held whole.
enum FileRows {
    /// Boxed: the reader's state is ten times the sheet iterator's.
    Csv(Box<CsvRows<BufReader<File>>>),
    Xlsx(std::vec::IntoIter<(usize, Vec<String>)>),
}

impl FileRows {
    /// The next record: its row number and cells.
    fn next(&mut self) -> Option<Result<(usize, Vec<String>), FileError>> {
        match self {
            Self::Csv(rows) => rows.next(),
            Self::Xlsx(rows) => rows.next().map(Ok),
        }
    }

    /// How far the reading is: bytes of a CSV file, rows of a sheet.
    fn position(&self, rows_read: usize) -> u64 {
        match self {
            Self::Csv(rows) => rows.bytes_read(),
            Self::Xlsx(_) => u64::try_from(rows_read).unwrap_or(u64::MAX),
        }
    }
}

/// A file opened for import: its headers and rows, how long it is (bytes of a CSV file,
/// rows of a sheet), and its SHA-256, which keys its rows.
struct Opened {
    headers: Vec<String>,
    rows: FileRows,
    len: u64,
    sha256: String,
}

/// A progress bar on the terminal (hidden when the output is JSON or not a terminal).
fn progress_bar(app: &App, len: u64, template: &str) -> ProgressBar {
    if app.json || !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// Opens `path`: a CSV file is read once through (its encoding checked by the rule of
/// [`crm_core::import`], its SHA-256 computed, a progress bar showing it) and then opened
/// again to be read row by row; an XLSX workbook is read whole.
fn open(
    app: &App,
    path: &Path,
    encoding: Encoding,
    delimiter: Option<u8>,
) -> Result<Opened, Failure> {
    let failed = |e: &dyn std::fmt::Display| file_error(path, e);
    let xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        let bytes = std::fs::read(path).map_err(|e| failed(&e))?;
        let sheet = read_xlsx(&bytes).map_err(|e| failed(&e))?;
        return Ok(Opened {
            headers: sheet.headers,
            len: u64::try_from(sheet.rows.len()).unwrap_or(u64::MAX),
            rows: FileRows::Xlsx(sheet.rows.into_iter()),
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    let mut file = File::open(path).map_err(|e| failed(&e))?;
    let len = file.metadata().map_err(|e| failed(&e))?.len();
    let bar = progress_bar(
        app,
        len,
        "checking {bar:40} {bytes}/{total_bytes} {elapsed}",
    );
    let mut check = TextCheck::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| failed(&e))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        check.feed(chunk);
        sha.update(chunk);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    check.finish(encoding).map_err(|e| failed(&e))?;
    let file = File::open(path).map_err(|e| failed(&e))?;
    let rows = CsvRows::new(BufReader::new(file), encoding, delimiter).map_err(|e| failed(&e))?;
    Ok(Opened {
        headers: rows.headers().to_vec(),
        rows: FileRows::Csv(Box::new(rows)),
        len,
        sha256: hex::encode(sha.finalize()),
    })
}

/// The next batch of up to `n` non-blank rows, each read as a lead or a row error, with
/// its cells (for the errors file).
fn next_batch(
    rows: &mut FileRows,
    n: usize,
    columns: &Columns,
    opts: &RowOptions,
    read: &mut usize,
) -> Result<Vec<(ImportRow, Vec<String>)>, FileError> {
    let mut batch = Vec::with_capacity(n.min(5000));
    while batch.len() < n {
        let Some(record) = rows.next() else {
            break;
        };
        let (row, cells) = record?;
        *read += 1;
        if let Some(r) = read_row(row, &cells, columns, opts) {
            batch.push((r, cells));
        }
    }
    Ok(batch)
}

/// The command's output written as the rows are done, so a file of a million rows is never
/// held: with `--json` one object whose `rows` array is written row by row (its counts
/// follow it); otherwise a table, its header once, then the summary.
struct Output {
    json: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    header: &'static [&'static str],
    rows: usize,
}

impl Output {
    /// Starts the output: `head`'s fields, then the rows.
    fn begin(
        app: &App,
        head: serde_json::Value,
        header: &'static [&'static str],
    ) -> std::io::Result<Self> {
        let mut o = Self {
            json: app.json,
            out: std::io::BufWriter::new(std::io::stdout()),
            header,
            rows: 0,
        };
        if o.json {
            let head = head.to_string();
            let fields = head.strip_suffix('}').unwrap_or(&head);
            let sep = if fields.len() > 1 { "," } else { "" };
            write!(o.out, "{fields}{sep}\"rows\":[")?;
        }
        Ok(o)
    }

    /// Writes rows: each as JSON, or as table cells.
    fn rows(
        &mut self,
        bar: &ProgressBar,
        rows: impl IntoIterator<Item = (serde_json::Value, Vec<String>)>,
    ) -> std::io::Result<()> {
        bar.suspend(|| {
            let mut t = Table::new(self.header.iter().copied());
            let mut any = false;
            for (value, cells) in rows {
                if self.json {
                    if self.rows > 0 {
                        self.out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut self.out, &value)?;
                } else {
                    t.row(cells);
                }
                any = true;
                self.rows += 1;
            }
            if !self.json && any {
                let text = t.render();
                // The header once, above the first batch.
                let text = if self.rows > table_rows(&text) {
                    text.split_once('\n').map_or("", |(_, rest)| rest)
                } else {
                    &text
                };
                self.out.write_all(text.as_bytes())?;
            }
            self.out.flush()
        })
    }

    /// Ends the output: `tail`'s fields after the rows, or the summary text.
    fn end(mut self, tail: serde_json::Value, human: &str) -> std::io::Result<()> {
        if self.json {
            let tail = tail.to_string();
            let fields = tail.strip_prefix('{').unwrap_or(&tail);
            let sep = if fields.len() > 1 { "," } else { "" };
            writeln!(self.out, "]{sep}{fields}")?;
        } else {
            self.out.write_all(human.as_bytes())?;
        }
        self.out.flush()
    }
}

/// How many rows a rendered table holds besides its header.
fn table_rows(text: &str) -> usize {
    text.lines().count().saturating_sub(1)
}

fn output_failed(e: std::io::Error) -> Failure {
    Failure {
        code: exit::STORAGE,
        kind: "storage",
        message: format!("writing the output: {e}"),
    }
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
                    vec![r.row.to_string(), "error".to_owned(), e],
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

/// A row's cells in the human table.
fn cells_of(r: &RowReport, dry_run: bool) -> Vec<String> {
    let (lead, detail) = match &r.outcome {
        RowOutcome::Created { lead, matched } => (
            if dry_run {
                String::new()
            } else {
                lead.to_string()
            },
            matched
                .map(|m| format!("matches {m}, created anyway"))
                .unwrap_or_default(),
        ),
        RowOutcome::Updated { lead } => (lead.to_string(), String::new()),
        RowOutcome::Skipped { lead, reason } => (
            lead.map(|l| l.to_string()).unwrap_or_default(),
            reason.as_str().replace('_', " "),
        ),
        RowOutcome::Failed { reason } => (String::new(), reason.clone()),
    };
    let result = if dry_run {
        match r.outcome.as_str() {
            "created" => "would create",
            "updated" => "would update",
            "skipped" => "would skip",
            _ => "error",
        }
    } else {
        r.outcome.as_str()
    };
    vec![r.row.to_string(), result.to_owned(), lead, detail]
}

/// The failed rows as CSV (UTF-8 with a BOM, for Excel), written batch by batch: row
/// number, reason, and the row's cells under the file's headers, spreadsheet formulas
/// neutralised.
struct ErrorsFile(csv::Writer<std::io::BufWriter<File>>);

impl ErrorsFile {
    fn create(path: &Path, headers: &[String]) -> Result<Self, Box<dyn std::error::Error>> {
        use crm_core::export::csv::guarded;
        let mut out = std::io::BufWriter::new(File::create(path)?);
        out.write_all("\u{FEFF}".as_bytes())?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let mut header = vec!["row".to_owned(), "reason".to_owned()];
        header.extend(headers.iter().map(|h| guarded(h).into_owned()));
        w.write_record(&header)?;
        Ok(Self(w))
    }

    /// The failed rows of a batch; `cells` are the batch's rows' cells, in its order.
    fn write(
        &mut self,
        reports: &[RowReport],
        cells: &[Vec<String>],
    ) -> Result<(), Box<dyn std::error::Error>> {
        use crm_core::export::csv::guarded;
        for (r, c) in reports.iter().zip(cells) {
            if let RowOutcome::Failed { reason } = &r.outcome {
                let mut record = vec![r.row.to_string(), guarded(reason).into_owned()];
                record.extend(c.iter().map(|c| guarded(c).into_owned()));
                self.0.write_record(&record)?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.0.flush()?;
        Ok(())
    }
}
