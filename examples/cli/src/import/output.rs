//! What `crm import` writes as it goes: its output (a table, or one JSON object whose rows
//! are written batch by batch) and the CSV file of the rows that failed.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crm_cli::output::{Table, exit};
use crm_core::{RowOutcome, RowReport};
use indicatif::ProgressBar;

use crate::app::{App, Failure};

/// The command's output written as the rows are done, so a file of a million rows is never
/// held: with `--json` one object whose `rows` array is written row by row (its counts
/// follow it); otherwise a table, its header once, then the summary.
pub(super) struct Output {
    json: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    header: &'static [&'static str],
    rows: usize,
}

impl Output {
    /// Starts the output: `head`'s fields, then the rows.
    pub(super) fn begin(
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
    pub(super) fn rows(
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
    pub(super) fn end(mut self, tail: serde_json::Value, human: &str) -> std::io::Result<()> {
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

/// A failure writing the command's output.
pub(super) fn output_failed(e: std::io::Error) -> Failure {
    Failure {
        code: exit::STORAGE,
        kind: "storage",
        message: format!("writing the output: {e}"),
    }
}

/// A row's cells in the human table.
pub(super) fn cells_of(r: &RowReport, dry_run: bool) -> Vec<String> {
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
        RowOutcome::Failed { reason } => (String::new(), reason.to_string()),
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
pub(super) struct ErrorsFile(csv::Writer<std::io::BufWriter<File>>);

impl ErrorsFile {
    pub(super) fn create(
        path: &Path,
        headers: &[String],
    ) -> Result<Self, Box<dyn std::error::Error>> {
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
    pub(super) fn write(
        &mut self,
        reports: &[RowReport],
        cells: &[Vec<String>],
    ) -> Result<(), Box<dyn std::error::Error>> {
        use crm_core::export::csv::guarded;
        for (r, c) in reports.iter().zip(cells) {
            if let RowOutcome::Failed { reason } = &r.outcome {
                let mut record = vec![r.row.to_string(), guarded(&reason.to_string()).into_owned()];
                record.extend(c.iter().map(|c| guarded(c).into_owned()));
                self.0.write_record(&record)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.0.flush()?;
        Ok(())
    }
}
