//! The conformance suite on PostgreSQL: each test gets its own fresh schema on the server
//! named by `CRM_POSTGRES_URL`, so the tests run in parallel. Without the variable the tests
//! are reported as ignored, unless `CRM_REQUIRE_POSTGRES=1` makes that a failure.

crm_tests::conformance_suite!(crm_tests::postgres::lead_store, postgres);
