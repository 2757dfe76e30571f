//! The `crm` binary, run for real on a temp SQLite database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let db = Db { _dir: dir, path };
    for (id, name, role, extra) in [
        ("1", "سارة", "sales", None),
        ("2", "Omar", "sales", None),
        ("3", "Boss", "manager", None),
        ("4", "Accountant", "other", None),
        ("5", "Gone", "sales", Some("--inactive")),
    ] {
        let mut c = crm(&db.path, None);
        c.args([
            "employee", "add", "--id", id, "--name", name, "--role", role,
        ]);
        if let Some(e) = extra {
            c.arg(e);
        }
        c.assert().success();
    }
    db
}

fn crm(db: &Path, actor: Option<&str>) -> Command {
    let mut c = Command::cargo_bin("crm").unwrap();
    c.env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .env_remove("CRM_REGION")
        .arg("--db")
        .arg(db);
    if let Some(a) = actor {
        c.args(["--as", a]);
    }
    c
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

/// Runs a command that must fail with `code`, and checks it printed one error sentence.
fn fails(db: &Path, actor: &str, args: &[&str], code: i32) -> String {
    let out = crm(db, Some(actor)).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error"), "{err}");
    assert!(out.stdout.is_empty());
    err
}

fn add_lead(db: &Path, actor: &str, name: &str, email: &str) -> Value {
    json(
        db,
        actor,
        &[
            "lead", "add", "--name", name, "--email", email, "--source", "web",
        ],
    )
}

/// Everything observable, to prove a failed command changed nothing.
fn state(db: &Path) -> String {
    let leads = json(db, "3", &["lead", "list", "--limit", "1000"]);
    let events = json(db, "3", &["events", "--limit", "10000"]);
    format!("{leads}{events}")
}

#[test]
fn employees_are_added_and_listed() {
    let db = db();
    let list = json(&db.path, "1", &["employee", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["name"], "سارة");
    assert_eq!(list[0]["role"], "sales");
    assert_eq!(list[4]["active"], false);
}

#[test]
fn lead_lifecycle_through_the_cli() {
    let db = db();
    let p = &db.path;
    let lead = json(
        p,
        "1",
        &[
            "lead",
            "add",
            "--name",
            "محمد العتيبي",
            "--phone",
            "٠٥٠١٢٣٤٥٦٧",
            "--company",
            "شركة الأفق",
            "--source",
            "referral",
        ],
    );
    let id = lead["id"].as_str().unwrap().to_owned();
    // Read in the default region SA: the key is E.164, what was typed is kept for display.
    assert_eq!(lead["phone"]["key"], "+966501234567");
    assert_eq!(lead["phone"]["display"], "٠٥٠١٢٣٤٥٦٧");
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["version"], 1);
    assert_eq!(lead["owner"], 1);

    let edited = json(
        p,
        "1",
        &[
            "lead",
            "edit",
            &id,
            "--email",
            "Mohammed@Example.com",
            "--expect-version",
            "1",
        ],
    );
    assert_eq!(edited["email"], "mohammed@example.com");
    assert_eq!(edited["version"], 2);
    let assigned = json(p, "3", &["lead", "assign", &id, "--to", "2"]);
    assert_eq!(assigned["owner"], 2);

    let i = json(
        p,
        "2",
        &[
            "interaction",
            "add",
            &id,
            "--kind",
            "call",
            "--notes",
            "طلب عرض سعر",
        ],
    );
    assert_eq!(i["kind"], "call");
    let o = json(
        p,
        "2",
        &[
            "opportunity",
            "add",
            &id,
            "--title",
            "Deal",
            "--value",
            "1,250.500",
            "--currency",
            "KWD",
            "--close",
            "2026-12-31",
        ],
    );
    assert_eq!(o["value"]["minor"], 1_250_500);
    assert_eq!(o["value"]["currency"], "KWD");
    let o2 = json(
        p,
        "2",
        &[
            "opportunity",
            "update",
            o["id"].as_str().unwrap(),
            "--stage",
            "won",
        ],
    );
    assert_eq!(
        (o2["stage"].as_str(), o2["version"].as_u64()),
        (Some("won"), Some(2))
    );

    json(p, "2", &["lead", "status", &id, "contacted"]);
    let c = json(p, "2", &["lead", "status", &id, "converted"]);
    assert_eq!(c["lead"]["status"], "converted");
    let client = c["client_id"].as_str().unwrap();
    assert!(!client.is_empty());

    let d = json(p, "4", &["lead", "show", &id]);
    assert_eq!(d["lead"]["client_id"], client);
    assert_eq!(d["history"].as_array().unwrap().len(), 5);
    assert_eq!(d["interactions"].as_array().unwrap().len(), 1);
    assert_eq!(d["opportunities"][0]["stage"], "won");
    assert_eq!(d["pending_client"], Value::Null);

    let human = crm(p, Some("4"))
        .args(["lead", "show", &id])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("محمد العتيبي")
            && text.contains("contacted -> converted")
            && text.contains("1250.500 KWD"),
        "{text}"
    );
}

#[test]
fn list_filters_and_search() {
    let db = db();
    let p = &db.path;
    add_lead(p, "1", "أَحْمَد الشهري", "ahmad@example.com");
    add_lead(p, "2", "Sara Lee", "sara@example.com");
    let found = json(p, "4", &["lead", "list", "--search", "احمد"]);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["email"], "ahmad@example.com");
    let mine = json(p, "4", &["lead", "list", "--owner", "2"]);
    assert_eq!(mine["items"][0]["name"], "Sara Lee");
    let page = json(p, "4", &["lead", "list", "--limit", "1"]);
    let next = page["next"].as_str().unwrap();
    let rest = json(p, "4", &["lead", "list", "--limit", "1", "--after", next]);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_ne!(rest["items"][0]["id"], page["items"][0]["id"]);
    assert_eq!(
        json(p, "4", &["lead", "list", "--status", "lost"])["items"],
        Value::Array(vec![])
    );
    let csv = crm(p, Some("4"))
        .args(["lead", "list", "--csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with('\u{feff}') && csv.contains("أَحْمَد الشهري"));
}

#[test]
fn report_sweep_and_events() {
    let db = db();
    let p = &db.path;
    let a = add_lead(p, "1", "A", "a@example.com");
    add_lead(p, "2", "B", "b@example.com");
    json(
        p,
        "1",
        &[
            "lead",
            "status",
            a["id"].as_str().unwrap(),
            "lost",
            "--reason",
            "no budget",
        ],
    );
    let r = json(p, "4", &["report"]);
    assert_eq!(r["total"], 2);
    assert_eq!(r["by_status"]["lost"], 1);
    assert_eq!(r["by_status"]["new"], 1);
    let r2 = json(p, "4", &["report", "--owner", "2"]);
    assert_eq!(r2["total"], 1);
    let table = crm(p, Some("4")).args(["report"]).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .starts_with("source  new  contacted"),
        "{table}"
    );

    let far = "2100-01-01T00:00:00Z";
    let s = json(p, "1", &["sweep", "--now", far]);
    assert_eq!(s["notified"].as_array().unwrap().len(), 1);
    let s = json(p, "1", &["sweep", "--now", far]);
    assert_eq!(s["notified"].as_array().unwrap().len(), 0);

    let ev = json(p, "1", &["events", "--ack"]);
    let events = ev["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["type"], "lead_created");
    assert_eq!(events[2]["type"], "status_changed");
    assert_eq!(ev["acknowledged"], 3);
    assert_eq!(json(p, "1", &["events"])["events"], Value::Array(vec![]));
}

#[test]
fn errors_have_documented_exit_codes_and_change_nothing() {
    let db = db();
    let p = &db.path;
    let lead = add_lead(p, "1", "A", "a@example.com");
    let id = lead["id"].as_str().unwrap();
    let before = state(p);

    let e = fails(
        p,
        "1",
        &["lead", "add", "--name", "X", "--email", "not-an-email"],
        3,
    );
    assert!(e.contains("invalid email"), "{e}");
    fails(p, "1", &["lead", "status", id, "won"], 3);
    fails(p, "1", &["lead", "status", id, "converted"], 3);
    fails(p, "1", &["lead", "status", id, "lost"], 3);
    let e = fails(p, "4", &["lead", "edit", id, "--name", "Y"], 4);
    assert!(e.contains("forbidden"), "{e}");
    fails(p, "5", &["interaction", "add", id, "--kind", "call"], 4);
    fails(
        p,
        "1",
        &["lead", "show", "0190c0de-0000-7000-8000-000000000000"],
        5,
    );
    fails(
        p,
        "1",
        &["lead", "edit", id, "--name", "Y", "--expect-version", "7"],
        6,
    );
    let e = fails(
        p,
        "2",
        &["lead", "add", "--name", "Again", "--email", "A@example.com"],
        6,
    );
    assert!(
        e.contains(id),
        "the duplicate error names the existing lead: {e}"
    );
    assert_eq!(state(p), before);

    let usage = crm(p, Some("1"))
        .args(["lead", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let no_actor = crm(p, None).args(["lead", "list"]).output().unwrap();
    assert_eq!(no_actor.status.code(), Some(2));
    let help = crm(p, None).arg("--help").output().unwrap();
    assert!(
        String::from_utf8(help.stdout)
            .unwrap()
            .contains("7  storage")
    );
    let missing = Command::cargo_bin("crm")
        .unwrap()
        .args([
            "--db",
            "/nonexistent-dir/x/crm.db",
            "--as",
            "1",
            "lead",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(7));
}

#[test]
fn phones_are_read_in_the_configured_region() {
    let db = db();
    let p = &db.path;
    let add = |region: Option<&str>, name: &str, phone: &str| {
        let mut c = crm(p, Some("1"));
        if let Some(r) = region {
            c.args(["--region", r]);
        }
        c.args(["--json", "lead", "add", "--name", name, "--phone", phone])
            .output()
            .unwrap()
    };
    let ok = |out: std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // The default region is SA: one number typed three ways is one number.
    let first = ok(add(None, "Local", "0501234567"));
    assert_eq!(first["phone"]["key"], "+966501234567");
    for typed in ["+966501234567", "00966501234567"] {
        assert_eq!(add(None, "Dup", typed).status.code(), Some(6), "{typed}");
    }

    // A US host types US numbers with extensions.
    let office = ok(add(Some("us"), "Office", "(993)710-3413x164"));
    assert_eq!(office["phone"]["key"], "+19937103413;ext=164");
    assert_eq!(office["phone"]["display"], "(993)710-3413x164");
    let env = crm(p, Some("1"))
        .env("CRM_REGION", "US")
        .args([
            "lead",
            "add",
            "--name",
            "Same",
            "--phone",
            "993.710.3413 ext 164",
        ])
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(6));

    let before = state(p);
    let e = fails(
        p,
        "1",
        &["lead", "add", "--name", "X", "--phone", "050 call me"],
        3,
    );
    assert!(e.contains("invalid phone number"), "{e}");
    let bad_region = add(Some("XX"), "X", "0501234567");
    assert_eq!(bad_region.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_region.stderr).contains("region"));
    assert_eq!(state(p), before);
}
