//! What the stamped-out tests of [`crate::conformance_suite!`], [`crate::model_test!`] and
//! [`crate::adapter_suite!`] run on, so that the crate calling the macros needs no async
//! runtime of its own.

use std::future::Future;

/// Runs one test body to completion on a fresh multi-threaded tokio runtime with two
/// workers (the suite has tests of concurrent writers, which need real parallelism).
///
/// # Panics
/// When the runtime cannot be built (no threads left), or when `body` panics: either way the
/// test fails.
pub fn block_on<F: Future<Output = ()>>(body: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for the test: {e}"));
    runtime.block_on(body);
}

/// Stamps out the model-based test ([`crate::model::run_model_test`]) for one store adapter:
/// a `#[test] fn store_follows_the_model()` running `cases` random operation sequences
/// (64 unless given), each on a fresh store from `$factory` (the factory shape of
/// [`crate::conformance_suite!`]).
///
/// ```
/// use std::sync::Arc;
/// use crm_core::LeadStore;
///
/// async fn store() -> Arc<dyn LeadStore> {
///     Arc::new(crm_store_memory::MemoryStore::new())
/// }
///
/// crm_tests::model_test!(store, cases = 256);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! model_test {
    ($factory:expr, cases = $cases:expr $(,)?) => {
        #[test]
        fn store_follows_the_model() {
            $crate::model::run_model_test($factory, $cases);
        }
    };
    ($factory:expr $(,)?) => {
        $crate::model_test!($factory, cases = 64);
    };
}

/// The whole test kit for a store adapter in one line: the conformance suite
/// ([`crate::conformance_suite!`], one test per rule) and the model-based test
/// ([`crate::model_test!`], 64 random sequences unless `model_cases` says otherwise).
///
/// In the adapter crate's `tests/kit.rs`, with `crm-tests` as a dev-dependency:
///
/// ```
/// use std::sync::Arc;
/// use crm_core::LeadStore;
///
/// async fn store() -> Arc<dyn LeadStore> {
///     Arc::new(crm_store_memory::MemoryStore::new()) // your adapter, fresh and empty
/// }
///
/// crm_tests::adapter_suite!(store);
/// // or: crm_tests::adapter_suite!(store, model_cases = 16); for a slow store
/// # fn main() {}
/// ```
///
/// `cargo test` then lists every rule by name (`create_and_read_back`,
/// `duplicates_are_refused_unless_allowed`, ..., `store_follows_the_model`).
#[macro_export]
macro_rules! adapter_suite {
    ($factory:expr, model_cases = $cases:expr $(,)?) => {
        $crate::conformance_suite!($factory);
        $crate::model_test!($factory, cases = $cases);
    };
    ($factory:expr $(,)?) => {
        $crate::conformance_suite!($factory);
        $crate::model_test!($factory);
    };
}
