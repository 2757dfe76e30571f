//! What the import page and `POST /api/v1/import` share: reading an uploaded lead file
//! (CSV or XLSX) and importing its rows as the caller a batch at a time through
//! [`crm_core::Crm::start_import`] (the library decides permissions, matching and every
//! row), with a report of bounded size, the failed rows as CSV, and the uploads the page
//! keeps between its preview and the confirmed import.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use crm_core::import::{
    Columns, CsvRows, Encoding, FileError, RowOptions, Sheet, TextCheck, read_row, read_xlsx,
};
use crm_core::{EmployeeId, ImportOptions, ImportReport, OnDuplicate, RowOutcome, Source};
use sha2::{Digest, Sha256};

use super::AppState;
use super::i18n::Lang;
use super::problem::{FieldError, Problem};

/// The largest file accepted (bytes): some 50,000 rows of CSV.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// The XLSX media type.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file as uploaded.
#[derive(Clone)]
pub struct Upload {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether it is an XLSX workbook (else CSV).
    pub xlsx: bool,
    /// A CSV file's encoding.
    pub encoding: Encoding,
}

impl Upload {
    /// An upload whose kind is read from its bytes: an XLSX workbook is a ZIP archive.
    pub fn sniffed(bytes: Vec<u8>, encoding: Encoding) -> Self {
        let xlsx = bytes.starts_with(b"PK\x03\x04");
        Self {
            bytes,
            xlsx,
            encoding,
        }
    }
}

/// `utf-8` or `windows-1256`.
pub fn encoding(name: Option<&str>) -> Result<Encoding, Problem> {
    match name.map(|n| n.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "utf-8" | "utf8") => Ok(Encoding::Utf8),
        Some("windows-1256" | "cp1256") => Ok(Encoding::Windows1256),
        Some(other) => Err(file_problem(
            "encoding",
            format!("{other:?} is not utf-8 or windows-1256"),
        )),
    }
}

/// `skip`, `update` or `create`.
pub fn on_duplicate(name: Option<&str>) -> Result<OnDuplicate, Problem> {
    match name {
        None => Ok(OnDuplicate::Skip),
        Some(n) => n.parse().map_err(|e: crm_core::importing::UnknownPolicy| {
            file_problem("on_duplicate", e.to_string())
        }),
    }
}

fn file_problem(field: &str, detail: String) -> Problem {
    Problem::invalid(vec![FieldError {
        field: field.to_owned(),
        detail,
        cause: None,
    }])
}

/// A file read: its header, the cells of its failed rows, and which column is which field.
pub struct Read {
    /// The header and the cells of the rows that failed (for [`errors_csv`]); the other
    /// rows' cells are not kept.
    pub sheet: Sheet,
    /// The columns matched.
    pub columns: Columns,
}

/// What an import did, with the file it read.
pub struct Done {
    /// The first [`LISTED_AT_MOST`] rows and every failed row; the counts cover every row.
    pub report: ImportReport,
    /// The file.
    pub read: Read,
}

/// How many rows a report lists besides its failed ones: a preview of a 50,000-row file
/// keeps (and shows) these and the counts, not every row.
pub const LISTED_AT_MOST: usize = 1000;

/// Rows decided and stored at a time.
const BATCH: usize = 1000;

/// The file's records, as read: a CSV upload a record at a time, an XLSX sheet whole
/// (calamine reads it so).
type Records<'a> = Box<dyn Iterator<Item = Result<(usize, Vec<String>), FileError>> + Send + 'a>;

/// Reads `upload` and imports it (or with `dry_run` decides every row) as `actor`, a batch
/// at a time, keeping a bounded report ([`LISTED_AT_MOST`]). A file that cannot be read is
/// a 422 naming the problem in `lang`, nothing written. The file's SHA-256 keys its rows, so
/// importing the same file again skips the rows already written.
pub async fn run(
    s: &AppState,
    lang: Lang,
    actor: EmployeeId,
    upload: &Upload,
    policy: OnDuplicate,
    dry_run: bool,
) -> Result<Done, Problem> {
    if upload.bytes.is_empty() {
        return Err(file_problem("file", "no file was sent".into()));
    }
    let unreadable = |e: FileError| file_problem("file", crate::say::file_error(lang, &e));
    let (headers, mut records): (Vec<String>, Records<'_>) = if upload.xlsx {
        let sheet = read_xlsx(&upload.bytes).map_err(unreadable)?;
        (sheet.headers, Box::new(sheet.rows.into_iter().map(Ok)))
    } else {
        let mut check = TextCheck::new();
        check.feed(&upload.bytes);
        check.finish(upload.encoding).map_err(unreadable)?;
        let rows =
            CsvRows::new(upload.bytes.as_slice(), upload.encoding, None).map_err(unreadable)?;
        (rows.headers().to_vec(), Box::new(rows))
    };
    let columns = Columns::match_headers(&headers, None).map_err(unreadable)?;
    let row_opts = RowOptions {
        region: s.config.region,
        // A file without a source column records the host's first source (`other`
        // unless the host lists its own).
        default_source: (s.crm.sources().listed().first())
            .cloned()
            .unwrap_or_else(Source::other),
    };
    let opts = ImportOptions {
        on_duplicate: policy,
        dry_run,
        file_key: Some(hex::encode(Sha256::digest(&upload.bytes))),
        batch_size: BATCH,
    };
    let mut run = s.crm.start_import(actor, &opts).await?;
    let mut report = ImportReport {
        dry_run,
        ..ImportReport::default()
    };
    let mut failed = Sheet {
        headers,
        rows: Vec::new(),
    };
    loop {
        let mut rows = Vec::with_capacity(BATCH);
        let mut cells = Vec::with_capacity(BATCH);
        for record in records.by_ref() {
            let (n, c) = record.map_err(unreadable)?;
            if let Some(r) = read_row(n, &c, &columns, &row_opts) {
                rows.push(r);
                cells.push(c);
            }
            if rows.len() == BATCH {
                break;
            }
        }
        if rows.is_empty() {
            break;
        }
        for (r, c) in run.import(rows).await?.into_iter().zip(cells) {
            if matches!(r.outcome, RowOutcome::Failed { .. }) {
                failed.rows.push((r.row, c));
            }
            report.push_bounded(r, LISTED_AT_MOST);
        }
    }
    Ok(Done {
        report,
        read: Read {
            sheet: failed,
            columns,
        },
    })
}

/// The failed rows as CSV (UTF-8 with a BOM, for Excel): row number, reason, and the row's
/// cells under the file's headers, spreadsheet formulas neutralised.
pub fn errors_csv(lang: Lang, report: &ImportReport, sheet: &Sheet) -> Result<Vec<u8>, Problem> {
    use crm_core::export::csv::guarded;
    let failed = |e: csv::Error| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("writing the failed rows: {e}"),
        )
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{FEFF}".as_bytes().to_vec());
    let t = lang.strings();
    let mut header = vec![t.imp_row.to_owned(), t.imp_detail.to_owned()];
    header.extend(sheet.headers.iter().map(|h| guarded(h).into_owned()));
    w.write_record(&header).map_err(failed)?;
    let cells: HashMap<usize, &Vec<String>> = sheet.rows.iter().map(|(n, c)| (*n, c)).collect();
    for (row, reason) in report.failures() {
        let reason = crate::say::row_error(lang, reason);
        let mut record = vec![row.to_string(), guarded(&reason).into_owned()];
        if let Some(c) = cells.get(&row) {
            record.extend(c.iter().map(|c| guarded(c).into_owned()));
        }
        w.write_record(&record).map_err(failed)?;
    }
    w.into_inner()
        .map_err(|e| failed(csv::Error::from(e.into_error())))
}

/// How long an upload waits for its confirmation, or failed rows for their download.
const KEPT_FOR: Duration = Duration::from_secs(30 * 60);
/// How many uploads are kept at once (the oldest goes first): with [`MAX_FILE_BYTES`], a
/// bound on the memory they take.
const KEPT_AT_MOST: usize = 32;

/// What the page keeps for an employee between two requests.
#[derive(Clone)]
pub enum Kept {
    /// A previewed upload, waiting for the confirmed import.
    Upload(Upload, OnDuplicate),
    /// The failed rows of an import, as CSV.
    Errors(Vec<u8>),
}

struct Entry {
    employee: EmployeeId,
    at: Instant,
    kept: Kept,
}

fn kept() -> &'static Mutex<HashMap<String, Entry>> {
    static KEPT: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    KEPT.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Keeps `what` for `employee`; returns the random key to fetch it with.
pub fn keep(employee: EmployeeId, what: Kept) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let key = hex::encode(bytes);
    let mut map = kept().lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    map.retain(|_, e| now.duration_since(e.at) < KEPT_FOR);
    while map.len() >= KEPT_AT_MOST {
        let Some(oldest) = map.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone()) else {
            break;
        };
        map.remove(&oldest);
    }
    map.insert(
        key.clone(),
        Entry {
            employee,
            at: now,
            kept: what,
        },
    );
    key
}

/// What `employee` kept under `key`, if it is still there; `take` removes it.
pub fn kept_for(employee: EmployeeId, key: &str, take: bool) -> Option<Kept> {
    let mut map = kept().lock().unwrap_or_else(|p| p.into_inner());
    let live = map
        .get(key)
        .is_some_and(|e| e.employee == employee && e.at.elapsed() < KEPT_FOR);
    if !live {
        return None;
    }
    if take {
        map.remove(key).map(|e| e.kept)
    } else {
        map.get(key).map(|e| e.kept.clone())
    }
}
