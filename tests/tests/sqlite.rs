//! The conformance suite on SQLite: each test gets a fresh database file in its own
//! temporary directory.

mod sqlx_common;

crm_tests::conformance_suite!(sqlx_common::sqlite);
