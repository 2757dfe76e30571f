//! The kit fails on a store with a bug: the same conformance body that passes on
//! `KitStore::new()` (tests/kit.rs) panics on a store that skips the duplicate check.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crm_kit_example::KitStore;

#[test]
fn a_store_without_the_duplicate_check_fails_the_suite() {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crm_tests::kit::block_on(
            crm_tests::conformance::duplicates_are_refused_unless_allowed(Arc::new(
                KitStore::without_duplicate_check(),
            )),
        );
    }));
    assert!(
        outcome.is_err(),
        "the conformance suite passed a store that keeps duplicates"
    );
}

/// The planted bug is the only one: the buggy store passes a rule that does not involve
/// duplicates, so the failure above is the kit catching that bug, not a broken store.
#[test]
fn the_buggy_store_passes_the_rules_its_bug_does_not_touch() {
    crm_tests::kit::block_on(crm_tests::conformance::create_and_read_back(Arc::new(
        KitStore::without_duplicate_check(),
    )));
}
