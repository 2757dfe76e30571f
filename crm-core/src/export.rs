//! Exports: CSV for spreadsheets. UTF-8 with a byte-order mark, so Excel shows Arabic text
//! correctly; cells that a spreadsheet would run as a formula are neutralised.

use crate::lead::Lead;
use crate::report::Report;
use crate::status::LeadStatus;

/// Options for CSV output.
#[derive(Clone, Copy, Debug)]
pub struct CsvOptions {
    /// Start with a UTF-8 byte-order mark (Excel needs it to read UTF-8).
    pub bom: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self { bom: true }
    }
}

fn cell(out: &mut String, value: &str) {
    // A leading =, +, -, @ (or tab/CR) makes spreadsheets evaluate the cell (CSV injection).
    let guard = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = guard || value.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
        if guard {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, c);
    }
    out.push_str("\r\n");
}

fn start(opts: CsvOptions) -> String {
    if opts.bom {
        "\u{FEFF}".to_owned()
    } else {
        String::new()
    }
}

/// Leads as CSV, one row each, with a header.
pub fn leads_csv<'a>(leads: impl IntoIterator<Item = &'a Lead>, opts: CsvOptions) -> String {
    let mut out = start(opts);
    row(
        &mut out,
        [
            "id",
            "name",
            "email",
            "phone",
            "company",
            "source",
            "status",
            "owner",
            "created_at",
            "updated_at",
            "client_id",
            "lost_reason",
        ],
    );
    for l in leads {
        let (id, owner) = (l.id().to_string(), l.owner().to_string());
        let (created, updated) = (l.created_at().to_rfc3339(), l.updated_at().to_rfc3339());
        row(
            &mut out,
            [
                id.as_str(),
                l.name().as_str(),
                l.email().map_or("", |e| e.as_str()),
                l.phone().map_or("", |p| p.as_str()),
                l.company().map_or("", |c| c.as_str()),
                l.source().as_str(),
                l.status().as_str(),
                owner.as_str(),
                created.as_str(),
                updated.as_str(),
                l.client_id().map_or("", |c| c.as_ref()),
                l.lost_reason().map_or("", |r| r.as_str()),
            ],
        );
    }
    out
}

/// The report as CSV: one row per source, one column per status, and a total row and column.
pub fn report_csv(report: &Report, opts: CsvOptions) -> String {
    let mut out = start(opts);
    let mut header = vec!["source"];
    header.extend(LeadStatus::ALL.iter().map(|s| s.as_str()));
    header.push("total");
    row(&mut out, header);
    for (source, total) in &report.by_source {
        let mut cells = vec![source.as_str().to_owned()];
        cells.extend(
            LeadStatus::ALL
                .iter()
                .map(|s| report.count(*s, source).to_string()),
        );
        cells.push(total.to_string());
        row(&mut out, cells.iter().map(String::as_str));
    }
    let mut cells = vec!["total".to_owned()];
    cells.extend(
        LeadStatus::ALL
            .iter()
            .map(|s| report.by_status.get(s).copied().unwrap_or(0).to_string()),
    );
    cells.push(report.total.to_string());
    row(&mut out, cells.iter().map(String::as_str));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        let mut s = String::new();
        row(
            &mut s,
            ["a,b", "say \"hi\"", "=1+1", "+966501234567", "شركة"],
        );
        assert_eq!(
            s,
            "\"a,b\",\"say \"\"hi\"\"\",\"'=1+1\",\"'+966501234567\",شركة\r\n"
        );
    }

    #[test]
    fn report_csv_has_totals_and_bom() {
        let r = Report::from_counts([
            (LeadStatus::New, Source::web(), 2),
            (LeadStatus::Lost, Source::phone(), 1),
        ]);
        let csv = report_csv(&r, CsvOptions::default());
        assert!(csv.starts_with('\u{FEFF}'));
        let lines: Vec<_> = csv.trim_start_matches('\u{FEFF}').lines().collect();
        assert_eq!(
            lines[0],
            "source,new,contacted,interested,converted,lost,total"
        );
        assert_eq!(lines[1], "web,2,0,0,0,0,2");
        assert_eq!(lines[2], "phone,0,0,0,0,1,1");
        assert_eq!(lines[3], "total,2,0,0,0,1,3");
    }
}
