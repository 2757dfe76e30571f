//! The model-based test on the in-memory store.

use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_memory::MemoryStore;

async fn memory() -> Arc<dyn LeadStore> {
    Arc::new(MemoryStore::new())
}

#[test]
fn memory_store_follows_the_model() {
    crm_tests::model::run_model_test(memory, 512);
}
