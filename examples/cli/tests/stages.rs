//! `crm pipeline stages`: stage probabilities stored by management and read by the pipeline
//! report, run for real on a temp SQLite database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn crm(db: &Path, actor: Option<&str>) -> Command {
    let mut c = Command::cargo_bin("crm").unwrap();
    for v in [
        "CRM_DB",
        "CRM_AS",
        "CRM_REGION",
        "CRM_LOST_REASONS",
        "CRM_STAGE_PROBABILITIES",
        "CRM_VISIBILITY",
        "CRM_ASSIGN",
        "TZ",
    ] {
        c.env_remove(v);
    }
    c.arg("--db").arg(db);
    if let Some(a) = actor {
        c.args(["--as", a]);
    }
    c
}

/// A database with manager 3, sales 1 and read-only 4.
fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    for (id, name, role) in [
        ("3", "مدير", "manager"),
        ("1", "سارة", "sales"),
        ("4", "Accountant", "other"),
    ] {
        crm(&path, (id != "3").then_some("3"))
            .args([
                "employee", "add", "--id", id, "--name", name, "--role", role,
            ])
            .assert()
            .success();
    }
    Db { _dir: dir, path }
}

fn json(db: &Path, actor: &str, args: &[&str]) -> Value {
    let out = crm(db, Some(actor))
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(db: &Path, actor: &str, args: &[&str], code: i32) -> String {
    let out = crm(db, Some(actor)).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

/// The probability in force of each configurable stage, in pipeline order.
fn in_force(db: &Path, extra: &[&str]) -> Vec<(String, u64, u64)> {
    let mut args = extra.to_vec();
    args.extend(["pipeline", "stages"]);
    json(db, "4", &args)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["probability"].as_u64().unwrap(),
                s["default"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn weighted(db: &Path) -> Value {
    json(db, "4", &["pipeline"])["currencies"][0]["totals"]["weighted_minor"].clone()
}

#[test]
fn management_stores_stage_probabilities_and_the_pipeline_uses_them() {
    let db = db();
    let p = &db.path;
    let s = |v: &[(&str, u64, u64)]| -> Vec<(String, u64, u64)> {
        v.iter()
            .map(|(a, b, c)| ((*a).to_owned(), *b, *c))
            .collect()
    };
    // Nothing stored: the documented defaults, or the host's.
    assert_eq!(
        in_force(p, &[]),
        s(&[
            ("open", 10, 10),
            ("qualified", 25, 25),
            ("proposal", 50, 50),
            ("negotiation", 75, 75)
        ])
    );
    assert_eq!(
        in_force(p, &["--stage-probabilities", "open=5"])[0],
        ("open".to_owned(), 5, 5)
    );

    // A deal of 1,000.00 SAR in proposal.
    let lead = json(
        p,
        "1",
        &[
            "lead",
            "add",
            "--name",
            "شركة الأفق",
            "--email",
            "a@example.com",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = json(
        p,
        "1",
        &[
            "opportunity",
            "add",
            &lead,
            "--title",
            "توريد",
            "--value",
            "1,000.00",
            "--currency",
            "SAR",
            "--close",
            "2026-03-01",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json(
        p,
        "1",
        &["opportunity", "update", &o, "--stage", "proposal"],
    );
    assert_eq!(weighted(p), 50_000);

    // Refused: sales and read-only staff (forbidden), won/lost and bad percentages
    // (invalid), an unknown stage; nothing stored.
    fails(p, "1", &["pipeline", "stages", "set", "proposal", "60"], 4);
    fails(p, "4", &["pipeline", "stages", "set", "proposal", "60"], 4);
    fails(p, "3", &["pipeline", "stages", "set", "won", "60"], 3);
    fails(p, "3", &["pipeline", "stages", "set", "proposal", "101"], 3);
    fails(p, "3", &["pipeline", "stages", "set", "proposal", "6.5"], 3);
    fails(p, "3", &["pipeline", "stages", "set", "closing", "60"], 3);
    assert_eq!(in_force(p, &[])[2], ("proposal".to_owned(), 50, 50));

    // Management sets it, in Arabic-Indic digits too; the report follows.
    let c = json(p, "3", &["pipeline", "stages", "set", "proposal", "٦٠٪"]);
    assert_eq!(
        (c["stage"].as_str(), c["probability"].as_u64()),
        (Some("proposal"), Some(60))
    );
    assert_eq!(c["changed_by"], 3);
    assert_eq!(in_force(p, &[])[2], ("proposal".to_owned(), 60, 50));
    assert_eq!(weighted(p), 60_000);
    // Stored beats the host's configuration; other stages keep the host's.
    let both = in_force(p, &["--stage-probabilities", "proposal=30,open=5"]);
    assert_eq!(both[2], ("proposal".to_owned(), 60, 30));
    assert_eq!(both[0], ("open".to_owned(), 5, 5));
    json(p, "3", &["pipeline", "stages", "set", "proposal", "70%"]);
    assert_eq!(weighted(p), 70_000);

    // History, newest first; the human table names who set it.
    let h = json(p, "4", &["pipeline", "stages", "--history", "10"]);
    let hist: Vec<_> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["probability"].as_u64().unwrap())
        .collect();
    assert_eq!(hist, [70, 60]);
    let out = crm(p, Some("4"))
        .args(["pipeline", "stages", "--history", "5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("proposal") && text.contains("70%") && text.contains("مدير"),
        "{text}"
    );
    let text =
        String::from_utf8(crm(p, Some("4")).arg("pipeline").output().unwrap().stdout).unwrap();
    assert!(text.contains("proposal (70%)"), "{text}");
    // The filters and the subcommand do not mix.
    fails(p, "4", &["pipeline", "--owner", "1", "stages"], 2);
}
