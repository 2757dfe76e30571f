//! The conformance suite on PostgreSQL: each test gets its own fresh schema on the server
//! named by `CRM_POSTGRES_URL`, so the tests run in parallel. Without the variable the tests
//! print that they were skipped, unless `CRM_REQUIRE_POSTGRES=1` makes that a failure.

mod sqlx_common;

crm_tests::conformance_suite!(sqlx_common::postgres);
