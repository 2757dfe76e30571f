//! The conformance suite: every rule of the store port and the service, written once as a
//! generic body over a fresh store. [`crate::conformance_suite!`] stamps out one
//! `#[tokio::test]` per body for an adapter, so every adapter runs exactly the same tests.

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta, Weekday};
use crm_core::history::time_in_status;
use crm_core::status::TRANSITIONS;
use crm_core::{
    AssigneeProblem, Change, ContactField, ConversionOutcome, CrmError, Currency, Email,
    EmployeeId, Entity, EventKind, FollowUpRule, InteractionKind, LeadField, LeadPatch, LeadQuery,
    LeadStatus, LeadStore, Money, Name, NewInteraction, NewOpportunity, Note, OpportunityPatch,
    OpportunityStage, Phone, PhoneRegion, ReportFilter, Source, ValidationError,
};

use crate::harness::{Harness, inactive, manager, new_lead, other, sales, sales2, t0, unknown};

/// Stamps out the whole conformance suite for one adapter. `$factory` is an
/// `async fn() -> Option<Arc<dyn LeadStore>>` returning a fresh, empty store (or `None` to
/// skip, e.g. when a database server is not configured).
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@each $factory;
            create_and_read_back,
            arabic_text_round_trips,
            read_only_actors_cannot_write,
            unknown_actor_is_refused,
            owner_must_be_active_sales_or_manager,
            duplicates_are_refused_unless_allowed,
            duplicate_check_on_edit,
            status_table_is_enforced,
            lost_needs_reason_and_reopen_is_management_only,
            converted_is_read_only,
            stale_version_conflicts_and_changes_nothing,
            history_records_every_change,
            reassignment_rules,
            interactions_are_logged_and_checked,
            opportunities_carry_money_and_versions,
            conversion_creates_exactly_one_client,
            conversion_survives_clients_failure,
            sweep_notifies_due_leads_once,
            sweep_retries_failed_notifications,
            sweep_honours_working_days,
            events_are_ordered_and_acknowledged,
            report_counts_by_status_and_source,
            listing_filters_search_and_pages,
            missing_records_are_not_found,
            phone_spellings_are_one_number,
        );
    };
    (@each $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match $factory().await {
                    Some(store) => $crate::conformance::$name(store).await,
                    None => eprintln!("skipped: {}", stringify!($name)),
                }
            }
        )*
    };
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn kwd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("KWD").unwrap()).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A snapshot of everything observable, to prove a refused operation changed nothing.
async fn snapshot(h: &Harness) -> String {
    let page = h
        .store
        .list_leads(&LeadQuery::default().limit(1000).unwrap())
        .await
        .unwrap();
    let mut out = String::new();
    for l in &page.items {
        let d = h.store.lead_detail(l.id()).await.unwrap().unwrap();
        out.push_str(&serde_json::to_string(&d).unwrap());
    }
    let events = h.store.pending_events(0, 10_000).await.unwrap();
    out.push_str(&serde_json::to_string(&events).unwrap());
    out.push_str(
        &serde_json::to_string(&h.store.report(&ReportFilter::default()).await.unwrap()).unwrap(),
    );
    out
}

/// A created lead reads back equal, at version 1, with one history entry and one event.
pub async fn create_and_read_back(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let input = new_lead(
        "Alice Smith",
        Some(" Alice@Example.COM "),
        Some("+1 555 000 1234"),
    )
    .company(name("Acme"));
    let lead = h.crm.create_lead(sales(), input).await.unwrap();
    assert_eq!(lead.version(), 1);
    assert_eq!(lead.status(), LeadStatus::New);
    assert_eq!(lead.owner(), sales());
    assert_eq!(lead.created_by(), sales());
    assert_eq!(lead.created_at(), t0());
    assert_eq!(lead.email().map(Email::as_str), Some("alice@example.com"));
    assert_eq!(lead.phone().map(Phone::as_str), Some("+15550001234"));

    let got = h.crm.lead(other(), lead.id()).await.unwrap();
    assert_eq!(got, lead);
    let d = h.crm.lead_detail(other(), lead.id()).await.unwrap();
    assert_eq!(d.lead, lead);
    assert_eq!(d.history.len(), 1);
    assert!(matches!(d.history[0].change, Change::Created { owner, .. } if owner == sales()));
    assert!(d.interactions.is_empty() && d.opportunities.is_empty() && d.pending_client.is_none());

    let events = h.crm.pending_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].event.kind, EventKind::LeadCreated { owner, .. } if *owner == sales())
    );
    assert_eq!(events[0].event.lead_id, lead.id());

    // A lead needs some way to reach it.
    let bare = crm_core::NewLead::new(name("No Contact"), Source::web());
    assert!(matches!(
        h.crm.create_lead(sales(), bare).await,
        Err(CrmError::Validation(ValidationError::MissingContact))
    ));
}

/// Arabic names, companies and notes, and Arabic-Indic phone digits survive storage exactly.
pub async fn arabic_text_round_trips(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let input = new_lead(
        "محمد بن عبدالله",
        Some("محمد@مثال.السعودية"),
        Some("٠٥٠١٢٣٤٥٦٧"),
    )
    .company(name("شركة الأفق للتجارة"));
    let lead = h.crm.create_lead(sales(), input).await.unwrap();
    assert_eq!(lead.phone().map(Phone::key), Some("+966501234567"));
    assert_eq!(lead.phone().map(Phone::display), Some("٠٥٠١٢٣٤٥٦٧"));
    let notes = Note::parse("اتصل العميل وطلب عرض سعر\nسيعاود الاتصال يوم الأحد").unwrap();
    h.crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).notes(notes.clone()),
        )
        .await
        .unwrap();
    let d = h.crm.lead_detail(sales(), lead.id()).await.unwrap();
    assert_eq!(d.lead.name().as_str(), "محمد بن عبدالله");
    assert_eq!(
        d.lead.company().map(Name::as_str),
        Some("شركة الأفق للتجارة")
    );
    assert_eq!(d.interactions[0].notes, notes);
}

/// Employees with role `other`, and inactive employees, only read.
pub async fn read_only_actors_cannot_write(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h
        .create(sales(), "Target", Some("t@example.com"), None)
        .await;
    let opp = h
        .crm
        .add_opportunity(
            sales(),
            lead.id(),
            NewOpportunity {
                title: name("Deal"),
                value: kwd(1000),
                expected_close: day(2026, 3, 1),
            },
        )
        .await
        .unwrap();
    let before = snapshot(&h).await;
    for actor in [other(), inactive()] {
        let refused = [
            h.crm
                .create_lead(actor, new_lead("X", Some("x@example.com"), None))
                .await
                .err(),
            h.crm
                .edit_lead(
                    actor,
                    lead.id(),
                    1,
                    LeadPatch {
                        name: Some(name("Y")),
                        ..Default::default()
                    },
                )
                .await
                .err(),
            h.crm.assign_lead(actor, lead.id(), 1, sales2()).await.err(),
            h.crm
                .change_status(actor, lead.id(), 1, LeadStatus::Contacted, None)
                .await
                .err(),
            h.crm
                .log_interaction(actor, lead.id(), NewInteraction::new(InteractionKind::Call))
                .await
                .err(),
            h.crm
                .add_opportunity(
                    actor,
                    lead.id(),
                    NewOpportunity {
                        title: name("D"),
                        value: kwd(1),
                        expected_close: day(2026, 3, 1),
                    },
                )
                .await
                .err(),
            h.crm
                .update_opportunity(
                    actor,
                    opp.id,
                    1,
                    OpportunityPatch {
                        stage: Some(OpportunityStage::Won),
                        ..Default::default()
                    },
                )
                .await
                .err(),
        ];
        for e in refused {
            assert!(
                matches!(e, Some(CrmError::Forbidden { actor: a, .. }) if a == actor),
                "{e:?}"
            );
        }
        // Reading is open to them.
        h.crm.lead_detail(actor, lead.id()).await.unwrap();
        h.crm.report(actor, &ReportFilter::default()).await.unwrap();
        h.crm
            .list_leads(actor, &LeadQuery::default())
            .await
            .unwrap();
    }
    assert_eq!(snapshot(&h).await, before);
}

/// An actor missing from the directory can neither read nor write.
pub async fn unknown_actor_is_refused(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h
        .create(sales(), "Target", Some("t@example.com"), None)
        .await;
    assert!(
        matches!(h.crm.lead(unknown(), lead.id()).await, Err(CrmError::UnknownActor(id)) if id == unknown())
    );
    assert!(matches!(
        h.crm
            .create_lead(unknown(), new_lead("X", Some("x@example.com"), None))
            .await,
        Err(CrmError::UnknownActor(_))
    ));
}

/// The responsible employee must exist, be active, and be sales staff or management.
pub async fn owner_must_be_active_sales_or_manager(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    for (owner, problem) in [
        (other(), AssigneeProblem::NotSales),
        (inactive(), AssigneeProblem::Inactive),
        (unknown(), AssigneeProblem::Unknown),
    ] {
        let r = h
            .crm
            .create_lead(
                sales(),
                new_lead("X", Some("x@example.com"), None).owner(owner),
            )
            .await;
        assert!(
            matches!(r, Err(CrmError::InvalidAssignee { employee, problem: p }) if employee == owner && p == problem),
            "{r:?}"
        );
    }
    let lead = h
        .crm
        .create_lead(
            sales(),
            new_lead("X", Some("x@example.com"), None).owner(manager()),
        )
        .await
        .unwrap();
    assert_eq!(lead.owner(), manager());
    let r = h.crm.assign_lead(manager(), lead.id(), 1, other()).await;
    assert!(matches!(
        r,
        Err(CrmError::InvalidAssignee {
            problem: AssigneeProblem::NotSales,
            ..
        })
    ));
    assert_eq!(h.store.pending_events(0, 100).await.unwrap().len(), 1);
}

/// An open lead with the same normalised email or phone blocks a new one, naming it.
pub async fn duplicates_are_refused_unless_allowed(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let first = h
        .create(
            sales(),
            "First",
            Some("dup@example.com"),
            Some("0501234567"),
        )
        .await;
    h.advance(TimeDelta::minutes(1));
    let r = h
        .crm
        .create_lead(sales2(), new_lead("Second", Some("DUP@example.com "), None))
        .await;
    assert!(
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Email }) if existing == first.id()),
        "{r:?}"
    );
    // The same phone typed with Arabic-Indic digits and separators.
    let r = h
        .crm
        .create_lead(sales2(), new_lead("Third", None, Some("٠٥٠ ١٢٣ ٤٥٦٧")))
        .await;
    assert!(
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Phone }) if existing == first.id()),
        "{r:?}"
    );
    assert_eq!(
        h.store
            .list_leads(&LeadQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let second = h
        .crm
        .create_lead(
            sales2(),
            new_lead("Second", Some("dup@example.com"), None).allow_duplicate(),
        )
        .await
        .unwrap();
    // The oldest open lead is named.
    let r = h
        .crm
        .create_lead(sales2(), new_lead("Fourth", Some("dup@example.com"), None))
        .await;
    assert!(matches!(r, Err(CrmError::Duplicate { existing, .. }) if existing == first.id()));

    // Closed leads do not block: lose both, then the address is free again.
    for l in [&first, &second] {
        h.crm
            .change_status(sales(), l.id(), 1, LeadStatus::Lost, Some(name("gone")))
            .await
            .unwrap();
    }
    h.crm
        .create_lead(
            sales2(),
            new_lead("Fifth", Some("dup@example.com"), Some("0501234567")),
        )
        .await
        .unwrap();
}

/// Editing a lead's email or phone to another open lead's is a duplicate too.
pub async fn duplicate_check_on_edit(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = h.create(sales(), "A", Some("a@example.com"), None).await;
    let b = h.create(sales(), "B", Some("b@example.com"), None).await;
    let patch = LeadPatch {
        email: Some(Some(Email::parse("a@example.com").unwrap())),
        ..Default::default()
    };
    let r = h.crm.edit_lead(sales(), b.id(), 1, patch.clone()).await;
    assert!(
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Email }) if existing == a.id())
    );
    assert_eq!(h.crm.lead(sales(), b.id()).await.unwrap(), b);
    let allowed = LeadPatch {
        allow_duplicate: true,
        ..patch
    };
    let b2 = h.crm.edit_lead(sales(), b.id(), 1, allowed).await.unwrap();
    assert_eq!(b2.email().map(Email::as_str), Some("a@example.com"));
    // Editing other fields of a lead that shares an address is not a new duplicate.
    h.crm
        .edit_lead(
            sales(),
            b.id(),
            2,
            LeadPatch {
                name: Some(name("B renamed")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// Every (from, to) pair is allowed exactly when the status table lists it.
pub async fn status_table_is_enforced(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mut n = 0;
    for from in LeadStatus::ALL {
        for to in LeadStatus::ALL {
            n += 1;
            let lead = h.lead_in(from, n).await;
            assert_eq!(lead.status(), from);
            let reason = (to == LeadStatus::Lost).then(|| name("no budget"));
            let r = h
                .crm
                .change_status(manager(), lead.id(), lead.version(), to, reason)
                .await;
            let allowed = TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to);
            match r {
                Ok(c) => {
                    assert!(allowed, "{from} -> {to} was accepted");
                    assert_eq!(c.lead.status(), to);
                    assert_eq!(c.lead.version(), lead.version() + 1);
                }
                Err(CrmError::InvalidTransition {
                    from: f,
                    to: t,
                    allowed: list,
                }) => {
                    assert!(!allowed, "{from} -> {to} was refused");
                    assert_eq!((f, t), (from, to));
                    assert_eq!(list, from.allowed_targets());
                    assert_eq!(h.crm.lead(manager(), lead.id()).await.unwrap(), lead);
                }
                Err(e) => panic!("{from} -> {to}: {e}"),
            }
        }
    }
}

/// Moving to lost needs a reason; only management reopens a lost lead.
pub async fn lost_needs_reason_and_reopen_is_management_only(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "L", Some("l@example.com"), None).await;
    let r = h
        .crm
        .change_status(sales(), lead.id(), 1, LeadStatus::Lost, None)
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::LostReasonRequired))
    ));
    let lost = h
        .crm
        .change_status(
            sales(),
            lead.id(),
            1,
            LeadStatus::Lost,
            Some(name("no budget")),
        )
        .await
        .unwrap()
        .lead;
    assert_eq!(lost.lost_reason().map(Name::as_str), Some("no budget"));
    let r = h
        .crm
        .change_status(sales(), lead.id(), 2, LeadStatus::New, None)
        .await;
    assert!(
        matches!(
            r,
            Err(CrmError::Forbidden {
                action: crm_core::Action::ReopenLead,
                ..
            })
        ),
        "{r:?}"
    );
    let reopened = h
        .crm
        .change_status(manager(), lead.id(), 2, LeadStatus::New, None)
        .await
        .unwrap()
        .lead;
    assert_eq!(reopened.status(), LeadStatus::New);
    assert_eq!(reopened.lost_reason(), None);
}

/// A converted lead takes no edits, reassignments, interactions or opportunities.
pub async fn converted_is_read_only(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.lead_in(LeadStatus::Interested, 1).await;
    let opp = h
        .crm
        .add_opportunity(
            sales(),
            lead.id(),
            NewOpportunity {
                title: name("Deal"),
                value: kwd(5),
                expected_close: day(2026, 2, 1),
            },
        )
        .await
        .unwrap();
    let lead = h
        .crm
        .change_status(
            sales(),
            lead.id(),
            lead.version(),
            LeadStatus::Converted,
            None,
        )
        .await
        .unwrap()
        .lead;
    let v = lead.version();
    let before = snapshot(&h).await;
    let id = lead.id();
    let errs = [
        h.crm
            .edit_lead(
                manager(),
                id,
                v,
                LeadPatch {
                    name: Some(name("Z")),
                    ..Default::default()
                },
            )
            .await
            .err(),
        h.crm.assign_lead(manager(), id, v, sales2()).await.err(),
        h.crm
            .log_interaction(manager(), id, NewInteraction::new(InteractionKind::Visit))
            .await
            .err(),
        h.crm
            .add_opportunity(
                manager(),
                id,
                NewOpportunity {
                    title: name("D2"),
                    value: kwd(1),
                    expected_close: day(2026, 2, 1),
                },
            )
            .await
            .err(),
        h.crm
            .update_opportunity(
                manager(),
                opp.id,
                1,
                OpportunityPatch {
                    stage: Some(OpportunityStage::Won),
                    ..Default::default()
                },
            )
            .await
            .err(),
    ];
    for e in errs {
        assert!(matches!(e, Some(CrmError::ReadOnly(l)) if l == id), "{e:?}");
    }
    for to in LeadStatus::ALL {
        let r = h
            .crm
            .change_status(manager(), id, v, to, Some(name("r")))
            .await;
        assert!(
            matches!(r, Err(CrmError::InvalidTransition { ref allowed, .. }) if allowed.is_empty()),
            "{r:?}"
        );
    }
    assert_eq!(snapshot(&h).await, before);

    // The store enforces it too, atomically, whatever the caller checked before.
    let i = crm_core::Interaction::create(
        crm_core::InteractionId::new_at(t0()),
        id,
        NewInteraction::new(InteractionKind::Call),
        sales(),
        t0(),
    )
    .unwrap();
    assert!(matches!(
        h.store.insert_interaction(&i, &[]).await,
        Err(crm_core::StoreError::ReadOnly { .. })
    ));
}

/// A change made on a stale version fails with Conflict and leaves everything as it was.
pub async fn stale_version_conflicts_and_changes_nothing(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "C", Some("c@example.com"), None).await;
    h.crm
        .edit_lead(
            sales(),
            lead.id(),
            1,
            LeadPatch {
                name: Some(name("C2")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = snapshot(&h).await;
    let stale = [
        h.crm
            .edit_lead(
                sales(),
                lead.id(),
                1,
                LeadPatch {
                    name: Some(name("C3")),
                    ..Default::default()
                },
            )
            .await
            .err(),
        h.crm
            .change_status(sales(), lead.id(), 1, LeadStatus::Contacted, None)
            .await
            .err(),
        h.crm
            .assign_lead(sales(), lead.id(), 1, sales2())
            .await
            .err(),
    ];
    for e in stale {
        assert!(
            matches!(
                e,
                Some(CrmError::Conflict {
                    entity: Entity::Lead,
                    expected: 1,
                    ..
                })
            ),
            "{e:?}"
        );
    }
    assert_eq!(snapshot(&h).await, before);

    // The store itself refuses a write whose version moved underneath it.
    let current = h.crm.lead(sales(), lead.id()).await.unwrap();
    let (edited, change) = current
        .edited(
            &LeadPatch {
                name: Some(name("C4")),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    let write = crm_core::LeadWrite {
        lead: edited,
        history: vec![crm_core::HistoryEntry {
            lead_id: lead.id(),
            version: 3,
            at: t0(),
            actor: sales(),
            change: change[0].clone(),
        }],
        events: vec![],
        pending_client: None,
        check_duplicates: false,
    };
    assert!(matches!(
        h.store.update_lead(1, &write).await,
        Err(crm_core::StoreError::Conflict { .. })
    ));
    h.store.update_lead(2, &write).await.unwrap();
    assert!(matches!(
        h.store.update_lead(2, &write).await,
        Err(crm_core::StoreError::Conflict { .. })
    ));
}

/// Status changes, reassignments and edits are recorded with actor, time and old/new values.
pub async fn history_records_every_change(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "H", Some("h@example.com"), None).await;
    h.advance(TimeDelta::hours(2));
    h.crm
        .edit_lead(
            sales(),
            lead.id(),
            1,
            LeadPatch {
                name: Some(name("H2")),
                company: Some(Some(name("Co"))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.advance(TimeDelta::hours(3));
    h.crm
        .change_status(sales2(), lead.id(), 2, LeadStatus::Contacted, None)
        .await
        .unwrap();
    h.advance(TimeDelta::hours(4));
    h.crm
        .assign_lead(manager(), lead.id(), 3, sales2())
        .await
        .unwrap();
    let d = h.crm.lead_detail(sales(), lead.id()).await.unwrap();
    let changes: Vec<_> = d
        .history
        .iter()
        .map(|e| (e.version, e.actor, e.change.clone()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                1,
                sales(),
                Change::Created {
                    source: Source::web(),
                    owner: sales()
                }
            ),
            (
                2,
                sales(),
                Change::Edited {
                    field: LeadField::Name,
                    old: Some("H".into()),
                    new: Some("H2".into())
                }
            ),
            (
                2,
                sales(),
                Change::Edited {
                    field: LeadField::Company,
                    old: None,
                    new: Some("Co".into())
                }
            ),
            (
                3,
                sales2(),
                Change::StatusChanged {
                    from: LeadStatus::New,
                    to: LeadStatus::Contacted,
                    lost_reason: None
                }
            ),
            (
                4,
                manager(),
                Change::Reassigned {
                    from: sales(),
                    to: sales2()
                }
            ),
        ]
    );
    assert_eq!(d.history[3].at, t0() + TimeDelta::hours(5));
    let spent = time_in_status(&d.history, t0() + TimeDelta::hours(10));
    assert_eq!(spent[&LeadStatus::New], TimeDelta::hours(5));
    assert_eq!(spent[&LeadStatus::Contacted], TimeDelta::hours(5));
    assert_eq!(d.lead.version(), 4);
    // An edit that changes nothing is refused and records nothing.
    let r = h
        .crm
        .edit_lead(
            sales(),
            lead.id(),
            4,
            LeadPatch {
                name: Some(name("H2")),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::NothingToChange))
    ));
    assert_eq!(
        h.crm
            .lead_detail(sales(), lead.id())
            .await
            .unwrap()
            .history
            .len(),
        5
    );
}

/// Sales staff hand over their own leads only; management any lead.
pub async fn reassignment_rules(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mine = h.create(sales(), "Mine", Some("m@example.com"), None).await;
    let theirs = h
        .create(sales2(), "Theirs", Some("t@example.com"), None)
        .await;
    let r = h.crm.assign_lead(sales(), theirs.id(), 1, sales()).await;
    assert!(matches!(
        r,
        Err(CrmError::Forbidden {
            action: crm_core::Action::ReassignLead,
            ..
        })
    ));
    let moved = h
        .crm
        .assign_lead(sales(), mine.id(), 1, sales2())
        .await
        .unwrap();
    assert_eq!(moved.owner(), sales2());
    let back = h
        .crm
        .assign_lead(manager(), theirs.id(), 1, sales())
        .await
        .unwrap();
    assert_eq!(back.owner(), sales());
    let kinds: Vec<_> = h
        .crm
        .pending_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    assert!(kinds.contains(&EventKind::LeadAssigned {
        from: sales(),
        to: sales2()
    }));
    assert!(kinds.contains(&EventKind::LeadAssigned {
        from: sales2(),
        to: sales()
    }));
}

/// Interactions are logged with kind, time, author and notes; the future is refused.
pub async fn interactions_are_logged_and_checked(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "I", Some("i@example.com"), None).await;
    let r = h
        .crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).at(t0() + TimeDelta::minutes(1)),
        )
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::InFuture { .. }))
    ));
    let later = h
        .crm
        .log_interaction(
            sales2(),
            lead.id(),
            NewInteraction::new(InteractionKind::Visit),
        )
        .await
        .unwrap();
    let earlier = h
        .crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::FollowUp).at(t0() - TimeDelta::hours(1)),
        )
        .await
        .unwrap();
    assert_eq!(later.logged_by, sales2());
    let d = h.crm.lead_detail(sales(), lead.id()).await.unwrap();
    assert_eq!(d.interactions, vec![earlier, later]);
    assert_eq!(d.lead.last_interaction_at(), Some(t0()));
    // Interactions do not bump the lead version: two people can log at once.
    assert_eq!(d.lead.version(), 1);
    let logged = h
        .crm
        .pending_events(0, 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(e.event.kind, EventKind::InteractionLogged { .. }))
        .count();
    assert_eq!(logged, 2);
}

/// Opportunities carry exact money (KWD has three decimals) and their own versions.
pub async fn opportunities_carry_money_and_versions(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "O", Some("o@example.com"), None).await;
    let value = Money::parse("12,345.678", Currency::parse("KWD").unwrap()).unwrap();
    let o = h
        .crm
        .add_opportunity(
            sales(),
            lead.id(),
            NewOpportunity {
                title: name("توريد أجهزة"),
                value,
                expected_close: day(2026, 6, 30),
            },
        )
        .await
        .unwrap();
    assert_eq!(o.stage, OpportunityStage::Open);
    assert_eq!(
        h.store.get_opportunity(o.id).await.unwrap(),
        Some(o.clone())
    );
    let won = h
        .crm
        .update_opportunity(
            sales(),
            o.id,
            1,
            OpportunityPatch {
                stage: Some(OpportunityStage::Won),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (won.version, won.stage, won.value.minor()),
        (2, OpportunityStage::Won, 12_345_678)
    );
    let r = h
        .crm
        .update_opportunity(
            sales(),
            o.id,
            1,
            OpportunityPatch {
                value: Some(kwd(1)),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Conflict {
            entity: Entity::Opportunity,
            ..
        })
    ));
    let d = h.crm.lead_detail(sales(), lead.id()).await.unwrap();
    assert_eq!(d.opportunities, vec![won]);
    assert_eq!(d.opportunities[0].value.to_string(), "12345.678 KWD");
}

/// Converting creates exactly one client, keyed by the lead, and records its id.
pub async fn conversion_creates_exactly_one_client(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.lead_in(LeadStatus::Interested, 1).await;
    let c = h
        .crm
        .change_status(
            sales(),
            lead.id(),
            lead.version(),
            LeadStatus::Converted,
            None,
        )
        .await
        .unwrap();
    let Some(ConversionOutcome::ClientCreated(client)) = c.conversion else {
        panic!("{:?}", c.conversion)
    };
    assert_eq!(c.lead.client_id(), Some(&client));
    let created = h.clients.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, lead.id());
    assert_eq!(created[0].2.name, *lead.name());
    assert_eq!(created[0].2.email, lead.email().cloned());
    let d = h.crm.lead_detail(sales(), lead.id()).await.unwrap();
    assert_eq!(d.lead.client_id(), Some(&client));
    assert!(d.pending_client.is_none());
    assert!(h.store.pending_clients(10).await.unwrap().is_empty());
    let report = h.crm.dispatch_pending().await.unwrap();
    assert!(report.created.is_empty() && report.failed.is_empty());
    assert_eq!(h.clients.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let kinds: Vec<_> = h
        .crm
        .pending_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    assert!(kinds.contains(&EventKind::LeadConverted { client_id: client }));
}

/// If the clients system fails, the lead is still converted and the pending record stays
/// until a dispatch succeeds; never two clients.
pub async fn conversion_survives_clients_failure(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = h.lead_in(LeadStatus::Contacted, 1).await;
    let b = h.lead_in(LeadStatus::Interested, 2).await;
    h.clients.fail(true);
    for l in [&a, &b] {
        let c = h
            .crm
            .change_status(sales(), l.id(), l.version(), LeadStatus::Converted, None)
            .await
            .unwrap();
        assert!(matches!(c.conversion, Some(ConversionOutcome::Deferred(_))));
        assert_eq!(c.lead.status(), LeadStatus::Converted);
        assert_eq!(c.lead.client_id(), None);
    }
    let pending = h.store.pending_clients(10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| p.request.lead_id)
            .collect::<Vec<_>>(),
        vec![a.id(), b.id()]
    );
    assert!(pending.iter().all(|p| {
        p.attempts == 1
            && p.last_error
                .as_deref()
                .is_some_and(|e| e.contains("unavailable"))
    }));
    let failed = h.crm.dispatch_pending().await.unwrap();
    assert_eq!(failed.failed.len(), 2);
    assert_eq!(h.store.pending_clients(10).await.unwrap()[0].attempts, 2);
    assert!(h.clients.created().is_empty());

    h.clients.fail(false);
    let ok = h.crm.dispatch_pending().await.unwrap();
    assert_eq!(
        ok.created.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![a.id(), b.id()]
    );
    assert_eq!(h.clients.created().len(), 2);
    for (lead, client) in &ok.created {
        assert_eq!(
            h.crm.lead(sales(), *lead).await.unwrap().client_id(),
            Some(client)
        );
    }
    assert!(h.store.pending_clients(10).await.unwrap().is_empty());
    let again = h.crm.dispatch_pending().await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(h.clients.created().len(), 2);
}

/// A new lead without interaction, five days old, is notified once; others never.
pub async fn sweep_notifies_due_leads_once(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let due = h
        .create(sales(), "Due", Some("due@example.com"), None)
        .await;
    let talked = h
        .create(sales(), "Talked", Some("talked@example.com"), None)
        .await;
    let moved = h
        .create(sales(), "Moved", Some("moved@example.com"), None)
        .await;
    h.crm
        .log_interaction(
            sales(),
            talked.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    h.crm
        .change_status(sales(), moved.id(), 1, LeadStatus::Contacted, None)
        .await
        .unwrap();
    h.advance(TimeDelta::days(1));
    let young = h
        .create(sales2(), "Young", Some("young@example.com"), None)
        .await;

    // Just under five days: nothing.
    let r = h
        .crm
        .sweep(t0() + TimeDelta::days(5) - TimeDelta::seconds(1))
        .await
        .unwrap();
    assert!(r.notified.is_empty());
    // Exactly five days: the due lead, to its owner.
    let r = h.crm.sweep(t0() + TimeDelta::days(5)).await.unwrap();
    assert_eq!(r.notified, vec![due.id()]);
    let sent = h.notifier.sent.lock().unwrap().clone();
    assert_eq!((sent[0].lead_id, sent[0].owner), (due.id(), sales()));
    // Again: nothing new.
    assert!(
        h.crm
            .sweep(t0() + TimeDelta::days(5))
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    let r = h.crm.sweep(t0() + TimeDelta::days(7)).await.unwrap();
    assert_eq!(r.notified, vec![young.id()]);
    assert_eq!(h.notifier.leads(), vec![due.id(), young.id()]);
    assert!(
        h.crm
            .lead(sales(), due.id())
            .await
            .unwrap()
            .follow_up_notified_at()
            .is_some()
    );
}

/// A notice that fails is retried on the next sweep; the others are not repeated.
pub async fn sweep_retries_failed_notifications(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mut leads = vec![];
    for n in ["A", "B", "C"] {
        leads.push(
            h.create(sales(), n, Some(&format!("{n}@example.com")), None)
                .await,
        );
        h.advance(TimeDelta::minutes(1));
    }
    h.notifier.fail_for.lock().unwrap().insert(leads[1].id());
    let now = t0() + TimeDelta::days(6);
    let r = h.crm.sweep(now).await.unwrap();
    assert_eq!(r.notified, vec![leads[0].id(), leads[2].id()]);
    assert_eq!(
        r.failed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![leads[1].id()]
    );
    assert!(
        h.crm
            .lead(sales(), leads[1].id())
            .await
            .unwrap()
            .follow_up_notified_at()
            .is_none()
    );
    h.notifier.fail_for.lock().unwrap().clear();
    let r = h.crm.sweep(now).await.unwrap();
    assert_eq!(r.notified, vec![leads[1].id()]);
    assert_eq!(
        h.notifier.leads(),
        vec![leads[0].id(), leads[2].id(), leads[1].id()]
    );
}

/// With a working-days rule, Friday and Saturday do not count.
pub async fn sweep_honours_working_days(store: Arc<dyn LeadStore>) {
    let h = Harness::with_rule(
        store,
        FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]),
    );
    // Created Sunday 09:00; five working days (Sun-Thu) end Friday 09:00.
    let lead = h.create(sales(), "W", Some("w@example.com"), None).await;
    assert!(
        h.crm
            .sweep(t0() + TimeDelta::days(5) - TimeDelta::seconds(1))
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    // Friday 09:00 counts back past no weekend day: due.
    let r = h.crm.sweep(t0() + TimeDelta::days(5)).await.unwrap();
    assert_eq!(r.notified, vec![lead.id()]);

    // Created Thursday: Fri and Sat do not count, so it is due only the next Thursday.
    let h2 = Harness::with_rule(
        h.store.clone(),
        FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]),
    );
    h2.clock.set(t0() + TimeDelta::days(4));
    let thu = h2
        .create(sales(), "Thu", Some("thu@example.com"), None)
        .await;
    let r = h2.crm.sweep(t0() + TimeDelta::days(10)).await.unwrap();
    assert!(
        r.notified.is_empty(),
        "Wednesday is only four working days on"
    );
    let r = h2.crm.sweep(t0() + TimeDelta::days(11)).await.unwrap();
    assert_eq!(r.notified, vec![thu.id()]);
}

/// Events come in write order with increasing seq; acknowledged ones are not returned.
pub async fn events_are_ordered_and_acknowledged(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "E", Some("e@example.com"), None).await;
    h.crm
        .change_status(sales(), lead.id(), 1, LeadStatus::Contacted, None)
        .await
        .unwrap();
    h.crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    h.crm
        .add_opportunity(
            sales(),
            lead.id(),
            NewOpportunity {
                title: name("D"),
                value: kwd(7),
                expected_close: day(2026, 2, 2),
            },
        )
        .await
        .unwrap();
    let events = h.crm.pending_events(0, 100).await.unwrap();
    let names: Vec<_> = events.iter().map(|e| e.event.kind.name()).collect();
    assert_eq!(
        names,
        [
            "lead_created",
            "status_changed",
            "interaction_logged",
            "opportunity_created"
        ]
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        h.crm.pending_events(events[1].seq, 100).await.unwrap(),
        events[2..].to_vec()
    );
    assert_eq!(
        h.crm.pending_events(0, 2).await.unwrap(),
        events[..2].to_vec()
    );
    assert_eq!(h.crm.ack_events(events[1].seq).await.unwrap(), 2);
    assert_eq!(h.crm.ack_events(events[1].seq).await.unwrap(), 0);
    assert_eq!(
        h.crm.pending_events(0, 100).await.unwrap(),
        events[2..].to_vec()
    );
    assert_eq!(h.crm.ack_events(u64::MAX).await.unwrap(), 2);
    assert!(h.crm.pending_events(0, 100).await.unwrap().is_empty());
    // A refused change writes no event.
    let _ = h
        .crm
        .change_status(other(), lead.id(), 2, LeadStatus::Lost, Some(name("x")))
        .await;
    assert!(h.crm.pending_events(0, 100).await.unwrap().is_empty());
    // New events continue the sequence.
    h.crm
        .change_status(sales(), lead.id(), 2, LeadStatus::Interested, None)
        .await
        .unwrap();
    let next = h.crm.pending_events(0, 100).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].seq > events[3].seq);
}

/// Counts by status x source, with the owner, source and date filters and totals.
pub async fn report_counts_by_status_and_source(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let fair = Source::parse("fair-2026").unwrap();
    let mut n = 0;
    let mut mk = async |owner: EmployeeId, source: Source, status: LeadStatus| {
        n += 1;
        let l = h
            .crm
            .create_lead(
                owner,
                new_lead(&format!("R{n}"), Some(&format!("r{n}@example.com")), None)
                    .tap_source(source),
            )
            .await
            .unwrap();
        if status != LeadStatus::New {
            let reason = (status == LeadStatus::Lost).then(|| name("price"));
            h.crm
                .change_status(owner, l.id(), 1, status, reason)
                .await
                .unwrap();
        }
        h.advance(TimeDelta::days(1));
    };
    mk(sales(), Source::web(), LeadStatus::New).await;
    mk(sales(), Source::web(), LeadStatus::New).await;
    mk(sales(), Source::referral(), LeadStatus::Contacted).await;
    mk(sales2(), Source::web(), LeadStatus::Lost).await;
    mk(sales2(), fair.clone(), LeadStatus::Interested).await;
    let all = h
        .crm
        .report(other(), &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.count(LeadStatus::New, &Source::web()), 2);
    assert_eq!(all.count(LeadStatus::Lost, &Source::web()), 1);
    assert_eq!(all.count(LeadStatus::Interested, &fair), 1);
    assert_eq!(all.by_status[&LeadStatus::Converted], 0);
    assert_eq!(
        all.by_source,
        vec![
            (Source::web(), 3),
            (Source::referral(), 1),
            (fair.clone(), 1)
        ]
    );
    let mine = h
        .crm
        .report(
            other(),
            &ReportFilter {
                owner: Some(sales2()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((mine.total, mine.by_status[&LeadStatus::Lost]), (2, 1));
    let web = h
        .crm
        .report(
            other(),
            &ReportFilter {
                source: Some(Source::web()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(web.total, 3);
    let window = ReportFilter {
        created_from: Some(t0() + TimeDelta::days(1)),
        created_to: Some(t0() + TimeDelta::days(3)),
        ..Default::default()
    };
    let mid = h.crm.report(other(), &window).await.unwrap();
    assert_eq!(mid.total, 2, "[from, to) holds leads 2 and 3");
    let bad = ReportFilter {
        created_from: Some(t0() + TimeDelta::days(3)),
        created_to: Some(t0()),
        ..Default::default()
    };
    assert!(matches!(
        h.crm.report(other(), &bad).await,
        Err(CrmError::Validation(ValidationError::InvalidRange { .. }))
    ));
}

trait TapSource {
    fn tap_source(self, s: Source) -> Self;
}
impl TapSource for crm_core::NewLead {
    fn tap_source(mut self, s: Source) -> Self {
        self.source = s;
        self
    }
}

/// Listing filters by status, source, owner and text (Arabic-aware), and pages by keyset.
pub async fn listing_filters_search_and_pages(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let ahmad = h
        .crm
        .create_lead(
            sales(),
            new_lead("أَحْمَد الشهري", None, Some("٠٥٥٥١٢٣٤٥٦")).company(name("مؤسسة النور")),
        )
        .await
        .unwrap();
    let mut ids = vec![ahmad.id()];
    for i in 0..11 {
        h.advance(TimeDelta::minutes(1));
        let owner = if i % 2 == 0 { sales() } else { sales2() };
        let l = h
            .crm
            .create_lead(
                owner,
                new_lead(
                    &format!("Person {i}"),
                    Some(&format!("p{i}@big-corp.com")),
                    None,
                ),
            )
            .await
            .unwrap();
        ids.push(l.id());
    }
    // Two leads created at the same instant still page deterministically (ties by id).
    let twin = h
        .create(sales(), "Twin", Some("twin@example.com"), None)
        .await;
    ids.push(twin.id());
    ids.reverse();
    let mut seen = vec![];
    let mut q = LeadQuery::default().limit(5).unwrap();
    loop {
        let page = h.crm.list_leads(other(), &q).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|l| l.id()));
        match page.next {
            Some(c) => q = q.after(c),
            None => break,
        }
    }
    let mut expected = ids.clone();
    // Newest first, ties broken by id descending.
    expected.sort_by_key(|id| std::cmp::Reverse(*id));
    let created: std::collections::HashMap<_, _> = {
        let all = h
            .crm
            .list_leads(other(), &LeadQuery::default().limit(100).unwrap())
            .await
            .unwrap();
        all.items.iter().map(|l| (l.id(), l.created_at())).collect()
    };
    expected.sort_by_key(|id| std::cmp::Reverse((created[id], *id)));
    assert_eq!(seen, expected);

    let search = |s: &str| LeadQuery::default().search(s);
    for q in ["احمد", "أحمد", "AHMAD", "النور", "0555123456", "٠٥٥٥"] {
        let found = h.crm.list_leads(other(), &search(q)).await.unwrap();
        let expect: Vec<_> = if q == "AHMAD" {
            vec![]
        } else {
            vec![ahmad.id()]
        };
        assert_eq!(
            found.items.iter().map(|l| l.id()).collect::<Vec<_>>(),
            expect,
            "search {q}"
        );
    }
    let corp = h
        .crm
        .list_leads(other(), &search("BIG-CORP").limit(100).unwrap())
        .await
        .unwrap();
    assert_eq!(corp.items.len(), 11);
    let mine = h
        .crm
        .list_leads(
            other(),
            &LeadQuery::default().owner(sales2()).limit(100).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 5);
    assert!(mine.items.iter().all(|l| l.owner() == sales2()));
    h.crm
        .change_status(sales(), ahmad.id(), 1, LeadStatus::Contacted, None)
        .await
        .unwrap();
    let contacted = h
        .crm
        .list_leads(other(), &LeadQuery::default().status(LeadStatus::Contacted))
        .await
        .unwrap();
    assert_eq!(
        contacted.items.iter().map(|l| l.id()).collect::<Vec<_>>(),
        vec![ahmad.id()]
    );
    let by_source = h
        .crm
        .list_leads(other(), &LeadQuery::default().source(Source::referral()))
        .await
        .unwrap();
    assert!(by_source.items.is_empty());
}

/// Operations on records that do not exist fail with NotFound and write nothing.
pub async fn missing_records_are_not_found(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let ghost = crm_core::LeadId::new_at(t0());
    let ghost_opp = crm_core::OpportunityId::new_at(t0());
    let errs = [
        h.crm.lead(sales(), ghost).await.err(),
        h.crm.lead_detail(sales(), ghost).await.err(),
        h.crm
            .edit_lead(
                sales(),
                ghost,
                1,
                LeadPatch {
                    name: Some(name("x")),
                    ..Default::default()
                },
            )
            .await
            .err(),
        h.crm
            .change_status(sales(), ghost, 1, LeadStatus::Contacted, None)
            .await
            .err(),
        h.crm
            .log_interaction(sales(), ghost, NewInteraction::new(InteractionKind::Note))
            .await
            .err(),
        h.crm
            .update_opportunity(
                sales(),
                ghost_opp,
                1,
                OpportunityPatch {
                    stage: Some(OpportunityStage::Won),
                    ..Default::default()
                },
            )
            .await
            .err(),
    ];
    for e in errs {
        assert!(matches!(e, Some(CrmError::NotFound { .. })), "{e:?}");
    }
    assert!(h.store.pending_events(0, 10).await.unwrap().is_empty());
    assert!(!h.store.claim_follow_up(ghost, t0()).await.unwrap());
}

/// One number, typed three ways (local in the harness's region SA, `+966`, `00966`), is
/// one number for duplicate detection on every store, and each lead reads back showing what
/// was typed. An extension is part of the number: the same line with another extension is
/// another number.
pub async fn phone_spellings_are_one_number(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let first = h
        .crm
        .create_lead(sales(), new_lead("Local", None, Some("0501234567")))
        .await
        .unwrap();
    for typed in ["+966501234567", "00966501234567", "+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧"] {
        h.advance(TimeDelta::minutes(1));
        let r = h
            .crm
            .create_lead(sales2(), new_lead("Other Spelling", None, Some(typed)))
            .await;
        assert!(
            matches!(&r, Err(CrmError::Duplicate { existing, field: ContactField::Phone }) if *existing == first.id()),
            "{typed}: {r:?}"
        );
    }
    // Allowed anyway, it keeps its own spelling.
    let second = h
        .crm
        .create_lead(
            sales2(),
            new_lead("Intl", None, Some("00966 50 123 4567")).allow_duplicate(),
        )
        .await
        .unwrap();

    let shown = |l: &crm_core::Lead| {
        l.phone()
            .map(|p| (p.key().to_owned(), p.display().to_owned()))
    };
    let got = h.crm.lead(other(), first.id()).await.unwrap();
    assert_eq!(
        shown(&got),
        Some(("+966501234567".into(), "0501234567".into()))
    );
    let got = h.crm.lead_detail(other(), second.id()).await.unwrap().lead;
    assert_eq!(
        shown(&got),
        Some(("+966501234567".into(), "00966 50 123 4567".into()))
    );
    let page = h
        .crm
        .list_leads(other(), &LeadQuery::default())
        .await
        .unwrap();
    let mut listed: Vec<_> = page.items.iter().filter_map(shown).collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("+966501234567".into(), "00966 50 123 4567".into()),
            ("+966501234567".into(), "0501234567".into()),
        ]
    );
    // Search sees the key and the digits as typed.
    for (q, n) in [
        ("501234567", 2),
        ("0501234567", 1),
        ("٠٠٩٦٦", 1),
        ("+966", 2),
    ] {
        let found = h
            .crm
            .list_leads(other(), &LeadQuery::default().search(q))
            .await
            .unwrap();
        assert_eq!(found.items.len(), n, "search {q}");
    }

    // Extensions, read in the US: kept in the key, typed form kept for display.
    let us = PhoneRegion::parse("US").unwrap();
    let with_ext = |name: &str, typed: &str| {
        crm_core::NewLead::new(self::name(name), Source::web())
            .phone(Phone::parse_in(typed, us).unwrap())
    };
    let office = h
        .crm
        .create_lead(sales(), with_ext("Office", "302-765-4235x116"))
        .await
        .unwrap();
    let got = h.crm.lead(other(), office.id()).await.unwrap();
    assert_eq!(
        shown(&got),
        Some(("+13027654235;ext=116".into(), "302-765-4235x116".into()))
    );
    let r = h
        .crm
        .create_lead(
            sales2(),
            with_ext("Same Line", "+1 (302) 765-4235 ext. 116"),
        )
        .await;
    assert!(
        matches!(&r, Err(CrmError::Duplicate { existing, field: ContactField::Phone }) if *existing == office.id()),
        "{r:?}"
    );
    h.crm
        .create_lead(sales2(), with_ext("Next Desk", "302-765-4235x117"))
        .await
        .unwrap();
}
