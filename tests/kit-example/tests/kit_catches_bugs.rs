//! The kit fails on a store with a bug: the same conformance body that passes on
//! `CountingStore::new()` (tests/kit.rs) panics on a store that skips the duplicate check.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crm_kit_example::CountingStore;

#[test]
fn a_store_without_the_duplicate_check_fails_the_suite() {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crm_tests::kit::block_on(
            crm_tests::conformance::duplicates_are_refused_unless_allowed(Arc::new(
                CountingStore::without_duplicate_check(),
            )),
        );
    }));
    assert!(
        outcome.is_err(),
        "the conformance suite passed a store that keeps duplicates"
    );
}

#[test]
fn the_adapter_counts_its_writes() {
    let store = Arc::new(CountingStore::new());
    crm_tests::kit::block_on(crm_tests::conformance::create_and_read_back(store.clone()));
    assert!(store.writes() > 0);
}
