//! The conformance suite on SQLite: each test gets a fresh database file in its own
//! temporary directory (the model test on it is `sqlx_model`). Then what is SQLite's own:
//! in-memory databases, two stores on one file, a host's pool.

#![allow(clippy::expect_used)] // test code: a failed expect is a failed test

mod sqlx_common;

use std::sync::Arc;

use chrono::Utc;
use crm_core::{Changeset, EmployeeId, LeadQuery, LeadStore, StageProbabilityChange};
use crm_store_sqlx::SqliteStore;

crm_tests::conformance_suite!(sqlx_common::sqlite);

/// The in-memory database works the same (one connection owns it).
#[tokio::test]
async fn in_memory_database_is_migrated_and_kept() {
    let a = SqliteStore::connect("sqlite::memory:").await.expect("open");
    let b = SqliteStore::connect("sqlite::memory:").await.expect("open");
    let q = LeadQuery::default();
    assert!(a.list_leads(&q).await.expect("list").items.is_empty());
    assert!(b.list_leads(&q).await.expect("list").items.is_empty());
}

/// Two stores on one file (two processes, say) are isolated: of concurrent creates with
/// the same email through both, exactly one is stored, the others refused as duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_on_one_file_are_isolated() {
    use crm_core::{Crm, Email, Employee, Name, NewLead, Role, Source};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("shared.db").to_string_lossy().into_owned();
    let me = EmployeeId::new(7).expect("id");
    let mut crms = Vec::new();
    for _ in 0..2 {
        let store = SqliteStore::connect(&url).await.expect("open");
        let crm = Crm::builder()
            .store(Arc::new(store))
            .employees(Arc::new(crm_store_memory::MemoryEmployees::new([
                Employee::new(me, Name::parse("Sara").expect("name"), Role::Manager),
            ])))
            .clients(Arc::new(crm_store_memory::MemoryClients::new()))
            .build()
            .expect("crm");
        crms.push(Arc::new(crm));
    }
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let crm = crms[i % 2].clone();
            tokio::spawn(async move {
                let lead = NewLead::new(Name::parse("Same").expect("name"), Source::web())
                    .email(Email::parse("same@example.com").expect("email"));
                match crm.create_lead(me, lead).await {
                    Ok(_) => true,
                    Err(crm_core::CrmError::Duplicate { .. }) => false,
                    Err(e) => panic!("neither stored nor a duplicate: {e}"),
                }
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        stored += usize::from(t.await.expect("task"));
    }
    assert_eq!(stored, 1);
    let page = crms[1]
        .list_leads(me, &LeadQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
}

/// A host's sqlx pool: the store opens its connections on the same database, a file or the
/// pool's in-memory one, and what it commits is there for the pool to read.
#[tokio::test]
async fn opens_the_database_of_a_hosts_pool() {
    use crm_core::{OpportunityStage, Probability, Write};
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("host.db").to_string_lossy().into_owned();
    for url in [file.as_str(), "sqlite::memory:"] {
        let pool = crm_store_sqlx::sqlite::pool(url).await.expect("pool");
        crm_store_sqlx::sqlite::migrate(&pool)
            .await
            .expect("migrate");
        let store = SqliteStore::from_pool(pool.clone()).expect("store");
        let change = StageProbabilityChange {
            stage: OpportunityStage::Proposal,
            probability: Probability::new(40).expect("probability"),
            changed_by: EmployeeId::new(1).expect("id"),
            changed_at: Utc::now(),
        };
        let c = Changeset::new().write(Write::StageProbability(change));
        store.commit(&c).await.expect("commit");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage_probability_changes")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(n, 1, "{url}");
    }
}
