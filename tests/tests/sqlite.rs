//! The conformance suite on SQLite: each test gets a fresh database file in its own
//! temporary directory (kept alive for the life of the test process).

use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_sqlx::SqliteStore;

async fn sqlite() -> Option<Arc<dyn LeadStore>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crm.db");
    let store = SqliteStore::connect(&path.to_string_lossy())
        .await
        .expect("open SQLite");
    // The directory must outlive the store; the test process ends soon after.
    std::mem::forget(dir);
    Some(Arc::new(store))
}

crm_tests::conformance_suite!(sqlite);
