//! The `crm` binary's teams, visibility, assignment rules, reassign-all and bulk changes, run
//! for real on a temp SQLite database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Db {
    dir: tempfile::TempDir,
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

/// Manager 3 leads team east; sales 1 and 6 are in east, sales 2 in west; 4 is read-only
/// staff of east.
fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let staff: [(&str, &str, &str, &[&str]); 5] = [
        ("3", "Boss", "manager", &["--leads-team", "East"]),
        ("1", "سارة", "sales", &["--team", "east"]),
        ("2", "Omar", "sales", &["--team", "west"]),
        ("6", "خالد", "sales", &["--team", "EAST"]),
        ("4", "Accountant", "other", &["--team", "east"]),
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
    Db { dir, path }
}

/// Runs `args` as `actor` with `--json` and extra global options; must succeed.
fn json(db: &Path, actor: &str, global: &[&str], args: &[&str]) -> Value {
    let out = crm(db, Some(actor))
        .arg("--json")
        .args(global)
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

/// Runs `args` as `actor`; must exit with `code`. Returns stdout and stderr.
fn exits(db: &Path, actor: &str, global: &[&str], args: &[&str], code: i32) -> (String, String) {
    let out = crm(db, Some(actor))
        .args(global)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}{stdout}");
    (stdout, stderr)
}

fn add(db: &Path, actor: &str, global: &[&str], name: &str, source: &str) -> Value {
    let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
    json(
        db,
        actor,
        global,
        &[
            "lead", "add", "--name", name, "--email", &email, "--source", source,
        ],
    )
}

/// The id of a new web lead `name` added by `actor`.
fn lead_id(db: &Path, actor: &str, name: &str) -> String {
    add(db, actor, &[], name, "web")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn teams_are_listed_with_members_and_managers() {
    let db = db();
    let teams = json(&db.path, "1", &[], &["team", "list"]);
    assert_eq!(
        teams,
        serde_json::json!([
            {"team": "east", "members": [1, 4, 6], "managers": [3]},
            {"team": "west", "members": [2], "managers": []},
        ])
    );
    let (out, _) = exits(&db.path, "1", &[], &["team", "list"], 0);
    assert!(out.contains("سارة (1)"), "{out}");
    assert!(out.contains("Boss (3)"), "{out}");
    // Only managers lead teams.
    let (_, err) = exits(
        &db.path,
        "3",
        &[],
        &[
            "employee",
            "add",
            "--id",
            "9",
            "--name",
            "X",
            "--role",
            "sales",
            "--leads-team",
            "x",
        ],
        3,
    );
    assert!(err.contains("only managers lead teams"), "{err}");
}

#[test]
fn visibility_hides_leads_outside_the_view_everywhere() {
    let db = db();
    let p = &db.path;
    let a = lead_id(p, "1", "East Lead");
    let b = lead_id(p, "2", "West Lead");
    let team = ["--visibility", "team"];
    // Default: all.
    assert_eq!(ids(&json(p, "1", &[], &["lead", "list"])).len(), 2);
    assert_eq!(
        ids(&json(p, "1", &team, &["lead", "list"])),
        std::slice::from_ref(&a)
    );
    assert_eq!(
        ids(&json(p, "4", &team, &["lead", "list"])),
        std::slice::from_ref(&a)
    );
    assert_eq!(
        ids(&json(p, "2", &team, &["lead", "list"])),
        std::slice::from_ref(&b)
    );
    let found = json(p, "1", &team, &["lead", "list", "--search", "west"]);
    assert!(ids(&found).is_empty());
    for args in [
        vec!["lead", "show", b.as_str()],
        vec!["lead", "edit", b.as_str(), "--name", "Mine now"],
        vec!["lead", "status", b.as_str(), "contacted"],
    ] {
        let (_, err) = exits(p, "1", &team, &args, 5);
        assert!(err.contains("not found"), "{err}");
    }
    let report = json(p, "1", &team, &["report"]);
    assert_eq!(report["total"], 1);
    let events = json(p, "1", &team, &["events"]);
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["lead_id"], a.as_str());
    let (csv, _) = exits(p, "1", &team, &["lead", "list", "--csv"], 0);
    assert!(
        csv.contains("East Lead") && !csv.contains("West Lead"),
        "{csv}"
    );
    // Own, through the environment: read-only staff see nothing; the manager their team.
    let own = |actor| {
        let out = crm(p, Some(actor))
            .env("CRM_VISIBILITY", "own")
            .args(["--json", "lead", "list"])
            .output()
            .unwrap();
        assert!(out.status.success());
        ids(&serde_json::from_slice(&out.stdout).unwrap())
    };
    assert!(own("4").is_empty());
    assert_eq!(own("3"), std::slice::from_ref(&a));
    assert_eq!(own("2"), [b]);
    let (_, err) = exits(p, "1", &["--visibility", "everyone"], &["lead", "list"], 2);
    assert!(err.contains("--visibility"), "{err}");
}

#[test]
fn assignment_rules_pick_owners_in_turn() {
    let db = db();
    let p = &db.path;
    let rr = ["--assign", "round-robin:east"];
    let owners: Vec<Value> = (0..3)
        .map(|n| add(p, "3", &rr, &format!("RR {n}"), "web")["owner"].clone())
        .collect();
    assert_eq!(owners, [1, 6, 1]);
    // An owner given wins; a rule for one source only applies to it (CRM_ASSIGN, `;`).
    let given = json(
        p,
        "3",
        &rr,
        &[
            "lead",
            "add",
            "--name",
            "Given",
            "--email",
            "g@example.com",
            "--owner",
            "2",
        ],
    );
    assert_eq!(given["owner"], 2);
    let env_add = |name: &str, source: &str| {
        let out = crm(p, Some("3"))
            .env("CRM_ASSIGN", "phone=least-open:west;round-robin:east")
            .args(["--json", "lead", "add", "--name", name, "--source", source])
            .args(["--email", &format!("{name}@example.com")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["owner"].clone()
    };
    assert_eq!(env_add("p1", "phone"), 2);
    // The rotation of east continues after 1 (stored in the database).
    assert_eq!(env_add("w1", "web"), 6);
    let (_, err) = exits(p, "3", &["--assign", "fastest:east"], &["lead", "list"], 2);
    assert!(err.contains("--assign"), "{err}");
    let (_, err) = exits(
        p,
        "3",
        &["--assign", "round-robin:nobody"],
        &["lead", "add", "--name", "N", "--email", "n@example.com"],
        3,
    );
    assert!(err.contains("no active sales staff"), "{err}");
}

#[test]
fn deactivating_warns_and_reassign_all_spreads_the_leads() {
    let db = db();
    let p = &db.path;
    for n in 0..3 {
        add(p, "1", &[], &format!("Sara {n}"), "web");
    }
    let (out, _) = exits(p, "3", &[], &["employee", "deactivate", "1"], 0);
    assert!(out.contains("employee 1 deactivated"), "{out}");
    assert!(
        out.contains("still owns 3 open lead(s)") && out.contains("reassign-all --from 1"),
        "{out}"
    );
    let (_, err) = exits(
        p,
        "6",
        &[],
        &[
            "lead",
            "reassign-all",
            "--from",
            "1",
            "--rule",
            "round-robin",
        ],
        4,
    );
    assert!(err.contains("forbidden"), "{err}");
    let r = json(
        p,
        "3",
        &[],
        &[
            "lead",
            "reassign-all",
            "--from",
            "1",
            "--rule",
            "round-robin",
        ],
    );
    let done = r["done"].as_array().unwrap();
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|l| l["owner"] == 6));
    assert_eq!(r["failed"], serde_json::json!([]));
    let d = json(p, "3", &[], &["employee", "deactivate", "1"]);
    assert_eq!(d["open_leads"], 0);
    let shown = json(
        p,
        "3",
        &[],
        &["lead", "show", done[0]["id"].as_str().unwrap()],
    );
    let last = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], 3);
    // Deactivating through `employee add --inactive` says so too, on stderr.
    let (_, err) = exits(
        p,
        "3",
        &[],
        &[
            "employee",
            "add",
            "--id",
            "6",
            "--name",
            "خالد",
            "--role",
            "sales",
            "--team",
            "east",
            "--inactive",
        ],
        0,
    );
    assert!(
        err.contains("employee 6 still owns 3 open lead(s)"),
        "{err}"
    );
}

/// Read-only staff may not run a bulk change at all: exit 4 (forbidden) as for any other
/// write, not 8 (some leads refused), and nothing changes.
#[test]
fn bulk_changes_are_forbidden_to_who_may_only_read() {
    let db = db();
    let p = &db.path;
    let a = lead_id(p, "1", "Bulk A");
    let file = db.dir.path().join("ids.txt");
    std::fs::write(&file, format!("{a}\n")).unwrap();
    let file = file.to_str().unwrap();
    let leads = ["--ids", file];
    for change in [&["status", "contacted"][..], &["assign", "--to", "6"]] {
        let args = [&["--json", "lead", "bulk"], change, &leads].concat();
        let (out, err) = exits(p, "4", &[], &args, 4);
        assert!(out.is_empty(), "{out}");
        let e: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(e["error"]["kind"], "forbidden", "{err}");
    }
    let by_filter = [
        "lead",
        "bulk",
        "status",
        "contacted",
        "--filter",
        "status=new",
    ];
    exits(p, "4", &[], &by_filter, 4);
    let new = json(p, "3", &[], &["lead", "list", "--status", "new"]);
    assert_eq!(ids(&new), [a]);
}

#[test]
fn bulk_changes_list_what_was_done_and_what_was_refused() {
    let db = db();
    let p = &db.path;
    let a = lead_id(p, "1", "Bulk A");
    let b = lead_id(p, "1", "Bulk B");
    let w = lead_id(p, "2", "Bulk W");
    let file = db.dir.path().join("ids.txt");
    std::fs::write(&file, format!("# leads to call\n{a}\n\n{b},7\n{w}\n")).unwrap();
    let file = file.to_str().unwrap();
    let team = ["--visibility", "team"];
    let (out, err) = exits(
        p,
        "1",
        &team,
        &[
            "--json",
            "lead",
            "bulk",
            "status",
            "contacted",
            "--ids",
            file,
        ],
        8,
    );
    let e: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(e["error"]["kind"], "partial");
    assert_eq!(e["error"]["exit_code"], 8);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["done"].as_array().unwrap().len(), 1);
    assert_eq!(r["done"][0]["id"], a.as_str());
    assert_eq!(r["done"][0]["status"], "contacted");
    let failed = r["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["lead_id"], b.as_str());
    assert_eq!(failed[0]["error"]["kind"], "conflict");
    assert_eq!(failed[1]["lead_id"], w.as_str());
    assert_eq!(failed[1]["error"]["kind"], "not_found");
    // By filter: every new lead the manager sees goes to 6.
    let r = json(
        p,
        "3",
        &[],
        &[
            "lead",
            "bulk",
            "assign",
            "--to",
            "6",
            "--filter",
            "status=new",
        ],
    );
    let owners: Vec<&Value> = r["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["owner"])
        .collect();
    assert_eq!(owners, [&Value::from(6), &Value::from(6)]);
    // A lead listed twice refuses the whole change; no leads named is a usage error.
    std::fs::write(db.dir.path().join("twice.txt"), format!("{a}\n{a}\n")).unwrap();
    let twice = db.dir.path().join("twice.txt");
    let assign_to_1 = |leads: &[&str], code| {
        let args = [&["lead", "bulk", "assign", "--to", "1"], leads].concat();
        exits(p, "3", &[], &args, code).1
    };
    let err = assign_to_1(&["--ids", twice.to_str().unwrap()], 3);
    assert!(err.contains("more than once"), "{err}");
    assign_to_1(&[], 2);
    let err = assign_to_1(&["--filter", "colour=red"], 2);
    assert!(err.contains("colour"), "{err}");
    // A bulk move to lost takes a code from the lost-reason list, with a detail.
    let one = db.dir.path().join("one.txt");
    std::fs::write(&one, format!("{a}\n")).unwrap();
    let file = one.to_str().unwrap();
    let lose = |extra: &[&str], code| {
        let args = [&["lead", "bulk", "status", "lost", "--ids", file], extra].concat();
        exits(p, "3", &[], &args, code).1
    };
    let err = lose(&["--detail", "السعر"], 2);
    assert!(err.contains("--reason"), "{err}");
    let r = json(
        p,
        "3",
        &[],
        &[
            "lead",
            "bulk",
            "status",
            "lost",
            "--reason",
            "price",
            "--detail",
            "السعر",
            "--ids",
            file,
        ],
    );
    let done = r["done"].as_array().unwrap();
    assert!(!done.is_empty());
    assert!(done.iter().all(|l| l["lost_reason_code"] == "price"), "{r}");
    assert!(done.iter().all(|l| l["lost_reason"] == "السعر"), "{r}");
}
