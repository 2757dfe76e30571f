//! Migration `..._sales_process.sql` (issue 10, part B) on data written before it, on both
//! backends: a lead lost with a free-text reason reads back with the code `other` and the
//! text as detail; a notified lead counts as its owner notified (what escalation counts
//! from); the status periods of time in status are rebuilt from the stored history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crm_core::{LeadId, LeadStatus, LeadStore, ReportFilter};
use uuid::Uuid;

/// The newest migration before `..._sales_process.sql`, whatever else lands before it.
fn before_sales_process(m: &sqlx::migrate::Migrator) -> i64 {
    m.iter()
        .map(|m| m.version)
        .filter(|v| *v < 20260101000011)
        .max()
        .unwrap()
}

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 4, 9, 0, 0).unwrap() + TimeDelta::hours(h)
}

const CREATED: &str = r#"{"type":"created","source":"web","owner":1}"#;
const LOST: &str =
    r#"{"type":"status_changed","from":"new","to":"lost","lost_reason":"too pricey"}"#;

/// What the migrated store must say about the lead written before the migration: created at
/// t(0), lost at t(2) with "too pricey", notified at t(1).
async fn reads_back_migrated(store: &dyn LeadStore, id: Uuid) {
    let lead = store
        .get_lead(LeadId::from_uuid(id))
        .await
        .unwrap()
        .unwrap();
    let lost = lead.lost().unwrap();
    assert_eq!(
        (lost.code.as_str(), lost.detail.map(String::from)),
        ("other", Some("too pricey".to_owned()))
    );
    assert_eq!(lead.owner_notified_at(), Some(t(1)));
    assert_eq!(lead.next_follow_up_at(), None);
    let rows = store
        .status_time_rows(&ReportFilter::default(), &crm_core::Scope::All, t(10))
        .await
        .unwrap();
    let mut got: Vec<_> = rows
        .iter()
        .map(|r| (r.status, r.leads, r.total_micros))
        .collect();
    got.sort();
    let h = |n: i64| TimeDelta::hours(n).num_microseconds().unwrap();
    assert_eq!(
        got,
        [(LeadStatus::New, 1, h(2)), (LeadStatus::Lost, 1, h(8))]
    );
    let r = store
        .lost_reason_report(&ReportFilter::default(), &crm_core::Scope::All)
        .await
        .unwrap();
    assert_eq!((r.count("other"), r.total), (1, 1));
}

#[tokio::test]
async fn sqlite_migrates_lost_reasons_notices_and_status_periods() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("t.db").to_string_lossy().into_owned();
    let pool = crm_store_sqlx::sqlite::pool(&url).await.unwrap();
    let m = crm_store_sqlx::sqlite::migrator();
    m.run_to(before_sales_process(m), &pool).await.unwrap();
    let id = Uuid::now_v7();
    let us = |h| t(h).timestamp_micros();
    sqlx::query(
        "INSERT INTO leads (id, name, email, source, status, owner, created_by, created_at, \
         updated_at, version, lost_reason, follow_up_notified_at, search_text) \
         VALUES (?, 'Old', 'old@example.com', 'web', 'lost', 1, 1, ?, ?, 2, 'too pricey', ?, '')",
    )
    .bind(id)
    .bind(us(0))
    .bind(us(2))
    .bind(us(1))
    .execute(&pool)
    .await
    .unwrap();
    for (v, at, change) in [(1, us(0), CREATED), (2, us(2), LOST)] {
        sqlx::query(
            "INSERT INTO lead_history (lead_id, write_version, ord, version, at, actor, change) \
             VALUES (?, ?, 0, ?, ?, 1, ?)",
        )
        .bind(id)
        .bind(v)
        .bind(v)
        .bind(at)
        .bind(change)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let store = crm_store_sqlx::SqliteStore::connect(&url).await.unwrap();
    reads_back_migrated(&store, id).await;
}

#[tokio::test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_migrates_lost_reasons_notices_and_status_periods() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    let pool = crm_store_sqlx::postgres::pool(&url).await.unwrap();
    let m = crm_store_sqlx::postgres::migrator();
    m.run_to(before_sales_process(m), &pool).await.unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO leads (id, name, email, source, status, owner, created_by, created_at, \
         updated_at, version, lost_reason, follow_up_notified_at, search_text) \
         VALUES ($1, 'Old', 'old@example.com', 'web', 'lost', 1, 1, $2, $3, 2, 'too pricey', \
         $4, '')",
    )
    .bind(id)
    .bind(t(0))
    .bind(t(2))
    .bind(t(1))
    .execute(&pool)
    .await
    .unwrap();
    for (v, at, change) in [(1i64, t(0), CREATED), (2, t(2), LOST)] {
        sqlx::query(
            "INSERT INTO lead_history (lead_id, write_version, ord, version, at, actor, change) \
             VALUES ($1, $2, 0, $2, $3, 1, $4)",
        )
        .bind(id)
        .bind(v)
        .bind(at)
        .bind(change)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let store = crm_store_sqlx::PostgresStore::connect(&url).await.unwrap();
    reads_back_migrated(&store, id).await;
}
