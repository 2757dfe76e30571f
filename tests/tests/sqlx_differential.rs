//! The differential test: the same random operation sequence applied to the memory store,
//! SQLite and PostgreSQL gives identical observable results (every outcome, every detail
//! view, the report, the event log and the pending clients).

mod sqlx_common;

use std::sync::Arc;

use crm_store_memory::MemoryStore;
use crm_tests::differential::{apply, ops};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn memory_sqlite_and_postgres_agree(seq in ops(1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let memory = rt.block_on(apply(Arc::new(MemoryStore::new()), &seq));
        let sqlite = rt.block_on(async {
            let store = sqlx_common::sqlite().await.unwrap();
            apply(store, &seq).await
        });
        prop_assert_eq!(&memory, &sqlite, "SQLite differs from the memory store");
        if let Some(pg) = rt.block_on(sqlx_common::postgres()) {
            let postgres = rt.block_on(apply(pg, &seq));
            prop_assert_eq!(&memory, &postgres, "PostgreSQL differs from the memory store");
        }
    }
}
