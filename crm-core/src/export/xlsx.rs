//! XLSX through `rust_xlsxwriter`, in its constant-memory mode (rows go to a temporary file
//! as they are written, so a sheet of any length takes the same memory). Cells are typed:
//! counts and money are numbers (money with its currency's decimals as the number format),
//! times are dates in the export's zone (the heading names it), ids, emails and phones are
//! text (a phone keeps its `+` with no apostrophe showing). The header row is bold, frozen
//! and filterable; an Arabic sheet reads right to left.

use std::collections::HashMap;
use std::io::Write;

use rust_xlsxwriter::{
    DocProperties, Format as CellFormat, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::{Cell, ColumnKind, ExportError, ExportOptions, Format, RowSink, Table};
use crate::money::Money;

/// Writes a table as a one-sheet workbook to `W` when finished.
pub struct XlsxSink<W: Write + Send> {
    out: Option<W>,
    book: Workbook,
    opts: ExportOptions,
    columns: u16,
    /// The next row to write (0 is the header).
    row: u32,
    bold: CellFormat,
    time: CellFormat,
    /// Number formats by currency code: every currency has its own decimals.
    money: HashMap<&'static str, (CellFormat, CellFormat)>,
}

fn failed(e: XlsxError) -> ExportError {
    ExportError::Write(Format::Xlsx, Box::new(e))
}

/// Excel's limits on a sheet name: at most 31 UTF-16 units, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    let mut name = String::new();
    for c in title.chars().filter(|c| !"[]:*?/\\'".contains(*c)) {
        if name.encode_utf16().count() + c.len_utf16() > 31 {
            break;
        }
        name.push(c);
    }
    if name.trim().is_empty() {
        "Sheet1".to_owned()
    } else {
        name
    }
}

/// A column's width in characters: enough for its heading and its usual content.
fn width(kind: ColumnKind, heading: &str) -> f64 {
    let content: usize = match kind {
        ColumnKind::Text => 24,
        ColumnKind::Code => 22,
        ColumnKind::Count => 10,
        ColumnKind::Money => 16,
        ColumnKind::Time => 17,
    };
    // The autofilter's drop-down arrow takes about two characters.
    content.max(heading.chars().count() + 3) as f64
}

/// The number format of an amount: grouped, with exactly the currency's decimals, and its
/// code (`#,##0.000 "KWD"`).
fn money_format(m: &Money) -> String {
    let exp = m.currency().exponent() as usize;
    let decimals = if exp == 0 {
        String::new()
    } else {
        format!(".{}", "0".repeat(exp))
    };
    format!("#,##0{decimals} \"{}\"", m.currency().code())
}

impl<W: Write + Send> XlsxSink<W> {
    /// A sink that writes the workbook to `out` on [`RowSink::finish`]. Fails when no
    /// temporary file can be made for the sheet's rows.
    pub fn new(out: W, opts: &ExportOptions) -> Result<Self, ExportError> {
        let mut book = Workbook::new();
        book.add_worksheet_with_constant_memory().map_err(failed)?;
        let bold = CellFormat::new()
            .set_bold()
            .set_border_bottom(FormatBorder::Thin);
        Ok(Self {
            out: Some(out),
            book,
            opts: *opts,
            columns: 0,
            row: 0,
            bold,
            time: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm"),
            money: HashMap::new(),
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, ExportError> {
        self.book.worksheet_from_index(0).map_err(failed)
    }

    fn write_row(&mut self, cells: &[Cell<'_>], total: bool) -> Result<(), ExportError> {
        let row = self.row;
        for (col, cell) in cells.iter().enumerate() {
            let col =
                u16::try_from(col).map_err(|e| ExportError::Write(Format::Xlsx, Box::new(e)))?;
            let plain = if total { Some(self.bold.clone()) } else { None };
            let money = match cell {
                Cell::Money(m) => {
                    let code = m.currency().code();
                    let (f, fb) = self.money.entry(code).or_insert_with(|| {
                        let f = CellFormat::new().set_num_format(money_format(m));
                        (f.clone(), f.set_bold())
                    });
                    Some(if total { fb.clone() } else { f.clone() })
                }
                _ => None,
            };
            let time = self.time.clone();
            let zone = self.opts.zone;
            let sheet = self.sheet()?;
            let r = match (cell, &plain) {
                (Cell::Empty, _) => continue,
                (Cell::Text(s) | Cell::Code(s), Some(f)) => {
                    sheet.write_string_with_format(row, col, s.as_ref(), f)
                }
                (Cell::Text(s) | Cell::Code(s), None) => sheet.write_string(row, col, s.as_ref()),
                (Cell::Count(n), Some(f)) => sheet.write_number_with_format(row, col, *n as f64, f),
                (Cell::Count(n), None) => sheet.write_number(row, col, *n as f64),
                (Cell::Money(m), _) => {
                    let scale = 10f64.powi(m.currency().exponent() as i32);
                    let f = money.unwrap_or_default();
                    sheet.write_number_with_format(row, col, m.minor() as f64 / scale, &f)
                }
                (Cell::Time(t), _) => {
                    let local = t.with_timezone(&zone).naive_local();
                    sheet.write_datetime_with_format(row, col, local, &time)
                }
            };
            r.map_err(failed)?;
        }
        self.row += 1;
        Ok(())
    }
}

impl<W: Write + Send> RowSink for XlsxSink<W> {
    fn begin(&mut self, table: &Table) -> Result<(), ExportError> {
        self.book.set_properties(
            &DocProperties::new()
                .set_title(&table.title)
                .set_comment(&table.subtitle),
        );
        self.columns = u16::try_from(table.headings.len())
            .map_err(|e| ExportError::Write(Format::Xlsx, Box::new(e)))?;
        let rtl = self.opts.locale.is_rtl();
        let bold = self.bold.clone();
        let name = sheet_name(&table.title);
        let sheet = self.sheet()?;
        sheet.set_name(name).map_err(failed)?;
        sheet.set_right_to_left(rtl);
        for (col, h) in table.headings.iter().enumerate() {
            let col = col as u16;
            sheet
                .set_column_width(col, width(h.kind, &h.text))
                .map_err(failed)?;
            sheet
                .write_string_with_format(0, col, &h.text, &bold)
                .map_err(failed)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(failed)?;
        self.row = 1;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.write_row(cells, false)
    }

    fn total_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.write_row(cells, true)
    }

    fn finish(&mut self) -> Result<(), ExportError> {
        let Some(mut out) = self.out.take() else {
            return Ok(());
        };
        let (last_row, last_col) = (self.row.saturating_sub(1), self.columns.saturating_sub(1));
        if self.columns > 0 {
            self.sheet()?
                .autofilter(0, 0, last_row, last_col)
                .map_err(failed)?;
        }
        self.book.save_to_writer(&mut out).map_err(failed)?;
        out.flush()
            .map_err(|e| ExportError::Write(Format::Xlsx, Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(
            sheet_name("Leads by status and source"),
            "Leads by status and source"
        );
        assert_eq!(sheet_name("a/b[c]:d"), "abcd");
        assert_eq!(sheet_name(&"ع".repeat(40)).chars().count(), 31);
        assert_eq!(sheet_name("[]"), "Sheet1");
    }

    #[test]
    fn money_formats_follow_the_currency() {
        let kwd = Money::parse(
            "1.5",
            crate::money::Currency::parse("KWD").unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(money_format(&kwd), "#,##0.000 \"KWD\"");
        let jpy = Money::parse(
            "15",
            crate::money::Currency::parse("JPY").unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(money_format(&jpy), "#,##0 \"JPY\"");
    }
}
