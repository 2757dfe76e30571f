//! PDF through typst, used as a library: the layout engine shapes Arabic (letters joined) and
//! orders mixed Arabic, Latin and digits by the Unicode bidirectional algorithm, and the PDF
//! embeds the Amiri fonts the crate ships (`assets/fonts`, SIL Open Font License): no
//! network, no system font.
//!
//! The document is one fixed typst template; the data reaches it as typst values
//! (`sys.inputs`: strings in arrays and dictionaries), never as markup, so nothing a user
//! typed (`#`, `*`, `$`, `[`, `\`) is read as typst code. The rows are kept in memory and
//! laid out when the sink finishes: a PDF of a big list is built in memory.

use std::io::Write;
use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Array, Bytes, Datetime, Dict, Str, Value};
use typst::syntax::{FileId, Source};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use super::{Cell, ColumnKind, ExportError, ExportOptions, Format, RowSink, Table};

/// The page template. Everything it shows comes from `sys.inputs`.
const TEMPLATE: &str = include_str!("pdf_template.typ");

/// Amiri regular and bold, embedded in the binary.
static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    [
        &include_bytes!("../../assets/fonts/Amiri-Regular.ttf")[..],
        &include_bytes!("../../assets/fonts/Amiri-Bold.ttf")[..],
    ]
    .into_iter()
    .flat_map(|data| Font::iter(Bytes::new(data)))
    .collect()
});

/// A typst world with one source file (the template) and the embedded fonts only: no file
/// system, no packages, no clock.
struct ExportWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    main: Source,
}

impl World for ExportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_owned()))
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

/// `rtl` when the first letter of `s` is of a right-to-left script, `ltr` for any other
/// letter, `auto` (the page's direction) when it has none.
fn first_strong(s: &str) -> &'static str {
    s.chars()
        .find(|c| c.is_alphabetic())
        .map_or("auto", |c| match c as u32 {
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF => "rtl",
            _ => "ltr",
        })
}

fn text(s: impl Into<Str>) -> Value {
    Value::Str(s.into())
}

fn kind_name(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "text",
        ColumnKind::Code => "code",
        ColumnKind::Count => "count",
        ColumnKind::Money => "money",
        ColumnKind::Time => "time",
    }
}

/// Collects a table and writes it as a PDF to `W` on [`RowSink::finish`].
pub struct PdfSink<W: Write> {
    out: Option<W>,
    opts: ExportOptions,
    table: Option<Table>,
    /// Which columns print (detail columns such as ids stay in CSV and XLSX only).
    shown: Vec<usize>,
    rows: Vec<Value>,
    total: Option<Value>,
}

impl<W: Write> PdfSink<W> {
    /// A sink that writes the PDF to `out` when finished.
    pub fn new(out: W, opts: &ExportOptions) -> Self {
        Self {
            out: Some(out),
            opts: *opts,
            table: None,
            shown: Vec::new(),
            rows: Vec::new(),
            total: None,
        }
    }

    /// Each shown cell as `(text, direction)`: ids, emails, phones and times read left to
    /// right; free text takes the direction of its first letter (as `dir="auto"` in HTML),
    /// so a Latin name on an Arabic page reads left to right and the reverse.
    fn cells(&self, cells: &[Cell<'_>]) -> Value {
        let cell = |c: &Cell<'_>| {
            let dir = match c {
                Cell::Code(_) | Cell::Time(_) => "ltr",
                Cell::Text(s) => first_strong(s),
                _ => "auto",
            };
            Value::Array(
                [text(c.text(&self.opts, false)), text(dir)]
                    .into_iter()
                    .collect(),
            )
        };
        let empty = Cell::Empty;
        Value::Array(
            self.shown
                .iter()
                .map(|i| cell(cells.get(*i).unwrap_or(&empty)))
                .collect::<Array>(),
        )
    }

    fn inputs(&self, table: &Table) -> Dict {
        let headings: Vec<_> = self
            .shown
            .iter()
            .filter_map(|i| table.headings.get(*i))
            .collect();
        let entry = |k: &str, v: Value| (Str::from(k), v);
        [
            entry("title", text(table.title.as_str())),
            entry("subtitle", text(table.subtitle.as_str())),
            entry("lang", text(self.opts.locale.as_str())),
            entry("rtl", Value::Bool(self.opts.locale.is_rtl())),
            entry("landscape", Value::Bool(headings.len() > 7)),
            entry(
                "headings",
                Value::Array(headings.iter().map(|h| text(h.text.as_str())).collect()),
            ),
            entry(
                "kinds",
                Value::Array(headings.iter().map(|h| text(kind_name(h.kind))).collect()),
            ),
            entry("rows", Value::Array(self.rows.iter().cloned().collect())),
            entry("total", self.total.clone().unwrap_or(Value::None)),
        ]
        .into_iter()
        .collect()
    }
}

/// The diagnostics of a failed layout, one line.
fn messages(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders the template over `inputs` to PDF bytes.
fn render(inputs: Dict) -> Result<Vec<u8>, ExportError> {
    let world = ExportWorld {
        library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
        book: LazyHash::new(FontBook::from_fonts(FONTS.iter())),
        main: Source::detached(TEMPLATE),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let warnings: Vec<_> = compiled
        .warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning)
        .cloned()
        .collect();
    if !warnings.is_empty() {
        tracing::warn!(warnings = %messages(&warnings), "PDF layout warnings");
    }
    let doc = compiled
        .output
        .map_err(|e| ExportError::Layout(messages(&e)))?;
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default())
        .map_err(|e| ExportError::Layout(messages(&e)))
}

impl<W: Write> RowSink for PdfSink<W> {
    fn begin(&mut self, table: &Table) -> Result<(), ExportError> {
        self.shown = (0..table.headings.len())
            .filter(|i| table.headings.get(*i).is_some_and(|h| !h.detail))
            .collect();
        self.table = Some(table.clone());
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        let row = self.cells(cells);
        self.rows.push(row);
        Ok(())
    }

    fn total_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.total = Some(self.cells(cells));
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ExportError> {
        let (Some(mut out), Some(table)) = (self.out.take(), self.table.take()) else {
            return Ok(());
        };
        let pdf = render(self.inputs(&table))?;
        out.write_all(&pdf)
            .and_then(|()| out.flush())
            .map_err(|e| ExportError::Write(Format::Pdf, Box::new(e)))
    }
}
