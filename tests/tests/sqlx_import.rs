//! Imports on PostgreSQL under the conditions that broke them (issue 5): the duplicate
//! lookup on a table whose statistics were never gathered, and importers running at once.
//! Ignored when `CRM_POSTGRES_URL` is not set.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crm_core::{ImportBatch, ImportKey, ImportWrite, LeadStore, StoreWrites};
use crm_store_sqlx::PostgresStore;
use crm_tests::harness::{new_lead, sales, staff, t0};
use sqlx::Connection;

/// Leads in the never-analysed table.
const STORED: i64 = 100_000;

/// The lookup of a batch of 1,000 emails searches the index whatever the planner knows: on
/// 100,000 leads never analysed (autovacuum off for the table), with generic plans forced
/// (what a prepared statement gets after five runs), it takes milliseconds. The
/// `email IN ($1, ..., $1000)` it replaced was planned as a scan of every lead, comparing
/// each with 1,000 values: seconds per lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_lookup_searches_the_index_without_statistics() {
    let url = crm_tests::postgres::fresh_schema("crm_import").await;
    // The schema's URL ends in its `options`; one more setting goes with it.
    let url = format!("{url}%20-c%20plan_cache_mode%3Dforce_generic_plan");
    let store = PostgresStore::connect(&url).await.unwrap();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    // No statistics, ever; and the report counts' trigger off for the setup's bulk insert
    // (the lookup does not read them; row by row it was most of the test's time).
    for setup in [
        "ALTER TABLE leads SET (autovacuum_enabled = false)",
        "ALTER TABLE leads DISABLE TRIGGER lead_counts_insert",
    ] {
        sqlx::query(setup).execute(&mut c).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO leads (id, name, email, source, status, owner, created_by, created_at, \
         updated_at, version, search_text) \
         SELECT gen_random_uuid(), 'Lead ' || i, 'l' || i || '@example.com', 'other', 'new', \
         1, 1, now(), now(), 1, 'lead' FROM generate_series(1, $1) AS i",
    )
    .bind(STORED)
    .execute(&mut c)
    .await
    .unwrap();
    let analysed: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(analyze_count + autoanalyze_count AS BIGINT) FROM pg_stat_user_tables \
         WHERE relid = CAST('leads' AS regclass)",
    )
    .fetch_optional(&mut c)
    .await
    .unwrap();
    assert_eq!(analysed.unwrap_or(0), 0, "the table must be unanalysed");
    let emails: Vec<String> = (1..=1000)
        .map(|i| format!("l{}@example.com", i * 97))
        .collect();
    // Six lookups: a prepared statement's plan is settled by the sixth.
    let mut slowest = Duration::ZERO;
    for _ in 0..6 {
        let started = Instant::now();
        let found = store.import_lookup(&[], &emails, &[]).await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(found.open.len(), 1000);
    }
    assert!(
        slowest < Duration::from_millis(1500),
        "a lookup of 1,000 emails among {STORED} unanalysed leads took {slowest:?}"
    );
}

/// Four importers writing batches at the same time, all of leads of one owner, source and
/// status (so every batch moves the same report count rows, in the order of its leads'
/// shards): no batch is refused (a deadlock is refused as `Busy`), and the counts are
/// exact afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_concurrent_import_batches_do_not_deadlock() {
    const IMPORTERS: usize = 4;
    const ROUNDS: usize = 3;
    const PER_BATCH: usize = 400;
    let url = crm_tests::postgres::fresh_schema("crm_import").await;
    let store = std::sync::Arc::new(PostgresStore::connect(&url).await.unwrap());
    let actor = staff().into_iter().find(|e| e.id == sales()).unwrap();
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for importer in 0..IMPORTERS {
            let writes = (0..PER_BATCH)
                .map(|i| {
                    let email = format!("r{round}i{importer}n{i}@example.com");
                    let write = crm_core::decide::decide_create(
                        &actor,
                        Some(&actor),
                        new_lead("Imported", Some(&email), None),
                        t0(),
                    )
                    .unwrap();
                    ImportWrite {
                        key: Some(ImportKey::new(&format!("file{round}{importer}"), i + 2)),
                        expected_version: None,
                        write,
                    }
                })
                .collect();
            let batch = ImportBatch {
                writes,
                ..ImportBatch::default()
            };
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { store.import_batch(&batch).await },
            ));
        }
        for t in tasks {
            let r = t.await.unwrap();
            assert!(r.is_ok(), "round {round}: a batch was refused: {r:?}");
        }
    }
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT CAST(SUM(n) AS BIGINT) FROM lead_counts")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let written = i64::try_from(IMPORTERS * ROUNDS * PER_BATCH).unwrap();
    assert_eq!((stored, counted), (written, written));
}
