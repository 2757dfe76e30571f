//! The whole crm test kit (the conformance suite and the model-based test) on this crate's
//! adapter: one macro line.

use std::sync::Arc;

use crm_core::LeadStore;
use crm_kit_example::KitStore;

/// A fresh, empty store for each test.
async fn store() -> Arc<dyn LeadStore> {
    Arc::new(KitStore::new())
}

crm_tests::adapter_suite!(store);
