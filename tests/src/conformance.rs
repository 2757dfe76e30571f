//! The conformance suite: every rule of the store port and the service, written once as a
//! generic body over a fresh store. [`crate::conformance_suite!`] stamps out one
//! `#[tokio::test]` per body for an adapter, so every adapter runs exactly the same tests.

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta, Weekday};
use crm_core::StoreWrites;
use crm_core::history::time_in_status;
use crm_core::status::TRANSITIONS;
use crm_core::{
    AssigneeProblem, Change, Clock, ContactField, ConversionOutcome, CrmError, Currency, Email,
    EmployeeId, Entity, EventKind, FollowUpRule, InteractionKind, LeadField, LeadPatch, LeadQuery,
    LeadStatus, LeadStore, Money, Name, NewInteraction, NewOpportunity, Note, OpportunityPatch,
    OpportunityStage, Phone, PhoneRegion, ReportFilter, Source, ValidationError,
};

pub use crate::conformance_boards::*;
pub use crate::conformance_capture::*;
pub use crate::conformance_delivery::*;
pub use crate::conformance_import::*;
pub use crate::conformance_merge::*;
pub use crate::conformance_pipeline::*;
pub use crate::conformance_scoring::*;
pub use crate::conformance_stage_probabilities::*;
pub use crate::conformance_visibility::*;
use crate::harness::{
    Harness, inactive, manager, new_lead, other, reason, sales, sales2, t0, unknown,
};

/// Stamps out the whole conformance suite for one store adapter: one `#[test]` per body of
/// this module, named after it, each on a fresh store.
///
/// `$factory` is anything callable as `$factory()` that returns a future of a fresh, empty
/// `Arc<dyn LeadStore>`: an `async fn() -> Arc<dyn LeadStore>` or a closure
/// `|| async { ... }`. Each test calls it once. The tests need no async runtime from the
/// calling crate (they run on [`crate::kit::block_on`]), only `crm-tests` as a
/// dev-dependency:
///
/// ```
/// // tests/conformance.rs of the adapter's crate
/// use std::sync::Arc;
/// use crm_core::LeadStore;
///
/// async fn store() -> Arc<dyn LeadStore> {
///     Arc::new(crm_store_memory::MemoryStore::new()) // your adapter, fresh and empty
/// }
///
/// crm_tests::conformance_suite!(store);
/// # fn main() {}
/// ```
///
/// The tests are functions of the module the macro is called in: to run the suite on two
/// stores in one file, call it in two modules. [`crate::adapter_suite!`] adds the
/// model-based test.
///
/// `conformance_suite!(factory, postgres)` is this workspace's form for PostgreSQL: every
/// test is marked `#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]`,
/// so without a server the suite shows as ignored in `cargo test`'s summary (the calling
/// crate's build script declares and sets the cfg: see `tests/build/postgres.rs`).
#[macro_export]
macro_rules! conformance_suite {
    (@suite $factory:expr; $attrs:tt) => {
        $crate::conformance_suite!(@each $factory; $attrs;
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
            system_operations_are_checked,
            employees_are_managed_by_management,
            follow_up_survives_a_crash_after_claiming,
            claims_split_the_work,
            search_folds_persian_letters_and_sources_may_be_arabic,
            duplicate_check_matches_the_reference,
            a_reason_goes_only_with_lost,
            sweeps_and_dispatches_move_past_failures_batch_by_batch,
            taken_over_notices_follow_their_lead,
            phone_spellings_are_one_number,
            a_number_in_any_spelling_finds_its_leads,
            // Issue 10 part B: crate::conformance_pipeline.
            lost_reasons_are_listed_codes_and_reportable,
            pipeline_is_valued_per_currency,
            overdue_follow_ups_remind_the_owner_once,
            follow_up_counts_working_hours_in_the_host_zone,
            escalation_reaches_the_managers_once,
            sweep_dry_run_changes_nothing,
            time_in_status_averages_per_owner_and_source,
            overdue_and_escalation_claims_split_the_work,
            visibility_scopes_every_read,
            visible_pages_stay_full,
            visibility_scopes_every_change,
            round_robin_assigns_in_turn_and_survives_restart,
            least_open_assigns_to_the_fewest,
            concurrent_creates_take_distinct_turns,
            assignment_without_staff_is_refused,
            reassign_all_spreads_open_leads,
            bulk_changes_each_lead_on_its_own,
            a_duplicate_outside_the_view_is_not_named,
            bulk_changes_are_refused_whole_to_who_may_only_read,
            // Stored stage probabilities: crate::conformance_stage_probabilities.
            stage_probabilities_are_stored_by_management,
            // Issue 11 import: crate::conformance_import.
            import_creates_leads_with_history_and_events,
            import_on_duplicate_skips_updates_or_creates,
            import_dry_run_writes_nothing,
            import_run_again_creates_nothing_twice,
            import_applies_permissions_assignment_and_visibility,
            a_refused_import_batch_leaves_nothing,
            import_handed_over_in_parts_is_one_import,
            // Issue 11, duplicates and merge: crate::conformance_merge.
            duplicate_groups_are_made_by_the_store,
            merge_moves_everything_to_the_kept_lead,
            merged_leads_leave_the_sweep,
            refused_merges_change_nothing,
            concurrent_merge_and_edit,
            a_merge_decided_before_a_record_was_added_is_refused,
            merged_leads_leave_the_duplicate_check,
            a_chain_of_merges_shows_every_history_on_the_last_lead_kept,
            // Issue 9: crate::conformance_delivery.
            delivered_notices_leave_the_outbox_once,
            a_sweep_marks_each_batch_delivered,
            // Issue 24: crate::conformance_scoring.
            scoring_counts_every_decision_in_its_commit,
            a_write_that_moves_a_score_says_so,
            training_counts_old_decisions_once,
            the_evaluation_runs_on_the_store,
            // Issue 22: crate::conformance_boards.
            boards_show_what_the_actor_sees,
            host_sources_and_currencies_are_enforced,
            lists_count_and_sort_by_any_column,
            // Issue 23: crate::conformance_capture.
            a_capture_creates_a_lead_once_and_logs_what_follows,
            only_a_named_channel_captures_and_only_that,
            concurrent_captures_take_each_message_once,
            a_captured_leads_origin_and_consent_are_kept_with_it,
        );
    };
    (@each $factory:expr; $attrs:tt; $($name:ident),* $(,)?) => {
        $(
            $crate::conformance_suite!(@test $factory; $attrs; $name);
        )*
    };
    (@test $factory:expr; [$(#[$attr:meta])*]; $name:ident) => {
        #[test]
        $(#[$attr])*
        fn $name() {
            $crate::kit::block_on(async {
                $crate::conformance::$name(($factory)().await).await;
            });
        }
    };
    ($factory:expr, postgres) => {
        $crate::conformance_suite!(@suite $factory;
            [#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]]);
    };
    ($factory:expr $(,)?) => {
        $crate::conformance_suite!(@suite $factory; []);
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
pub(crate) async fn snapshot(h: &Harness) -> String {
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

    let events = h.crm.pending_events(sales(), 0, 100).await.unwrap();
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
                probability: None,
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
                        probability: None,
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
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Email, .. }) if existing == Some(first.id())),
        "{r:?}"
    );
    // The same phone typed with Arabic-Indic digits and separators.
    let r = h
        .crm
        .create_lead(sales2(), new_lead("Third", None, Some("٠٥٠ ١٢٣ ٤٥٦٧")))
        .await;
    assert!(
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Phone, .. }) if existing == Some(first.id())),
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
    assert!(matches!(r, Err(CrmError::Duplicate { existing, .. }) if existing == Some(first.id())));

    // Closed leads do not block: lose both, then the address is free again.
    for l in [&first, &second] {
        h.crm
            .change_status(sales(), l.id(), 1, LeadStatus::Lost, Some(reason("gone")))
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
        matches!(r, Err(CrmError::Duplicate { existing, field: ContactField::Email, .. }) if existing == Some(a.id()))
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
            let reason = (to == LeadStatus::Lost).then(|| reason("no budget"));
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
                // A converted lead is read-only: every move says so.
                Err(CrmError::ReadOnly(id)) => {
                    assert_eq!((from, id), (LeadStatus::Converted, lead.id()));
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
            Some(reason("no budget")),
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
                probability: None,
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
                    probability: None,
                },
            )
            .await
            .err(),
        // The opportunity's value is the deal's, fixed with the lead.
        h.crm
            .update_opportunity(
                manager(),
                opp.id,
                1,
                OpportunityPatch {
                    value: Some(kwd(9)),
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
    // Every status move says read-only too (one answer for a converted lead, not
    // "invalid transition" for moves and "read-only" for edits).
    for to in LeadStatus::ALL {
        let reason = (to == LeadStatus::Lost).then(|| reason("r"));
        let r = h.crm.change_status(manager(), id, v, to, reason).await;
        assert!(matches!(r, Err(CrmError::ReadOnly(l)) if l == id), "{r:?}");
    }
    assert_eq!(snapshot(&h).await, before);

    // Its opportunities can still be won or lost: the stage alone may change.
    let won = h
        .crm
        .update_opportunity(
            sales(),
            opp.id,
            1,
            OpportunityPatch {
                stage: Some(OpportunityStage::Won),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (won.stage, won.version, won.value),
        (OpportunityStage::Won, 2, kwd(5))
    );
    let d = h.crm.lead_detail(sales(), id).await.unwrap();
    assert_eq!(d.opportunities, vec![won]);
    assert_eq!(d.lead, lead, "the lead itself is untouched");
    // Still checked: someone who may not edit opportunities may not close them either.
    assert!(matches!(
        h.crm
            .update_opportunity(
                other(),
                opp.id,
                2,
                OpportunityPatch {
                    stage: Some(OpportunityStage::Lost),
                    ..Default::default()
                },
            )
            .await,
        Err(CrmError::Forbidden { .. })
    ));

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
        score_changes: Vec::new(),
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
                    lost_reason: None,
                    lost_reason_code: None
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
        .pending_events(sales(), 0, 100)
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
        .pending_events(sales(), 0, 100)
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
                probability: None,
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
    let report = h.crm.dispatch_pending(manager()).await.unwrap();
    assert!(report.created.is_empty() && report.failed.is_empty());
    assert_eq!(h.clients.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let kinds: Vec<_> = h
        .crm
        .pending_events(sales(), 0, 100)
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
    let failed = h.crm.dispatch_pending(manager()).await.unwrap();
    assert_eq!(failed.failed.len(), 2);
    assert_eq!(h.store.pending_clients(10).await.unwrap()[0].attempts, 2);
    assert!(h.clients.created().is_empty());

    h.clients.fail(false);
    let ok = h.crm.dispatch_pending(manager()).await.unwrap();
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
    let again = h.crm.dispatch_pending(manager()).await.unwrap();
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
        .sweep_at(t0() + TimeDelta::days(5) - TimeDelta::seconds(1))
        .await
        .unwrap();
    assert!(r.notified.is_empty());
    // Exactly five days: the due lead, to its owner.
    let r = h.sweep_at(t0() + TimeDelta::days(5)).await.unwrap();
    assert_eq!(r.notified, vec![due.id()]);
    let sent = h.notifier.sent.lock().unwrap().clone();
    assert_eq!((sent[0].lead_id, sent[0].owner), (due.id(), sales()));
    // Again: nothing new.
    assert!(
        h.sweep_at(t0() + TimeDelta::days(5))
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    let r = h.sweep_at(t0() + TimeDelta::days(7)).await.unwrap();
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
    let r = h.sweep_at(now).await.unwrap();
    assert_eq!(r.notified, vec![leads[0].id(), leads[2].id()]);
    assert_eq!(
        r.failed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![leads[1].id()]
    );
    // The lead stays claimed; its notice waits in the outbox for the next sweep.
    let waiting = h.store.undelivered_follow_ups(10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|n| n.lead_id).collect::<Vec<_>>(),
        vec![leads[1].id()]
    );
    h.notifier.fail_for.lock().unwrap().clear();
    let r = h.sweep_at(now).await.unwrap();
    assert_eq!(r.notified, vec![leads[1].id()]);
    assert_eq!(
        r.notices,
        vec![waiting[0].id],
        "redelivered under the same notice id"
    );
    assert_eq!(
        h.notifier.leads(),
        vec![leads[0].id(), leads[2].id(), leads[1].id()]
    );
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());
}

/// With a working-days rule, Friday and Saturday do not count.
pub async fn sweep_honours_working_days(store: Arc<dyn LeadStore>) {
    let h = Harness::with_rule(
        store,
        FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]).unwrap(),
    );
    // Created Sunday 09:00; five working days (Sun-Thu) end Friday 09:00.
    let lead = h.create(sales(), "W", Some("w@example.com"), None).await;
    assert!(
        h.sweep_at(t0() + TimeDelta::days(5) - TimeDelta::seconds(1))
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    // Friday 09:00 counts back past no weekend day: due.
    let r = h.sweep_at(t0() + TimeDelta::days(5)).await.unwrap();
    assert_eq!(r.notified, vec![lead.id()]);

    // Created Thursday: Fri and Sat do not count, so it is due only the next Thursday.
    let h2 = Harness::with_rule(
        h.store.clone(),
        FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]).unwrap(),
    );
    h2.clock.set(t0() + TimeDelta::days(4));
    let thu = h2
        .create(sales(), "Thu", Some("thu@example.com"), None)
        .await;
    let r = h2.sweep_at(t0() + TimeDelta::days(10)).await.unwrap();
    assert!(
        r.notified.is_empty(),
        "Wednesday is only four working days on"
    );
    let r = h2.sweep_at(t0() + TimeDelta::days(11)).await.unwrap();
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
                probability: None,
            },
        )
        .await
        .unwrap();
    let events = h.crm.pending_events(sales(), 0, 100).await.unwrap();
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
        h.crm
            .pending_events(sales(), events[1].seq, 100)
            .await
            .unwrap(),
        events[2..].to_vec()
    );
    assert_eq!(
        h.crm.pending_events(sales(), 0, 2).await.unwrap(),
        events[..2].to_vec()
    );
    assert_eq!(h.crm.ack_events(manager(), events[1].seq).await.unwrap(), 2);
    assert_eq!(h.crm.ack_events(manager(), events[1].seq).await.unwrap(), 0);
    assert_eq!(
        h.crm.pending_events(sales(), 0, 100).await.unwrap(),
        events[2..].to_vec()
    );
    assert_eq!(h.crm.ack_events(manager(), u64::MAX).await.unwrap(), 2);
    assert!(
        h.crm
            .pending_events(sales(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // A refused change writes no event.
    let refused = h
        .crm
        .change_status(other(), lead.id(), 2, LeadStatus::Lost, Some(reason("x")))
        .await;
    assert!(
        matches!(refused, Err(CrmError::Forbidden { .. })),
        "{refused:?}"
    );
    assert!(
        h.crm
            .pending_events(sales(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // New events continue the sequence.
    h.crm
        .change_status(sales(), lead.id(), 2, LeadStatus::Interested, None)
        .await
        .unwrap();
    let next = h.crm.pending_events(sales(), 0, 100).await.unwrap();
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
            let reason = (status == LeadStatus::Lost).then(|| reason("price"));
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
    h.store
        .follow_up_delivered(crm_core::NoticeId::new_at(t0()))
        .await
        .unwrap();
}

/// The system operations are checked: the sweep and the dispatch are management's or a
/// system actor's the host named; acknowledging events and managing employees are
/// management's; a sweep later than the clock is refused. A refused one changes nothing.
pub async fn system_operations_are_checked(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h
        .create(sales(), "Quiet", Some("quiet@example.com"), None)
        .await;
    let convert = h.lead_in(LeadStatus::Interested, 1).await;
    h.clients.fail(true);
    h.crm
        .change_status(
            sales(),
            convert.id(),
            convert.version(),
            LeadStatus::Converted,
            None,
        )
        .await
        .unwrap();
    h.clients.fail(false);
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    let before = snapshot(&h).await;
    let pending_before = h.store.pending_clients(10).await.unwrap();

    for actor in [sales(), other(), inactive()] {
        let r = h.crm.sweep(actor, now).await;
        assert!(
            matches!(r, Err(CrmError::Forbidden { .. })),
            "{actor}: {r:?}"
        );
        let r = h.crm.dispatch_pending(actor).await;
        assert!(
            matches!(r, Err(CrmError::Forbidden { .. })),
            "{actor}: {r:?}"
        );
        let r = h.crm.ack_events(actor, u64::MAX).await;
        assert!(
            matches!(r, Err(CrmError::Forbidden { .. })),
            "{actor}: {r:?}"
        );
    }
    assert!(matches!(
        h.crm.sweep(unknown(), now).await,
        Err(CrmError::UnknownActor(_))
    ));
    // A system actor the host did not name is refused.
    let stranger = crm_core::SystemActor::parse("cron").unwrap();
    assert!(matches!(
        h.crm.sweep(stranger.clone(), now).await,
        Err(CrmError::SystemForbidden { .. })
    ));
    // A sweep later than the clock would stamp leads notified in the future.
    assert!(matches!(
        h.crm.sweep(manager(), now + TimeDelta::seconds(1)).await,
        Err(CrmError::Validation(ValidationError::InFuture { .. }))
    ));
    assert_eq!(snapshot(&h).await, before);
    assert_eq!(h.store.pending_clients(10).await.unwrap(), pending_before);
    assert!(h.notifier.leads().is_empty());
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());

    // A named system actor may sweep and dispatch, and nothing else of management's.
    let scheduler = crm_core::SystemActor::parse("scheduler").unwrap();
    let crm = crm_core::Crm::builder()
        .store(h.store.clone())
        .employees(h.employees.clone())
        .clients(h.clients.clone())
        .notifier(h.notifier.clone())
        .clock(h.clock.clone())
        .system_actor(scheduler.clone())
        .build()
        .unwrap();
    assert!(matches!(
        crm.sweep(stranger, now).await,
        Err(CrmError::SystemForbidden { .. })
    ));
    let r = crm.sweep(scheduler.clone(), now).await.unwrap();
    assert_eq!(r.notified, vec![lead.id()]);
    let r = crm.dispatch_pending(scheduler).await.unwrap();
    assert_eq!(r.created.len(), 1);
    // Management acknowledges.
    assert!(h.crm.ack_events(manager(), u64::MAX).await.unwrap() > 0);
}

/// Only management manages employees; the first employee of an empty directory is an
/// active manager added with no one acting, and only while the directory is empty.
pub async fn employees_are_managed_by_management(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let admin = Arc::new(crm_store_memory::MemoryEmployees::default());
    let crm = crm_core::Crm::builder()
        .store(h.store.clone())
        .employee_admin(admin.clone())
        .clients(h.clients.clone())
        .clock(h.clock.clone())
        .build()
        .unwrap();
    let emp = |id: i64, role| {
        crm_core::Employee::new(EmployeeId::new(id).unwrap(), name(&format!("E{id}")), role)
    };
    // The first one must be an active manager.
    assert!(matches!(
        crm.bootstrap_manager(emp(1, crm_core::Role::Sales)).await,
        Err(CrmError::Validation(
            ValidationError::FirstEmployeeNotManager
        ))
    ));
    let boss = crm
        .bootstrap_manager(emp(1, crm_core::Role::Manager))
        .await
        .unwrap();
    // Once anyone exists, nobody bootstraps again.
    assert!(matches!(
        crm.bootstrap_manager(emp(2, crm_core::Role::Manager)).await,
        Err(CrmError::AlreadyBootstrapped)
    ));
    // The only active manager may not demote or deactivate themselves: nobody could manage
    // employees after that.
    let mut demoted = boss.clone();
    demoted.role = crm_core::Role::Sales;
    let mut retired = boss.clone();
    retired.active = false;
    for e in [demoted.clone(), retired] {
        assert!(matches!(
            crm.save_employee(boss.id, e).await,
            Err(CrmError::Validation(ValidationError::LastManager))
        ));
    }
    crm.save_employee(boss.id, emp(2, crm_core::Role::Sales))
        .await
        .unwrap();
    crm.save_employee(boss.id, emp(3, crm_core::Role::Other))
        .await
        .unwrap();
    // Sales staff and others may not add anyone, least of all a manager.
    for actor in [2, 3] {
        let r = crm
            .save_employee(
                EmployeeId::new(actor).unwrap(),
                emp(99, crm_core::Role::Manager),
            )
            .await;
        assert!(matches!(r, Err(CrmError::Forbidden { .. })), "{r:?}");
    }
    assert!(matches!(
        crm.save_employee(
            EmployeeId::new(77).unwrap(),
            emp(99, crm_core::Role::Manager)
        )
        .await,
        Err(CrmError::UnknownActor(_))
    ));
    // With a second manager, the first may step down.
    crm.save_employee(boss.id, emp(6, crm_core::Role::Manager))
        .await
        .unwrap();
    crm.save_employee(boss.id, demoted).await.unwrap();
    assert!(matches!(
        crm.save_employee(boss.id, emp(7, crm_core::Role::Sales))
            .await,
        Err(CrmError::Forbidden { .. })
    ));
    crm.save_employee(EmployeeId::new(6).unwrap(), emp(7, crm_core::Role::Sales))
        .await
        .unwrap();
    let ids: Vec<i64> = crm
        .employees(EmployeeId::new(3).unwrap())
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.get())
        .collect();
    assert_eq!(ids, [1, 2, 3, 6, 7]);
}

/// A sweep that crashed between claiming notices and sending them loses none: once the
/// claim runs out, the next sweep sends them again, under the same notice ids. Until then
/// no other sweep takes them.
pub async fn follow_up_survives_a_crash_after_claiming(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = h.create(sales(), "A", Some("a@example.com"), None).await;
    h.advance(TimeDelta::minutes(1));
    let b = h.create(sales2(), "B", Some("b@example.com"), None).await;
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    // A sweep claims both, then dies before sending anything.
    let claimed = h
        .store
        .claim_follow_ups(&crm_core::FollowUpClaim {
            cutoff: now - TimeDelta::days(5),
            at: now,
            now,
            lease_until: now + TimeDelta::minutes(5),
            limit: 10,
            escalation_cutoff: None,
        })
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.lead_id).collect::<Vec<_>>(),
        vec![a.id(), b.id()]
    );
    assert_eq!((claimed[0].owner, claimed[1].owner), (sales(), sales2()));
    for l in [&a, &b] {
        let l = h.crm.lead(sales(), l.id()).await.unwrap();
        assert_eq!(l.follow_up_notified_at(), Some(now));
    }
    // While the claim holds, another sweep sends nothing.
    let r = h.sweep_at(now + TimeDelta::minutes(4)).await.unwrap();
    assert!(r.notified.is_empty() && r.failed.is_empty());
    // Once it ran out, the next sweep sends both, with the ids a notifier deduplicates on.
    let r = h.sweep_at(now + TimeDelta::minutes(5)).await.unwrap();
    let mut ids = claimed.iter().map(|n| n.id).collect::<Vec<_>>();
    ids.sort();
    let mut sent = r.notices.clone();
    sent.sort();
    assert_eq!(sent, ids);
    let delivered = h.notifier.sent.lock().unwrap().clone();
    let mut again: Vec<_> = delivered.iter().map(|n| (n.id, n.lead_id)).collect();
    again.sort();
    let mut want: Vec<_> = claimed.iter().map(|n| (n.id, n.lead_id)).collect();
    want.sort();
    assert_eq!(again, want);
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());
    // And never again.
    let r = h.sweep_at(now + TimeDelta::days(1)).await.unwrap();
    assert!(r.notified.is_empty());
}

/// Claims split the work: two claims of follow-ups or of pending clients never return the
/// same record, and a dispatch reports as created only what it recorded itself.
pub async fn claims_split_the_work(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    for n in 0..6 {
        h.create(
            sales(),
            &format!("L{n}"),
            Some(&format!("l{n}@example.com")),
            None,
        )
        .await;
        h.advance(TimeDelta::seconds(1));
    }
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    let claim = crm_core::FollowUpClaim {
        cutoff: now - TimeDelta::days(5),
        at: now,
        now,
        lease_until: now + TimeDelta::minutes(5),
        limit: 4,
        escalation_cutoff: None,
    };
    let first = h.store.claim_follow_ups(&claim).await.unwrap();
    let second = h.store.claim_follow_ups(&claim).await.unwrap();
    assert_eq!((first.len(), second.len()), (4, 2));
    let leads: std::collections::HashSet<_> =
        first.iter().chain(&second).map(|n| n.lead_id).collect();
    assert_eq!(leads.len(), 6, "no lead claimed twice");
    assert!(h.store.claim_follow_ups(&claim).await.unwrap().is_empty());

    // Pending clients: converted while the clients system is down.
    h.clients.fail(true);
    let mut converted = vec![];
    for n in 0..3 {
        let l = h.lead_in(LeadStatus::Interested, 100 + n).await;
        h.crm
            .change_status(sales(), l.id(), l.version(), LeadStatus::Converted, None)
            .await
            .unwrap();
        converted.push(l.id());
    }
    h.clients.fail(false);
    let now = h.clock.now();
    let until = now + TimeDelta::minutes(5);
    let a = h.store.claim_pending_clients(now, until, 2).await.unwrap();
    let b = h.store.claim_pending_clients(now, until, 2).await.unwrap();
    assert_eq!((a.len(), b.len()), (2, 1));
    assert_eq!(
        a.iter()
            .chain(&b)
            .map(|p| p.request.lead_id)
            .collect::<Vec<_>>(),
        converted,
        "oldest conversion first, each once"
    );
    assert!(a.iter().all(|p| p.claimed_until == Some(until)));
    // While others hold them, a dispatch has nothing to do and reports nothing.
    let calls = h.clients.calls.load(std::sync::atomic::Ordering::SeqCst);
    let r = h.crm.dispatch_pending(manager()).await.unwrap();
    assert!(r.created.is_empty() && r.failed.is_empty());
    assert_eq!(
        h.clients.calls.load(std::sync::atomic::Ordering::SeqCst),
        calls
    );
    // A release with someone else's claim changes nothing; with its own, frees the record.
    h.store
        .release_pending_client(b[0].request.lead_id, until - TimeDelta::seconds(1))
        .await
        .unwrap();
    let r = h.crm.dispatch_pending(manager()).await.unwrap();
    assert!(r.created.is_empty(), "still claimed by its holder");
    h.store
        .release_pending_client(b[0].request.lead_id, until)
        .await
        .unwrap();
    let r = h.crm.dispatch_pending(manager()).await.unwrap();
    assert_eq!(
        r.created.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![b[0].request.lead_id]
    );
    h.clock.set(until);
    let r = h.crm.dispatch_pending(manager()).await.unwrap();
    assert_eq!(r.created.len(), 2);
    assert!(h.store.pending_clients(10).await.unwrap().is_empty());
    // Completing a conversion nobody left pending is not a creation.
    let event = crm_core::NewEvent::new(
        converted[0],
        None,
        now,
        EventKind::LeadConverted {
            client_id: crm_core::ClientId::parse("client-x").unwrap(),
        },
    );
    assert!(
        !h.store
            .complete_conversion(
                converted[0],
                &crm_core::ClientId::parse("client-x").unwrap(),
                &event
            )
            .await
            .unwrap()
    );
}

/// Search reads Persian-keyboard letters as Arabic ones and folds the hamza seats; sources
/// may be Arabic words.
pub async fn search_folds_persian_letters_and_sources_may_be_arabic(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let source = Source::parse("معرض").unwrap();
    let ali = h
        .crm
        .create_lead(
            sales(),
            new_lead("علی کریمی", Some("ali@example.com"), None).company(name("مکتب المؤسسة")),
        )
        .await
        .unwrap();
    let mut fair = new_lead("سارة", Some("sara@example.com"), None);
    fair.source = source.clone();
    let sara = h.crm.create_lead(sales(), fair).await.unwrap();
    let found = |q: &str| {
        let q = LeadQuery::default().search(q);
        let h = &h;
        async move {
            h.crm
                .list_leads(sales(), &q)
                .await
                .unwrap()
                .items
                .iter()
                .map(|l| l.id())
                .collect::<Vec<_>>()
        }
    };
    for q in ["علي", "كريمي", "علی", "مكتب", "موسسه", "المؤسسة"] {
        assert_eq!(found(q).await, vec![ali.id()], "{q}");
    }
    let by_source = h
        .crm
        .list_leads(
            sales(),
            &LeadQuery::default().source(Source::parse("معرض").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(by_source.items, vec![sara.clone()]);
    let report = h
        .crm
        .report(sales(), &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!(report.count(LeadStatus::New, &source), 1);
    assert_eq!(
        h.crm.lead(sales(), sara.id()).await.unwrap().source(),
        &source
    );
}

/// The store's duplicate check is the rule of `crm_core::duplicates`: for every write, the
/// store names the lead `find_duplicate` names over every lead, or none when it finds none.
pub async fn duplicate_check_matches_the_reference(store: Arc<dyn LeadStore>) {
    use crm_core::duplicates::find_duplicate;
    let h = Harness::new(store);
    let emails = ["a@x.com", "b@x.com", "c@x.com"];
    let phones = ["+15550000001", "+15550000002"];
    let mut all = vec![];
    let mut n = 0;
    for (i, status) in [
        LeadStatus::New,
        LeadStatus::Lost,
        LeadStatus::Contacted,
        LeadStatus::Converted,
        LeadStatus::Interested,
        LeadStatus::New,
    ]
    .into_iter()
    .enumerate()
    {
        let mut input =
            new_lead(&format!("D{i}"), Some(emails[i % 3]), Some(phones[i % 2])).allow_duplicate();
        input.company = None;
        h.advance(TimeDelta::seconds(1));
        let lead = h.crm.create_lead(sales(), input).await.unwrap();
        let path: &[LeadStatus] = match status {
            LeadStatus::Lost => &[LeadStatus::Lost],
            LeadStatus::Contacted => &[LeadStatus::Contacted],
            LeadStatus::Converted => &[LeadStatus::Contacted, LeadStatus::Converted],
            LeadStatus::Interested => &[LeadStatus::Interested],
            _ => &[],
        };
        let mut v = lead.version();
        for to in path {
            let reason = (*to == LeadStatus::Lost).then(|| reason("no"));
            v = h
                .crm
                .change_status(manager(), lead.id(), v, *to, reason)
                .await
                .unwrap()
                .lead
                .version();
        }
        all.push(lead.id());
    }
    let mut leads = vec![];
    for id in &all {
        leads.push(h.crm.lead(sales(), *id).await.unwrap());
    }
    for (email, phone) in [
        (Some("a@x.com"), None),
        (Some("b@x.com"), Some("+15550000002")),
        (Some("c@x.com"), Some("+15550000001")),
        (None, Some("+15550000001")),
        (Some("z@x.com"), Some("+15550000002")),
        (Some("z@x.com"), Some("+15559999999")),
    ] {
        h.advance(TimeDelta::seconds(1));
        n += 1;
        let input = new_lead(&format!("Probe {n}"), email, phone);
        let candidate = crm_core::Lead::create(
            crm_core::LeadId::new_at(t0()),
            input.clone(),
            sales(),
            sales(),
            h.clock.now(),
        )
        .unwrap();
        let want = find_duplicate(&candidate, leads.iter());
        let got = h.crm.create_lead(sales(), input).await;
        match (want, got) {
            (
                Some(d),
                Err(CrmError::Duplicate {
                    existing, field, ..
                }),
            ) => {
                assert_eq!(
                    (existing, field),
                    (Some(d.existing), d.field),
                    "{email:?} {phone:?}"
                );
            }
            (None, Ok(lead)) => leads.push(lead),
            (want, got) => panic!("{email:?} {phone:?}: reference {want:?}, store {got:?}"),
        }
    }
}

/// A reason is taken only when a lead is marked lost: on any other move it would be silently
/// dropped, so it is refused and nothing changes.
pub async fn a_reason_goes_only_with_lost(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.create(sales(), "R", Some("r@example.com"), None).await;
    let before = snapshot(&h).await;
    let r = h
        .crm
        .change_status(
            sales(),
            lead.id(),
            1,
            LeadStatus::Contacted,
            Some(reason("why")),
        )
        .await;
    assert!(
        matches!(
            r,
            Err(CrmError::Validation(ValidationError::ReasonWithoutLost))
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(&h).await, before);
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
            matches!(&r, Err(CrmError::Duplicate { existing, field: ContactField::Phone, .. }) if *existing == Some(first.id())),
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
        matches!(&r, Err(CrmError::Duplicate { existing, field: ContactField::Phone, .. }) if *existing == Some(office.id())),
        "{r:?}"
    );
    h.crm
        .create_lead(sales2(), with_ext("Next Desk", "302-765-4235x117"))
        .await
        .unwrap();
}

/// A search that reads as a phone number finds the leads with that number however each was
/// typed, as the duplicate check does: local forms with spaces or dashes (read in the
/// region given), `+966` with spaces, `00966`, Arabic-Indic digits. Text still finds what it
/// found, and a partial number stays a text search.
pub async fn a_number_in_any_spelling_finds_its_leads(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let local = h
        .crm
        .create_lead(sales(), new_lead("Local", None, Some("0501234567")))
        .await
        .unwrap();
    h.advance(TimeDelta::minutes(1));
    let intl = h
        .crm
        .create_lead(
            sales2(),
            new_lead("Intl", None, Some("+966501234567")).allow_duplicate(),
        )
        .await
        .unwrap();
    h.advance(TimeDelta::minutes(1));
    let other_number = h
        .crm
        .create_lead(sales(), new_lead("Other", None, Some("0551234567")))
        .await
        .unwrap();
    let sa = Some(crate::harness::region());
    let found = |q: LeadQuery| {
        let crm = &h.crm;
        async move {
            let mut ids: Vec<_> = crm
                .list_leads(other(), &q)
                .await
                .unwrap()
                .items
                .iter()
                .map(|l| l.id())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![local.id(), intl.id()];
    both.sort();
    for typed in [
        "+966 50 123 4567",
        "050 123 4567",
        "050-123-4567",
        "00966501234567",
        "0501234567",
        "+966501234567",
        "٠٥٠ ١٢٣ ٤٥٦٧",
    ] {
        assert_eq!(
            found(LeadQuery::default().search_in(typed, sa)).await,
            both,
            "search {typed}"
        );
    }
    // International forms need no region.
    assert_eq!(
        found(LeadQuery::default().search("+966 50 123 4567")).await,
        both
    );
    // With the other filters and a page of one, both still come, one page each.
    let q = LeadQuery::default()
        .search_in("050-123-4567", sa)
        .owner(sales2());
    assert_eq!(found(q).await, vec![intl.id()]);
    let page = h
        .crm
        .list_leads(
            other(),
            &LeadQuery::default()
                .search_in("050-123-4567", sa)
                .limit(1)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next.is_some());
    // Text and partial numbers are searched as text.
    assert_eq!(
        found(LeadQuery::default().search_in("Other", sa)).await,
        vec![other_number.id()]
    );
    assert_eq!(
        found(LeadQuery::default().search_in("1234567", sa))
            .await
            .len(),
        3
    );
}

/// A sweep claims a batch at a time; a notice the notifier refused stays claimed until the
/// sweep ends, so the sweep moves on to the next batches and reaches every due lead, and the
/// next sweep retries the refused ones. A dispatch does the same with failing clients.
pub async fn sweeps_and_dispatches_move_past_failures_batch_by_batch(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let crm = h.crm_with(|b| b.claim_batch(2));
    let mut leads = vec![];
    for n in 0..5 {
        leads.push(
            h.create(
                sales(),
                &format!("N{n}"),
                Some(&format!("n{n}@example.com")),
                None,
            )
            .await,
        );
        h.advance(TimeDelta::seconds(1));
    }
    h.notifier
        .fail_for
        .lock()
        .unwrap()
        .extend([leads[1].id(), leads[2].id()]);
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    let r = crm.sweep(manager(), now).await.unwrap();
    assert_eq!(
        r.notified,
        vec![leads[0].id(), leads[3].id(), leads[4].id()]
    );
    assert_eq!(
        r.failed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![leads[1].id(), leads[2].id()]
    );
    h.notifier.fail_for.lock().unwrap().clear();
    let mut r = crm.sweep(manager(), now).await.unwrap().notified;
    r.sort();
    let mut want = vec![leads[1].id(), leads[2].id()];
    want.sort();
    assert_eq!(r, want);
    assert!(crm.sweep(manager(), now).await.unwrap().notified.is_empty());

    // Five conversions while the clients system is down, dispatched two at a time.
    h.clients.fail(true);
    let mut converted = vec![];
    for n in 0..5 {
        let l = h.lead_in(LeadStatus::Interested, 200 + n).await;
        h.crm
            .change_status(sales(), l.id(), l.version(), LeadStatus::Converted, None)
            .await
            .unwrap();
        converted.push(l.id());
    }
    let calls = || h.clients.calls.load(std::sync::atomic::Ordering::SeqCst);
    let before = calls();
    let r = crm.dispatch_pending(manager()).await.unwrap();
    assert_eq!(r.failed.len(), 5, "every record tried once, none skipped");
    assert_eq!(calls() - before, 5, "and none twice");
    h.clients.fail(false);
    let r = crm.dispatch_pending(manager()).await.unwrap();
    assert_eq!(
        r.created.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        converted
    );
    assert!(h.store.pending_clients(10).await.unwrap().is_empty());
}

/// A notice taken over from a sweep that crashed follows its lead as it is now: dropped when
/// someone followed the lead up meanwhile, sent to the new owner when it was reassigned.
pub async fn taken_over_notices_follow_their_lead(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let called = h
        .create(sales(), "Called", Some("called@example.com"), None)
        .await;
    h.advance(TimeDelta::seconds(1));
    let moved = h
        .create(sales(), "Moved", Some("moved@example.com"), None)
        .await;
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    let lease_until = now + TimeDelta::minutes(5);
    let claimed = h
        .store
        .claim_follow_ups(&crm_core::FollowUpClaim {
            cutoff: now - TimeDelta::days(5),
            at: now,
            now,
            lease_until,
            limit: 10,
            escalation_cutoff: None,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    // The crashed sweep's claim cannot be released by a caller that does not hold it.
    h.store
        .release_follow_up(claimed[0].id, now, None, now)
        .await
        .unwrap();
    let r = h.sweep_at(now + TimeDelta::minutes(1)).await.unwrap();
    assert!(r.notified.is_empty(), "still claimed");
    // Meanwhile: one lead is called, the other handed to a colleague.
    h.crm
        .log_interaction(
            sales(),
            called.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    h.crm
        .assign_lead(manager(), moved.id(), moved.version(), sales2())
        .await
        .unwrap();
    let r = h.sweep_at(lease_until).await.unwrap();
    assert_eq!(r.notified, vec![moved.id()]);
    let sent = h.notifier.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].owner, sales2(), "to the lead's owner now");
    let original = claimed.iter().find(|n| n.lead_id == moved.id()).unwrap();
    assert_eq!(
        sent[0].id, original.id,
        "under the id a notifier deduplicates on"
    );
    assert!(
        h.store.undelivered_follow_ups(10).await.unwrap().is_empty(),
        "the moot notice left the outbox"
    );
}
