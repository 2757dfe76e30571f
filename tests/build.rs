//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run (see `build/postgres.rs`).

include!("build/postgres.rs");

fn main() {
    postgres_cfg();
}
