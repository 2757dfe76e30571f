//! Unit tests of what needs no database. The storage guarantees on both backends (round
//! trips, listing order, schema version refusal, busy handling, the table-backed ports) are
//! crm-tests' `sqlx_storage` suite, where every PostgreSQL test reaches the server the same
//! way and is reported as ignored without one.

use std::sync::Arc;

use crm_core::StoreError;

use crate::EmployeeAdmin;

#[test]
fn errors_are_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<StoreError>();
    check::<crate::Connected>();
    let _: Option<Arc<dyn EmployeeAdmin>> = None;
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    assert!(matches!(
        crate::connect("mysql://localhost/crm").await,
        Err(StoreError::Backend(_))
    ));
}
