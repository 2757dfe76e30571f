// Included by the build script of every crate with PostgreSQL tests (`tests/build.rs`,
// `examples/build.rs`), so the rule for when they run is written once.
//
// The standard test harness cannot ignore a test at run time, so the decision is made at
// build time: with `CRM_POSTGRES_URL` unset (or blank) and `CRM_REQUIRE_POSTGRES` not `1`,
// this sets `cfg(crm_no_postgres)`, and every PostgreSQL test carries
// `#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]`: `cargo test` then
// counts it as ignored in its summary instead of as passed. Otherwise the tests run, and
// with no URL (`CRM_REQUIRE_POSTGRES=1`) they fail, saying so
// (`crm_tests::postgres::url`).

/// Tells cargo about `cfg(crm_no_postgres)` and sets it when PostgreSQL tests cannot run and
/// are not required to.
fn postgres_cfg() {
    println!("cargo:rerun-if-env-changed=CRM_POSTGRES_URL");
    println!("cargo:rerun-if-env-changed=CRM_REQUIRE_POSTGRES");
    println!("cargo:rustc-check-cfg=cfg(crm_no_postgres)");
    let configured = std::env::var("CRM_POSTGRES_URL").is_ok_and(|u| !u.trim().is_empty());
    let required = std::env::var("CRM_REQUIRE_POSTGRES").as_deref() == Ok("1");
    if !configured && !required {
        println!("cargo:rustc-cfg=crm_no_postgres");
    }
}
