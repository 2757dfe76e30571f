//! CSV through the `csv` crate: UTF-8 with a byte-order mark (Excel needs it to read Arabic
//! text as such), CRLF line ends, every row written as it comes (constant memory). Text that
//! a spreadsheet would run as a formula is neutralised.

use std::io::Write;

use super::{Cell, ExportError, ExportOptions, Format, RowSink, Table};

/// Writes a table as CSV to `W`. Nothing is written before [`RowSink::begin`], so an export
/// refused before its first row leaves the writer untouched.
pub struct CsvSink<W: Write> {
    state: State<W>,
    opts: ExportOptions,
}

enum State<W: Write> {
    NotStarted(W),
    Writing(Box<csv::Writer<W>>),
    /// Only while switching from one state to the other.
    Gone,
}

fn failed(e: impl Into<crate::error::BoxError>) -> ExportError {
    ExportError::Write(Format::Csv, e.into())
}

impl<W: Write> CsvSink<W> {
    /// A sink writing to `out` (the byte-order mark first, when the options ask for it).
    pub fn new(out: W, opts: &ExportOptions) -> Result<Self, ExportError> {
        Ok(Self {
            state: State::NotStarted(out),
            opts: *opts,
        })
    }

    fn writer(&mut self) -> Result<&mut csv::Writer<W>, ExportError> {
        if let State::NotStarted(_) = self.state
            && let State::NotStarted(mut out) = std::mem::replace(&mut self.state, State::Gone)
        {
            if self.opts.bom {
                out.write_all("\u{FEFF}".as_bytes()).map_err(failed)?;
            }
            self.state = State::Writing(Box::new(
                csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(out),
            ));
        }
        match &mut self.state {
            State::Writing(w) => Ok(w),
            _ => Err(failed("the CSV writer failed earlier")),
        }
    }
}

/// A cell as spreadsheet-safe text: a leading `=`, `+`, `-`, `@`, tab or CR makes
/// spreadsheets evaluate the cell (CSV injection), so such text gets a leading `'`. Numbers,
/// amounts and times are written as they are (a negative amount stays a number).
pub fn guarded(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

impl<W: Write> CsvSink<W> {
    fn record<'c>(
        &mut self,
        cells: impl IntoIterator<Item = std::borrow::Cow<'c, str>>,
    ) -> Result<(), ExportError> {
        self.writer()?
            .write_record(cells.into_iter().map(|c| c.into_owned()))
            .map_err(failed)
    }
}

impl<W: Write> RowSink for CsvSink<W> {
    fn begin(&mut self, table: &Table) -> Result<(), ExportError> {
        let headings: Vec<_> = table
            .headings
            .iter()
            .map(|h| guarded(&h.text).into_owned())
            .collect();
        self.record(headings.into_iter().map(Into::into))
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        let opts = self.opts;
        let texts: Vec<String> = cells
            .iter()
            .map(|c| match c {
                Cell::Text(s) | Cell::Code(s) => guarded(s).into_owned(),
                other => other.text(&opts, true).into_owned(),
            })
            .collect();
        self.record(texts.into_iter().map(Into::into))
    }

    fn finish(&mut self) -> Result<(), ExportError> {
        self.writer()?.flush().map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::export::{report_rows, report_table, write_table};
    use crate::report::Report;
    use crate::source::Source;
    use crate::status::LeadStatus;

    fn csv_of(table: &Table, rows: Vec<Vec<Cell<'_>>>, total: Option<&[Cell<'_>]>) -> String {
        let mut buf = Vec::new();
        let mut sink =
            CsvSink::new(&mut buf, &ExportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        write_table(&mut sink, table, rows, total).unwrap_or_else(|e| panic!("{e}"));
        drop(sink);
        String::from_utf8(buf).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        let table = Table {
            title: String::new(),
            subtitle: String::new(),
            headings: ["a", "b", "c", "d", "e", "f"]
                .map(|h| crate::export::Heading {
                    text: h.to_owned(),
                    kind: crate::export::ColumnKind::Text,
                    detail: false,
                })
                .to_vec(),
        };
        let t = |s: &'static str| Cell::Text(Cow::Borrowed(s));
        let s = csv_of(
            &table,
            vec![vec![
                t("a,b"),
                t("say \"hi\""),
                t("=1+1"),
                Cell::Code(Cow::Borrowed("+966501234567")),
                t("شركة"),
                t("x\ny"),
            ]],
            None,
        );
        assert_eq!(
            s,
            "\u{FEFF}a,b,c,d,e,f\r\n\"a,b\",\"say \"\"hi\"\"\",'=1+1,'+966501234567,شركة,\"x\ny\"\r\n"
        );
    }

    #[test]
    fn report_csv_has_totals_and_bom() {
        let r = Report::from_counts([
            (LeadStatus::New, Source::web(), 2),
            (LeadStatus::Lost, Source::phone(), 1),
        ]);
        let opts = ExportOptions::default();
        let (rows, total) = report_rows(&r, &opts);
        let csv = csv_of(&report_table(&opts, String::new()), rows, Some(&total));
        assert!(csv.starts_with('\u{FEFF}'));
        let lines: Vec<_> = csv.trim_start_matches('\u{FEFF}').lines().collect();
        assert_eq!(
            lines[0],
            "Source,New,Contacted,Interested,Converted,Lost,Total"
        );
        assert_eq!(lines[1], "Web,2,0,0,0,0,2");
        assert_eq!(lines[2], "Phone,0,0,0,0,1,1");
        assert_eq!(lines[3], "Total,2,0,0,0,1,3");
    }

    #[test]
    fn pipeline_csv_keeps_currencies_apart() {
        use crate::export::{pipeline_rows, pipeline_table};
        use crate::ids::EmployeeId;
        use crate::money::Currency;
        use crate::opportunity::OpportunityStage;
        use crate::pipeline::{PipelineReport, PipelineRow};
        let owner = EmployeeId::new(7).unwrap_or_else(|e| panic!("{e}"));
        let month = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let row = |code: &str, stage, total_minor, weighted_minor| PipelineRow {
            currency: Currency::parse(code).unwrap_or_else(|e| panic!("{e}")),
            owner,
            stage,
            month,
            count: 1,
            total_minor,
            weighted_minor,
        };
        let report = PipelineReport::from_rows(&[
            row("SAR", OpportunityStage::Proposal, 1_000_050, 500_025),
            row("KWD", OpportunityStage::Won, 1_500, 1_500),
            row("SAR", OpportunityStage::Lost, 20_000, 0),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let opts = ExportOptions::default();
        let names = [(owner, "سارة".to_owned())].into_iter().collect();
        let rows = pipeline_rows(&report, &names, &opts);
        let csv = csv_of(&pipeline_table(&opts, String::new()), rows, None);
        let lines: Vec<_> = csv.trim_start_matches('\u{FEFF}').lines().collect();
        assert_eq!(
            lines,
            [
                "Currency,By,Item,Open,Open value,Weighted value,Won,Won value,Lost,Lost value",
                // KWD first (by code), in its three decimals; never added to SAR.
                "KWD,Total,,0,0.000,0.000,1,1.500,0,0.000",
                "KWD,Owner,سارة,0,0.000,0.000,1,1.500,0,0.000",
                "KWD,Stage,Won,0,0.000,0.000,1,1.500,0,0.000",
                "KWD,Close month,2026-11,0,0.000,0.000,1,1.500,0,0.000",
                "SAR,Total,,1,10000.50,5000.25,0,0.00,1,200.00",
                "SAR,Owner,سارة,1,10000.50,5000.25,0,0.00,1,200.00",
                "SAR,Stage,Proposal,1,10000.50,5000.25,0,0.00,0,0.00",
                "SAR,Stage,Lost,0,0.00,0.00,0,0.00,1,200.00",
                "SAR,Close month,2026-11,1,10000.50,5000.25,0,0.00,1,200.00",
            ]
        );
    }

    #[test]
    fn times_take_the_zones_offset_on_their_own_date() {
        use chrono::TimeZone;
        let opts = ExportOptions {
            zone: chrono_tz::Europe::London,
            ..ExportOptions::default()
        };
        let winter = chrono::Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        assert_eq!(opts.time_text(winter), "2026-01-15 12:00");
        assert_eq!(opts.time_text(summer), "2026-07-15 13:00");
        assert_eq!(
            Cell::Time(summer).text(&opts, true),
            "2026-07-15T13:00:00+01:00"
        );
        assert_eq!(opts.zone_label(), "Europe/London");
        assert_eq!(ExportOptions::default().zone_label(), "UTC");
    }
}
