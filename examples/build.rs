//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run: the rule is crm-tests'
//! (`tests/build/postgres.rs`), written once for every crate with PostgreSQL tests.

include!("../tests/build/postgres.rs");
include!("../tests/build/export_tools.rs");

fn main() {
    postgres_cfg();
    export_tools_cfg();
}
