//! The model-based test on SQLite (a fresh file per case) and on PostgreSQL (a fresh schema
//! per case; ignored when `CRM_POSTGRES_URL` is not set).

mod sqlx_common;

#[test]
fn sqlite_store_follows_the_model() {
    crm_tests::model::run_model_test(sqlx_common::sqlite, 64);
}

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn postgres_store_follows_the_model() {
    crm_tests::model::run_model_test(crm_tests::postgres::lead_store, 24);
}
