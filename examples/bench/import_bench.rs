//! The import benchmark (issue 11): generates a lead file of N rows (CSV, Arabic and Latin
//! names, local and international phones, a few duplicates and bad rows), reads it with
//! `crm_core::import` and imports it with `Crm::import_leads` into a fresh SQLite file, then
//! times the same rows one `create_lead` call each on a sample (`--sample` rows, into another
//! fresh file) and prints both, per row and in all.
//!
//! ```text
//! cargo run --profile perf -p crm-examples --example import_bench -- --rows 100000 --sample 5000
//! ```
//!
//! Targets: 100,000 rows in under 10 s, and at least 10x faster per row than `create_lead`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use clap::Parser;
use crm_core::import::{Columns, Encoding, RowOptions, read_csv, read_rows};
use crm_core::{
    Crm, Employee, EmployeeId, ImportOptions, Name, OnDuplicate, PhoneRegion, Role, Source,
};

#[derive(Parser, Debug)]
struct Args {
    /// Rows in the generated file.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Rows created one `create_lead` call each, for the comparison.
    #[arg(long, default_value_t = 5_000)]
    sample: usize,
    /// Rows per import batch (transaction).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
}

const FIRST: [&str; 8] = [
    "سارة", "محمد", "Omar", "ليلى", "Khalid", "نورة", "یاسر", "Aisha",
];
const LAST: [&str; 6] = ["الأحمد", "Haddad", "العتيبي", "Kareem", "الشمری", "Nasser"];

/// The file: a header in Arabic, then rows; every 97th row repeats an earlier email, every
/// 1,000th has a bad phone.
fn file(rows: usize) -> Vec<u8> {
    let mut s = String::from("\u{FEFF}الاسم,الجوال,البريد,الشركة,المصدر\r\n");
    for i in 0..rows {
        let name = format!("{} {} {i}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
        let phone = if i % 1000 == 999 {
            "12".to_owned()
        } else if i % 2 == 0 {
            format!("05{:08}", i)
        } else {
            format!("+9665{:08}", i)
        };
        let email_of = if i % 97 == 96 { i - 50 } else { i };
        s.push_str(&format!(
            "{name},{phone},lead{email_of}@example.com,شركة {},الموقع\r\n",
            i % 300
        ));
    }
    s.into_bytes()
}

async fn crm(path: &std::path::Path) -> Crm {
    let c = crm_store_sqlx::connect(&path.to_string_lossy())
        .await
        .unwrap();
    let boss = Employee::new(
        EmployeeId::new(1).unwrap(),
        Name::parse("Boss").unwrap(),
        Role::Manager,
    );
    c.employees.insert_first_employee(&boss).await.unwrap();
    Crm::builder()
        .store(c.store)
        .employee_admin(c.employees)
        .clients(c.clients)
        .build()
        .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let bytes = file(args.rows);
    let opts = RowOptions {
        region: PhoneRegion::parse("SA").unwrap(),
        default_source: Source::other(),
    };

    let t = Instant::now();
    let sheet = read_csv(&bytes, Encoding::Utf8, None).unwrap();
    let columns = Columns::match_headers(&sheet.headers, None).unwrap();
    let rows = read_rows(&sheet, &columns, &opts);
    let read = t.elapsed();

    let bulk = crm(&dir.path().join("import.db")).await;
    let sample: Vec<_> = rows.iter().take(args.sample).cloned().collect();
    let t = Instant::now();
    let report = bulk
        .import_leads(
            EmployeeId::new(1).unwrap(),
            rows,
            &ImportOptions {
                on_duplicate: OnDuplicate::Skip,
                dry_run: false,
                file_key: Some("bench".into()),
                batch_size: args.batch,
            },
        )
        .await
        .unwrap();
    let import = t.elapsed();

    let one = crm(&dir.path().join("one_by_one.db")).await;
    let t = Instant::now();
    let mut created = 0;
    for r in sample {
        if let Ok(l) = r.outcome
            && one
                .create_lead(EmployeeId::new(1).unwrap(), l.lead)
                .await
                .is_ok()
        {
            created += 1;
        }
    }
    let per_call = t.elapsed();

    let n = args.rows as f64;
    let import_row = import.as_secs_f64() / n;
    let call_row = per_call.as_secs_f64() / args.sample.max(1) as f64;
    println!(
        "read {} rows in {:.2} s; imported in {:.2} s ({:.1} µs/row: {} created, {} skipped, {} failed)",
        args.rows,
        read.as_secs_f64(),
        import.as_secs_f64(),
        import_row * 1e6,
        report.count("created"),
        report.count("skipped"),
        report.count("failed"),
    );
    println!(
        "create_lead one by one: {} rows ({} created) in {:.2} s ({:.1} µs/row)",
        args.sample,
        created,
        per_call.as_secs_f64(),
        call_row * 1e6
    );
    println!(
        "read + import: {:.2} s for {} rows; import {:.1}x faster per row than create_lead",
        (read + import).as_secs_f64(),
        args.rows,
        call_row / import_row
    );
}
