//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run and
//! `cfg(crm_no_export_tools)` when the tools the export tests read files with are missing: the
//! rules are crm-tests' (`tests/build/`), written once for every package with such tests.

include!("../../tests/build/postgres.rs");
include!("../../tests/build/export_tools.rs");
include!("../../tests/build/dovecot.rs");

fn main() {
    postgres_cfg();
    export_tools_cfg();
    dovecot_cfg();
}
