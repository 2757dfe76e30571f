//! Sets `cfg(crm_no_postgres)` when the PostgreSQL tests cannot run: the rule is crm-tests'
//! (`tests/build/postgres.rs`), written once for every crate with PostgreSQL tests. Sets
//! `cfg(crm_no_browser)` when the real-browser test of crm-server cannot run.

include!("../../tests/build/postgres.rs");
include!("../../tests/build/export_tools.rs");

fn main() {
    postgres_cfg();
    export_tools_cfg();
    browser_cfg();
}

/// The browser test drives Debian's `chromium` through `chromedriver`. Without both on the
/// PATH it is built ignored (reported as such by `cargo test`), unless
/// `CRM_REQUIRE_BROWSER=1`: then it runs and fails, saying what to install.
fn browser_cfg() {
    println!("cargo:rerun-if-env-changed=CRM_REQUIRE_BROWSER");
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rustc-check-cfg=cfg(crm_no_browser)");
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
    };
    let present = on_path("chromium") && on_path("chromedriver");
    let required = std::env::var("CRM_REQUIRE_BROWSER").as_deref() == Ok("1");
    if !present && !required {
        println!("cargo:rustc-cfg=crm_no_browser");
    }
}
