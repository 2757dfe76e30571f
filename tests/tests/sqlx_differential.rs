//! The differential test: the same random operation sequence applied to the memory store
//! and to SQLite, or to PostgreSQL, gives identical observable results (every outcome, every
//! detail view, the report, the event log and the pending clients). The PostgreSQL half is
//! ignored when `CRM_POSTGRES_URL` is not set.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod sqlx_common;

use std::future::Future;
use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_memory::MemoryStore;
use crm_tests::differential::{Op, apply, ops};
use proptest::prelude::*;

/// Applies `seq` to a memory store and to a fresh store from `make`; both see the same.
fn agree<F, Fut>(make: F, seq: &[Op]) -> Result<(), TestCaseError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Arc<dyn LeadStore>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = rt.block_on(apply(Arc::new(MemoryStore::new()), seq));
    let other = rt.block_on(async { apply(make().await, seq).await });
    prop_assert_eq!(memory, other, "the store differs from the memory store");
    Ok(())
}

/// Random sequences per backend.
const CASES: u32 = 24;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn memory_and_sqlite_agree(seq in ops(1..60)) {
        agree(sqlx_common::sqlite, &seq)?;
    }
}

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn memory_and_postgres_agree() {
    // Asked before proptest starts: a missing server fails once, not as a shrunk case.
    crm_tests::postgres::url();
    proptest!(ProptestConfig::with_cases(CASES), |(seq in ops(1..60))| {
        agree(crm_tests::postgres::lead_store, &seq)?;
    });
}
