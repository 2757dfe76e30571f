// Included by the build script of every crate with tests that check exported files with the
// tools people use (`examples/build.rs`): Python's openpyxl for XLSX, poppler's pdffonts,
// pdftotext and pdftoppm for PDF.
//
// As for PostgreSQL (`build/postgres.rs`), the decision is made at build time: when a tool is
// missing and `CRM_REQUIRE_EXPORT_TOOLS` is not `1`, this sets `cfg(crm_no_export_tools)`,
// and every test that needs the tools carries
// `#[cfg_attr(crm_no_export_tools, ignore = "...")]`, so `cargo test` counts it as ignored,
// never as passed. With `CRM_REQUIRE_EXPORT_TOOLS=1` (CI) the tests run, and a missing tool
// fails them with a message naming it. After installing the tools, rebuild with
// `CRM_REQUIRE_EXPORT_TOOLS=1` (or touch the build script) to run them.

/// Whether `program args...` runs and succeeds.
fn runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Tells cargo about `cfg(crm_no_export_tools)` and sets it when the tools are missing and
/// not required.
fn export_tools_cfg() {
    println!("cargo:rerun-if-env-changed=CRM_REQUIRE_EXPORT_TOOLS");
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rustc-check-cfg=cfg(crm_no_export_tools)");
    let required = std::env::var("CRM_REQUIRE_EXPORT_TOOLS").as_deref() == Ok("1");
    let present = runs("python3", &["-c", "import openpyxl"])
        && ["pdffonts", "pdftotext", "pdftoppm"]
            .iter()
            .all(|t| runs(t, &["-v"]));
    if !required && !present {
        println!("cargo:rustc-cfg=crm_no_export_tools");
    }
}
