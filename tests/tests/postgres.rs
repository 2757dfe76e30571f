//! The conformance suite on PostgreSQL: each test gets its own fresh schema on the server
//! named by `CRM_POSTGRES_URL`, so the tests run in parallel. Without the variable the tests
//! print that they were skipped, unless `CRM_REQUIRE_POSTGRES=1` makes that a failure.

use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_sqlx::PostgresStore;

async fn postgres() -> Option<Arc<dyn LeadStore>> {
    let Ok(base) = std::env::var("CRM_POSTGRES_URL") else {
        assert!(
            std::env::var("CRM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CRM_REQUIRE_POSTGRES=1 but CRM_POSTGRES_URL is not set"
        );
        eprintln!("skipped: CRM_POSTGRES_URL not set");
        return None;
    };
    let url = crm_store_sqlx::postgres_fresh_schema(&base, "crm_test")
        .await
        .expect("create a test schema");
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect to PostgreSQL");
    Some(Arc::new(store))
}

crm_tests::conformance_suite!(postgres);
