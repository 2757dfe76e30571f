//! The one way a test reaches PostgreSQL: the server named by `CRM_POSTGRES_URL`, a fresh
//! schema on it per test (so the tests run in parallel).
//!
//! Every PostgreSQL test carries
//! `#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]`: without the
//! variable the build script of its crate (`tests/build/postgres.rs`) sets that cfg and
//! `cargo test` reports the test as ignored. With `CRM_REQUIRE_POSTGRES=1` the cfg is never
//! set, so a missing URL reaches [`url`] and fails the test, saying what to set.

use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_sqlx::PostgresStore;

/// The base URL of the test server, from `CRM_POSTGRES_URL`.
///
/// # Panics
/// When the variable is unset or blank: a PostgreSQL test only gets here then if
/// `CRM_REQUIRE_POSTGRES=1` (or it lacks the `crm_no_postgres` ignore mark).
pub fn url() -> String {
    match std::env::var("CRM_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "this PostgreSQL test needs a server and CRM_POSTGRES_URL is not set: set it \
             (e.g. CRM_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test), or unset \
             CRM_REQUIRE_POSTGRES to have the PostgreSQL tests reported as ignored"
        ),
    }
}

/// The URL of a new, empty schema named `<prefix>_<uuid>` on the test server.
///
/// # Panics
/// When `CRM_POSTGRES_URL` is not set ([`url`]) or the server cannot be reached.
pub async fn fresh_schema(prefix: &str) -> String {
    let base = url();
    match crm_store_sqlx::postgres_fresh_schema(&base, prefix).await {
        Ok(url) => url,
        Err(e) => panic!("cannot create a test schema on CRM_POSTGRES_URL={base}: {e:?}"),
    }
}

/// A migrated PostgreSQL store in a fresh schema of its own.
pub async fn store() -> PostgresStore {
    let url = fresh_schema("crm_test").await;
    match PostgresStore::connect(&url).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open the PostgreSQL store at {url}: {e:?}"),
    }
}

/// [`store`] as a store factory for the conformance suite, the model test and the others.
pub async fn lead_store() -> Arc<dyn LeadStore> {
    Arc::new(store().await)
}
