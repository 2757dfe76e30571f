//! Leads taken in by a capture channel (a mailbox of the one configuration) in crm-server,
//! on SQLite and PostgreSQL: the lead's timeline says which mailbox took it in and who
//! wrote, in the viewer's language, on the API and on the lead page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use crm_core::capture::{Capture, Captured};
use crm_core::{
    Email, Employee, EmployeeId, InteractionKind, Name, NewInteraction, NewLead, Note, Role,
    Source, SystemActor, Team,
};
use crm_server::i18n::Lang;
use server_support::Harness;
use server_support::browser::Browser;

// The mailbox is never read here: the test takes its messages in through the library.
on_every_backend!(
    settings = &[("mailboxes", "sales=round-robin:east imap://u:p@127.0.0.1:9/")];
    the_timeline_names_the_mailbox_that_took_the_lead_in,
);

fn capture(key: &str, text: &str) -> Capture {
    let mut lead = NewLead::new(Name::parse("هند العمري").unwrap(), Source::email());
    lead.email = Some(Email::parse("hind@example.sa").unwrap());
    Capture {
        key: key.into(),
        lead,
        interaction: NewInteraction::new(InteractionKind::Email).notes(Note::parse(text).unwrap()),
        details: Default::default(),
    }
}

async fn the_timeline_names_the_mailbox_that_took_the_lead_in(h: Harness) {
    let sales = EmployeeId::new(server_support::SALES).unwrap();
    let ali = Employee::new(sales, Name::parse("علي").unwrap(), Role::Sales)
        .in_team(Team::parse("east").unwrap());
    let manager = EmployeeId::new(server_support::MANAGER).unwrap();
    h.state.crm.save_employee(manager, ali).await.unwrap();
    let channel = SystemActor::parse("mail.sales").unwrap();
    let first = h
        .state
        .crm
        .capture(&channel, capture("mid:1@x", "أريد عرضًا"))
        .await;
    let Ok(Captured::Created { lead, .. }) = first else {
        panic!("{first:?}")
    };
    assert_eq!(lead.owner(), sales, "the mailbox's team rule");
    let again = h
        .state
        .crm
        .capture(&channel, capture("mid:2@x", "متى؟"))
        .await;
    assert!(matches!(again, Ok(Captured::Logged { .. })), "{again:?}");

    let uri = format!("/api/v1/leads/{}/detail", lead.id());
    for (lang, label) in [
        (Lang::Ar, "صندوق البريد sales"),
        (Lang::En, "mailbox sales"),
    ] {
        let t = lang.strings();
        let code = if lang == Lang::Ar { "ar" } else { "en" };
        let r = h
            .call(
                Method::GET,
                &uri,
                Some(&h.sales),
                None,
                &[("accept-language", code)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let detail = r.json();
        let timeline = detail["timeline"].as_array().unwrap();
        let of = |k: &'static str| timeline.iter().filter(move |e| e["kind"] == k);
        let captured = of("captured").next().unwrap();
        assert_eq!(
            captured["text"].as_str().unwrap(),
            format!("{} {label}", t.ev_captured)
        );
        let by: Vec<&str> = of("interaction")
            .map(|e| e["channel"].as_str().unwrap())
            .collect();
        assert_eq!(
            by, ["mail.sales"; 2],
            "the mailbox took them in, not their owner"
        );
        assert_eq!(captured["channel"], "mail.sales");
    }
    let (mut b, _) = Browser::signed_in(&h, server_support::SALES).await;
    let page = b.get(&format!("/leads/{}", lead.id())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("صندوق البريد sales"), "{}", page.text);
    assert!(page.text.contains("متى؟"));
}
