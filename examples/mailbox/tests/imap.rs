//! Leads from a mailbox against a real IMAP server (dovecot, started per test): Arabic mail
//! as it arrives, automatic mail left alone, every message taken once, on SQLite and
//! PostgreSQL, over plain IMAP and TLS.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dovecot;

use crm_config::Config;
use crm_core::{Crm, Employee, EmployeeId, LeadQuery, Name, Role, Source, Team};
use crm_mailbox::{DONE, FetchError, FetchReport, fetch};
use dovecot::{Dovecot, fixture, message};

fn block_on(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

fn id(n: i64) -> EmployeeId {
    EmployeeId::new(n).unwrap()
}

/// The configuration of a mailbox `sales` on `dovecot`, its leads for team `sales`.
fn config(db: &str, dovecot: &Dovecot, tls: bool) -> Config {
    let mailbox = format!("sales=round-robin:sales {}", dovecot.url(tls));
    Config::from_pairs(&[
        ("db", db),
        ("mailboxes", &mailbox),
        ("mail_domains", "ourco.example"),
    ])
    .unwrap()
}

/// The service of `config`, with a manager (1) and two salespeople of team `sales` (2, 3).
async fn crm(config: &Config) -> Crm {
    let crm = config.settings().connect().await.unwrap().build().unwrap();
    let boss = Employee::new(id(1), Name::parse("مدير المبيعات").unwrap(), Role::Manager);
    crm.bootstrap_manager(boss).await.unwrap();
    for (n, name) in [(2, "سارة"), (3, "Omar")] {
        let e = Employee::new(id(n), Name::parse(name).unwrap(), Role::Sales)
            .in_team(Team::parse("sales").unwrap());
        crm.save_employee(id(1), e).await.unwrap();
    }
    crm
}

/// Every kind of message a sales mailbox gets, delivered into `dovecot`: five people
/// (encoded-word names and subjects, Windows-1256, ISO-8859-6, HTML only, an attachment
/// and no Message-ID), the first one twice (the same Message-ID) and once more (a new
/// one), a bounce, an auto-reply, bulk mail and a colleague's.
fn deliver_a_day_of_mail(dovecot: &Dovecot) {
    for name in [
        "utf8-encoded-words.eml",
        "windows-1256.eml",
        "iso-8859-6.eml",
        "html-only.eml",
        "attachment-no-message-id.eml",
        "bounce.eml",
        "auto-reply.eml",
        "bulk.eml",
        "utf8-encoded-words.eml",
    ] {
        dovecot.deliver(&fixture(name));
    }
    dovecot.deliver(&message(
        "Ahmad <ahmad@example.sa>",
        "again-1@example.sa",
        "Re: طلب عرض سعر",
        "هل من جديد؟",
    ));
    dovecot.deliver(&message(
        "Ali <ali@ourco.example>",
        "internal-1@ourco.example",
        "fwd",
        "internal",
    ));
}

async fn a_day_of_mail_arrives_once(db: &str, tls: bool) {
    let dovecot = Dovecot::start();
    deliver_a_day_of_mail(&dovecot);
    let config = config(db, &dovecot, tls);
    let crm = crm(&config).await;
    let s = config.settings();
    let mailbox = &s.mailboxes[0];
    let ca = Some(dovecot.cert());
    let report = fetch(&crm, mailbox, &s.mail_domains, ca.as_deref())
        .await
        .unwrap();
    assert_eq!(
        report,
        FetchReport {
            mailbox: "sales".into(),
            created: 5,
            logged: 1,
            taken: 1,
            automatic: 3,
            internal: 1,
            unreadable: Vec::new(),
        }
    );
    assert_eq!(dovecot.marked(DONE), 11, "every message is marked done");

    // Run again: nothing is left, nothing is doubled.
    let again = fetch(&crm, mailbox, &s.mail_domains, ca.as_deref())
        .await
        .unwrap();
    assert_eq!(
        again,
        FetchReport {
            mailbox: "sales".into(),
            ..FetchReport::default()
        }
    );

    let leads = crm
        .list_leads(id(1), &LeadQuery::default().limit(100).unwrap())
        .await
        .unwrap()
        .items;
    assert_eq!(leads.len(), 5);
    for l in &leads {
        assert_eq!(l.source(), &Source::email());
        assert!([id(2), id(3)].contains(&l.owner()), "the team's rule");
        let d = crm.lead_detail(id(1), l.id()).await.unwrap();
        assert!(
            d.interactions
                .iter()
                .all(|i| i.captured_by.as_ref().map(|c| c.as_str()) == Some("mail.sales"))
        );
        let arabic = |t: &str| t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
        assert!(
            arabic(d.interactions[0].notes.as_str()),
            "{}: {}",
            l.email().unwrap(),
            d.interactions[0].notes.as_str()
        );
    }
    let ahmad = leads
        .iter()
        .find(|l| l.email().map(|e| e.as_str()) == Some("ahmad@example.sa"))
        .unwrap();
    assert_eq!(ahmad.name().as_str(), "أحمد الشهري");
    let d = crm.lead_detail(id(1), ahmad.id()).await.unwrap();
    assert_eq!(d.interactions.len(), 2, "the message and the one after it");
}

#[test]
#[cfg_attr(
    crm_no_dovecot,
    ignore = "dovecot is not installed (apt-get install dovecot-imapd)"
)]
fn a_day_of_mail_arrives_once_on_sqlite_over_imap() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crm.db");
        a_day_of_mail_arrives_once(db.to_str().unwrap(), false).await;
    });
}

#[test]
#[cfg_attr(
    crm_no_dovecot,
    ignore = "dovecot is not installed (apt-get install dovecot-imapd)"
)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn a_day_of_mail_arrives_once_on_postgres_over_tls() {
    block_on(async {
        let db = crm_tests::postgres::fresh_schema("crm_mail").await;
        a_day_of_mail_arrives_once(&db, true).await;
    });
}

/// A server whose certificate nobody vouches for is refused, and a wrong password too;
/// nothing is read.
#[test]
#[cfg_attr(
    crm_no_dovecot,
    ignore = "dovecot is not installed (apt-get install dovecot-imapd)"
)]
fn an_untrusted_server_or_a_wrong_password_is_refused() {
    block_on(async {
        let dovecot = Dovecot::start();
        dovecot.deliver(&fixture("utf8-encoded-words.eml"));
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crm.db");
        let config = config(db.to_str().unwrap(), &dovecot, true);
        let crm = crm(&config).await;
        let s = config.settings();
        let e = fetch(&crm, &s.mailboxes[0], &s.mail_domains, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &e,
                FetchError::Imap { what: "connect", reason, .. } if reason.contains("certificate")
            ),
            "{e}"
        );
        let mut wrong = s.mailboxes[0].clone();
        wrong.password = "guess".into();
        let ca = Some(dovecot.cert());
        let e = fetch(&crm, &wrong, &s.mail_domains, ca.as_deref())
            .await
            .unwrap_err();
        assert!(matches!(&e, FetchError::Imap { what: "log in", .. }), "{e}");
        assert_eq!(dovecot.marked(DONE), 0);
        let all = LeadQuery::default().limit(10).unwrap();
        assert!(crm.list_leads(id(1), &all).await.unwrap().items.is_empty());
    });
}
