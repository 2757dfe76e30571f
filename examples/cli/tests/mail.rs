//! `crm mail fetch` against a real IMAP server (dovecot): killed with SIGKILL in the middle
//! of 500 messages and run again, every message is taken exactly once.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../mailbox/tests/dovecot/mod.rs"]
mod dovecot;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dovecot::{Dovecot, message};

fn crm(db: &Path, mailbox: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    for var in [
        "CRM_DB",
        "CRM_AS",
        "CRM_MAILBOXES",
        "CRM_MAIL_DOMAINS",
        "CRM_CONFIG",
    ] {
        c.env_remove(var);
    }
    c.arg("--db").arg(db).env("CRM_MAILBOXES", mailbox);
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many rows `sql` counts in the SQLite file `db` (read with the sqlite3 library the
/// store uses, through sqlx).
fn count(db: &Path, sql: &'static str) -> i64 {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let url = format!("sqlite://{}?mode=ro", db.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        })
}

#[test]
#[cfg_attr(
    crm_no_dovecot,
    ignore = "dovecot is not installed (apt-get install dovecot-imapd)"
)]
fn a_fetch_killed_mid_batch_takes_every_message_exactly_once_when_run_again() {
    let dovecot = Dovecot::start();
    // 500 messages from 400 senders: the first 100 write twice.
    for n in 0..500 {
        let sender = n % 400;
        dovecot.deliver(&message(
            &format!("عميل {sender} <c{sender}@example.sa>"),
            &format!("m{n}@example.sa"),
            &format!("استفسار رقم {n}"),
            "نرغب في معرفة الأسعار",
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let mailbox = format!("sales=round-robin:sales {}", dovecot.url(false));
    for (id, name, role, team) in [
        ("1", "مدير", "manager", "--leads-team"),
        ("2", "سارة", "sales", "--team"),
        ("3", "Omar", "sales", "--team"),
    ] {
        let mut c = crm(&db, &mailbox);
        if id != "1" {
            c.args(["--as", "1"]);
        }
        ok(c.args([
            "employee", "add", "--id", id, "--name", name, "--role", role, team, "sales",
        ]));
    }
    let interactions = "SELECT COUNT(*) FROM interactions WHERE captured_by = 'mail.sales'";

    // Killed once some messages are in, long before all 500 are.
    let mut child = crm(&db, &mailbox)
        .args(["mail", "fetch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while count(&db, interactions) < 20 {
        assert!(Instant::now() < until, "nothing was taken in within 60 s");
        assert!(child.try_wait().unwrap().is_none(), "the fetch ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = count(&db, interactions);
    assert!(before < 500, "killed mid-way ({before} taken)");

    // Run again: the rest, and nothing twice.
    let out = ok(crm(&db, &mailbox).args(["--json", "mail", "fetch"]));
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(count(&db, interactions), 500, "{report}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM leads"), 400);
    let keys = "SELECT COUNT(DISTINCT key) FROM import_keys WHERE key LIKE 'capture:mid:%'";
    assert_eq!(count(&db, keys), 500);
    assert_eq!(dovecot.marked(crm_mailbox_done()), 500);
    // A third run has nothing to do.
    let out = ok(crm(&db, &mailbox).args(["--json", "mail", "fetch"]));
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["logged"].as_u64()),
        (Some(0), Some(0))
    );
}

/// The keyword a message taken in carries (crm-mailbox's `DONE`).
fn crm_mailbox_done() -> &'static str {
    "$CrmCaptured"
}

/// crm-server with `mail_every` reads the mailboxes by itself, through the same library
/// rule; and neither program shows a mailbox's password back.
#[test]
#[cfg_attr(
    crm_no_dovecot,
    ignore = "dovecot is not installed (apt-get install dovecot-imapd)"
)]
fn crm_server_reads_the_mailboxes_and_no_program_shows_their_password() {
    let dovecot = Dovecot::start();
    for n in 0..3 {
        dovecot.deliver(&message(
            &format!("زائر {n} <v{n}@example.sa>"),
            &format!("server-{n}@example.sa"),
            "طلب",
            "أريد موعدًا",
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let mailbox = format!("sales=round-robin:sales {}", dovecot.url(false));
    for (id, role, team) in [("1", "manager", "--leads-team"), ("2", "sales", "--team")] {
        let mut c = crm(&db, &mailbox);
        if id != "1" {
            c.args(["--as", "1"]);
        }
        ok(c.args([
            "employee", "add", "--id", id, "--name", "م", "--role", role, team, "sales",
        ]));
    }
    let shown = ok(crm(&db, &mailbox).args(["config", "check"]));
    assert!(
        shown.contains(":***@") && !shown.contains(dovecot::PASSWORD),
        "{shown}"
    );

    let mut server = Command::new(assert_cmd::cargo::cargo_bin("crm-server"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CRM_") {
            server.env_remove(k);
        }
    }
    let check = server
        .env("CRM_MAILBOXES", &mailbox)
        .args(["--check-config"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&check.stdout);
    assert!(!shown.contains(dovecot::PASSWORD), "{shown}");
    let mut server = Command::new(assert_cmd::cargo::cargo_bin("crm-server"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CRM_") {
            server.env_remove(k);
        }
    }
    let mut child = server
        .env("CRM_DB", &db)
        .env("CRM_MAILBOXES", &mailbox)
        .env("CRM_MAIL_EVERY", "1s")
        .env("CRM_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let captured = "SELECT COUNT(*) FROM interactions WHERE captured_by = 'mail.sales'";
    let until = Instant::now() + Duration::from_secs(60);
    while count(&db, captured) < 3 {
        if Instant::now() > until || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("crm-server did not read the mailbox");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM leads"), 3);
}

/// `crm report --campaign` and `crm export report --campaign` count the leads a web form
/// took in from that campaign only.
#[test]
fn the_report_counts_a_campaigns_leads() {
    use crm_core::capture::{Capture, CaptureDetails};
    use crm_core::{Email, Employee, EmployeeId, InteractionKind, Name, NewInteraction};
    use crm_core::{NewLead, Role, Source, SystemActor, Team};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let forms = r#"{"contact": {"assign": "round-robin:sales", "fields": ["name", "email"]}}"#;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let config =
                crm_config::Config::from_pairs(&[("db", db.to_str().unwrap()), ("forms", forms)])
                    .unwrap();
            let crm = config.settings().connect().await.unwrap().build().unwrap();
            let id = |n| EmployeeId::new(n).unwrap();
            let boss = Employee::new(id(1), Name::parse("مدير").unwrap(), Role::Manager);
            crm.bootstrap_manager(boss).await.unwrap();
            let sara = Employee::new(id(2), Name::parse("سارة").unwrap(), Role::Sales)
                .in_team(Team::parse("sales").unwrap());
            crm.save_employee(id(1), sara).await.unwrap();
            for (n, campaign) in [(1, "رمضان"), (2, "رمضان"), (3, "summer")] {
                let mut lead = NewLead::new(Name::parse("زائر").unwrap(), Source::web());
                lead.email = Some(Email::parse(&format!("v{n}@example.sa")).unwrap());
                let capture = Capture {
                    key: format!("form:{n}"),
                    lead,
                    interaction: NewInteraction::new(InteractionKind::Note),
                    details: CaptureDetails {
                        utm_campaign: Some(campaign.into()),
                        ..CaptureDetails::default()
                    },
                };
                let form = SystemActor::parse("form.contact").unwrap();
                crm.capture(&form, capture).await.unwrap();
            }
        });
    let report = |campaign: &str| -> serde_json::Value {
        let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
        for (k, _) in std::env::vars() {
            if k.starts_with("CRM_") {
                c.env_remove(k);
            }
        }
        let out = ok(c.arg("--db").arg(&db).args([
            "--as",
            "1",
            "--json",
            "report",
            "--campaign",
            campaign,
        ]));
        serde_json::from_str(out.trim()).unwrap()
    };
    assert_eq!(report("رمضان")["total"], 2);
    assert_eq!(report("summer")["total"], 1);
    assert_eq!(report("winter")["total"], 0);
    let csv = dir.path().join("report.csv");
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    ok(c.arg("--db")
        .arg(&db)
        .args(["--as", "1", "export", "report", "--campaign", "رمضان"])
        .arg("--out")
        .arg(&csv));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("\nTotal,2,0,0,0,0,2"),
        "the export counts the campaign's only: {text}"
    );
}
