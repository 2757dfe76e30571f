//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run and `cfg(crm_no_browser)`
//! when the real-browser test cannot: the rules are crm-tests' (`tests/build/`), written once
//! for every package with such tests.

include!("../../tests/build/postgres.rs");
include!("../../tests/build/browser.rs");

fn main() {
    postgres_cfg();
    browser_cfg();
}
