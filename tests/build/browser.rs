// Included by the build script of crm-server, whose real-browser test needs Chromium: the
// rule for when it runs, beside the PostgreSQL and export-tools rules.

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
    // The accessibility scan injects axe-core (the npm package's `axe.min.js`, named by
    // CRM_AXE_JS; `.ci/run` installs it): without it that test is built ignored, unless
    // the browser is required, when it runs and fails saying what to install.
    println!("cargo:rerun-if-env-changed=CRM_AXE_JS");
    println!("cargo:rustc-check-cfg=cfg(crm_no_axe)");
    let axe = std::env::var_os("CRM_AXE_JS").is_some_and(|p| std::path::Path::new(&p).is_file());
    if !(required || present && axe) {
        println!("cargo:rustc-cfg=crm_no_axe");
    }
}
