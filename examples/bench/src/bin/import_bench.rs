//! The import benchmark: generates a lead file of N rows (CSV, Arabic and Latin
//! names, local and international phones, a few duplicates and bad rows), reads it with
//! `crm_core::import` and imports it with `Crm::import_leads` into a fresh SQLite file (or,
//! with `--postgres URL`, a fresh schema on that server), then times the same rows one
//! `create_lead` call each on a sample (`--sample` rows, into another fresh database) and
//! prints both, per row and in all. With `--importers N` the file is cut into N files of
//! consecutive rows, imported at the same time, each streamed a batch at a time
//! ([`crm_core::Crm::start_import`]).
//!
//! ```text
//! cargo run --profile perf -p crm-bench --bin import_bench -- --rows 100000 --sample 5000
//! cargo run --profile perf -p crm-bench --bin import_bench -- --rows 1000000 --sample 0 \
//!     --postgres postgres://postgres@127.0.0.1:5432/test --importers 4
//! ```
//!
//! Targets: 100,000 rows in under 10 s, and at least 10x faster per row than `create_lead`;
//! 1,000,000 rows into PostgreSQL in under 2 minutes; 4 importers no slower than 1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use clap::Parser;
use crm_core::import::{Columns, CsvRows, Encoding, RowOptions, read_csv, read_row, read_rows};
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
    /// Import into a fresh schema on this PostgreSQL server instead of a SQLite file.
    #[arg(long)]
    postgres: Option<String>,
    /// Importers running at once, each on its own consecutive part of the rows.
    #[arg(long, default_value_t = 1)]
    importers: usize,
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

/// A fresh database: a SQLite file at `path`, or a new schema on the `postgres` server.
async fn crm(path: &std::path::Path, postgres: Option<&str>) -> Crm {
    let url = match postgres {
        Some(base) => crm_store_sqlx::postgres_fresh_schema(base, "crm_bench")
            .await
            .unwrap(),
        None => path.to_string_lossy().into_owned(),
    };
    let c = crm_store_sqlx::connect(&url).await.unwrap();
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
    drop(rows);

    let bulk =
        std::sync::Arc::new(crm(&dir.path().join("import.db"), args.postgres.as_deref()).await);
    let importers = args.importers.max(1);
    let per_importer = sheet.rows.len().div_ceil(importers);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (i, part) in sheet.rows.chunks(per_importer.max(1)).enumerate() {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(&sheet.headers).unwrap();
        for (_, cells) in part {
            csv.write_record(cells).unwrap();
        }
        let part = csv.into_inner().unwrap();
        let bulk = bulk.clone();
        let opts = opts.clone();
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let import = ImportOptions {
                on_duplicate: OnDuplicate::Skip,
                dry_run: false,
                file_key: Some(format!("bench{i}")),
                batch_size: batch,
            };
            let mut run = bulk
                .start_import(EmployeeId::new(1).unwrap(), &import)
                .await
                .unwrap();
            let mut rows = CsvRows::new(part.as_slice(), Encoding::Utf8, Some(b',')).unwrap();
            let columns = Columns::match_headers(rows.headers(), None).unwrap();
            let mut counts = [0usize; 3];
            loop {
                let batch_rows: Vec<_> = rows
                    .by_ref()
                    .take(batch)
                    .filter_map(|r| {
                        let (n, cells) = r.unwrap();
                        read_row(n, &cells, &columns, &opts)
                    })
                    .collect();
                if batch_rows.is_empty() {
                    break;
                }
                for r in run.import(batch_rows).await.unwrap() {
                    match r.outcome.as_str() {
                        "created" => counts[0] += 1,
                        "skipped" => counts[1] += 1,
                        _ => counts[2] += 1,
                    }
                }
            }
            counts
        }));
    }
    let mut counts = [0usize; 3];
    for t in tasks {
        let c = t.await.unwrap();
        for (all, one) in counts.iter_mut().zip(c) {
            *all += one;
        }
    }
    let import = t.elapsed();
    let sample: Vec<_> = read_rows(&sheet, &columns, &opts)
        .into_iter()
        .take(args.sample)
        .collect();

    let one = crm(&dir.path().join("one_by_one.db"), args.postgres.as_deref()).await;
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
        "read {} rows in {:.2} s; imported by {importers} importer(s) into {} in {:.2} s \
         ({:.1} µs/row: {} created, {} skipped, {} failed)",
        args.rows,
        read.as_secs_f64(),
        if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        import.as_secs_f64(),
        import_row * 1e6,
        counts[0],
        counts[1],
        counts[2],
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
