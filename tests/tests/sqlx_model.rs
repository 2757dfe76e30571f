//! The model-based test on SQLite (a fresh file per case) and on PostgreSQL (a fresh schema
//! per case, when `CRM_POSTGRES_URL` is set).

mod sqlx_common;

#[test]
fn sqlite_store_follows_the_model() {
    crm_tests::model::run_model_test(sqlx_common::sqlite, 64);
}

#[test]
fn postgres_store_follows_the_model() {
    crm_tests::model::run_model_test(sqlx_common::postgres, 24);
}
