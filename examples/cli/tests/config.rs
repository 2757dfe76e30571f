//! The one configuration through the programs people run: `crm` and `crm-server` read the
//! same file, environment and flags, show where each setting came from, refuse a bad one
//! before opening anything, and apply what it says (here: the visibility policy).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// A program with no `CRM_*` variable of the developer's environment: each test sets what
/// it means to.
fn program(name: &str, dir: &Path) -> Command {
    let mut c = Command::cargo_bin(name).unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("CRM_") || k == "TZ" || k == "LANG" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir);
    c
}

fn crm(dir: &Path, actor: Option<&str>, args: &[&str]) -> Command {
    let mut c = program("crm", dir);
    if let Some(a) = actor {
        c.args(["--as", a]);
    }
    c.args(args);
    c
}

fn json(c: &mut Command) -> Value {
    let out = c.arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A database with a manager (1) and two salespeople (2, 3), and a lead of 2's.
fn team(dir: &Path) -> String {
    for (id, name, role, actor) in [
        ("1", "سارة", "manager", None),
        ("2", "علي", "sales", Some("1")),
        ("3", "Omar", "sales", Some("1")),
    ] {
        crm(
            dir,
            actor,
            &[
                "employee", "add", "--id", id, "--name", name, "--role", role,
            ],
        )
        .assert()
        .success();
    }
    let lead = json(&mut crm(
        dir,
        Some("2"),
        &["lead", "add", "--name", "عميل علي", "--phone", "0501234567"],
    ));
    lead["id"].as_str().unwrap().to_owned()
}

#[test]
fn crm_config_check_says_where_each_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("crm.toml"),
        "visibility = \"team\"\nregion = \"AE\"\nweekend = [\"fri\", \"sat\"]\n",
    )
    .unwrap();
    let out = json(
        crm(dir.path(), None, &["config", "check", "--db", "other.db"])
            .env("CRM_CONFIG", "crm.toml")
            .env("CRM_REGION", "KW"),
    );
    let from = |key: &str| {
        let row = out["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {out}"));
        (
            row["value"].as_str().unwrap().to_owned(),
            row["origin"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(from("visibility"), ("team".into(), "crm.toml".into()));
    assert_eq!(from("weekend"), ("fri,sat".into(), "crm.toml".into()));
    assert_eq!(from("region"), ("KW".into(), "$CRM_REGION".into()));
    assert_eq!(from("db"), ("other.db".into(), "--db".into()));
    assert_eq!(from("follow_up_days"), ("5".into(), "default".into()));
    assert!(
        !dir.path().join("other.db").exists(),
        "config check opened the database"
    );
}

#[test]
fn a_bad_setting_is_refused_before_anything_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("typo.toml"), "visibilty = \"own\"\n").unwrap();
    for (name, args) in [("crm", vec!["team", "list"]), ("crm-server", vec![])] {
        let out = program(name, dir.path())
            .args(["--config", "typo.toml"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("unknown key \"visibilty\""), "{name}: {err}");
        let out = program(name, dir.path())
            .env("CRM_VISIBILITY", "everyone")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("visibility (from $CRM_VISIBILITY)"),
            "{name}: {err}"
        );
        assert!(
            !dir.path().join("crm.db").exists(),
            "{name} opened the database"
        );
    }
}

#[test]
fn crm_server_reports_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("crm.toml"),
        "visibility = \"own\"\nbind = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = program("crm-server", dir.path())
        .args(["--config", "crm.toml", "--check-config", "--region", "EG"])
        .env("CRM_TIME_ZONE", "Asia/Riyadh")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key}: {text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("visibility"), "own crm.toml");
    assert_eq!(line("region"), "EG --region");
    assert_eq!(line("time_zone"), "Asia/Riyadh $CRM_TIME_ZONE");
}

/// The visibility policy in the file reaches the `crm` tool; the environment overrides it.
#[test]
fn the_crm_tool_applies_the_visibility_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lead = team(d);
    std::fs::write(d.join("crm.toml"), "visibility = \"own\"\n").unwrap();
    let show = |c: &mut Command| c.output().unwrap();
    let out = show(crm(d, Some("3"), &["lead", "show", &lead]).env("CRM_CONFIG", "crm.toml"));
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found"), "{err}");
    let list = json(crm(d, Some("3"), &["lead", "list"]).env("CRM_CONFIG", "crm.toml"));
    assert!(!list.to_string().contains(&lead), "{list}");
    // Its owner sees it under the same file, and the environment overrides the file.
    let out = show(crm(d, Some("2"), &["lead", "show", &lead]).env("CRM_CONFIG", "crm.toml"));
    assert!(out.status.success());
    let out = show(
        crm(d, Some("3"), &["lead", "show", &lead])
            .env("CRM_CONFIG", "crm.toml")
            .env("CRM_VISIBILITY", "all"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the flag overrides the environment.
    let out = show(
        crm(
            d,
            Some("3"),
            &["lead", "show", &lead, "--visibility", "own"],
        )
        .env("CRM_VISIBILITY", "all"),
    );
    assert_eq!(out.status.code(), Some(5));
}

/// The configured `time_zone` is where `crm export` shows dates, as `--tz` would.
#[test]
fn exports_show_dates_in_the_configured_zone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    team(d);
    std::fs::write(d.join("crm.toml"), "time_zone = \"Asia/Riyadh\"\n").unwrap();
    let export = |extra: &[&str], config: bool| {
        let mut c = crm(
            d,
            Some("1"),
            &["export", "leads", "--format", "csv", "--out", "-"],
        );
        c.args(extra);
        if config {
            c.env("CRM_CONFIG", "crm.toml");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let configured = export(&[], true);
    assert_eq!(configured, export(&["--tz", "Asia/Riyadh"], false));
    assert_ne!(configured, export(&["--tz", "UTC"], false));
    assert_eq!(export(&[], false), export(&["--tz", "UTC"], false));
}
