//! PDF through typst, used as a library: the layout engine shapes Arabic (letters joined) and
//! orders mixed Arabic, Latin and digits by the Unicode bidirectional algorithm, and the PDF
//! embeds the Amiri fonts the crate ships (`assets/fonts`, SIL Open Font License): no
//! network, no system font.
//!
//! The document is one fixed typst template; the data reaches it as typst values
//! (`sys.inputs`: strings in arrays and dictionaries), never as markup, so nothing a user
//! typed (`#`, `*`, `$`, `[`, `\`) is read as typst code. The rows are kept in memory and
//! laid out when the sink finishes: a PDF of a big list is built in memory, so a PDF takes
//! at most [`MAX_ROWS`] rows; CSV and XLSX stream any number.

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

/// The most rows a PDF takes; the row past it refuses the export
/// ([`crate::ValidationError::PdfTooLong`]) before anything is laid out, which bounds the
/// memory a PDF export takes: measured (debug build) 978 MB at the peak for 5,000 leads
/// with long emails (364 pages), 1.86 GB for 10,000 (729 pages).
pub const MAX_ROWS: usize = 5_000;

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

/// Whether `c` is a letter of a right-to-left script (Hebrew, Arabic and their forms).
fn is_rtl_letter(c: char) -> bool {
    c.is_alphabetic() && matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// The direction `s` reads in: `rtl` when its first letter is of a right-to-left script,
/// `ltr` for any other letter, and for text of digits and signs only (`=1+1`, `+966 50`):
/// numbers and formulas read left to right, whatever the page. `auto` (the page's
/// direction) when it has neither letters nor digits.
fn first_strong(s: &str) -> &'static str {
    match s.chars().find(|c| c.is_alphabetic()) {
        Some(c) if is_rtl_letter(c) => "rtl",
        Some(_) => "ltr",
        None if s.chars().any(|c| c.is_numeric()) => "ltr",
        None => "auto",
    }
}

/// How many characters a word may have before it gets break points: a longer one (an
/// email, a long id) would otherwise run into the next column.
const LONG_WORD: usize = 12;

/// Where a long left-to-right word may break: after these signs, else every
/// [`LONG_WORD`] characters.
fn breaks_after(c: char) -> bool {
    matches!(
        c,
        '.' | '@' | '-' | '_' | '/' | '+' | ',' | ';' | ':' | '=' | '&' | '?'
    )
}

/// The runs of a cell that reads in `dir`: words of the other direction (a Latin name, an
/// email, `=1+1` in an Arabic cell; an Arabic word in a Latin one), with the spaces between
/// them, become runs of their own direction, which the template isolates so neutral signs
/// at their ends stay with them (`=1+1` does not print `1+1=`). Long left-to-right words
/// get break points (`brk`, a zero-width space in the layout, no character in the text).
fn runs(s: &str, dir: &str) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let push = |out: &mut Vec<(String, &'static str)>, text: &str, kind: &'static str| match out
        .last_mut()
    {
        Some((t, k)) if *k == kind => t.push_str(text),
        _ => out.push((text.to_owned(), kind)),
    };
    let word_dir = |w: &str| match (w.chars().any(is_rtl_letter), first_strong(w)) {
        (true, _) => "rtl",
        (false, "ltr") => "ltr",
        _ => "auto",
    };
    let mut rest = s;
    let mut pending_space: Option<&str> = None;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        let space_end = after
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(after.len());
        let (space, next) = after.split_at(space_end);
        if !word.is_empty() {
            let wd = word_dir(word);
            // A word of the other direction is a run of its own; one of the cell's own
            // direction, or of none, stays in the cell's run.
            let kind = if wd != "auto" && wd != dir {
                wd
            } else {
                "auto"
            };
            if let Some(sp) = pending_space.take() {
                // Spaces between two words of the other direction stay inside their run.
                let joined = kind != "auto" && out.last().is_some_and(|(_, k)| *k == kind);
                push(&mut out, sp, if joined { kind } else { "auto" });
            }
            if kind == "rtl" || word.chars().count() <= LONG_WORD || wd == "rtl" {
                push(&mut out, word, kind);
            } else {
                let kind = if kind == "auto" { "ltr" } else { kind };
                let mut since = 0;
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    since += 1;
                    if breaks_after(c) || since >= LONG_WORD {
                        push(&mut out, &piece, kind);
                        out.push((String::new(), "brk"));
                        piece.clear();
                        since = 0;
                    }
                }
                if piece.is_empty() {
                    out.pop();
                } else {
                    push(&mut out, &piece, kind);
                }
            }
        }
        if !space.is_empty() {
            pending_space = Some(space);
        }
        rest = next;
    }
    out
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

    /// Each shown cell as `(direction, runs)`: ids, emails, phones and times read left to
    /// right; free text takes the direction of its first letter (as `dir="auto"` in HTML),
    /// so a Latin name on an Arabic page reads left to right and the reverse, and digits
    /// and signs alone read left to right. The runs are [`runs`], each `(text, kind)`.
    fn cells(&self, cells: &[Cell<'_>]) -> Value {
        let cell = |c: &Cell<'_>| {
            let content = c.text(&self.opts, false);
            let dir = match c {
                Cell::Code(_) | Cell::Time(_) => "ltr",
                Cell::Text(s) => first_strong(s),
                _ => "auto",
            };
            let runs = runs(&content, dir)
                .into_iter()
                .map(|(t, k)| Value::Array([text(t), text(k)].into_iter().collect()))
                .collect::<Array>();
            Value::Array([text(dir), Value::Array(runs)].into_iter().collect())
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
        if self.rows.len() >= MAX_ROWS {
            let e = crate::ValidationError::PdfTooLong { max: MAX_ROWS };
            return Err(ExportError::Crm(e.into()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str, dir: &str) -> Vec<(String, &'static str)> {
        runs(s, dir)
    }

    #[test]
    fn a_pdf_takes_a_bounded_number_of_rows() {
        let mut sink = PdfSink::new(Vec::new(), &ExportOptions::default());
        let table = Table {
            title: "t".into(),
            subtitle: String::new(),
            headings: vec![super::super::Heading {
                text: "n".into(),
                kind: ColumnKind::Count,
                detail: false,
            }],
        };
        sink.begin(&table).unwrap();
        for n in 0..MAX_ROWS {
            sink.row(&[Cell::Count(n as u64)]).unwrap();
        }
        let refused = sink.row(&[Cell::Count(0)]);
        assert!(
            matches!(
                refused,
                Err(ExportError::Crm(crate::CrmError::Validation(
                    crate::ValidationError::PdfTooLong { max: MAX_ROWS }
                )))
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn digits_and_signs_read_left_to_right() {
        assert_eq!(first_strong("=1+1"), "ltr");
        assert_eq!(first_strong("+966 50"), "ltr");
        assert_eq!(first_strong("محمد"), "rtl");
        assert_eq!(first_strong("Mona"), "ltr");
        assert_eq!(first_strong("-"), "auto");
    }

    #[test]
    fn words_of_the_other_direction_are_runs_of_their_own() {
        let own = |t: &str| (t.to_owned(), "auto");
        let ltr = |t: &str| (t.to_owned(), "ltr");
        assert_eq!(
            kinds("شركة النور =1+1 للتجارة ABC Trading Co.", "rtl"),
            [
                own("شركة النور "),
                ltr("=1+1"),
                own(" للتجارة "),
                ltr("ABC Trading Co.")
            ]
        );
        assert_eq!(
            kinds("Mona محمد Lee", "ltr"),
            [own("Mona "), ("محمد".to_owned(), "rtl"), own(" Lee")]
        );
        assert_eq!(kinds("=1+1", "ltr"), [own("=1+1")]);
    }

    #[test]
    fn long_words_get_break_points_and_keep_every_character() {
        let email = "a.very.long.email@example-company.com";
        let r = kinds(email, "ltr");
        assert!(r.iter().any(|(_, k)| *k == "brk"), "{r:?}");
        assert!(
            r.iter()
                .all(|(t, k)| *k == "brk" || t.chars().count() <= LONG_WORD)
        );
        let joined: String = r.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, email);
        let id = "0123456789abcdefghijklmnopqrstuvwxyz";
        assert_eq!(
            kinds(id, "ltr").iter().filter(|(_, k)| *k == "brk").count(),
            2
        );
    }
}
