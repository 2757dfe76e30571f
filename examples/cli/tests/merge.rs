//! `crm lead duplicates` and `crm lead merge`, run for real on a temp SQLite database.
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
    for var in [
        "CRM_DB",
        "CRM_AS",
        "CRM_REGION",
        "CRM_VISIBILITY",
        "CRM_ASSIGN",
    ] {
        c.env_remove(var);
    }
    c.arg("--db").arg(db);
    if let Some(a) = actor {
        c.args(["--as", a]);
    }
    c
}

/// Manager 3 leads team east; sales 1 is in east, sales 2 in west.
fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let staff: [(&str, &str, &str, &[&str]); 3] = [
        ("3", "Boss", "manager", &["--leads-team", "east"]),
        ("1", "سارة", "sales", &["--team", "east"]),
        ("2", "Omar", "sales", &["--team", "west"]),
    ];
    for (id, name, role, extra) in staff {
        crm(&path, (id != "3").then_some("3"))
            .args([
                "employee", "add", "--id", id, "--name", name, "--role", role,
            ])
            .args(extra)
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

/// Runs a command that must fail with `code`; returns its error output.
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

fn add(db: &Path, owner: &str, name: &str, contact: &[&str]) -> String {
    let mut args = vec![
        "lead",
        "add",
        "--name",
        name,
        "--owner",
        owner,
        "--source",
        "web",
        "--allow-duplicate",
    ];
    args.extend_from_slice(contact);
    json(db, "3", &args)["id"].as_str().unwrap().to_owned()
}

/// Everything observable, to prove a failed command changed nothing.
fn state(db: &Path) -> String {
    let leads = json(db, "3", &["lead", "list", "--limit", "1000"]);
    let events = json(db, "3", &["events", "--limit", "10000"]);
    let report = json(db, "3", &["report"]);
    format!("{leads}{events}{report}")
}

fn group_ids(g: &Value) -> Vec<String> {
    g["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn duplicates_are_listed_by_email_phone_and_fuzzy_name() {
    let db = db();
    let p = db.path.as_path();
    let a = add(p, "1", "Huda", &["--email", "huda@example.com"]);
    let b = add(p, "1", "هدى", &["--email", "HUDA@example.com"]);
    let c = add(p, "1", "Omar", &["--phone", "0501234567"]);
    let d = add(p, "2", "عمر", &["--phone", "+966 50 123 4567"]);
    let e = add(
        p,
        "1",
        "أحمد علي",
        &["--email", "x1@example.com", "--company", "شركة النور"],
    );
    let f = add(
        p,
        "1",
        "احمد علی",
        &["--email", "x2@example.com", "--company", "شركه النور"],
    );

    let plain = json(p, "3", &["lead", "duplicates"]);
    let groups = plain["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{plain}");
    assert_eq!(groups[0]["kind"], "email");
    assert_eq!(groups[0]["key"], "huda@example.com");
    assert_eq!(group_ids(&groups[0]), vec![a.clone(), b.clone()]);
    assert_eq!(groups[1]["kind"], "phone");
    assert_eq!(group_ids(&groups[1]), vec![c.clone(), d.clone()]);
    let fuzzy = json(p, "3", &["lead", "duplicates", "--fuzzy"]);
    let groups = fuzzy["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{fuzzy}");
    assert_eq!(groups[2]["kind"], "name");
    assert_eq!(group_ids(&groups[2]), vec![e, f]);

    // Visibility: under `own`, sales employee 2 sees only their lead, so no group.
    let own = crm(p, Some("2"))
        .args(["--visibility", "own", "--json", "lead", "duplicates"])
        .output()
        .unwrap();
    assert!(own.status.success());
    let own: Value = serde_json::from_slice(&own.stdout).unwrap();
    assert_eq!(own["groups"].as_array().unwrap().len(), 0, "{own}");

    // The human table names the groups and the command to merge.
    let out = crm(p, Some("3"))
        .args(["lead", "duplicates"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("group 1 (email huda@example.com): 2 leads"),
        "{text}"
    );
    assert!(
        text.contains(&format!("crm lead merge {a} OTHER")),
        "{text}"
    );
}

#[test]
fn merge_moves_the_lead_and_refusals_have_exit_codes() {
    let db = db();
    let p = db.path.as_path();
    let keep = add(p, "1", "Huda", &["--email", "huda@example.com"]);
    let other = add(
        p,
        "1",
        "هدى",
        &[
            "--email",
            "huda@example.com",
            "--phone",
            "0551112222",
            "--company",
            "Acme",
        ],
    );
    json(p, "1", &["interaction", "add", &other, "--kind", "call"]);

    // Sales staff may not merge (4), and nothing changes.
    let before = state(p);
    let err = fails(p, "1", &["lead", "merge", &keep, &other], 4);
    assert!(err.contains("may not merge leads"), "{err}");
    // Into itself (3), a stale version (6), an unknown lead (5).
    let err = fails(p, "3", &["lead", "merge", &keep, &keep], 3);
    assert!(err.contains("cannot be merged into itself"), "{err}");
    fails(
        p,
        "3",
        &[
            "lead",
            "merge",
            &keep,
            &other,
            "--expect-other-version",
            "9",
        ],
        6,
    );
    fails(
        p,
        "3",
        &[
            "lead",
            "merge",
            &keep,
            "01900000-0000-7000-8000-000000000000",
        ],
        5,
    );
    assert_eq!(state(p), before, "a refused merge changed something");

    let out = json(p, "3", &["lead", "merge", &keep, &other]);
    assert_eq!(out["kept"]["id"], keep.as_str());
    assert_eq!(out["kept"]["company"], "Acme");
    assert_eq!(out["merged"]["merged_into"], keep.as_str());

    // The merged lead leaves the listing and the duplicates; its detail says where it went.
    let list = json(p, "3", &["lead", "list"]);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], keep.as_str());
    let dups = json(p, "3", &["lead", "duplicates"]);
    assert_eq!(dups["groups"].as_array().unwrap().len(), 0);
    let shown = crm(p, Some("3"))
        .args(["lead", "show", &other])
        .output()
        .unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.contains(&format!("merged into lead {keep}")), "{text}");
    assert!(text.contains("merged into"), "{text}");
    let kept = json(p, "3", &["lead", "show", &keep]);
    assert_eq!(kept["interactions"].as_array().unwrap().len(), 1);

    // A merged lead is read-only (4), and merging it again is refused (3).
    fails(p, "3", &["lead", "edit", &other, "--company", "X"], 4);
    let err = fails(p, "3", &["lead", "merge", &keep, &other], 3);
    assert!(err.contains("merged already"), "{err}");
    let err = crm(p, Some("3"))
        .args(["--json", "lead", "merge", &other, &keep])
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&err.stderr).unwrap();
    assert_eq!(v["error"]["kind"], "merge_refused");

    // One lead_merged event.
    let events = json(p, "3", &["events", "--limit", "1000"]);
    let merged: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "lead_merged")
        .collect();
    assert_eq!(merged.len(), 1, "{events}");
    assert_eq!(merged[0]["lead_id"], keep.as_str());
}
