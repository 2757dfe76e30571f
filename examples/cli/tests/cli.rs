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
    // The first employee of a new database is a manager added with no one acting; the
    // manager adds the others.
    for (id, name, role, extra) in [
        ("3", "Boss", "manager", None),
        ("1", "سارة", "sales", None),
        ("2", "Omar", "sales", None),
        ("4", "Accountant", "other", None),
        ("5", "Gone", "sales", Some("--inactive")),
    ] {
        let mut c = crm(&db.path, (id != "3").then_some("3"));
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
        .env_remove("CRM_REGION");
    // The sales-process settings come from the command line in these tests only.
    for v in [
        "CRM_LOST_REASONS",
        "CRM_SOURCES",
        "CRM_NEW_SOURCES",
        "CRM_CURRENCIES",
        "CRM_STAGE_PROBABILITIES",
        "CRM_TIME_ZONE",
        "CRM_WORKING_HOURS",
        "CRM_WEEKEND",
        "CRM_LOCALE",
        "CRM_HOLIDAYS",
        "CRM_HOLIDAYS_FILE",
        "CRM_ESCALATE_AFTER",
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

/// The id of a new lead "A" (a@example.com) created by sales employee 1.
fn a_lead(db: &Path) -> String {
    add_lead(db, "1", "A", "a@example.com")["id"]
        .as_str()
        .unwrap()
        .to_owned()
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

/// `lead list --search` and `lead bulk --filter search=` read a number typed in any
/// spelling (local forms in `--region`) as that number, as the duplicate check does.
#[test]
fn a_number_in_any_spelling_is_searched_by_its_key() {
    let db = db();
    let p = &db.path;
    let add = |name: &str, phone: &str, extra: &[&str]| {
        let mut args = vec!["lead", "add", "--name", name, "--phone", phone];
        args.extend(extra);
        json(p, "1", &args)["id"].as_str().unwrap().to_owned()
    };
    let mut both = vec![
        add("Local", "0501234567", &[]),
        add("Intl", "+966501234567", &["--allow-duplicate"]),
    ];
    both.sort();
    add("Other", "0551234567", &[]);
    let ids = |v: &Value| {
        let mut ids: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    for typed in [
        "+966 50 123 4567",
        "050 123 4567",
        "050-123-4567",
        "00966501234567",
    ] {
        let found = json(p, "4", &["lead", "list", "--search", typed]);
        assert_eq!(ids(&found), both, "{typed}");
    }
    // The export takes the same search.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("found.csv");
    crm(p, Some("4"))
        .args(["export", "leads", "--search", "050 123 4567", "--out"])
        .arg(&csv)
        .assert()
        .success();
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 3, "a heading and two leads: {csv}");
    let filter = "search=050-123-4567";
    let moved = json(
        p,
        "1",
        &["lead", "bulk", "status", "contacted", "--filter", filter],
    );
    assert_eq!(moved["done"].as_array().unwrap().len(), 2, "{moved}");
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
            "no-budget",
            "--detail",
            "no budget this year",
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

    // With a zero-day rule every new lead is due at once (a sweep later than the clock is
    // refused, so the test cannot wait five days).
    let s = json(p, "3", &["sweep", "--days", "0"]);
    assert_eq!(s["notified"].as_array().unwrap().len(), 1);
    let s = json(p, "3", &["sweep", "--days", "0"]);
    assert_eq!(s["notified"].as_array().unwrap().len(), 0);

    let ev = json(p, "3", &["events", "--ack"]);
    let events = ev["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["type"], "lead_created");
    assert_eq!(events[2]["type"], "status_changed");
    assert_eq!(ev["acknowledged"], 3);
    assert_eq!(json(p, "1", &["events"])["events"], Value::Array(vec![]));
}

/// Operations that change state take the acting employee and check them: the sweep, the
/// dispatch and acknowledging events are management's, and so is managing employees.
/// Refused, they change nothing.
#[test]
fn system_operations_need_management() {
    let db = db();
    let p = &db.path;
    add_lead(p, "1", "A", "a@example.com");
    let before = state(p);
    for actor in ["4", "1", "5"] {
        fails(p, actor, &["sweep", "--days", "0"], 4);
        fails(p, actor, &["dispatch"], 4);
        fails(p, actor, &["events", "--ack"], 4);
        fails(
            p,
            actor,
            &[
                "employee", "add", "--id", "99", "--name", "X", "--role", "manager",
            ],
            4,
        );
    }
    fails(p, "42", &["sweep"], 4);
    // Without --as: a usage error, and no employee is added once the first exists.
    for args in [
        &["sweep", "--days", "0"][..],
        &["dispatch"][..],
        &["events", "--ack"][..],
        &[
            "employee", "add", "--id", "99", "--name", "X", "--role", "manager",
        ][..],
    ] {
        let out = crm(p, None).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // A sweep later than the clock would stamp leads notified in the future.
    fails(p, "3", &["sweep", "--now", "2100-01-01T00:00:00Z"], 3);
    // Absurd rules and schedules are refused, not overflowed.
    // A setting of the follow-up rule is configuration: a bad one is a usage error.
    fails(p, "3", &["sweep", "--days", "100000000"], 2);
    assert_eq!(state(p), before);
    let list = json(p, "3", &["employee", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 5);
}

/// On a new database, the first employee must be an active manager.
#[test]
fn the_first_employee_is_a_manager() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("new.db");
    let out = crm(&p, None)
        .args([
            "employee", "add", "--id", "1", "--name", "S", "--role", "sales",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    crm(&p, None)
        .args([
            "employee", "add", "--id", "1", "--name", "M", "--role", "manager",
        ])
        .assert()
        .success();
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

/// Everything observable about one lead and the whole database, opportunities included.
fn lead_state(db: &Path, id: &str) -> String {
    let mut detail = json(db, "3", &["lead", "show", id]);
    // Time in status runs on with the clock: not part of what a command changed.
    if let Some(o) = detail.as_object_mut() {
        o.remove("time_in_status_seconds");
    }
    format!("{}{detail}", state(db))
}

#[test]
fn ambiguous_amounts_are_refused_and_change_nothing() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    let before = lead_state(p, &id);
    for value in [
        "1,25", "1,2", ",5", "1٬250", "1,250", "1,2345", "1.2.3", "1,250,50", "1.250,50", "1 250",
        "1_250", "1,250٫5",
    ] {
        let e = fails(
            p,
            "1",
            &[
                "opportunity",
                "add",
                &id,
                "--title",
                "t",
                "--value",
                value,
                "--currency",
                "KWD",
                "--close",
                "2026-12-31",
            ],
            3,
        );
        assert!(e.contains("invalid amount"), "{value}: {e}");
    }
    let e = fails(
        p,
        "1",
        &[
            "opportunity",
            "add",
            &id,
            "--title",
            "t",
            "--value",
            "1,25",
            "--currency",
            "KWD",
            "--close",
            "2026-12-31",
        ],
        3,
    );
    assert!(e.contains("groups of three"), "{e}");
    assert_eq!(lead_state(p, &id), before);
    let o = json(
        p,
        "1",
        &[
            "opportunity",
            "add",
            &id,
            "--title",
            "t",
            "--value",
            "١٬٢٥٠٫٥",
            "--currency",
            "KWD",
            "--close",
            "2026-12-31",
        ],
    );
    assert_eq!(o["value"]["minor"], 1_250_500);
}

/// The host's sources and currencies (`--sources`, `--new-sources`, `--currencies`, or the
/// same keys of the one configuration) hold in the CLI as in the library: a source not
/// listed is refused to sales staff under `management` and taken from management; a
/// currency not listed is refused; nothing is stored by a refusal.
#[test]
fn host_sources_and_currencies_hold_in_the_cli() {
    let db = db();
    let p = &db.path;
    let policy = [
        "--sources",
        "web,معرض",
        "--new-sources",
        "management",
        "--currencies",
        "SAR,KWD",
    ];
    fn with<'a>(policy: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [policy, args].concat()
    }
    let add = |name: &str, email: &str, source: &str| {
        [
            "lead", "add", "--name", name, "--email", email, "--source", source,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let before = state(p);
    let args = add("A", "a@example.com", "referral");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = fails(p, "1", &with(&policy, &args), 3);
    assert!(e.contains("not one of the host's: web, معرض"), "{e}");
    assert_eq!(state(p), before);
    let args = add("B", "b@example.com", "معرض");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lead = json(p, "1", &with(&policy, &args));
    let args = add("C", "c@example.com", "referral");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json(p, "3", &with(&policy, &args));
    let id = lead["id"].as_str().unwrap();
    let deal = |currency: &'static str| {
        [
            "opportunity",
            "add",
            id,
            "--title",
            "t",
            "--value",
            "10.00",
            "--currency",
            currency,
            "--close",
            "2026-12-31",
        ]
    };
    let usd = deal("USD");
    let e = fails(p, "1", &with(&policy, &usd), 3);
    assert!(
        e.contains("currency USD is not one of the host's: SAR, KWD"),
        "{e}"
    );
    let sar = deal("SAR");
    json(p, "1", &with(&policy, &sar));
    // A policy that does not parse is a usage error.
    fails(p, "1", &["--new-sources", "some", "report"], 2);
}

#[test]
fn the_duplicate_error_names_the_cli_switch() {
    let db = db();
    let p = &db.path;
    add_lead(p, "1", "A", "a@example.com");
    let e = fails(
        p,
        "2",
        &["lead", "add", "--name", "B", "--email", "a@example.com"],
        6,
    );
    assert!(e.contains("--allow-duplicate"), "{e}");
    assert!(!e.contains("allow_duplicate"), "{e}");
}

#[test]
fn assignee_errors_read_as_english() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    let e = fails(p, "3", &["lead", "assign", &id, "--to", "5"], 3);
    assert!(e.contains("they are inactive"), "{e}");
    let e = fails(p, "3", &["lead", "assign", &id, "--to", "4"], 3);
    assert!(e.contains("they are neither sales staff"), "{e}");
    let e = fails(p, "3", &["lead", "assign", &id, "--to", "99"], 3);
    assert!(e.contains("they are not in the employee directory"), "{e}");
}

#[test]
fn a_reason_is_refused_for_moves_other_than_lost() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    let before = state(p);
    let e = fails(
        p,
        "1",
        &["lead", "status", &id, "contacted", "--reason", "called"],
        3,
    );
    assert!(e.contains("only taken when a lead is marked lost"), "{e}");
    assert_eq!(state(p), before);
    json(
        p,
        "1",
        &["lead", "status", &id, "lost", "--reason", "price"],
    );
}

#[test]
fn a_negative_value_fails_the_same_way_in_both_spellings() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    let add = |value: &[&str]| {
        let mut args = vec![
            "opportunity",
            "add",
            &id,
            "--title",
            "t",
            "--currency",
            "SAR",
            "--close",
            "2026-12-31",
        ];
        args.extend_from_slice(value);
        fails(p, "1", &args, 3)
    };
    let spaced = add(&["--value", "-5"]);
    let joined = add(&["--value=-5"]);
    assert_eq!(spaced, joined);
    assert!(spaced.contains("must not be negative"), "{spaced}");
}

#[test]
fn a_status_change_on_a_converted_lead_is_read_only_like_an_edit() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    json(p, "1", &["lead", "status", &id, "contacted"]);
    json(p, "1", &["lead", "status", &id, "converted"]);
    let before = state(p);
    let edit = fails(p, "3", &["lead", "edit", &id, "--name", "B"], 4);
    let status = fails(p, "3", &["lead", "status", &id, "interested"], 4);
    assert!(
        edit.contains("read-only") && status.contains("read-only"),
        "{status}"
    );
    fails(
        p,
        "3",
        &["lead", "status", &id, "lost", "--reason", "price"],
        4,
    );
    assert_eq!(state(p), before);
}

/// Runs a command with `--json` that must fail, and returns its one error object.
fn json_error(db: &Path, args: &[&str]) -> Value {
    let out = crm(db, Some("1"))
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "{args:?}");
    let err: Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        Some(i64::from(out.status.code().unwrap())),
        err["error"]["exit_code"].as_i64(),
        "{err}"
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    err
}

#[test]
fn json_errors_are_one_object_with_a_stable_kind() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    let kind = |args: &[&str]| json_error(p, args)["error"]["kind"].clone();
    assert_eq!(
        kind(&["lead", "show", "0190c0de-0000-7000-8000-000000000000"]),
        "not_found"
    );
    assert_eq!(
        kind(&["lead", "add", "--name", "X", "--email", "nope"]),
        "invalid_input"
    );
    assert_eq!(
        kind(&["lead", "status", &id, "converted"]),
        "invalid_transition"
    );
    assert_eq!(
        kind(&["lead", "add", "--name", "X", "--email", "a@example.com"]),
        "duplicate"
    );
    assert_eq!(
        kind(&["lead", "edit", &id, "--name", "Y", "--expect-version", "9"]),
        "conflict"
    );
    assert_eq!(kind(&["lead", "frobnicate"]), "usage");
    let help = crm(p, None).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for (kind, code, _) in crm_cli::output::ERROR_KINDS {
        assert!(
            help.contains(&format!("{kind:<19}{code}")),
            "{kind}: {help}"
        );
    }
    assert!(help.contains(r#"{"error": {"kind""#), "{help}");
}

/// Runs SQL on the test database (a clients system that fails, for one).
fn sql(db: &Path, statement: &'static str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _ctx = rt.enter();
    let store = rt
        .block_on(crm_store_sqlx::SqliteStore::connect(&db.to_string_lossy()))
        .unwrap();
    rt.block_on(sqlx::query(statement).execute(store.pool()))
        .unwrap();
}

/// A conversion whose client the clients system did not create converts the lead all the
/// same (exit 0: converting again would be refused) and says so on stderr, with and without
/// --json: the dispatch retries the client.
#[test]
fn a_conversion_whose_client_failed_says_so() {
    let db = db();
    let p = &db.path;
    let ids: Vec<String> = ["a", "b"]
        .iter()
        .map(|n| {
            let id = add_lead(p, "1", n, &format!("{n}@example.com"))["id"]
                .as_str()
                .unwrap()
                .to_owned();
            json(p, "1", &["lead", "status", &id, "contacted"]);
            id
        })
        .collect();
    sql(
        p,
        "CREATE TRIGGER clients_down BEFORE INSERT ON clients \
         BEGIN SELECT RAISE(ABORT, 'clients system down'); END",
    );
    let out = crm(p, Some("1"))
        .args(["lead", "status", &ids[0], "converted"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("converted"), "{stdout}");
    assert!(
        stderr.starts_with("warning: ")
            && stderr.contains("client was not created")
            && stderr.contains("crm dispatch"),
        "{stderr}"
    );
    let out = crm(p, Some("1"))
        .args(["--json", "lead", "status", &ids[1], "converted"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["lead"]["status"], "converted");
    assert_eq!(c["client_id"], Value::Null);
    assert!(c["client_deferred"].is_string(), "{c}");
    let w: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(w["warning"]["kind"], "client_deferred", "{w}");
    // Once the clients system is back, the dispatch creates both.
    sql(p, "DROP TRIGGER clients_down");
    let d = json(p, "3", &["dispatch"]);
    assert_eq!(d["created"].as_array().unwrap().len(), 2, "{d}");
}

#[test]
fn a_busy_database_error_quotes_no_sql() {
    let db = db();
    let p = db.path.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The pool returns its connection on drop, which needs the runtime.
    let _ctx = rt.enter();
    let store = rt
        .block_on(crm_store_sqlx::SqliteStore::connect(&p.to_string_lossy()))
        .unwrap();
    let lock = rt
        .block_on(store.pool().begin_with("BEGIN EXCLUSIVE"))
        .unwrap();
    let out = crm(&p, Some("1"))
        .args(["lead", "add", "--name", "B", "--email", "b@example.com"])
        .output()
        .unwrap();
    drop(lock);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    assert!(err.contains("busy"), "{err}");
    assert!(!err.contains("INSERT") && !err.contains("BEGIN"), "{err}");
}

#[test]
fn stderr_that_is_not_a_terminal_gets_no_colours() {
    let db = db();
    let p = &db.path;
    add_lead(p, "1", "A", "a@example.com");
    let out = crm(p, Some("3"))
        .args(["sweep", "--days", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no follow-up"),
        "the crm's own warning stays: {err}"
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn tables_show_employee_names() {
    let db = db();
    let p = &db.path;
    let id = a_lead(p);
    json(p, "3", &["lead", "assign", &id, "--to", "2"]);
    json(p, "2", &["interaction", "add", &id, "--kind", "call"]);
    let text = |args: &[&str]| {
        let out = crm(p, Some("3")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let list = text(&["lead", "list"]);
    assert!(list.contains("Omar (2)"), "{list}");
    let show = text(&["lead", "show", &id]);
    assert!(show.contains("owner    Omar (2)"), "{show}");
    assert!(
        show.contains("Boss (3)"),
        "the history names the actor: {show}"
    );
    assert!(
        show.contains("owner سارة (1) -> Omar (2)"),
        "the reassignment names both: {show}"
    );
    assert!(
        show.contains("call  Omar (2)"),
        "the interaction names who logged it: {show}"
    );
    let events = text(&["events"]);
    assert!(
        events.contains("سارة (1)") && events.contains("Boss (3)"),
        "{events}"
    );
    // The JSON keeps the plain ids.
    assert_eq!(json(p, "3", &["lead", "list"])["items"][0]["owner"], 2);
}

#[test]
fn empty_results_print_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("crm.db");
    let text = |actor: Option<&str>, args: &[&str]| {
        let out = crm(&p, actor).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    crm(&p, None)
        .args([
            "employee", "add", "--id", "1", "--name", "A", "--role", "manager",
        ])
        .assert()
        .success();
    assert_eq!(text(Some("1"), &["lead", "list"]), "no leads match\n");
    assert_eq!(text(Some("1"), &["report"]), "no leads match\n");
    assert_eq!(text(Some("1"), &["events"]), "no pending events\n");
}

#[test]
fn a_new_database_file_is_announced_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("new.db");
    let first = crm(&p, None)
        .args([
            "employee", "add", "--id", "1", "--name", "M", "--role", "manager",
        ])
        .output()
        .unwrap();
    assert!(first.status.success());
    let err = String::from_utf8(first.stderr).unwrap();
    assert_eq!(
        err.trim(),
        format!("created a new database at {}", p.display())
    );
    let again = crm(&p, Some("1"))
        .args(["employee", "list"])
        .output()
        .unwrap();
    assert!(again.stderr.is_empty(), "{again:?}");
}

#[test]
fn huge_numbers_are_refused_without_a_panic() {
    let db = db();
    let p = &db.path;
    for days in ["100000000", "4000"] {
        let e = fails(p, "3", &["sweep", "--days", days], 2);
        assert!(e.contains("outside 0..=3650"), "{e}");
    }
    for every in ["100000000000000d", "9223372036854775807s", "400d", "366d1s"] {
        let e = fails(p, "1", &["sweep", "--every", every], 3);
        assert!(!e.contains("panicked"), "{e}");
    }
    for every in ["1000000000d1000000000d", "100000000000s100000000000s"] {
        fails(p, "1", &["sweep", "--every", every], 3);
    }
}

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn postgres_commands_print_no_sqlx_notices() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(crm_tests::postgres::fresh_schema("crm_cli"));
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("crm")
            .unwrap()
            .env_remove("CRM_DB")
            .env_remove("CRM_AS")
            .env_remove("RUST_LOG")
            .args(["--db", &url])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&[
        "employee", "add", "--id", "3", "--name", "Boss", "--role", "manager",
    ]);
    assert_eq!(err, "", "no notices, and no 'created' note for PostgreSQL");
    for _ in 0..2 {
        let err = run(&[
            "--as", "3", "employee", "add", "--id", "1", "--name", "سارة", "--role", "sales",
        ]);
        assert_eq!(err, "", "no notices on a migrated database either");
    }
    let err = run(&[
        "--as",
        "1",
        "lead",
        "add",
        "--name",
        "A",
        "--email",
        "a@example.com",
    ]);
    assert_eq!(err, "");
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

/// An unreachable PostgreSQL server fails within seconds with a sentence saying where.
#[test]
fn an_unreachable_server_says_so_quickly() {
    let started = std::time::Instant::now();
    let out = Command::cargo_bin("crm")
        .unwrap()
        .env_remove("CRM_DB")
        .env_remove("CRM_AS")
        .args([
            "--db",
            "postgres://nobody@127.0.0.1:1/x",
            "--as",
            "1",
            "lead",
            "list",
        ])
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert_eq!(out.status.code(), Some(7));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot connect to the database at 127.0.0.1:1/x"),
        "{err}"
    );
    assert!(!err.contains("busy"), "{err}");
}

#[test]
fn lost_reasons_are_codes_and_reported() {
    let db = db();
    let p = &db.path;
    let a = a_lead(p);
    let b = add_lead(p, "2", "B", "b@example.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A code outside the list: refused, nothing changes.
    let before = lead_state(p, &a);
    let err = fails(
        p,
        "1",
        &["lead", "status", &a, "lost", "--reason", "weather"],
        3,
    );
    assert!(err.contains("price, competitor"), "{err}");
    assert_eq!(lead_state(p, &a), before);
    // Detail without a code is a usage error.
    fails(p, "1", &["lead", "status", &a, "lost", "--detail", "x"], 2);
    let l = json(
        p,
        "1",
        &[
            "lead",
            "status",
            &a,
            "lost",
            "--reason",
            "Price",
            "--detail",
            "السعر أعلى من الميزانية",
        ],
    );
    assert_eq!(l["lead"]["lost_reason_code"], "price");
    assert_eq!(l["lead"]["lost_reason"], "السعر أعلى من الميزانية");
    // The host's own list, in Arabic.
    let out = crm(p, Some("2"))
        .args([
            "--lost-reasons",
            "price,سعر",
            "lead",
            "status",
            &b,
            "lost",
            "--reason",
            "سعر",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(p, "4", &["report", "--by", "lost-reason"]);
    assert_eq!(r["total"], 2);
    let codes: Vec<_> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(codes, [("price".to_owned(), 1), ("سعر".to_owned(), 1)]);
    let mine = json(p, "4", &["report", "--by", "lost-reason", "--owner", "2"]);
    assert_eq!(mine["total"], 1);
    let text = crm(p, Some("4"))
        .args(["report", "--by", "lost-reason"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("price") && text.contains("50%"), "{text}");
    // As CSV, written by the library's exporter as the actor.
    let csv = crm(p, Some("4"))
        .args(["report", "--by", "lost-reason", "--csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.contains("Lost reason,Code,Leads,Share (%)"), "{csv}");
    assert!(csv.contains("Price,price,1,50"), "{csv}");
    let csv = crm(p, Some("4"))
        .args(["report", "--by", "time-in-status", "--csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.contains("Average (minutes)"), "{csv}");
    fails(p, "4", &["report", "--by", "colour"], 2);
    fails(p, "1", &["--lost-reasons", "a,a", "report"], 2);
}

#[test]
fn the_pipeline_is_valued_per_currency() {
    let db = db();
    let p = &db.path;
    let a = a_lead(p);
    let add = |value: &str, cur: &str, close: &str, extra: &[&str]| {
        let mut args = vec![
            "opportunity",
            "add",
            &a,
            "--title",
            "Deal",
            "--value",
            value,
            "--currency",
            cur,
            "--close",
            close,
        ];
        args.extend_from_slice(extra);
        json(p, "1", &args)["id"].as_str().unwrap().to_owned()
    };
    add("1,000.00", "SAR", "2026-01-15", &["--probability", "40"]);
    let proposal = add("500.00", "SAR", "2026-02-10", &[]);
    json(
        p,
        "1",
        &["opportunity", "update", &proposal, "--stage", "proposal"],
    );
    let won = add("250.00", "SAR", "2026-02-20", &[]);
    json(p, "1", &["opportunity", "update", &won, "--stage", "won"]);
    add("1,250.500", "KWD", "2026-03-01", &[]);
    let r = json(p, "4", &["pipeline"]);
    let cur = |code: &str| {
        r["currencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == code)
            .cloned()
            .unwrap()
    };
    let sar = cur("SAR");
    assert_eq!(sar["totals"]["open_minor"], 150_000);
    // 40 % of 1,000.00 + the default 50 % of proposal's 500.00.
    assert_eq!(sar["totals"]["weighted_minor"], 40_000 + 25_000);
    assert_eq!(sar["totals"]["won_minor"], 25_000);
    let kwd = cur("KWD");
    // The default 10 % of open: 125.050 KWD.
    assert_eq!(kwd["totals"]["weighted_minor"], 125_050);
    // Close dates inclusive, and the owner.
    let feb = json(
        p,
        "4",
        &["pipeline", "--from", "2026-02-10", "--to", "2026-02-20"],
    );
    assert_eq!(feb["currencies"].as_array().unwrap().len(), 1);
    assert_eq!(feb["currencies"][0]["totals"]["open_minor"], 50_000);
    let none = json(p, "4", &["pipeline", "--owner", "2"]);
    assert_eq!(none["currencies"].as_array().unwrap().len(), 0);
    // The host's probabilities.
    let out = crm(p, Some("4"))
        .args(["--json", "--stage-probabilities", "open=50", "pipeline"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kwd = r["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "KWD")
        .cloned()
        .unwrap();
    assert_eq!(kwd["totals"]["weighted_minor"], 625_250);
    let text = crm(p, Some("4")).arg("pipeline").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("SAR") && text.contains("KWD") && text.contains("2026-02"),
        "{text}"
    );
    fails(
        p,
        "4",
        &["pipeline", "--from", "2026-03-01", "--to", "2026-02-01"],
        3,
    );
    fails(p, "4", &["--stage-probabilities", "won=50", "pipeline"], 2);
    fails(
        p,
        "1",
        &[
            "opportunity",
            "add",
            &a,
            "--title",
            "X",
            "--value",
            "1",
            "--currency",
            "SAR",
            "--close",
            "2026-01-01",
            "--probability",
            "120",
        ],
        3,
    );
}

#[test]
fn overdue_follow_ups_are_swept_once_and_dry_runs_change_nothing() {
    let db = db();
    let p = &db.path;
    let a = a_lead(p);
    // A few seconds ahead: the command must start before the time comes (a loaded machine
    // takes a while), and then the test waits for it.
    let due = chrono::Utc::now() + chrono::TimeDelta::seconds(6);
    let soon = due.to_rfc3339();
    let l = json(p, "1", &["lead", "edit", &a, "--follow-up", &soon]);
    assert!(l["next_follow_up_at"].is_string());
    fails(
        p,
        "1",
        &["lead", "edit", &a, "--follow-up", "2020-01-01T00:00:00Z"],
        3,
    );
    let wait = due - chrono::Utc::now() + chrono::TimeDelta::milliseconds(200);
    std::thread::sleep(wait.to_std().unwrap_or_default());
    let before = lead_state(p, &a);
    let dry = json(p, "3", &["sweep", "--dry-run"]);
    assert_eq!(dry["would_notify"][0]["kind"]["type"], "overdue");
    assert_eq!(lead_state(p, &a), before, "a dry run changes nothing");
    let r = json(p, "3", &["sweep"]);
    assert_eq!(r["reminded"].as_array().unwrap().len(), 1);
    let r = json(p, "3", &["sweep"]);
    assert_eq!(r["reminded"].as_array().unwrap().len(), 0);
    // An interaction sets the next one.
    let later = (chrono::Utc::now() + chrono::TimeDelta::days(2)).to_rfc3339();
    json(
        p,
        "1",
        &[
            "interaction",
            "add",
            &a,
            "--kind",
            "call",
            "--follow-up",
            &later,
        ],
    );
    let d = json(p, "1", &["lead", "show", &a]);
    assert!(d["lead"]["next_follow_up_at"].is_string());
    assert!(d["time_in_status_seconds"]["new"].is_number());
    // The calendar options are checked, as every setting of the configuration is.
    fails(p, "3", &["sweep", "--time-zone", "Mars/Olympus"], 2);
    fails(p, "3", &["sweep", "--working-hours", "17:00-09:00"], 2);
    fails(p, "3", &["sweep", "--escalate-after", "0"], 2);
    let ok = crm(p, Some("3"))
        .args([
            "sweep",
            "--dry-run",
            "--time-zone",
            "Asia/Riyadh",
            "--working-hours",
            "09:00-17:00",
            "--locale",
            "ar_SA",
            "--holidays",
            "2026-03-20,2026-03-21",
            "--escalate-after",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn managers_and_time_in_status_reach_the_cli() {
    let db = db();
    let p = &db.path;
    json(
        p,
        "3",
        &[
            "employee",
            "add",
            "--id",
            "6",
            "--name",
            "Rep",
            "--role",
            "sales",
            "--manager",
            "3",
        ],
    );
    let list = json(p, "3", &["employee", "list"]);
    let rep = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == 6)
        .cloned()
        .unwrap();
    assert_eq!(rep["manager"], 3);
    let a = a_lead(p);
    json(p, "1", &["lead", "status", &a, "contacted"]);
    let r = json(p, "4", &["report", "--by", "time-in-status"]);
    let statuses: Vec<_> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["new", "contacted"]);
    let text = crm(p, Some("4"))
        .args(["report", "--by", "time-in-status"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("contacted") && text.contains("average"),
        "{text}"
    );
    let show = crm(p, Some("1"))
        .args(["lead", "show", &a])
        .output()
        .unwrap();
    let show = String::from_utf8(show.stdout).unwrap();
    assert!(show.contains("time in status:"), "{show}");
}
