//! Reading a lead file for `crm import`: a CSV file checked and hashed in one pass, then
//! streamed batch by batch; an XLSX sheet read whole.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read};
use std::path::Path;

use crm_core::import::{
    Columns, CsvRows, Encoding, FileError, ImportRow, RowOptions, TextCheck, read_row, read_xlsx,
};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::app::{App, Failure, invalid};

/// A failure reading `path`, naming it.
pub(super) fn file_error(path: &std::path::Path, e: impl std::fmt::Display) -> Failure {
    invalid(format!("{}: {e}", path.display()))
}

/// How many bytes the first pass over a CSV file reads at a time.
const CHUNK: usize = 256 << 10;

/// The rows of the file as they are read: a CSV file streamed batch by batch; an XLSX
/// sheet, which calamine reads whole, held whole.
pub(super) enum FileRows {
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
    pub(super) fn position(&self, rows_read: usize) -> u64 {
        match self {
            Self::Csv(rows) => rows.bytes_read(),
            Self::Xlsx(_) => u64::try_from(rows_read).unwrap_or(u64::MAX),
        }
    }
}

/// A file opened for import: its headers and rows, how long it is (bytes of a CSV file,
/// rows of a sheet), and its SHA-256, which keys its rows.
pub(super) struct Opened {
    pub(super) headers: Vec<String>,
    pub(super) rows: FileRows,
    pub(super) len: u64,
    pub(super) sha256: String,
}

/// A progress bar on the terminal (hidden when the output is JSON or not a terminal).
pub(super) fn progress_bar(app: &App, len: u64, template: &str) -> ProgressBar {
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
pub(super) fn open(
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
pub(super) fn next_batch(
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
