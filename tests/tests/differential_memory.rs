//! The differential test's own check: two memory stores agree with each other (the SQL
//! adapters are compared with the memory store in their own test files).

use std::sync::Arc;

use crm_store_memory::MemoryStore;
use crm_tests::differential::{apply, ops};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn memory_stores_agree(seq in ops(1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let a = rt.block_on(apply(Arc::new(MemoryStore::new()), &seq));
        let b = rt.block_on(apply(Arc::new(MemoryStore::new()), &seq));
        prop_assert_eq!(a, b);
    }
}
