//! Exports checked with the tools people open them with: Python's openpyxl reads the XLSX,
//! poppler's pdffonts, pdftotext and pdftoppm read the PDF. On every store (memory, SQLite,
//! PostgreSQL) through the library, and through the `crm` binary on SQLite and PostgreSQL.
//!
//! Without the tools these tests are ignored (`cfg(crm_no_export_tools)`, see
//! `tests/build/export_tools.rs`); with `CRM_REQUIRE_EXPORT_TOOLS=1` they run and a missing
//! tool fails them.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crm_core::export::{
    self, Cell, ColumnKind, ExportOptions, Format, Heading, Locale, Table, write_table,
};
use crm_core::{Currency, LeadQuery, LeadStatus, LeadStore, Money, Name, ReportFilter, Source};
use crm_tests::harness::{Harness, manager, new_lead, sales, sales2, unknown};
use serde_json::Value;

/// Runs a tool, failing the test with a clear message when it is missing or fails.
fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{program} is needed by the export tests and could not run ({e}): \
             apt-get install -y poppler-utils; pip install openpyxl"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What openpyxl reads: the sheet's direction, frozen pane, filter, and every cell as
/// `[type, value, number_format]`.
const READ_XLSX: &str = r#"
import json, sys, datetime
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.active
def cell(c):
    v = c.value
    if isinstance(v, datetime.datetime):
        v = v.isoformat()
    return [type(c.value).__name__, v, c.number_format]
print(json.dumps({
    "title": ws.title,
    "rtl": bool(ws.sheet_view.rightToLeft),
    "freeze": ws.freeze_panes,
    "filter": ws.auto_filter.ref,
    "widths": {k: d.width for k, d in ws.column_dimensions.items()},
    "rows": [[cell(c) for c in row] for row in ws.iter_rows()],
}, ensure_ascii=False))
"#;

fn read_xlsx(path: &Path) -> Value {
    let out = tool("python3", &["-c", READ_XLSX, path.to_str().unwrap()]);
    serde_json::from_slice(&out).unwrap()
}

/// The PDF's text as pdftotext extracts it, after checking with pdffonts that every font is
/// Amiri and embedded.
fn pdf_text(path: &Path) -> String {
    let fonts = String::from_utf8(tool("pdffonts", &[path.to_str().unwrap()])).unwrap();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts in the PDF:\n{fonts}");
    for r in &rows {
        assert!(r.contains("Amiri"), "a font other than Amiri:\n{fonts}");
        let cols: Vec<&str> = r.split_whitespace().collect();
        // name type... encoding emb sub uni id gen: `emb` is the fourth from the end but two.
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded:\n{fonts}");
    }
    String::from_utf8(tool("pdftotext", &[path.to_str().unwrap(), "-"])).unwrap()
}

/// Renders the first page to PNG under the target directory (kept for people to look at)
/// and checks it is a real image with ink on it.
fn render_png(path: &Path, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("export-png");
    std::fs::create_dir_all(&dir).unwrap();
    let stem = dir.join(name);
    tool(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            path.to_str().unwrap(),
            stem.to_str().unwrap(),
        ],
    );
    let png = stem.with_extension("png");
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{} is no PNG", png.display());
    assert!(bytes.len() > 2_000, "{} looks blank", png.display());
    png
}

/// Arabic letters of `s`, in order: pdftotext may add direction marks and spacing, but the
/// letters of a name come out in logical order.
fn arabic(s: &str) -> String {
    s.chars()
        .filter(|c| ('\u{0621}'..='\u{064A}').contains(c))
        .collect()
}

/// How many leads the export must hold: more than one page of the listing (1000).
const MANY: usize = 1_003;

/// Leads for the exports: Arabic and Latin names, a name full of typst syntax, phones, and
/// enough of them to need two listing pages.
async fn seed(h: &Harness) {
    let mut first = new_lead("أحمد الشهري", None, Some("٠٥٠١٢٣٤٥٦٧"));
    first.company = Some(Name::parse_field("company", "شركة النور Al-Noor 2024").unwrap());
    h.crm.create_lead(sales(), first).await.unwrap();
    let tricky = new_lead(
        "#set page(width: 1cm) *bold* $x$ [a] \\ فاطمة",
        Some("f@example.com"),
        None,
    );
    h.crm.create_lead(sales2(), tricky).await.unwrap();
    let lost = h
        .crm
        .create_lead(sales(), new_lead("ليلى", Some("layla@example.com"), None))
        .await
        .unwrap();
    h.crm
        .change_status(
            sales(),
            lost.id(),
            1,
            LeadStatus::Lost,
            Some(crm_tests::harness::reason("لا ميزانية")),
        )
        .await
        .unwrap();
    for i in 3..MANY {
        let mut l = new_lead(
            &format!("Lead {i}"),
            Some(&format!("l{i}@example.com")),
            None,
        );
        l.source = Source::referral();
        h.crm.create_lead(sales2(), l).await.unwrap();
    }
}

async fn export_to(h: &Harness, format: Format, locale: Locale, dir: &Path) -> PathBuf {
    let path = dir.join(format!("leads-{locale}.{format}"));
    let opts = ExportOptions {
        locale,
        zone: chrono_tz::Asia::Riyadh,
        bom: true,
    };
    let file = std::fs::File::create(&path).unwrap();
    let n = export::write_leads(
        &h.crm,
        manager(),
        &LeadQuery::default(),
        format,
        &opts,
        file,
    )
    .await
    .unwrap();
    assert_eq!(n, MANY as u64);
    path
}

/// The words of page `page` of a PDF with their boxes `(x_min, y_min, x_max, y_max)`, as
/// `pdftotext -bbox` reads them.
fn pdf_words(path: &Path, page: u32) -> Vec<([f64; 4], String)> {
    let p = page.to_string();
    let html = String::from_utf8(tool(
        "pdftotext",
        &["-bbox", "-f", &p, "-l", &p, path.to_str().unwrap(), "-"],
    ))
    .unwrap();
    html.lines()
        .filter_map(|l| l.trim().strip_prefix("<word "))
        .map(|l| {
            let attr = |name: &str| -> f64 {
                let start = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let len = l[start..].find('"').unwrap();
                l[start..start + len].parse().unwrap()
            };
            let text = &l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()];
            let text = text
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">");
            (
                [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")],
                text,
            )
        })
        .collect()
}

/// A long email wraps inside its column instead of running into the next one (no two words
/// of the page overlap), and on an Arabic page text of digits and signs (`=1+1`), alone or
/// inside Arabic text, and a Latin run ending in a full stop read as typed.
#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn pdf_cells_wrap_and_keep_their_direction() {
    let h = Harness::new(Arc::new(crm_store_memory::MemoryStore::new()));
    for (name, email) in [
        (
            "=1+1",
            "a.very.long.email.address.for.testing.overflow@some-long-company-domain.example.com",
        ),
        (
            "سارة",
            "another.rather.long.address.of.a.customer@example-trading.com.sa",
        ),
    ] {
        let mut l = new_lead(name, Some(email), Some("0501234567")).allow_duplicate();
        l.company =
            Some(Name::parse_field("company", "شركة =2+2 للتجارة ABC Trading Co.").unwrap());
        h.crm.create_lead(sales(), l).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.pdf");
    let opts = ExportOptions {
        locale: Locale::Ar,
        zone: chrono_tz::Asia::Riyadh,
        bom: true,
    };
    let file = std::fs::File::create(&path).unwrap();
    export::write_leads(
        &h.crm,
        manager(),
        &LeadQuery::default(),
        Format::Pdf,
        &opts,
        file,
    )
    .await
    .unwrap();
    render_png(&path, "leads-wrapped-ar");
    let words = pdf_words(&path, 1);
    assert!(
        words.iter().any(|(_, w)| w.contains("overflow@")),
        "{words:?}"
    );
    for (i, (a, wa)) in words.iter().enumerate() {
        for (b, wb) in &words[i + 1..] {
            // Words of one line (one baseline) must not overlap; lines of Amiri have boxes
            // taller than their spacing, so boxes of two lines do.
            let apart = (a[1] - b[1]).abs() > 1.0 || a[2] <= b[0] + 0.5 || b[2] <= a[0] + 0.5;
            assert!(apart, "{wa:?} {a:?} overprints {wb:?} {b:?}");
        }
    }
    let texts: Vec<&str> = words.iter().map(|(_, w)| w.as_str()).collect();
    assert!(texts.contains(&"=1+1"), "{texts:?}");
    assert!(texts.iter().any(|w| w.starts_with("=2+2")), "{texts:?}");
    assert!(texts.iter().any(|w| w.starts_with("Co.")), "{texts:?}");
    assert!(
        !texts.iter().any(|w| w.starts_with(".ABC") || *w == "1+1="),
        "{texts:?}"
    );
}

/// The report of everything in `format`, written by the manager to a file in `dir`.
async fn report_file(h: &Harness, format: Format, opts: &ExportOptions, dir: &Path) -> PathBuf {
    let path = dir.join(format!("report.{format}"));
    let file = std::fs::File::create(&path).unwrap();
    export::write_report(
        &h.crm,
        manager(),
        &ReportFilter::default(),
        format,
        opts,
        file,
    )
    .await
    .unwrap();
    path
}

/// The whole export story on one store.
async fn exports_every_lead_in_every_format(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    seed(&h).await;
    let dir = tempfile::tempdir().unwrap();

    // CSV: every lead once (two listing pages), BOM, guarded phone, zone in the heading.
    let csv =
        std::fs::read_to_string(export_to(&h, Format::Csv, Locale::En, dir.path()).await).unwrap();
    assert!(csv.starts_with('\u{FEFF}'));
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{FEFF}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "ID");
    assert_eq!(&headers[9], "Created (Asia/Riyadh)");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), MANY);
    let ids: std::collections::BTreeSet<&str> = records.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), MANY, "a lead was written twice or skipped");
    let ahmad = records.iter().find(|r| &r[1] == "أحمد الشهري").unwrap();
    assert_eq!(
        &ahmad[3], "'+966501234567",
        "the phone is guarded against formulas"
    );
    assert_eq!(&ahmad[7], "سارة الأحمد");
    assert_eq!(&ahmad[9], "2026-01-04T12:00:00+03:00");

    // XLSX read by openpyxl: types, direction, header, filter, frozen row.
    for locale in [Locale::Ar, Locale::En] {
        let x = read_xlsx(&export_to(&h, Format::Xlsx, locale, dir.path()).await);
        assert_eq!(x["rtl"], locale == Locale::Ar, "{locale}");
        assert_eq!(x["freeze"], "A2");
        assert_eq!(x["filter"], format!("A1:N{}", MANY + 1));
        let rows = x["rows"].as_array().unwrap();
        assert_eq!(rows.len(), MANY + 1);
        let heading = |i: usize| rows[0][i][1].as_str().unwrap().to_owned();
        if locale == Locale::Ar {
            assert_eq!(x["title"], "العملاء المحتملون");
            assert_eq!(heading(1), "الاسم");
            assert_eq!(heading(3), "الجوال");
            assert_eq!(heading(9), "تاريخ الإنشاء (Asia/Riyadh)");
        } else {
            assert_eq!(heading(9), "Created (Asia/Riyadh)");
        }
        let ahmad = rows.iter().find(|r| r[1][1] == "أحمد الشهري").unwrap();
        assert_eq!(ahmad[3][0], "str", "a phone is text");
        assert_eq!(ahmad[3][1], "+966501234567", "no apostrophe in a sheet");
        assert_eq!(ahmad[4][1], "شركة النور Al-Noor 2024");
        assert_eq!(ahmad[8][0], "int", "the owner id is a number");
        assert_eq!(ahmad[9][0], "datetime", "a date is a date");
        assert_eq!(
            ahmad[9][1], "2026-01-04T12:00:00",
            "in the zone the heading names"
        );
        assert_eq!(ahmad[9][2], "yyyy-mm-dd hh:mm");
        let lost = rows.iter().find(|r| r[1][1] == "ليلى").unwrap();
        let expected = if locale == Locale::Ar {
            "خسارة"
        } else {
            "Lost"
        };
        assert_eq!(lost[6][1], expected);
        assert_eq!(lost[12][1], "other: لا ميزانية", "the code, then the detail");
    }

    // PDF: Amiri embedded, the Arabic names extracted in logical order, typst syntax in a
    // name printed as it was typed, a page rendered.
    let pdf = export_to(&h, Format::Pdf, Locale::Ar, dir.path()).await;
    let text = pdf_text(&pdf);
    let letters = arabic(&text);
    for name in ["أحمد الشهري", "سارة الأحمد", "لا ميزانية", "العملاء المحتملون"]
    {
        assert!(
            letters.contains(&arabic(name)),
            "{name} not found in:\n{}",
            &text[..2000.min(text.len())]
        );
    }
    for literal in [
        "#set",
        "*bold*",
        "$x$",
        "f@example.com",
        "+966501234567",
        "Lead 1002",
    ] {
        assert!(
            text.contains(literal),
            "{literal} not found in the PDF text"
        );
    }
    assert!(letters.contains(&arabic("فاطمة")));
    render_png(&pdf, "leads-ar");

    // The report in both languages.
    let opts = ExportOptions {
        locale: Locale::Ar,
        ..ExportOptions::default()
    };
    let path = report_file(&h, Format::Pdf, &opts, dir.path()).await;
    let text = pdf_text(&path);
    let letters = arabic(&text);
    for label in [
        "العملاء المحتملون حسب الحالة والمصدر",
        "الإجمالي",
        "إحالة",
        "خسارة",
    ] {
        assert!(
            letters.contains(&arabic(label)),
            "{label} not in the report PDF"
        );
    }
    assert!(text.contains(&MANY.to_string()), "the grand total");
    render_png(&path, "report-ar");
    let path = report_file(&h, Format::Xlsx, &opts, dir.path()).await;
    let x = read_xlsx(&path);
    let rows = x["rows"].as_array().unwrap();
    let total = rows.last().unwrap();
    assert_eq!(total[0][1], "الإجمالي");
    assert_eq!(total[6], serde_json::json!(["int", MANY, "General"]));

    // The actor is checked before anything is written.
    let mut out = Vec::new();
    let err = export::write_leads(
        &h.crm,
        unknown(),
        &LeadQuery::default(),
        Format::Csv,
        &opts,
        &mut out,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            export::ExportError::Crm(crm_core::CrmError::UnknownActor(_))
        ),
        "{err:?}"
    );
    assert!(out.is_empty(), "nothing written for an unknown actor");

    // Filters are the listing's.
    let mut out = Vec::new();
    let q = LeadQuery::default().status(LeadStatus::Lost);
    let n = export::write_leads(&h.crm, sales(), &q, Format::Csv, &opts, &mut out)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_on_memory() {
    exports_every_lead_in_every_format(Arc::new(crm_store_memory::MemoryStore::new())).await;
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let store = crm_store_sqlx::SqliteStore::connect(&path.to_string_lossy())
        .await
        .unwrap();
    exports_every_lead_in_every_format(Arc::new(store)).await;
}

#[tokio::test]
// One attribute: two `ignore`s on one test are an unused-attribute warning when both hold.
#[cfg_attr(
    any(crm_no_postgres, crm_no_export_tools),
    ignore = "CRM_POSTGRES_URL is not set, or openpyxl or poppler-utils missing"
)]
async fn exports_on_postgres() {
    exports_every_lead_in_every_format(crm_tests::postgres::lead_store().await).await;
}

/// Money is a number with its currency's decimals as the number format.
#[test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
fn xlsx_money_is_a_number_in_the_currency_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("money.xlsx");
    let table = Table {
        title: "Pipeline".into(),
        subtitle: String::new(),
        headings: vec![
            Heading {
                text: "Deal".into(),
                kind: ColumnKind::Text,
                detail: false,
            },
            Heading {
                text: "Value".into(),
                kind: ColumnKind::Money,
                detail: false,
            },
        ],
    };
    let money = |v: &str, c: &str| Money::parse(v, Currency::parse(c).unwrap()).unwrap();
    let rows = vec![
        vec![
            Cell::Text(Cow::Borrowed("KWD deal")),
            Cell::Money(money("1250.500", "KWD")),
        ],
        vec![
            Cell::Text(Cow::Borrowed("SAR deal")),
            Cell::Money(money("99.95", "SAR")),
        ],
    ];
    let total = [
        Cell::Text(Cow::Borrowed("Total")),
        Cell::Money(money("10", "SAR")),
    ];
    let mut sink = export::xlsx::XlsxSink::new(
        std::fs::File::create(&path).unwrap(),
        &ExportOptions::default(),
    )
    .unwrap();
    write_table(&mut sink, &table, rows, Some(&total)).unwrap();
    drop(sink);
    let x = read_xlsx(&path);
    assert_eq!(x["rtl"], false);
    assert_eq!(
        x["rows"][1][1],
        serde_json::json!(["float", 1250.5, "#,##0.000 \"KWD\""])
    );
    assert_eq!(
        x["rows"][2][1],
        serde_json::json!(["float", 99.95, "#,##0.00 \"SAR\""])
    );
    assert_eq!(
        x["rows"][3][1],
        serde_json::json!(["int", 10, "#,##0.00 \"SAR\""])
    );
}

/// The pipeline report through the library: per currency, money typed in its decimals, an
/// Arabic right-to-left sheet, Arabic headings in the PDF.
async fn exports_the_pipeline(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h
        .crm
        .create_lead(
            sales(),
            new_lead("أحمد الشهري", Some("a@example.com"), None),
        )
        .await
        .unwrap();
    for (value, code) in [("1250.5", "KWD"), ("99.95", "SAR")] {
        let currency = Currency::parse(code).unwrap();
        h.crm
            .add_opportunity(
                sales(),
                lead.id(),
                crm_core::NewOpportunity {
                    title: Name::parse("صفقة").unwrap(),
                    value: Money::parse(value, currency).unwrap(),
                    expected_close: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    probability: None,
                },
            )
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        locale: Locale::Ar,
        zone: chrono_tz::Asia::Riyadh,
        bom: true,
    };
    let file = |format: Format| {
        let path = dir.path().join(format!("pipeline.{format}"));
        (path.clone(), std::fs::File::create(path).unwrap())
    };
    let (xlsx, out) = file(Format::Xlsx);
    export::write_pipeline(
        &h.crm,
        manager(),
        &crm_core::PipelineFilter::default(),
        Format::Xlsx,
        &opts,
        out,
    )
    .await
    .unwrap();
    let x = read_xlsx(&xlsx);
    assert_eq!(x["rtl"], true);
    assert_eq!(x["title"], "قيمة خط المبيعات");
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(rows[0][0][1], "العملة");
    assert_eq!(rows[0][5][1], "القيمة المرجحة");
    // KWD first, its total row: the open value in three decimals, never added to SAR.
    assert_eq!(rows[1][0][1], "KWD");
    assert_eq!(rows[1][1][1], "الإجمالي");
    assert_eq!(
        rows[1][4],
        serde_json::json!(["float", 1250.5, "#,##0.000 \"KWD\""])
    );
    let sar = rows.iter().find(|r| r[0][1] == "SAR").unwrap();
    assert_eq!(
        sar[4],
        serde_json::json!(["float", 99.95, "#,##0.00 \"SAR\""])
    );
    let owner = rows.iter().find(|r| r[1][1] == "المسؤول").unwrap();
    assert_eq!(owner[2][1], "سارة الأحمد", "the owner by name");

    let (pdf, out) = file(Format::Pdf);
    export::write_pipeline(
        &h.crm,
        manager(),
        &crm_core::PipelineFilter::default(),
        Format::Pdf,
        &opts,
        out,
    )
    .await
    .unwrap();
    let letters = arabic(&pdf_text(&pdf));
    for heading in ["قيمة خط المبيعات", "القيمة المرجحة", "مفتوحة"]
    {
        assert!(letters.contains(&arabic(heading)), "{heading}");
    }
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_the_pipeline_on_memory() {
    exports_the_pipeline(Arc::new(crm_store_memory::MemoryStore::new())).await;
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_the_pipeline_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let store = crm_store_sqlx::SqliteStore::connect(&path.to_string_lossy())
        .await
        .unwrap();
    exports_the_pipeline(Arc::new(store)).await;
}

/// The lost-reason and time-in-status reports, as openpyxl and pdftotext read them: the
/// reasons in words with their share, the averages in whole minutes and in words, in Arabic.
async fn exports_lost_reasons_and_time_in_status(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let price = crm_core::LostReason::new(crm_core::LostReasonCode::parse("price").unwrap());
    for (n, (name, reason)) in [
        ("ليلى", price.clone()),
        ("منى", price),
        ("هند", crm_tests::harness::reason("اختار مزودًا آخر")),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("lost{n}@example.com");
        let lead = h
            .crm
            .create_lead(sales(), new_lead(name, Some(&email), None))
            .await
            .unwrap();
        h.advance(chrono::TimeDelta::hours(26) + chrono::TimeDelta::minutes(5));
        h.crm
            .change_status(sales(), lead.id(), 1, LeadStatus::Lost, Some(reason))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        locale: Locale::Ar,
        zone: chrono_tz::Asia::Riyadh,
        bom: true,
    };
    let path = |name: &str| dir.path().join(name);
    let filter = ReportFilter::default();

    let xlsx = path("lost.xlsx");
    let out = std::fs::File::create(&xlsx).unwrap();
    export::write_lost_reasons(&h.crm, manager(), &filter, Format::Xlsx, &opts, out)
        .await
        .unwrap();
    let x = read_xlsx(&xlsx);
    assert_eq!(x["rtl"], true);
    assert_eq!(x["title"], "العملاء المفقودون حسب السبب");
    let rows = x["rows"].as_array().unwrap();
    let cells =
        |r: &Value| -> Vec<Value> { r.as_array().unwrap().iter().map(|c| c[1].clone()).collect() };
    assert_eq!(
        cells(&rows[0]),
        ["سبب الخسارة", "الرمز", "العملاء", "النسبة (%)"].map(Value::from)
    );
    assert_eq!(
        cells(&rows[1]),
        [Value::from("السعر"), "price".into(), 2.into(), 67.into()]
    );
    assert_eq!(
        cells(&rows[2]),
        [Value::from("سبب آخر"), "other".into(), 1.into(), 33.into()]
    );
    assert_eq!(rows[3][0][1], "الإجمالي");
    assert_eq!(rows[3][2][1], 3);

    let xlsx = path("time.xlsx");
    let out = std::fs::File::create(&xlsx).unwrap();
    export::write_time_in_status(&h.crm, manager(), &filter, Format::Xlsx, &opts, out)
        .await
        .unwrap();
    let x = read_xlsx(&xlsx);
    assert_eq!(x["title"], "متوسط المدة في كل حالة");
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(rows[0][5][1], "المتوسط (بالدقائق)");
    // Each lead was new for 26 h 5 min: the owner by name, the average in minutes and words.
    let new = rows
        .iter()
        .find(|r| r[3][1] == "جديد" && r[0][1] != "الكل")
        .unwrap();
    assert_eq!(new[0][1], "سارة الأحمد");
    assert_eq!(new[4][1], 3);
    assert_eq!(new[5][1], 26 * 60 + 5);
    assert_eq!(new[6][1], "يوم واحد وساعتان و5 دقائق");
    assert!(rows.iter().any(|r| r[0][1] == "الكل" && r[3][1] == "جديد"));

    let pdf = path("time.pdf");
    let out = std::fs::File::create(&pdf).unwrap();
    export::write_time_in_status(&h.crm, manager(), &filter, Format::Pdf, &opts, out)
        .await
        .unwrap();
    let letters = arabic(&pdf_text(&pdf));
    for text in ["متوسط المدة في كل حالة", "يوم واحد وساعتان", "سارة الأحمد"]
    {
        assert!(letters.contains(&arabic(text)), "{text}: {letters}");
    }
    let pdf = path("lost.pdf");
    let out = std::fs::File::create(&pdf).unwrap();
    export::write_lost_reasons(&h.crm, manager(), &filter, Format::Pdf, &opts, out)
        .await
        .unwrap();
    assert!(arabic(&pdf_text(&pdf)).contains(&arabic("السعر")));
    render_png(&pdf, "lost-reasons-ar");
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_lost_reasons_and_time_in_status_on_memory() {
    exports_lost_reasons_and_time_in_status(Arc::new(crm_store_memory::MemoryStore::new())).await;
}

#[tokio::test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
async fn exports_lost_reasons_and_time_in_status_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let store = crm_store_sqlx::SqliteStore::connect(&path.to_string_lossy())
        .await
        .unwrap();
    exports_lost_reasons_and_time_in_status(Arc::new(store)).await;
}

#[tokio::test]
#[cfg_attr(
    any(crm_no_postgres, crm_no_export_tools),
    ignore = "CRM_POSTGRES_URL is not set, or openpyxl or poppler-utils missing"
)]
async fn exports_lost_reasons_and_time_in_status_on_postgres() {
    exports_lost_reasons_and_time_in_status(crm_tests::postgres::lead_store().await).await;
}

// ---- through the `crm` binary ----------------------------------------------------------

fn crm(db: &str, actor: Option<&str>) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("crm").unwrap();
    c.env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_TIME_ZONE")
        .env_remove("CRM_UTC_OFFSET")
        .env_remove("TZ")
        .args(["--db", db]);
    if let Some(a) = actor {
        c.args(["--as", a]);
    }
    c
}

fn cli_exports(db: &str) {
    crm(db, None)
        .args([
            "employee", "add", "--id", "3", "--name", "مدير", "--role", "manager",
        ])
        .assert()
        .success();
    crm(db, Some("3"))
        .args([
            "employee", "add", "--id", "1", "--name", "سارة", "--role", "sales",
        ])
        .assert()
        .success();
    crm(db, Some("1"))
        .args([
            "lead",
            "add",
            "--name",
            "خالد العمري",
            "--phone",
            "0551234567",
            "--source",
            "event",
        ])
        .assert()
        .success();
    crm(db, Some("1"))
        .args([
            "lead",
            "add",
            "--name",
            "Mona",
            "--email",
            "mona@example.com",
            "--source",
            "web",
        ])
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();

    let xlsx = out("leads.xlsx");
    crm(db, Some("1"))
        .args([
            "export",
            "leads",
            "--out",
            &xlsx,
            "--locale",
            "ar",
            "--tz",
            "Asia/Riyadh",
        ])
        .assert()
        .success();
    let x = read_xlsx(Path::new(&xlsx));
    assert_eq!(x["rtl"], true);
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let khalid = rows.iter().find(|r| r[1][1] == "خالد العمري").unwrap();
    assert_eq!(
        khalid[3],
        serde_json::json!(["str", "+966551234567", "General"])
    );
    assert_eq!(khalid[5][1], "فعالية");

    // Filters as in `lead list`; --format wins over the extension.
    let csv = out("web.txt");
    crm(db, Some("1"))
        .args([
            "export", "leads", "--source", "web", "--format", "csv", "--out", &csv,
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("mona@example.com"));

    let pdf = out("report.pdf");
    crm(db, Some("3"))
        .args(["export", "report", "--out", &pdf, "--locale", "ar"])
        .assert()
        .success();
    let text = pdf_text(Path::new(&pdf));
    assert!(arabic(&text).contains(&arabic("فعالية")));
    render_png(Path::new(&pdf), "cli-report-ar");

    // The pipeline report, per currency, in a named zone.
    let lead = crm(db, Some("1"))
        .args(["--json", "lead", "list"])
        .output()
        .unwrap();
    let leads: Value = serde_json::from_slice(&lead.stdout).unwrap();
    let items = leads["items"].as_array().or(leads.as_array()).unwrap();
    let id = items[0]["id"].as_str().unwrap().to_owned();
    for (value, currency) in [("١٬٢٥٠٫٥", "KWD"), ("99.95", "SAR")] {
        crm(db, Some("1"))
            .args([
                "opportunity",
                "add",
                &id,
                "--title",
                "صفقة",
                "--value",
                value,
                "--currency",
                currency,
                "--close",
                "2026-12-31",
            ])
            .assert()
            .success();
    }
    let xlsx = out("pipeline.xlsx");
    crm(db, Some("3"))
        .args([
            "export",
            "pipeline",
            "--out",
            &xlsx,
            "--locale",
            "ar",
            "--tz",
            "Asia/Riyadh",
            "--to",
            "2026-12-31",
        ])
        .assert()
        .success();
    let x = read_xlsx(Path::new(&xlsx));
    assert_eq!(x["rtl"], true);
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(rows[0][0][1], "العملة");
    assert_eq!(rows[1][0][1], "KWD");
    assert_eq!(
        rows[1][4],
        serde_json::json!(["float", 1250.5, "#,##0.000 \"KWD\""])
    );
    let csv = out("pipeline.csv");
    crm(db, Some("3"))
        .args(["export", "pipeline", "--out", &csv, "--from", "2027-01-01"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1, "nothing closes in 2027: {text}");
    let pdf = out("pipeline.pdf");
    crm(db, Some("3"))
        .args(["export", "pipeline", "--out", &pdf, "--locale", "ar"])
        .assert()
        .success();
    assert!(arabic(&pdf_text(Path::new(&pdf))).contains(&arabic("قيمة خط المبيعات")));
    // Lost reasons and time in status, with the report's filters.
    let xlsx = out("lost.xlsx");
    crm(db, Some("3"))
        .args(["export", "lost-reasons", "--out", &xlsx, "--locale", "ar"])
        .assert()
        .success();
    assert_eq!(
        read_xlsx(Path::new(&xlsx))["title"],
        "العملاء المفقودون حسب السبب"
    );
    let csv = out("time.csv");
    crm(db, Some("3"))
        .args(["export", "time-in-status", "--out", &csv, "--source", "web"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("Average (minutes)"), "{text}");
    let e = crm(db, Some("3"))
        .args([
            "export",
            "pipeline",
            "--out",
            &out("z.csv"),
            "--tz",
            "Mars/Olympus",
        ])
        .assert()
        .failure()
        .code(2);
    assert!(String::from_utf8_lossy(&e.get_output().stderr).contains("--tz"));

    // Refusals change nothing on disk: no format, an unknown actor.
    let e = crm(db, Some("1"))
        .args(["export", "leads", "--out", &out("x")])
        .assert()
        .failure()
        .code(2);
    assert!(String::from_utf8_lossy(&e.get_output().stderr).contains("--format"));
    crm(db, Some("99"))
        .args(["export", "leads", "--out", &out("y.csv")])
        .assert()
        .failure()
        .code(4);
    assert!(
        !dir.path().join("y.csv").exists(),
        "a refused export leaves no file"
    );
}

#[test]
#[cfg_attr(crm_no_export_tools, ignore = "openpyxl or poppler-utils missing")]
fn cli_exports_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    cli_exports(&dir.path().join("crm.db").to_string_lossy());
}

#[test]
// One attribute: two `ignore`s on one test are an unused-attribute warning when both hold.
#[cfg_attr(
    any(crm_no_postgres, crm_no_export_tools),
    ignore = "CRM_POSTGRES_URL is not set, or openpyxl or poppler-utils missing"
)]
fn cli_exports_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(crm_tests::postgres::fresh_schema("crm_export"));
    cli_exports(&url);
}

/// The deprecated `--utc-offset` of older scripts: a whole-hour offset is read as its fixed
/// Etc zone (POSIX signs: +03:00 is Etc/GMT-3) with a warning on stderr; a half-hour
/// offset, one no Etc zone has, or `--tz` beside it is refused as a usage error naming
/// `--tz`, and writes no file. CSV only, so it needs none of the export tools.
#[test]
fn deprecated_utc_offset_maps_whole_hours_to_etc_zones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db").to_string_lossy().into_owned();
    let db = db.as_str();
    crm(db, None)
        .args([
            "employee", "add", "--id", "3", "--name", "مدير", "--role", "manager",
        ])
        .assert()
        .success();
    crm(db, Some("3"))
        .args([
            "lead",
            "add",
            "--name",
            "Mona",
            "--email",
            "mona@example.com",
        ])
        .assert()
        .success();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let export = |offset: &str, file: &str| {
        let mut c = crm(db, Some("3"));
        c.args(["export", "leads", "--out", file, "--utc-offset", offset]);
        c
    };

    for (offset, zone, suffix) in [
        ("+03:00", "Etc/GMT-3", "+03:00"),
        ("-05:00", "Etc/GMT+5", "-05:00"),
        ("+3", "Etc/GMT-3", "+03:00"),
        ("+00:00", "UTC", "+00:00"),
    ] {
        let file = out("leads.csv");
        let done = export(offset, &file).assert().success();
        let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
        assert!(
            stderr.contains("deprecated") && stderr.contains(&format!("--tz {zone}")),
            "{offset}: {stderr}"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let header = text.lines().next().unwrap();
        assert!(header.contains(&format!("({zone})")), "{offset}: {header}");
        let row = text.lines().nth(1).unwrap();
        assert!(
            row.split(',')
                .any(|cell| cell.ends_with(suffix) && cell.contains('T')),
            "{offset}: dates at {suffix}: {row}"
        );
        std::fs::remove_file(&file).unwrap();
    }
    // The old environment variable works the same way.
    let file = out("env.csv");
    let done = crm(db, Some("3"))
        .env("CRM_UTC_OFFSET", "+04:00")
        .args(["export", "leads", "--out", &file])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&done.get_output().stderr).contains("--tz Etc/GMT-4"));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("(Etc/GMT-4)")
    );

    // Refused: not a whole hour, beyond the Etc zones, not an offset, and with --tz.
    for (offset, says) in [
        ("+05:30", "whole hour"),
        ("+15:00", "Etc zone"),
        ("Asia/Riyadh", "UTC offset"),
    ] {
        let file = out("refused.csv");
        let e = export(offset, &file).assert().failure().code(2);
        let stderr = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
        assert!(
            stderr.contains(says) && stderr.contains("--tz"),
            "{offset}: {stderr}"
        );
        assert!(
            !Path::new(&file).exists(),
            "a refused export leaves no file"
        );
    }
    let file = out("both.csv");
    let e = export("+03:00", &file)
        .args(["--tz", "Asia/Riyadh"])
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--utc-offset") && stderr.contains("--tz"),
        "{stderr}"
    );
    assert!(!Path::new(&file).exists());
    // Hidden from the help, which shows --tz.
    let help = crm(db, None)
        .args(["export", "leads", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--tz") && !help.contains("--utc-offset"),
        "{help}"
    );
}

/// An export file is created as any other file: 0666 less the umask (0644 under 022, 0600
/// under 077), not always 0600; written over, a file keeps its mode. CSV only, so it needs
/// none of the export tools.
#[cfg(unix)]
#[test]
fn export_files_get_the_mode_of_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db").to_string_lossy().into_owned();
    crm(&db, None)
        .args([
            "employee", "add", "--id", "3", "--name", "مدير", "--role", "manager",
        ])
        .assert()
        .success();
    let bin = assert_cmd::cargo::cargo_bin("crm");
    let export = |umask: &str, file: &Path| {
        // The umask is the shell's: a process cannot set another's without unsafe code.
        let out = Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(&bin)
            .args(["--db", &db, "--as", "3", "export", "leads", "--out"])
            .arg(file)
            .env_remove("CRM_DB")
            .env_remove("CRM_AS")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777
    };
    let file = dir.path().join("leads.csv");
    assert_eq!(export("022", &file), 0o644);
    assert_eq!(export("077", &dir.path().join("private.csv")), 0o600);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(export("022", &file), 0o640);
}
