//! The README's first command does the main job: the quickstart runs to its end, and off a
//! terminal its output is plain text with names, not colour codes or debug structs.

#![allow(clippy::expect_used)]

#[test]
fn the_quickstart_does_the_main_job_in_plain_text() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env_remove("RUST_LOG")
        .output()
        .expect("the quickstart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "read as +966501234567",
        "duplicate refused",
        "worth 12500.750 KWD",
        "converted محمد العتيبي -> client",
        "follow-up sweep notified 1 lead(s)",
        "report (3 leads)",
        "events pending for the sales system",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}'),
            "colour codes off a terminal:\n{text}"
        );
        assert!(!text.contains("LeadId("), "a debug struct:\n{text}");
    }
}
