//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run: the rule is crm-tests'
//! (`tests/build/postgres.rs`), written once for every package with PostgreSQL tests.

include!("../../tests/build/postgres.rs");

fn main() {
    postgres_cfg();
}
