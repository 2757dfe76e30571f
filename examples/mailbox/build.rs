//! Sets `cfg(crm_no_dovecot)` when the real-IMAP tests cannot run, and
//! `cfg(crm_no_postgres)` when the PostgreSQL ones cannot: crm-tests' rules (`tests/build/`).

include!("../../tests/build/dovecot.rs");
include!("../../tests/build/postgres.rs");

fn main() {
    dovecot_cfg();
    postgres_cfg();
}
