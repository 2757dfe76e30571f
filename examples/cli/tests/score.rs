//! Lead scoring through `crm`: `crm lead list --sort score`, the score and its reasons in
//! `crm lead show` (in Arabic under an Arabic `$LANG`), rule points from the one
//! configuration, and `crm score train` for management only; run for real on a temp SQLite
//! database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn crm(db: &Path, actor: &str) -> Command {
    let mut c = Command::cargo_bin("crm").unwrap();
    for var in [
        "CRM_DB",
        "CRM_AS",
        "CRM_REGION",
        "CRM_VISIBILITY",
        "CRM_ASSIGN",
        "CRM_SCORE_POINTS",
        "CRM_SCORE_DECAY",
        "CRM_CONFIG",
    ] {
        c.env_remove(var);
    }
    c.env("LANG", "C.UTF-8");
    c.arg("--db").arg(db);
    if !actor.is_empty() {
        c.args(["--as", actor]);
    }
    c
}

fn json(db: &Path, actor: &str, args: &[&str]) -> Value {
    let out = crm(db, actor).arg("--json").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Adds a lead as sales 1 and returns its id.
fn add(db: &Path, n: usize, source: &str, email: &str) -> String {
    let name = format!("عميل {n}");
    let email = format!("{n}.{email}");
    let l = json(
        db,
        "1",
        &[
            "lead", "add", "--name", &name, "--email", &email, "--source", source,
        ],
    );
    l["id"].as_str().unwrap().to_owned()
}

fn status(db: &Path, id: &str, to: &str) {
    let mut args = vec!["lead", "status", id, to];
    if to == "lost" {
        args.extend(["--reason", "price"]);
    }
    json(db, "3", &args);
}

#[test]
fn leads_sort_by_score_and_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    for (by, id, name, role) in [("", "3", "Boss", "manager"), ("3", "1", "سارة", "sales")] {
        let mut c = crm(&db, by);
        c.args([
            "employee", "add", "--id", id, "--name", name, "--role", role,
        ]);
        c.assert().success();
    }
    // Events convert, web leads with free mail are lost.
    for n in 0..5 {
        let id = add(&db, n, "event", "x@acme.sa");
        status(&db, &id, "contacted");
        status(&db, &id, if n < 4 { "converted" } else { "lost" });
    }
    for n in 5..10 {
        let id = add(&db, n, "web", "x@gmail.com");
        status(&db, &id, "lost");
    }
    let cold = add(&db, 20, "web", "y@gmail.com");
    let hot = add(&db, 21, "event", "y@acme.sa");

    let best = json(
        &db,
        "1",
        &["lead", "list", "--sort", "score", "--limit", "2"],
    );
    let items = best["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], hot.as_str());
    assert_eq!(items[1]["id"], cold.as_str());
    let (a, b) = (&items[0]["score"]["value"], &items[1]["score"]["value"]);
    assert!(a.as_u64().unwrap() > b.as_u64().unwrap(), "{a} {b}");
    assert!(
        crm(&db, "1")
            .args(["lead", "list", "--sort", "score", "--after", "x"])
            .assert()
            .failure()
            .get_output()
            .status
            .code()
            == Some(2)
    );

    // The newest-first list carries the score too; decided leads have none.
    let page = json(&db, "1", &["lead", "list", "--limit", "3"]);
    assert!(page["items"][0]["score"]["value"].is_u64());

    // The lead page says why, in the viewer's language.
    let shown = crm(&db, "1")
        .env("LANG", "ar_SA.UTF-8")
        .args(["lead", "show", &hot])
        .output()
        .unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.contains("score") && text.contains("المصدر"), "{text}");
    let detail = json(&db, "1", &["lead", "show", &hot]);
    let reasons = detail["score"]["reasons"].as_array().unwrap();
    assert!(
        reasons[0]["text"].as_str().unwrap().contains("raised"),
        "{reasons:?}"
    );

    // Rule points from the one configuration.
    let plain = detail["score"]["value"].as_u64().unwrap();
    let ruled = crm(&db, "1")
        .env("CRM_SCORE_POINTS", "email_kind:company=-30")
        .args(["--json", "lead", "show", &hot])
        .output()
        .unwrap();
    let ruled: Value = serde_json::from_slice(&ruled.stdout).unwrap();
    assert_eq!(
        ruled["score"]["value"].as_u64().unwrap(),
        plain.saturating_sub(30)
    );
    crm(&db, "1")
        .args(["--score-points", "colour:red=5", "lead", "list"])
        .assert()
        .failure();

    // Training is management's; everything decided here was counted already.
    crm(&db, "1").args(["score", "train"]).assert().failure();
    let trained = json(&db, "3", &["score", "train"]);
    assert_eq!(trained["counted"], 0);
    assert_eq!(trained["calibrated"][0]["decided"], 10);
}
