//! Exports of lead lists and the report, for spreadsheets and management: CSV (feature `csv`),
//! XLSX (feature `xlsx`) and PDF (feature `pdf`). A host that exports nothing enables none of
//! them and pays for none of their dependencies.
//!
//! The shape is the same for every format: a table (a title, headings, rows of typed
//! [`Cell`]s) goes into a [`RowSink`], which writes its format to any `std::io::Write`.
//! [`Crm::export_leads`] streams every lead a query matches into a sink, page by page through
//! [`Crm::list_leads`] (so the same permissions and visibility rules apply as to a listing),
//! and [`Crm::export_report`] writes the status x source report; likewise the pipeline,
//! lost-reason and time-in-status reports. [`write_leads`], [`write_report`] and their
//! siblings pick the sink by [`Format`].
//!
//! Memory: CSV and XLSX write row by row, so an export of any size runs in constant memory
//! (XLSX rows go to a temporary file until the workbook is zipped). A PDF is laid out as a
//! whole, so a PDF of a big list is built in memory.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::{BoxError, CrmError};
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::money::Money;
use crate::pipeline::{CurrencyPipeline, PipelineFilter, PipelineReport, PipelineTotals};
use crate::query::LeadQuery;
use crate::report::{LostReasonReport, Report, ReportFilter};
use crate::service::Crm;
use crate::status::LeadStatus;
use crate::time_in_status::TimeInStatusReport;
use crate::validation::ValidationError;

#[cfg(feature = "csv")]
pub mod csv;
mod labels;
#[cfg(feature = "pdf")]
pub mod pdf;
mod score_labels;
#[cfg(feature = "xlsx")]
pub mod xlsx;

use labels::{Label, label};
pub use labels::{
    Locale, duration_label, lost_reason_label, source_label, stage_label, status_label,
};

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values, UTF-8 with a byte-order mark.
    Csv,
    /// An Excel workbook.
    Xlsx,
    /// A PDF document.
    Pdf,
}

impl Format {
    /// `csv`, `xlsx` or `pdf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "xlsx" => Ok(Self::Xlsx),
            "pdf" => Ok(Self::Pdf),
            _ => Err(ValidationError::InvalidId {
                kind: "export format (csv, xlsx or pdf)",
                value: s.chars().take(40).collect(),
            }),
        }
    }
}

/// Why an export failed. Nothing half-written is handed out as a finished file: a failed
/// export's output is to be discarded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the leads or the report failed (permissions, visibility, storage): handle
    /// the inner [`CrmError`] as its variant says.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// Writing the output failed (the writer's I/O error, a full disk, a closed
    /// connection; the source says which). Log it; retrying when the output is writable
    /// again is safe (an export changes nothing).
    #[error("cannot write the {0} export")]
    Write(Format, #[source] BoxError),
    /// The PDF renderer refused the document (its messages, joined). A bug of the template
    /// or the bundled fonts, not of the data: retrying gives the same; report it, and offer
    /// the CSV or XLSX export meanwhile.
    #[error("cannot lay out the PDF: {0}")]
    Layout(String),
    /// This build of crm-core has no exporter for the format (its cargo feature is off).
    /// A set-up error of the host: build with the feature (`csv`, `xlsx`, `pdf`), or do
    /// not offer the format; do not retry.
    #[error("this build has no {0} export (crm-core's `{feature}` feature is off)", feature = .0.as_str())]
    NotBuilt(Format),
}

/// How exports show values to people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// Headings and labels in Arabic or English; Arabic sheets and pages read right to left.
    pub locale: Locale,
    /// The IANA time zone dates are shown in (the host's, or the viewer's); each date takes
    /// the offset in force on that date (daylight saving included), and headings name the
    /// zone.
    pub zone: Tz,
    /// Start a CSV with a UTF-8 byte-order mark (Excel needs it to read UTF-8 as such).
    pub bom: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            locale: Locale::En,
            zone: Tz::UTC,
            bom: true,
        }
    }
}

impl ExportOptions {
    /// The zone as headings state it: its IANA name (`UTC`, `Asia/Riyadh`). A name, not an
    /// offset: a zone with daylight saving has two offsets in a year.
    pub fn zone_label(&self) -> String {
        self.zone.name().to_owned()
    }

    /// A time as people read it in a cell of text: `2026-11-25 14:05` in the zone, at the
    /// offset in force on that date.
    pub fn time_text(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// What a column holds: it decides alignment, width and the cell type in a workbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text in any script.
    Text,
    /// Text that always reads left to right: ids, emails, phones (text, never a number, so
    /// a spreadsheet keeps the `+` and leading zeros).
    Code,
    /// A whole number.
    Count,
    /// An amount of money.
    Money,
    /// A point in time.
    Time,
}

/// A column heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// The heading in the export's language.
    pub text: String,
    /// What the column holds.
    pub kind: ColumnKind,
    /// A detail for machines (an id, a second timestamp): in CSV and XLSX, left out of a
    /// printed PDF.
    pub detail: bool,
}

/// A table to export: a title, a line under it, and the headings of its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The title (also the sheet name of a workbook).
    pub title: String,
    /// One line under the title: when, in which zone, under which filters.
    pub subtitle: String,
    /// The columns.
    pub headings: Vec<Heading>,
}

/// One typed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Nothing.
    Empty,
    /// Free text in any script.
    Text(Cow<'a, str>),
    /// Text that reads left to right (an id, an email, a phone).
    Code(Cow<'a, str>),
    /// A whole number.
    Count(u64),
    /// An amount in its currency.
    Money(Money),
    /// A point in time (shown in the export's zone).
    Time(DateTime<Utc>),
}

impl Cell<'_> {
    /// The cell as text for formats without types: times in the zone as RFC 3339 when
    /// `machine`, else as `YYYY-MM-DD HH:MM`; money as its amount in the currency's digits.
    pub fn text(&self, opts: &ExportOptions, machine: bool) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Code(s) => Cow::Borrowed(s.as_ref()),
            Cell::Count(n) => Cow::Owned(n.to_string()),
            Cell::Money(m) => Cow::Owned(m.format_amount()),
            Cell::Time(t) if machine => Cow::Owned(t.with_timezone(&opts.zone).to_rfc3339()),
            Cell::Time(t) => Cow::Owned(opts.time_text(*t)),
        }
    }
}

/// Where a table goes: one implementation per format.
pub trait RowSink {
    /// Starts the table. Called once, before any row.
    fn begin(&mut self, table: &Table) -> Result<(), ExportError>;
    /// Adds a row, as many cells as headings.
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError>;
    /// Adds the closing total row.
    fn total_row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.row(cells)
    }
    /// Ends the table and writes what is still buffered.
    fn finish(&mut self) -> Result<(), ExportError>;
}

/// The columns of a lead export, in order.
const LEAD_COLUMNS: [(Label, ColumnKind, bool); 14] = [
    (Label::Id, ColumnKind::Code, true),
    (Label::Name, ColumnKind::Text, false),
    (Label::Email, ColumnKind::Code, false),
    (Label::Phone, ColumnKind::Code, false),
    (Label::Company, ColumnKind::Text, false),
    (Label::Source, ColumnKind::Text, false),
    (Label::Status, ColumnKind::Text, false),
    (Label::OwnerName, ColumnKind::Text, false),
    (Label::OwnerId, ColumnKind::Count, true),
    (Label::Created, ColumnKind::Time, false),
    (Label::Updated, ColumnKind::Time, true),
    (Label::LastInteraction, ColumnKind::Time, false),
    (Label::LostReason, ColumnKind::Text, false),
    (Label::ClientId, ColumnKind::Code, true),
];

fn headings(columns: &[(Label, ColumnKind, bool)], opts: &ExportOptions) -> Vec<Heading> {
    columns
        .iter()
        .map(|(l, kind, detail)| Heading {
            detail: *detail,
            text: match kind {
                ColumnKind::Time => format!("{} ({})", label(*l, opts.locale), opts.zone_label()),
                _ => label(*l, opts.locale).to_owned(),
            },
            kind: *kind,
        })
        .collect()
}

/// A table titled `title` with `columns`, headed by `subtitle`.
fn titled(
    title: Label,
    columns: &[(Label, ColumnKind, bool)],
    opts: &ExportOptions,
    subtitle: String,
) -> Table {
    Table {
        title: label(title, opts.locale).to_owned(),
        subtitle,
        headings: headings(columns, opts),
    }
}

/// The table of a lead export, headed by `subtitle`.
pub fn leads_table(opts: &ExportOptions, subtitle: String) -> Table {
    titled(Label::LeadsTitle, &LEAD_COLUMNS, opts, subtitle)
}

/// A lead as a row of [`leads_table`]; `owner_name` as the directory knows it.
pub fn lead_cells<'a>(
    lead: &'a Lead,
    owner_name: Option<&'a str>,
    opts: &ExportOptions,
) -> Vec<Cell<'a>> {
    let text = |s: Option<&'a str>| s.map_or(Cell::Empty, |s| Cell::Text(Cow::Borrowed(s)));
    let code = |s: Option<&'a str>| s.map_or(Cell::Empty, |s| Cell::Code(Cow::Borrowed(s)));
    vec![
        Cell::Code(Cow::Owned(lead.id().to_string())),
        Cell::Text(Cow::Borrowed(lead.name().as_str())),
        code(lead.email().map(|e| e.as_str())),
        code(lead.phone().map(|p| p.key())),
        text(lead.company().map(|c| c.as_str())),
        Cell::Text(source_label(lead.source(), opts.locale)),
        Cell::Text(Cow::Borrowed(status_label(lead.status(), opts.locale))),
        text(owner_name),
        Cell::Count(lead.owner().get().unsigned_abs()),
        Cell::Time(lead.created_at()),
        Cell::Time(lead.updated_at()),
        lead.last_interaction_at().map_or(Cell::Empty, Cell::Time),
        // The code, then the free-text detail when there is one ("competitor: ...").
        lead.lost()
            .map_or(Cell::Empty, |r| Cell::Text(Cow::Owned(r.to_string()))),
        code(lead.client_id().map(|c| c.as_ref())),
    ]
}

/// The table of the report: a source column, one column per status, and a total column.
pub fn report_table(opts: &ExportOptions, subtitle: String) -> Table {
    let mut columns = vec![Heading {
        text: label(Label::Source, opts.locale).to_owned(),
        kind: ColumnKind::Text,
        detail: false,
    }];
    columns.extend(LeadStatus::ALL.iter().map(|s| Heading {
        text: status_label(*s, opts.locale).to_owned(),
        kind: ColumnKind::Count,
        detail: false,
    }));
    columns.push(Heading {
        text: label(Label::Total, opts.locale).to_owned(),
        kind: ColumnKind::Count,
        detail: false,
    });
    Table {
        title: label(Label::ReportTitle, opts.locale).to_owned(),
        subtitle,
        headings: columns,
    }
}

/// The report's rows (one per source) and its total row.
pub fn report_rows<'a>(
    report: &'a Report,
    opts: &ExportOptions,
) -> (Vec<Vec<Cell<'a>>>, Vec<Cell<'a>>) {
    let rows = report
        .by_source
        .iter()
        .map(|(source, total)| {
            let mut cells = vec![Cell::Text(source_label(source, opts.locale))];
            cells.extend(
                LeadStatus::ALL
                    .iter()
                    .map(|s| Cell::Count(report.count(*s, source))),
            );
            cells.push(Cell::Count(*total));
            cells
        })
        .collect();
    let mut total = vec![Cell::Text(Cow::Borrowed(label(Label::Total, opts.locale)))];
    total.extend(
        LeadStatus::ALL
            .iter()
            .map(|s| Cell::Count(report.by_status.get(s).copied().unwrap_or(0))),
    );
    total.push(Cell::Count(report.total));
    (rows, total)
}

/// The columns of the lost-reason report: the reason in words, its code (a detail), the
/// leads lost with it and their share of all lost leads.
const LOST_REASON_COLUMNS: [(Label, ColumnKind, bool); 4] = [
    (Label::LostReason, ColumnKind::Text, false),
    (Label::LostReasonCode, ColumnKind::Code, true),
    (Label::Leads, ColumnKind::Count, false),
    (Label::SharePercent, ColumnKind::Count, false),
];

/// The table of the lost-reason report, headed by `subtitle`.
pub fn lost_reasons_table(opts: &ExportOptions, subtitle: String) -> Table {
    titled(
        Label::LostReasonsTitle,
        &LOST_REASON_COLUMNS,
        opts,
        subtitle,
    )
}

/// The lost-reason report's rows, the most frequent reason first, and its total row. A
/// share is a whole percent, rounded half up.
pub fn lost_reasons_rows<'a>(
    report: &'a LostReasonReport,
    opts: &ExportOptions,
) -> (Vec<Vec<Cell<'a>>>, Vec<Cell<'a>>) {
    let rows = (report.rows.iter())
        .map(|r| {
            vec![
                Cell::Text(lost_reason_label(r.code.as_str(), opts.locale)),
                Cell::Code(Cow::Borrowed(r.code.as_str())),
                Cell::Count(r.count),
                Cell::Count(report.share_percent(r.count)),
            ]
        })
        .collect();
    let total = vec![
        Cell::Text(Cow::Borrowed(label(Label::Total, opts.locale))),
        Cell::Empty,
        Cell::Count(report.total),
        Cell::Count(if report.total > 0 { 100 } else { 0 }),
    ];
    (rows, total)
}

/// The columns of the time-in-status report: whose leads (name, id as a detail), which
/// source and status, how many leads held it, and their average time in it as whole
/// minutes (for sums and sorting) and in words.
const TIME_IN_STATUS_COLUMNS: [(Label, ColumnKind, bool); 7] = [
    (Label::OwnerName, ColumnKind::Text, false),
    (Label::OwnerId, ColumnKind::Count, true),
    (Label::Source, ColumnKind::Text, false),
    (Label::Status, ColumnKind::Text, false),
    (Label::Leads, ColumnKind::Count, false),
    (Label::AverageMinutes, ColumnKind::Count, true),
    (Label::Average, ColumnKind::Text, false),
];

/// The table of the time-in-status report, headed by `subtitle`.
pub fn time_in_status_table(opts: &ExportOptions, subtitle: String) -> Table {
    titled(
        Label::TimeInStatusTitle,
        &TIME_IN_STATUS_COLUMNS,
        opts,
        subtitle,
    )
}

/// The time-in-status report's rows: per owner (named by `owner_names`, else by id),
/// source and status, then per status over everything counted (owner and source: "All").
pub fn time_in_status_rows<'a>(
    report: &'a TimeInStatusReport,
    owner_names: &BTreeMap<EmployeeId, String>,
    opts: &ExportOptions,
) -> Vec<Vec<Cell<'a>>> {
    let all = || Cell::Text(Cow::Borrowed(label(Label::All, opts.locale)));
    let average = |micros: i64| {
        let d = chrono::TimeDelta::microseconds(micros);
        [
            Cell::Count(d.num_minutes().max(0).unsigned_abs()),
            Cell::Text(Cow::Owned(duration_label(d, opts.locale))),
        ]
    };
    let mut rows: Vec<Vec<Cell<'a>>> = (report.rows.iter())
        .map(|a| {
            let name = owner_names
                .get(&a.owner)
                .map_or_else(|| a.owner.to_string(), Clone::clone);
            let mut row = vec![
                Cell::Text(Cow::Owned(name)),
                Cell::Count(a.owner.get().unsigned_abs()),
                Cell::Text(source_label(&a.source, opts.locale)),
                Cell::Text(Cow::Borrowed(status_label(a.status, opts.locale))),
                Cell::Count(a.leads),
            ];
            row.extend(average(a.average_micros));
            row
        })
        .collect();
    rows.extend(report.overall.iter().map(|(status, leads, micros)| {
        let mut row = vec![
            all(),
            Cell::Empty,
            all(),
            Cell::Text(Cow::Borrowed(status_label(*status, opts.locale))),
            Cell::Count(*leads),
        ];
        row.extend(average(*micros));
        row
    }));
    rows
}

/// The columns of a pipeline export, in order: which currency, which breakdown (total,
/// owner, stage, close month) and which item of it, then the totals.
const PIPELINE_COLUMNS: [(Label, ColumnKind, bool); 10] = [
    (Label::Currency, ColumnKind::Code, false),
    (Label::Breakdown, ColumnKind::Text, false),
    (Label::Item, ColumnKind::Text, false),
    (Label::OpenCount, ColumnKind::Count, false),
    (Label::OpenValue, ColumnKind::Money, false),
    (Label::Weighted, ColumnKind::Money, false),
    (Label::WonCount, ColumnKind::Count, false),
    (Label::WonValue, ColumnKind::Money, false),
    (Label::LostCount, ColumnKind::Count, false),
    (Label::LostValue, ColumnKind::Money, false),
];

/// The table of the pipeline report, headed by `subtitle`.
pub fn pipeline_table(opts: &ExportOptions, subtitle: String) -> Table {
    titled(Label::PipelineTitle, &PIPELINE_COLUMNS, opts, subtitle)
}

/// The pipeline report's rows: per currency (by code) its total, then by owner (named by
/// `owner_names`, else by id), by stage and by close month. Amounts stay in their currency:
/// no row adds two currencies.
pub fn pipeline_rows<'a>(
    report: &'a PipelineReport,
    owner_names: &BTreeMap<EmployeeId, String>,
    opts: &ExportOptions,
) -> Vec<Vec<Cell<'a>>> {
    let mut rows = Vec::new();
    for c in &report.currencies {
        let row = |by: Label, item: Cell<'a>, t: &PipelineTotals| -> Vec<Cell<'a>> {
            let money = |minor: i64| c.money(minor).map_or(Cell::Empty, Cell::Money);
            vec![
                Cell::Code(Cow::Borrowed(c.currency.code())),
                Cell::Text(Cow::Borrowed(label(by, opts.locale))),
                item,
                Cell::Count(t.open_count),
                money(t.open_minor),
                money(t.weighted_minor),
                Cell::Count(t.won_count),
                money(t.won_minor),
                Cell::Count(t.lost_count),
                money(t.lost_minor),
            ]
        };
        rows.extend(currency_rows(c, owner_names, opts, row));
    }
    rows
}

fn currency_rows<'a>(
    c: &'a CurrencyPipeline,
    owner_names: &BTreeMap<EmployeeId, String>,
    opts: &ExportOptions,
    row: impl Fn(Label, Cell<'a>, &PipelineTotals) -> Vec<Cell<'a>>,
) -> Vec<Vec<Cell<'a>>> {
    let mut rows = vec![row(Label::Total, Cell::Empty, &c.totals)];
    for (o, t) in &c.by_owner {
        let name = owner_names
            .get(o)
            .map_or_else(|| format!("#{o}"), Clone::clone);
        rows.push(row(Label::Owner, Cell::Text(Cow::Owned(name)), t));
    }
    for (s, t) in &c.by_stage {
        let stage = Cell::Text(Cow::Borrowed(stage_label(*s, opts.locale)));
        rows.push(row(Label::Stage, stage, t));
    }
    for (m, t) in &c.by_month {
        let month = Cell::Code(Cow::Owned(m.format("%Y-%m").to_string()));
        rows.push(row(Label::CloseMonth, month, t));
    }
    rows
}

/// Writes a whole table of rows to a sink.
pub fn write_table<'a, S: RowSink + ?Sized>(
    sink: &mut S,
    table: &Table,
    rows: impl IntoIterator<Item = Vec<Cell<'a>>>,
    total: Option<&[Cell<'a>]>,
) -> Result<(), ExportError> {
    sink.begin(table)?;
    for r in rows {
        sink.row(&r)?;
    }
    if let Some(t) = total {
        sink.total_row(t)?;
    }
    sink.finish()
}

/// `Generated 2026-11-25 14:05 (UTC+03:00) · status: new · ...`: what a reader of a printed
/// export needs to know about it.
fn subtitle(opts: &ExportOptions, at: DateTime<Utc>, filters: &[(Label, String)]) -> String {
    // On a right-to-left line a time reads left to right only inside an isolate: the
    // bidirectional algorithm would otherwise turn `2026-11-25` into `25-11-2026`.
    let (open, close) = if opts.locale.is_rtl() {
        ("\u{2066}", "\u{2069}")
    } else {
        ("", "")
    };
    let mut s = format!(
        "{} {open}{} ({}){close}",
        label(Label::Generated, opts.locale),
        opts.time_text(at),
        opts.zone_label()
    );
    for (l, v) in filters {
        s.push_str(" · ");
        s.push_str(label(*l, opts.locale));
        s.push_str(": ");
        s.push_str(v);
    }
    s
}

/// A report filter as the line under an export's title states it.
fn report_filters(filter: &ReportFilter, opts: &ExportOptions) -> Vec<(Label, String)> {
    let mut filters = Vec::new();
    if let Some(o) = filter.owner {
        filters.push((Label::OwnerId, o.to_string()));
    }
    if let Some(s) = &filter.source {
        filters.push((Label::Source, source_label(s, opts.locale).into_owned()));
    }
    if let Some(f) = filter.created_from {
        filters.push((Label::From, opts.time_text(f)));
    }
    if let Some(t) = filter.created_to {
        filters.push((Label::To, opts.time_text(t)));
    }
    if let Some(c) = &filter.campaign {
        filters.push((Label::Campaign, c.clone()));
    }
    filters
}

/// Employees' names, looked up once per id through the service (so the actor is checked).
struct Names<'c> {
    crm: &'c Crm,
    actor: EmployeeId,
    known: BTreeMap<EmployeeId, Option<String>>,
}

impl<'c> Names<'c> {
    fn new(crm: &'c Crm, actor: EmployeeId) -> Self {
        Self {
            crm,
            actor,
            known: BTreeMap::new(),
        }
    }

    /// The names of `ids` the directory knows, by id.
    async fn of(&mut self, ids: Vec<EmployeeId>) -> Result<BTreeMap<EmployeeId, String>, CrmError> {
        let mut named = BTreeMap::new();
        for id in ids {
            if let Some(n) = self.get(id).await? {
                named.insert(id, n.to_owned());
            }
        }
        Ok(named)
    }

    async fn get(&mut self, id: EmployeeId) -> Result<Option<&str>, CrmError> {
        if !self.known.contains_key(&id) {
            let name = self
                .crm
                .employee(self.actor, id)
                .await?
                .map(|e| e.name.as_str().to_owned());
            self.known.insert(id, name);
        }
        Ok(self.known.get(&id).and_then(|n| n.as_deref()))
    }
}

/// The most leads one page of an export reads.
const PAGE: u32 = 1000;

impl Crm {
    /// Writes every lead `query` matches (from its cursor on, if it has one) to `sink`,
    /// newest first, reading them page by page through [`Crm::list_leads`] as `actor`: the
    /// same leads a listing shows, with no cap on their number. Memory stays constant for
    /// sinks that write as they go (CSV, XLSX). Returns how many leads were written.
    pub async fn export_leads<S: RowSink + Send + ?Sized>(
        &self,
        actor: EmployeeId,
        query: &LeadQuery,
        opts: &ExportOptions,
        sink: &mut S,
    ) -> Result<u64, ExportError> {
        let mut q = query.clone().limit(PAGE).map_err(CrmError::from)?;
        let mut filters = Vec::new();
        if let Some(s) = q.status {
            filters.push((Label::Status, status_label(s, opts.locale).to_owned()));
        }
        if let Some(s) = &q.source {
            filters.push((Label::Source, source_label(s, opts.locale).into_owned()));
        }
        if let Some(o) = q.owner {
            filters.push((Label::OwnerId, o.to_string()));
        }
        if let Some(k) = q.search_key() {
            filters.push((Label::Search, k.to_owned()));
        }
        // The first page also checks the actor before anything is written.
        let mut page = self.list_leads(actor, &q).await?;
        sink.begin(&leads_table(opts, subtitle(opts, self.now(), &filters)))?;
        let mut names = Names::new(self, actor);
        let mut written = 0;
        loop {
            for lead in &page.items {
                let name = names.get(lead.owner()).await?;
                sink.row(&lead_cells(lead, name, opts))?;
                written += 1;
            }
            match page.next {
                Some(c) => {
                    q = q.after(c);
                    page = self.list_leads(actor, &q).await?;
                }
                None => break,
            }
        }
        sink.finish()?;
        Ok(written)
    }

    /// Writes the status x source report under `filter` to `sink`, with a total row.
    pub async fn export_report<S: RowSink + Send + ?Sized>(
        &self,
        actor: EmployeeId,
        filter: &ReportFilter,
        opts: &ExportOptions,
        sink: &mut S,
    ) -> Result<(), ExportError> {
        let report = self.report(actor, filter).await?;
        let table = report_table(
            opts,
            subtitle(opts, self.now(), &report_filters(filter, opts)),
        );
        let (rows, total) = report_rows(&report, opts);
        write_table(sink, &table, rows, Some(&total))
    }

    /// Writes the lost-reason report under `filter` to `sink`
    /// ([`Crm::lost_reason_report`] as `actor`), with a total row.
    pub async fn export_lost_reasons<S: RowSink + Send + ?Sized>(
        &self,
        actor: EmployeeId,
        filter: &ReportFilter,
        opts: &ExportOptions,
        sink: &mut S,
    ) -> Result<(), ExportError> {
        let report = self.lost_reason_report(actor, filter).await?;
        let table = lost_reasons_table(
            opts,
            subtitle(opts, self.now(), &report_filters(filter, opts)),
        );
        let (rows, total) = lost_reasons_rows(&report, opts);
        write_table(sink, &table, rows, Some(&total))
    }

    /// Writes the time-in-status report under `filter` to `sink`
    /// ([`Crm::time_in_status_report`] as `actor`), each owner named.
    pub async fn export_time_in_status<S: RowSink + Send + ?Sized>(
        &self,
        actor: EmployeeId,
        filter: &ReportFilter,
        opts: &ExportOptions,
        sink: &mut S,
    ) -> Result<(), ExportError> {
        let report = self.time_in_status_report(actor, filter).await?;
        let owner_names = (Names::new(self, actor))
            .of(report.rows.iter().map(|a| a.owner).collect())
            .await?;
        let table = time_in_status_table(
            opts,
            subtitle(opts, self.now(), &report_filters(filter, opts)),
        );
        let rows = time_in_status_rows(&report, &owner_names, opts);
        write_table(sink, &table, rows, None)
    }

    /// Writes the pipeline report under `filter` to `sink` ([`Crm::pipeline`] as `actor`):
    /// per currency, its totals and the same by owner, stage and close month.
    pub async fn export_pipeline<S: RowSink + Send + ?Sized>(
        &self,
        actor: EmployeeId,
        filter: &PipelineFilter,
        opts: &ExportOptions,
        sink: &mut S,
    ) -> Result<(), ExportError> {
        let report = self.pipeline(actor, filter).await?;
        let owner_names = (Names::new(self, actor))
            .of((report.currencies.iter())
                .flat_map(|c| c.by_owner.iter().map(|(o, _)| *o))
                .collect())
            .await?;
        let mut filters = Vec::new();
        if let Some(o) = filter.owner {
            let who = owner_names
                .get(&o)
                .map_or_else(|| o.to_string(), |n| format!("{n} ({o})"));
            filters.push((Label::Owner, who));
        }
        if let Some(f) = filter.close_from {
            filters.push((Label::CloseFrom, f.format("%Y-%m-%d").to_string()));
        }
        if let Some(t) = filter.close_to {
            filters.push((Label::CloseTo, t.format("%Y-%m-%d").to_string()));
        }
        let table = pipeline_table(opts, subtitle(opts, self.now(), &filters));
        let rows = pipeline_rows(&report, &owner_names, opts);
        write_table(sink, &table, rows, None)
    }
}

/// A sink for `format` writing to `out`, or [`ExportError::NotBuilt`].
#[allow(unused_variables)]
pub fn sink_for<'w, W: std::io::Write + Send + 'w>(
    format: Format,
    out: W,
    opts: &ExportOptions,
) -> Result<Box<dyn RowSink + Send + 'w>, ExportError> {
    match format {
        #[cfg(feature = "csv")]
        Format::Csv => Ok(Box::new(csv::CsvSink::new(out, opts)?)),
        #[cfg(feature = "xlsx")]
        Format::Xlsx => Ok(Box::new(xlsx::XlsxSink::new(out, opts)?)),
        #[cfg(feature = "pdf")]
        Format::Pdf => Ok(Box::new(pdf::PdfSink::new(out, opts))),
        #[allow(unreachable_patterns)]
        f => Err(ExportError::NotBuilt(f)),
    }
}

/// [`Crm::export_leads`] in `format` to `out`. Returns how many leads were written.
pub async fn write_leads<W: std::io::Write + Send>(
    crm: &Crm,
    actor: EmployeeId,
    query: &LeadQuery,
    format: Format,
    opts: &ExportOptions,
    out: W,
) -> Result<u64, ExportError> {
    let mut sink = sink_for(format, out, opts)?;
    crm.export_leads(actor, query, opts, sink.as_mut()).await
}

/// [`Crm::export_report`] in `format` to `out`.
pub async fn write_report<W: std::io::Write + Send>(
    crm: &Crm,
    actor: EmployeeId,
    filter: &ReportFilter,
    format: Format,
    opts: &ExportOptions,
    out: W,
) -> Result<(), ExportError> {
    let mut sink = sink_for(format, out, opts)?;
    crm.export_report(actor, filter, opts, sink.as_mut()).await
}

/// [`Crm::export_pipeline`] in `format` to `out`.
pub async fn write_pipeline<W: std::io::Write + Send>(
    crm: &Crm,
    actor: EmployeeId,
    filter: &PipelineFilter,
    format: Format,
    opts: &ExportOptions,
    out: W,
) -> Result<(), ExportError> {
    let mut sink = sink_for(format, out, opts)?;
    crm.export_pipeline(actor, filter, opts, sink.as_mut())
        .await
}

/// [`Crm::export_lost_reasons`] in `format` to `out`.
pub async fn write_lost_reasons<W: std::io::Write + Send>(
    crm: &Crm,
    actor: EmployeeId,
    filter: &ReportFilter,
    format: Format,
    opts: &ExportOptions,
    out: W,
) -> Result<(), ExportError> {
    let mut sink = sink_for(format, out, opts)?;
    crm.export_lost_reasons(actor, filter, opts, sink.as_mut())
        .await
}

/// [`Crm::export_time_in_status`] in `format` to `out`.
pub async fn write_time_in_status<W: std::io::Write + Send>(
    crm: &Crm,
    actor: EmployeeId,
    filter: &ReportFilter,
    format: Format,
    opts: &ExportOptions,
    out: W,
) -> Result<(), ExportError> {
    let mut sink = sink_for(format, out, opts)?;
    crm.export_time_in_status(actor, filter, opts, sink.as_mut())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn a_reports_heading_names_every_filter_it_was_made_under() {
        let filter = ReportFilter {
            source: Some(Source::web()),
            campaign: Some("رمضان".into()),
            ..ReportFilter::default()
        };
        let opts = ExportOptions::default();
        let named: Vec<Label> = (report_filters(&filter, &opts).iter())
            .map(|(l, _)| *l)
            .collect();
        assert_eq!(named, [Label::Source, Label::Campaign]);
        let heading = subtitle(
            &opts,
            DateTime::<Utc>::UNIX_EPOCH,
            &report_filters(&filter, &opts),
        );
        assert!(heading.ends_with(&format!("{}: رمضان", label(Label::Campaign, opts.locale))));
    }
}
