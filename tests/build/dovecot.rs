// Included by the build script of every crate with tests against a real IMAP server
// (`examples/mailbox`, `examples/cli`): Debian's dovecot (`dovecot-imapd`), started by the
// tests themselves on 127.0.0.1 with a throwaway maildir.
//
// As for PostgreSQL (`build/postgres.rs`), the decision is made at build time: without
// `/usr/sbin/dovecot` and with `CRM_REQUIRE_DOVECOT` not `1`, this sets
// `cfg(crm_no_dovecot)`, and every such test carries
// `#[cfg_attr(crm_no_dovecot, ignore = "...")]`, so `cargo test` counts it as ignored, never
// as passed. With `CRM_REQUIRE_DOVECOT=1` (CI) the tests run, and a missing dovecot fails
// them, naming the package to install.

/// Tells cargo about `cfg(crm_no_dovecot)` and sets it when dovecot is missing and not
/// required.
fn dovecot_cfg() {
    println!("cargo:rerun-if-env-changed=CRM_REQUIRE_DOVECOT");
    println!("cargo:rerun-if-changed=/usr/sbin/dovecot");
    println!("cargo:rustc-check-cfg=cfg(crm_no_dovecot)");
    let present = std::path::Path::new("/usr/sbin/dovecot").is_file();
    let required = std::env::var("CRM_REQUIRE_DOVECOT").as_deref() == Ok("1");
    if !present && !required {
        println!("cargo:rustc-cfg=crm_no_dovecot");
    }
}
