//! The conformance suite on the in-memory store.

use std::sync::Arc;

use crm_core::LeadStore;
use crm_store_memory::MemoryStore;

async fn memory() -> Arc<dyn LeadStore> {
    Arc::new(MemoryStore::new())
}

crm_tests::conformance_suite!(memory);
