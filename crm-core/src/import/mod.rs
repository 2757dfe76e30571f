//! Reading lead files for import (feature `import`): CSV and XLSX files become, row by row,
//! the library's [`NewLead`] input or a row error with the row number and a one-line reason.
//! Nothing here writes: a host (or `crm import --dry-run`) decides what to do with the rows.
//!
//! - **CSV** ([`read_csv`]): any of `,` `;` tab `|` as the delimiter, found from the header
//!   and checked against the first rows; a file where more than one fits is refused (pass
//!   the delimiter). Text encoding, never guessed: a file that is valid UTF-8 is UTF-8 (a
//!   byte-order mark is dropped); a file that is not is refused, unless the caller says it is
//!   Windows-1256 (what Arabic Excel writes), which is then how it is read. A caller who says
//!   Windows-1256 about a file that is valid UTF-8 with non-ASCII text is refused too: the
//!   two readings differ and the bytes say UTF-8.
//! - **XLSX** ([`read_xlsx`], through `calamine`): the first sheet; numbers typed into a phone
//!   column come back as their digits.
//! - **Columns** ([`Columns`]): matched by header in Arabic or English (`الاسم`/`name`,
//!   `الجوال`/`phone`, `البريد`/`email`, `الشركة`/`company`, `المصدر`/`source`,
//!   `المسؤول`/`owner`, `ملاحظات`/`notes`, with spelling variants folded as search folds
//!   them), or by a mapping file ([`Mapping`], TOML). Unknown columns are left out and listed.
//! - **Rows** ([`Columns::lead`]): through the library's parsers: the phone in the caller's
//!   region, the email, the source (a slug, or a built-in source's label in either language),
//!   the owner's employee id.
//!
//! A CSV file is read as a stream ([`CsvRows`]): a host imports it batch by batch, its
//! memory bounded by the batch, not the file; [`TextCheck`] applies the encoding rule in a
//! first pass over the bytes, before anything is written. An XLSX file is read whole
//! (calamine reads the sheet into memory), and so is a CSV file given as bytes
//! ([`read_csv`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::contact::{Email, Name, Note, Phone, PhoneRegion};
use crate::export::{Locale, source_label};
use crate::ids::EmployeeId;
use crate::importing::RowError;
pub use crate::importing::{ImportRow, ImportedLead};
use crate::lead::NewLead;
use crate::source::Source;
use crate::text::search_key;

mod read;

pub use read::{CsvRows, Encoding, TextCheck, read_csv, read_xlsx};

/// A file's cells: its header row and its data rows, each with the row number people see
/// (the header is row 1 in a spreadsheet, the line number in a CSV file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The header row.
    pub headers: Vec<String>,
    /// The data rows: (row number, cells).
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Why a file cannot be read at all (a row that cannot be read is that row's problem, not
/// the file's).
///
/// Every variant is about the file or how the caller described it, never a passing failure:
/// reading the same bytes the same way fails again, so do not retry. Show the message to
/// the person importing; it says what to do: name the encoding (`NotUtf8`,
/// `NotWindows1256`) or the delimiter (`NoDelimiter`, `AmbiguousDelimiter`), fix the
/// headers or give a column mapping (`MissingColumn`, `DuplicateColumn`, `Mapping`), or
/// save the file again from the spreadsheet program (`Empty`, `Unreadable`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The bytes are not UTF-8 and no other encoding was named.
    #[error(
        "the file is not UTF-8 (invalid bytes at offset {offset}); if it was saved as Windows-1256 (Arabic Excel), say so"
    )]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The caller named Windows-1256, but the bytes are UTF-8 text.
    #[error("the file is valid UTF-8 with non-ASCII text, not Windows-1256: read it as UTF-8")]
    NotWindows1256,
    /// No delimiter fits the header and the first rows.
    #[error("cannot find the delimiter (tried , ; tab |): give it")]
    NoDelimiter,
    /// More than one delimiter fits.
    #[error("the delimiter is ambiguous ({0}): give it")]
    AmbiguousDelimiter(String),
    /// The file has no header row.
    #[error("the file is empty")]
    Empty,
    /// A column every lead needs is missing.
    #[error("no {0} column (headers are matched in Arabic or English, or give a mapping)")]
    MissingColumn(&'static str),
    /// Two columns map to one field.
    #[error("two columns are the {0} column: {1:?} and {2:?}")]
    DuplicateColumn(&'static str, String, String),
    /// A mapping names a header the file does not have, or a field there is none of.
    #[error("mapping: {0}")]
    Mapping(String),
    /// The CSV or XLSX container is broken.
    #[error("cannot read the file")]
    Unreadable(#[source] crate::error::BoxError),
}

/// A field of a lead a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The person's name (required).
    Name,
    /// Phone.
    Phone,
    /// Email.
    Email,
    /// Company.
    Company,
    /// Source.
    Source,
    /// The responsible employee's id.
    Owner,
    /// Notes (a first note to log with the lead).
    Notes,
}

impl Field {
    /// The lowercase English name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Company => "company",
            Self::Source => "source",
            Self::Owner => "owner",
            Self::Notes => "notes",
        }
    }

    /// Headers that name the field, in English and Arabic (compared after
    /// [`crate::text::search_key`], so hamza, ta marbuta and Persian letters are folded).
    const ALIASES: [(Field, &'static [&'static str]); 7] = [
        (
            Field::Name,
            &[
                "name",
                "full name",
                "lead",
                "lead name",
                "الاسم",
                "اسم",
                "الاسم الكامل",
                "اسم العميل",
            ],
        ),
        (
            Field::Phone,
            &[
                "phone",
                "mobile",
                "phone number",
                "mobile number",
                "tel",
                "telephone",
                "الجوال",
                "جوال",
                "رقم الجوال",
                "الهاتف",
                "هاتف",
                "رقم الهاتف",
                "الموبايل",
                "موبايل",
            ],
        ),
        (
            Field::Email,
            &[
                "email",
                "e-mail",
                "mail",
                "email address",
                "البريد",
                "البريد الإلكتروني",
                "بريد",
                "الإيميل",
                "ايميل",
            ],
        ),
        (
            Field::Company,
            &[
                "company",
                "organisation",
                "organization",
                "الشركة",
                "شركة",
                "المؤسسة",
                "الجهة",
            ],
        ),
        (Field::Source, &["source", "lead source", "المصدر", "مصدر"]),
        (
            Field::Owner,
            &[
                "owner",
                "owner id",
                "owner_id",
                "المسؤول",
                "رقم المسؤول",
                "الموظف المسؤول",
            ],
        ),
        (
            Field::Notes,
            &["notes", "note", "comments", "ملاحظات", "الملاحظات", "ملاحظة"],
        ),
    ];

    /// The field a header names, if any.
    pub fn from_header(header: &str) -> Option<Field> {
        let key = search_key(header.trim_start_matches('\u{FEFF}'));
        Self::ALIASES
            .iter()
            .find(|(_, names)| names.iter().any(|n| search_key(n) == key))
            .map(|(f, _)| *f)
    }
}

/// A mapping file: which header fills which field, for files whose headers are not
/// recognised.
///
/// ```toml
/// [columns]
/// "Customer" = "name"
/// "Mobile No." = "phone"
/// "رقم المندوب" = "owner"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Header (as in the file, trimmed) to field.
    pub columns: BTreeMap<String, Field>,
}

impl Mapping {
    /// Reads a mapping file.
    pub fn parse(toml_text: &str) -> Result<Self, FileError> {
        toml::from_str(toml_text).map_err(|e| FileError::Mapping(e.message().to_owned()))
    }
}

/// How rows are read.
#[derive(Clone, Debug)]
pub struct RowOptions {
    /// The region local phone numbers belong to.
    pub region: PhoneRegion,
    /// The source of rows with no source.
    pub default_source: Source,
}

/// Which column fills which field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    by_field: BTreeMap<Field, usize>,
    /// Headers that fill nothing (left out of the import).
    pub ignored: Vec<String>,
}

impl Columns {
    /// Matches `headers` by name, or through `mapping` when given. Needs a name column and
    /// a phone or an email column.
    pub fn match_headers(headers: &[String], mapping: Option<&Mapping>) -> Result<Self, FileError> {
        let mut by_field: BTreeMap<Field, usize> = BTreeMap::new();
        let mut ignored = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let field = match mapping {
                Some(m) => m
                    .columns
                    .get(h.trim().trim_start_matches('\u{FEFF}'))
                    .copied(),
                None => Field::from_header(h),
            };
            match field {
                Some(f) => {
                    if let Some(prev) = by_field.insert(f, i) {
                        let name = |j: usize| headers.get(j).cloned().unwrap_or_default();
                        return Err(FileError::DuplicateColumn(f.as_str(), name(prev), name(i)));
                    }
                }
                None if h.trim().is_empty() => {}
                None => ignored.push(h.trim().to_owned()),
            }
        }
        if let Some(m) = mapping {
            let trimmed: Vec<&str> = headers
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{FEFF}'))
                .collect();
            if let Some(missing) = m.columns.keys().find(|k| !trimmed.contains(&k.as_str())) {
                return Err(FileError::Mapping(format!(
                    "the file has no column {missing:?}"
                )));
            }
        }
        if !by_field.contains_key(&Field::Name) {
            return Err(FileError::MissingColumn("name"));
        }
        if !by_field.contains_key(&Field::Phone) && !by_field.contains_key(&Field::Email) {
            return Err(FileError::MissingColumn("phone or email"));
        }
        Ok(Self { by_field, ignored })
    }

    /// The column a field comes from.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.by_field.get(&field).copied()
    }

    /// Reads one row as a lead, or says why it is not one.
    pub fn lead(&self, cells: &[String], opts: &RowOptions) -> Result<ImportedLead, RowError> {
        let get = |f: Field| {
            self.column(f)
                .and_then(|i| cells.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let why = |f: Field| move |e| RowError::cell(f.as_str(), e);
        let name = Name::parse(get(Field::Name).unwrap_or_default()).map_err(why(Field::Name))?;
        let source = match get(Field::Source) {
            Some(s) => source(s).map_err(why(Field::Source))?,
            None => opts.default_source.clone(),
        };
        let mut lead = NewLead::new(name, source);
        if let Some(p) = get(Field::Phone) {
            lead.phone = Some(Phone::parse_in(p, opts.region).map_err(why(Field::Phone))?);
        }
        if let Some(e) = get(Field::Email) {
            lead.email = Some(Email::parse(e).map_err(why(Field::Email))?);
        }
        if lead.phone.is_none() && lead.email.is_none() {
            return Err(RowError::NoContact);
        }
        if let Some(c) = get(Field::Company) {
            lead.company = Some(Name::parse_field("company", c).map_err(why(Field::Company))?);
        }
        if let Some(o) = get(Field::Owner) {
            lead.owner = Some(o.parse::<EmployeeId>().map_err(why(Field::Owner))?);
        }
        let notes = get(Field::Notes)
            .map(Note::parse)
            .transpose()
            .map_err(why(Field::Notes))?;
        Ok(ImportedLead { lead, notes })
    }
}

/// A source as typed in a file: a built-in source's label in English or Arabic (as exports
/// write them), or a slug.
fn source(typed: &str) -> Result<Source, crate::validation::ValidationError> {
    let key = search_key(typed);
    for slug in Source::BUILT_IN {
        let s = Source::parse(slug)?;
        if [Locale::En, Locale::Ar]
            .iter()
            .any(|l| search_key(&source_label(&s, *l)) == key)
        {
            return Ok(s);
        }
    }
    Source::parse(typed)
}

/// Every data row of `sheet` read as a lead or a row error; blank rows are left out.
pub fn read_rows(sheet: &Sheet, columns: &Columns, opts: &RowOptions) -> Vec<ImportRow> {
    sheet
        .rows
        .iter()
        .filter_map(|(row, cells)| read_row(*row, cells, columns, opts))
        .collect()
}

/// Data row `row` read as a lead or a row error; `None` for a blank row (left out).
pub fn read_row(
    row: usize,
    cells: &[String],
    columns: &Columns,
    opts: &RowOptions,
) -> Option<ImportRow> {
    cells
        .iter()
        .any(|c| !c.trim().is_empty())
        .then(|| ImportRow {
            row,
            outcome: columns.lead(cells, opts),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_match_in_arabic_and_english() {
        let c = Columns::match_headers(
            &headers(&["\u{FEFF}الأسم", "رقم الجوال", "E-mail", "Company", "لون"]),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.column(Field::Name), Some(0), "hamza folded: الأسم is الاسم");
        assert_eq!(c.column(Field::Phone), Some(1));
        assert_eq!(c.column(Field::Email), Some(2));
        assert_eq!(c.column(Field::Company), Some(3));
        assert_eq!(c.ignored, ["لون"]);
        assert!(matches!(
            Columns::match_headers(&headers(&["name", "الاسم", "phone"]), None),
            Err(FileError::DuplicateColumn("name", _, _))
        ));
        assert!(matches!(
            Columns::match_headers(&headers(&["name", "company"]), None),
            Err(FileError::MissingColumn("phone or email"))
        ));
    }

    #[test]
    fn a_mapping_replaces_header_matching() {
        let m = Mapping::parse("[columns]\n\"Customer\" = \"name\"\n\"Mob\" = \"phone\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let c = Columns::match_headers(&headers(&["Customer", "Mob", "name"]), Some(&m))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.column(Field::Name), Some(0));
        assert_eq!(c.ignored, ["name"]);
        assert!(matches!(
            Mapping::parse("[columns]\nx = \"salary\"\n"),
            Err(FileError::Mapping(_))
        ));
        assert!(matches!(
            Columns::match_headers(&headers(&["Mob"]), Some(&m)),
            Err(FileError::Mapping(_))
        ));
    }

    #[test]
    fn rows_go_through_the_parsers() {
        let opts = RowOptions {
            region: PhoneRegion::parse("SA").unwrap_or_else(|e| panic!("{e}")),
            default_source: Source::other(),
        };
        let c = Columns::match_headers(
            &headers(&["name", "phone", "email", "source", "owner", "notes"]),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let row = |cells: &[&str]| c.lead(&headers(cells), &opts);
        let ok = row(&["سارة", "٠٥٠١٢٣٤٥٦٧", "", "الموقع", "٧", "تتصل\nغدا"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ok.lead.phone.as_ref().map(|p| p.key()),
            Some("+966501234567")
        );
        assert_eq!(ok.lead.source, Source::web());
        assert_eq!(ok.lead.owner.map(|o| o.get()), Some(7));
        assert!(ok.notes.is_some());
        assert_eq!(
            row(&["Ali", "", "a@example.com", "", "", ""]).map(|l| l.lead.source),
            Ok(Source::other())
        );
        let err = |cells: &[&str]| row(cells).err().map(|e| e.to_string()).unwrap_or_default();
        let short = err(&["Ali", "12", "", "", "", ""]);
        assert!(short.starts_with("phone: "), "{short}");
        assert!(!short.contains('\n'));
        assert!(matches!(
            row(&["Ali", "12", "", "", "", ""]),
            Err(RowError::Cell {
                field: "phone",
                error: crate::ValidationError::InvalidPhone { .. }
            })
        ));
        assert_eq!(
            row(&["Ali", "", "", "", "", ""]).err(),
            Some(RowError::NoContact)
        );
        assert!(err(&["", "0501234567", "", "", "", ""]).starts_with("name: "));
        assert!(err(&["Ali", "0501234567", "", "", "x", ""]).starts_with("owner: "));
    }
}
