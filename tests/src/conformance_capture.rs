//! Conformance bodies for leads that arrive by themselves (issue 23): [`Crm::capture`] by
//! a capture channel, its key kept in the commit, on every store.

use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::capture::{Capture, CaptureChannel, CaptureDetails, Captured, Consent};
use crm_core::{
    Actor, AssignmentRule, Change, Clock, Crm, CrmError, Email, EventKind, InteractionKind,
    LeadStore, Name, NewInteraction, NewLead, Note, NoticeKind, Source, SystemActor, Team,
};

use crate::conformance::snapshot;
use crate::harness::{Harness, manager, sales, sales2, staff};

fn channel() -> SystemActor {
    SystemActor::parse("mail.east").unwrap()
}

/// A harness whose sales staff are the team `east`, and a service over it with the
/// mailbox `mail.east` (round-robin over `east`) and the scheduler `scheduler`.
fn with_channel(store: Arc<dyn LeadStore>) -> (Harness, Crm) {
    let h = Harness::new(store);
    for e in staff() {
        if [sales(), sales2()].contains(&e.id) {
            h.employees.upsert(e.in_team(Team::parse("east").unwrap()));
        }
    }
    let rule: AssignmentRule = "round-robin:east".parse().unwrap();
    let crm = h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .capture_channel(CaptureChannel::new(channel(), rule))
            .system_actor(SystemActor::parse("scheduler").unwrap())
    });
    (h, crm)
}

/// A message from `email` under `key`.
fn mail(key: &str, name: &str, email: &str, text: &str) -> Capture {
    let mut lead = NewLead::new(Name::parse(name).unwrap(), Source::email());
    lead.email = Some(Email::parse(email).unwrap());
    Capture {
        key: key.to_owned(),
        lead,
        interaction: NewInteraction::new(InteractionKind::Email).notes(Note::parse(text).unwrap()),
        details: Default::default(),
    }
}

/// A message from an unknown sender creates a lead given by the channel's rule, recorded
/// as the channel's; the same message again changes nothing; another from the same sender
/// is logged on that lead, its owner unchanged; the owner hears of both; the follow-up
/// rule's clock is not moved by the lead's own messages.
pub async fn a_capture_creates_a_lead_once_and_logs_what_follows(store: Arc<dyn LeadStore>) {
    let (h, crm) = with_channel(store);
    let first = mail(
        "mid:1@example.org",
        "خالد الشمري",
        "khalid@example.org",
        "أريد عرض سعر",
    );
    let Captured::Created { lead, interaction } =
        crm.capture(&channel(), first.clone()).await.unwrap()
    else {
        panic!("a first message creates a lead");
    };
    assert_eq!(lead.source(), &Source::email());
    assert!([sales(), sales2()].contains(&lead.owner()));
    assert_eq!(interaction.captured_by, Some(channel()));
    assert_eq!(interaction.logged_by, lead.owner());
    let detail = h.store.lead_detail(lead.id()).await.unwrap().unwrap();
    assert_eq!(detail.lead.last_interaction_at(), None, "not a follow-up");
    assert_eq!(detail.interactions.len(), 1);
    assert_eq!(detail.interactions[0].captured_by, Some(channel()));
    let changes: Vec<&Change> = detail.history.iter().map(|e| &e.change).collect();
    assert!(matches!(changes[0], Change::Created { .. }));
    assert!(
        matches!(changes[1], Change::Captured { by, key, .. } if *by == channel() && key == "mid:1@example.org"),
        "{changes:?}"
    );
    let events = h.store.pending_events(0, 100).await.unwrap();
    assert!(events.iter().all(|e| e.event.actor.is_none()), "{events:?}");
    assert!(
        (events.iter()).any(|e| matches!(e.event.kind, EventKind::LeadCreated { .. }))
            && (events.iter()).any(|e| matches!(e.event.kind, EventKind::InteractionLogged { .. }))
    );

    // The same message again (a re-run, a second fetcher): nothing changes.
    let before = snapshot(&h).await;
    let again = crm.capture(&channel(), first).await.unwrap();
    assert_eq!(again, Captured::Taken { lead: lead.id() });
    assert_eq!(snapshot(&h).await, before);

    // Another message from the same sender, addressed to whomever: logged on the lead.
    let next = mail(
        "mid:2@example.org",
        "Someone Else",
        "KHALID@example.org",
        "متى يصل العرض؟",
    );
    let logged = crm.capture(&channel(), next).await.unwrap();
    let Captured::Logged {
        lead: on,
        interaction,
    } = &logged
    else {
        panic!("a known sender's message is logged: {logged:?}");
    };
    assert_eq!(*on, lead.id());
    assert_eq!(interaction.logged_by, lead.owner());
    let detail = h.store.lead_detail(lead.id()).await.unwrap().unwrap();
    assert_eq!(detail.lead.owner(), lead.owner());
    assert_eq!(detail.lead.version(), 1, "the lead itself is unchanged");
    assert_eq!(detail.interactions.len(), 2);
    let all = crm_core::visibility::Scope::All;
    let count = h.store.count_leads_in(&Default::default(), &all).await;
    assert_eq!(count.unwrap(), 1);

    // The owner hears of both, at the next sweep.
    let report = crm.sweep_now(manager()).await.unwrap();
    assert_eq!(report.captured, vec![lead.id(), lead.id()]);
    let sent = h.notifier.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|n| n.owner == lead.owner()
        && matches!(&n.kind, NoticeKind::Captured { by, .. } if *by == channel())));

    // Nobody answered: the first-contact notice still comes after the rule's 5 days.
    h.advance(TimeDelta::days(6));
    let report = crm.sweep_now(manager()).await.unwrap();
    assert_eq!(report.notified, vec![lead.id()]);
}

/// Only a channel the host named captures, and a channel does nothing else.
pub async fn only_a_named_channel_captures_and_only_that(store: Arc<dyn LeadStore>) {
    let (h, crm) = with_channel(store);
    let before = snapshot(&h).await;
    let m = mail("mid:x@example.org", "X", "x@example.org", "hi");
    for stranger in ["scheduler", "mail.west"] {
        let actor = SystemActor::parse(stranger).unwrap();
        let r = crm.capture(&actor, m.clone()).await;
        assert!(
            matches!(r, Err(CrmError::SystemForbidden { .. })),
            "{stranger}: {r:?}"
        );
    }
    let r = crm.sweep_now(Actor::System(channel())).await;
    assert!(matches!(r, Err(CrmError::SystemForbidden { .. })), "{r:?}");
    // A lead under a source the host does not list is refused, not invented.
    let mut odd = m.clone();
    odd.lead.source = Source::parse("tiktok").unwrap();
    let listed = crm_core::source::Sources::new(
        vec![Source::email(), Source::web()],
        crm_core::source::NewSources::Everyone,
    )
    .unwrap();
    let strict = h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .capture_channel(CaptureChannel::new(
                channel(),
                "round-robin:east".parse().unwrap(),
            ))
            .sources(listed)
    });
    let r = strict.capture(&channel(), odd).await;
    assert!(matches!(r, Err(CrmError::Validation(_))), "{r:?}");
    // A key that is no key.
    let mut blank = m;
    blank.key = " ".into();
    let r = crm.capture(&channel(), blank).await;
    assert!(matches!(r, Err(CrmError::Validation(_))), "{r:?}");
    assert_eq!(snapshot(&h).await, before);
}

/// Two fetchers taking the same messages at once: each message once. Two messages from one
/// new sender at once: one lead with both.
pub async fn concurrent_captures_take_each_message_once(store: Arc<dyn LeadStore>) {
    let (h, crm) = with_channel(store);
    let other = crm.clone();
    let m = |k: usize, who: &str| {
        mail(
            &format!("mid:{k}@example.org"),
            "مرسل",
            &format!("{who}@example.org"),
            "رسالة",
        )
    };
    let mut tasks = Vec::new();
    for (k, who) in [(1, "a"), (2, "a"), (3, "b"), (4, "c"), (5, "c")] {
        for c in [crm.clone(), other.clone()] {
            let msg = m(k, who);
            tasks.push(tokio::spawn(
                async move { c.capture(&channel(), msg).await },
            ));
        }
    }
    let mut taken = 0;
    for t in tasks {
        if let Captured::Taken { .. } = t.await.unwrap().unwrap() {
            taken += 1;
        }
    }
    assert_eq!(taken, 5, "each message taken once, by one of the two");
    let page = h
        .store
        .list_leads(&crm_core::LeadQuery::default().limit(100).unwrap())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3, "one lead per sender");
    let mut interactions = 0;
    for l in &page.items {
        interactions += h
            .store
            .lead_detail(l.id())
            .await
            .unwrap()
            .unwrap()
            .interactions
            .len();
    }
    assert_eq!(interactions, 5);
}

/// A web form's UTM parameters, referring page, consent and language are kept with the lead
/// it makes; a value that is no value is refused and nothing is written.
pub async fn a_captured_leads_origin_and_consent_are_kept_with_it(store: Arc<dyn LeadStore>) {
    let (h, crm) = with_channel(store);
    let consent = Consent {
        text: "أوافق على أن تتواصل معي الشركة".into(),
        at: h.clock.now(),
    };
    let details = CaptureDetails {
        utm_source: Some("google".into()),
        utm_medium: Some("cpc".into()),
        utm_campaign: Some("رمضان-2026".into()),
        referrer: Some("https://www.example.sa/عروض".into()),
        consent: Some(consent),
        language: Some("ar".into()),
        ..CaptureDetails::default()
    };
    let mut form = mail("form:1", "سلمى", "salma@example.sa", "أريد عرضًا");
    form.details = details.clone();
    let Captured::Created { lead, .. } = crm.capture(&channel(), form).await.unwrap() else {
        panic!("a lead");
    };
    let detail = h.store.lead_detail(lead.id()).await.unwrap().unwrap();
    let kept = detail.history.iter().find_map(|e| match &e.change {
        Change::Captured { details, .. } => Some(details.as_ref().clone()),
        _ => None,
    });
    assert_eq!(kept, Some(details));
    assert_eq!(detail.lead.campaign(), Some("رمضان-2026"));
    // Reportable by campaign: the lead counts under its campaign, and under no other.
    let by = |c: &str| crm_core::ReportFilter {
        campaign: Some(c.to_owned()),
        ..crm_core::ReportFilter::default()
    };
    let ramadan = crm.report(manager(), &by("رمضان-2026")).await.unwrap();
    assert_eq!(
        ramadan.count(crm_core::LeadStatus::New, &Source::email()),
        1
    );
    assert_eq!(ramadan.total, 1);
    assert_eq!(crm.report(manager(), &by("summer")).await.unwrap().total, 0);

    let before = snapshot(&h).await;
    let mut bad = mail("form:2", "X", "x2@example.sa", "x");
    bad.details.utm_campaign = Some("x".repeat(CaptureDetails::MAX + 1));
    let r = crm.capture(&channel(), bad).await;
    assert!(matches!(r, Err(CrmError::Validation(_))), "{r:?}");
    assert_eq!(snapshot(&h).await, before);
}
