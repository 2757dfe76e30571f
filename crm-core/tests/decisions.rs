//! The decisions, tested directly: given a lead (plain data), when an actor asks for a change
//! at a time, then the decision is this write or this refusal. No runtime, no store.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use crm_core::counting::Counting;
use crm_core::decide::{
    decide_add_opportunity, decide_assign, decide_create, decide_edit, decide_interaction,
    decide_opportunity_update, decide_status_change,
};
use crm_core::duplicates::{DuplicateOf, find_duplicate};
use crm_core::permissions::authorize_system;
use crm_core::{
    Action, AssigneeProblem, Change, ContactField, CrmError, Currency, Email, Employee, EmployeeId,
    EventKind, InteractionKind, Lead, LeadId, LeadPatch, LeadRecord, LeadStatus, LeadWrite, Money,
    Name, NewInteraction, NewLead, NewOpportunity, Opportunity, OpportunityId, OpportunityPatch,
    OpportunityStage, Role, Source, ValidationError,
};
use crm_core::{LostReason, LostReasonCode, LostReasons};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-04T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn emp(id: i64, role: Role, active: bool) -> Employee {
    Employee {
        active,
        ..Employee::new(
            EmployeeId::new(id).unwrap(),
            Name::parse(&format!("E{id}")).unwrap(),
            role,
        )
    }
}

fn sales() -> Employee {
    emp(1, Role::Sales, true)
}
fn sales2() -> Employee {
    emp(2, Role::Sales, true)
}
fn manager() -> Employee {
    emp(3, Role::Manager, true)
}
fn other() -> Employee {
    emp(4, Role::Other, true)
}
fn inactive() -> Employee {
    emp(5, Role::Sales, false)
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn code(s: &str) -> LostReasonCode {
    LostReasonCode::parse(s).unwrap()
}

/// A lead of `sales()` in `status`, at version 3, as a store would hand it back.
fn lead_in(status: LeadStatus) -> Lead {
    Lead::from_record(LeadRecord {
        id: LeadId::new_at(t0()),
        name: name("Layla"),
        email: Some(Email::parse("layla@example.com").unwrap()),
        phone: None,
        company: None,
        source: Source::web(),
        status,
        owner: sales().id,
        created_by: sales().id,
        created_at: t0(),
        updated_at: t0(),
        version: 3,
        client_id: None,
        lost_reason: (status == LeadStatus::Lost).then(|| name("no budget")),
        lost_reason_code: (status == LeadStatus::Lost).then(|| code("no-budget")),
        last_interaction_at: None,
        follow_up_notified_at: None,
        next_follow_up_at: None,
        follow_up_reminded_for: None,
        owner_notified_at: None,
        escalated_for: None,
        merged_into: None,
        counted_as: None,
        campaign: None,
    })
    .unwrap()
}

/// The given state: a lead.
struct Given(Lead);

fn given(status: LeadStatus) -> Given {
    Given(lead_in(status))
}

/// The decision's outcome.
struct Then(Result<LeadWrite, CrmError>);

impl Given {
    fn when_moved(&self, by: &Employee, to: LeadStatus, reason: Option<&str>) -> Then {
        self.when_moved_at(by, 3, to, reason)
    }

    fn when_moved_at(
        &self,
        by: &Employee,
        version: u64,
        to: LeadStatus,
        reason: Option<&str>,
    ) -> Then {
        let now = t0() + TimeDelta::hours(1);
        Then(decide_status_change(
            &self.0,
            by,
            version,
            to,
            reason.map(|c| LostReason::new(code(c))),
            &LostReasons::default(),
            now,
            now + TimeDelta::minutes(5),
            &Counting::default(),
        ))
    }

    fn when_edited(&self, by: &Employee, patch: LeadPatch) -> Then {
        Then(decide_edit(
            &self.0,
            by,
            3,
            &patch,
            t0() + TimeDelta::hours(1),
        ))
    }

    fn when_assigned(&self, by: &Employee, to: Option<&Employee>, id: i64) -> Then {
        Then(decide_assign(
            &self.0,
            by,
            3,
            EmployeeId::new(id).unwrap(),
            to,
            t0() + TimeDelta::hours(1),
        ))
    }
}

impl Then {
    #[track_caller]
    fn then_refused(self, what: impl Fn(&CrmError) -> bool) {
        match self.0 {
            Err(e) if what(&e) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[track_caller]
    fn then_writes(self) -> LeadWrite {
        self.0
            .unwrap_or_else(|e| panic!("expected a write, got {e}"))
    }
}

#[test]
fn a_move_in_the_table_writes_the_lead_its_history_and_its_event() {
    let w = given(LeadStatus::New)
        .when_moved(&sales(), LeadStatus::Contacted, None)
        .then_writes();
    assert_eq!(w.lead.status(), LeadStatus::Contacted);
    assert_eq!(w.lead.version(), 4);
    assert_eq!(w.history.len(), 1);
    assert_eq!(w.history[0].version, 4);
    assert_eq!(w.history[0].actor, sales().id);
    assert!(matches!(
        w.history[0].change,
        Change::StatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            ..
        }
    ));
    assert_eq!(w.events.len(), 1);
    assert_eq!(
        w.events[0].kind,
        EventKind::StatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted
        }
    );
    assert!(w.pending_client.is_none() && !w.check_duplicates);
}

#[test]
fn converting_writes_the_pending_client_claimed_by_the_caller() {
    let w = given(LeadStatus::Interested)
        .when_moved(&sales2(), LeadStatus::Converted, None)
        .then_writes();
    let p = w.pending_client.expect("a pending client");
    assert_eq!(p.request.lead_id, w.lead.id());
    assert_eq!(p.request.owner, sales().id);
    assert_eq!(
        p.claimed_until,
        Some(t0() + TimeDelta::hours(1) + TimeDelta::minutes(5))
    );
    assert_eq!(p.attempts, 0);
}

#[test]
fn a_move_outside_the_table_is_refused_naming_the_allowed_ones() {
    given(LeadStatus::New)
        .when_moved(&manager(), LeadStatus::Converted, None)
        .then_refused(|e| {
            matches!(e, CrmError::InvalidTransition { from: LeadStatus::New, to: LeadStatus::Converted, allowed }
                if allowed == &LeadStatus::New.allowed_targets())
        });
}

#[test]
fn a_converted_lead_refuses_every_move_as_read_only() {
    let g = given(LeadStatus::Converted);
    for to in LeadStatus::ALL {
        g.when_moved(&manager(), to, None)
            .then_refused(|e| matches!(e, CrmError::ReadOnly(_)));
    }
}

#[test]
fn reopening_is_management_s() {
    let g = given(LeadStatus::Lost);
    g.when_moved(&sales(), LeadStatus::New, None)
        .then_refused(|e| {
            matches!(
                e,
                CrmError::Forbidden {
                    action: Action::ReopenLead,
                    ..
                }
            )
        });
    let w = g
        .when_moved(&manager(), LeadStatus::New, None)
        .then_writes();
    assert_eq!(w.lead.lost_reason(), None);
}

#[test]
fn only_sales_and_management_move_leads() {
    for who in [other(), inactive()] {
        given(LeadStatus::New)
            .when_moved(&who, LeadStatus::Contacted, None)
            .then_refused(|e| matches!(e, CrmError::Forbidden { .. }));
    }
}

#[test]
fn a_stale_version_is_a_conflict() {
    given(LeadStatus::New)
        .when_moved_at(&sales(), 2, LeadStatus::Contacted, None)
        .then_refused(|e| matches!(e, CrmError::Conflict { expected: 2, .. }));
}

#[test]
fn lost_takes_a_reason_and_only_lost_does() {
    let g = given(LeadStatus::Contacted);
    g.when_moved(&sales(), LeadStatus::Lost, None)
        .then_refused(|e| matches!(e, CrmError::Validation(ValidationError::LostReasonRequired)));
    g.when_moved(&sales(), LeadStatus::Interested, Some("why"))
        .then_refused(|e| matches!(e, CrmError::Validation(ValidationError::ReasonWithoutLost)));
    let w = g
        .when_moved(&sales(), LeadStatus::Lost, Some("price"))
        .then_writes();
    assert_eq!(w.lead.lost_reason_code(), Some(&code("price")));
    assert_eq!(w.lead.lost_reason(), None);
}

#[test]
fn lost_reasons_come_from_the_hosts_list() {
    let g = given(LeadStatus::Contacted);
    g.when_moved(&sales(), LeadStatus::Lost, Some("weather"))
        .then_refused(|e| {
            matches!(e, CrmError::Validation(ValidationError::UnknownLostReason { code, .. }) if code == "weather")
        });
    let only_price = LostReasons::parse("price").unwrap();
    let now = t0() + TimeDelta::hours(1);
    let r = decide_status_change(
        &g.0,
        &sales(),
        3,
        LeadStatus::Lost,
        Some(LostReason::new(code("competitor"))),
        &only_price,
        now,
        now,
        &Counting::default(),
    );
    assert!(matches!(
        r,
        Err(CrmError::Validation(
            ValidationError::UnknownLostReason { .. }
        ))
    ));
}

#[test]
fn creating_checks_the_actor_the_owner_and_asks_for_the_duplicate_check() {
    let input = || {
        NewLead::new(name("Omar"), Source::referral())
            .email(Email::parse("omar@example.com").unwrap())
    };
    let w = decide_create(&sales(), Some(&sales()), input(), t0()).unwrap();
    assert_eq!((w.lead.status(), w.lead.version()), (LeadStatus::New, 1));
    assert_eq!(w.lead.owner(), sales().id);
    assert!(w.check_duplicates);
    assert!(matches!(w.history[0].change, Change::Created { .. }));
    assert!(matches!(w.events[0].kind, EventKind::LeadCreated { .. }));
    let w = decide_create(&sales(), Some(&sales()), input().allow_duplicate(), t0()).unwrap();
    assert!(!w.check_duplicates);

    assert!(matches!(
        decide_create(&other(), Some(&other()), input(), t0()),
        Err(CrmError::Forbidden {
            action: Action::CreateLead,
            ..
        })
    ));
    for (owner, problem) in [
        (None, AssigneeProblem::Unknown),
        (Some(inactive()), AssigneeProblem::Inactive),
        (Some(other()), AssigneeProblem::NotSales),
    ] {
        let r = decide_create(
            &manager(),
            owner.as_ref(),
            input().owner(EmployeeId::new(9).unwrap()),
            t0(),
        );
        assert!(
            matches!(r, Err(CrmError::InvalidAssignee { problem: p, .. }) if p == problem),
            "{r:?}"
        );
    }
}

#[test]
fn an_edit_asks_for_the_duplicate_check_only_when_contact_data_changes() {
    let g = given(LeadStatus::Contacted);
    let w = g
        .when_edited(
            &sales2(),
            LeadPatch {
                email: Some(Some(Email::parse("new@example.com").unwrap())),
                ..Default::default()
            },
        )
        .then_writes();
    assert!(w.check_duplicates);
    assert_eq!(
        w.events[0].kind,
        EventKind::LeadEdited {
            fields: vec![crm_core::LeadField::Email]
        }
    );
    let w = g
        .when_edited(
            &sales2(),
            LeadPatch {
                name: Some(name("Layla K")),
                ..Default::default()
            },
        )
        .then_writes();
    assert!(!w.check_duplicates);
    g.when_edited(
        &sales2(),
        LeadPatch {
            name: Some(name("Layla")),
            ..Default::default()
        },
    )
    .then_refused(|e| matches!(e, CrmError::Validation(ValidationError::NothingToChange)));
    given(LeadStatus::Converted)
        .when_edited(
            &manager(),
            LeadPatch {
                name: Some(name("X")),
                ..Default::default()
            },
        )
        .then_refused(|e| matches!(e, CrmError::ReadOnly(_)));
}

#[test]
fn sales_hand_over_their_own_leads_only_to_someone_who_can_own_them() {
    let g = given(LeadStatus::New);
    let w = g.when_assigned(&sales(), Some(&sales2()), 2).then_writes();
    assert_eq!(w.lead.owner(), sales2().id);
    assert_eq!(
        w.events[0].kind,
        EventKind::LeadAssigned {
            from: sales().id,
            to: sales2().id
        }
    );
    g.when_assigned(&sales2(), Some(&sales2()), 2)
        .then_refused(|e| {
            matches!(
                e,
                CrmError::Forbidden {
                    action: Action::ReassignLead,
                    ..
                }
            )
        });
    g.when_assigned(&manager(), Some(&inactive()), 5)
        .then_refused(|e| {
            matches!(
                e,
                CrmError::InvalidAssignee {
                    problem: AssigneeProblem::Inactive,
                    ..
                }
            )
        });
    g.when_assigned(&manager(), None, 77).then_refused(|e| {
        matches!(
            e,
            CrmError::InvalidAssignee {
                problem: AssigneeProblem::Unknown,
                ..
            }
        )
    });
}

#[test]
fn an_interaction_may_not_lie_in_the_future_nor_touch_a_converted_lead() {
    let now = t0() + TimeDelta::hours(1);
    let (i, e) = decide_interaction(
        &lead_in(LeadStatus::New),
        &sales2(),
        NewInteraction::new(InteractionKind::Call),
        now,
    )
    .unwrap();
    assert_eq!((i.occurred_at, i.logged_by), (now, sales2().id));
    assert!(matches!(e.kind, EventKind::InteractionLogged { .. }));
    let future = NewInteraction::new(InteractionKind::Call).at(now + TimeDelta::seconds(1));
    assert!(matches!(
        decide_interaction(&lead_in(LeadStatus::New), &sales(), future, now),
        Err(CrmError::Validation(ValidationError::InFuture { .. }))
    ));
    assert!(matches!(
        decide_interaction(
            &lead_in(LeadStatus::Converted),
            &sales(),
            NewInteraction::new(InteractionKind::Call),
            now
        ),
        Err(CrmError::ReadOnly(_))
    ));
}

fn opportunity_of(lead: &Lead) -> Opportunity {
    decide_add_opportunity(
        &lead_in(LeadStatus::Interested),
        &sales(),
        NewOpportunity {
            title: name("ERP"),
            value: Money::from_minor(1_250_500, Currency::parse("KWD").unwrap()).unwrap(),
            expected_close: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            probability: None,
        },
        t0(),
    )
    .map(|(mut o, _)| {
        o.lead_id = lead.id();
        o.id = OpportunityId::new_at(t0());
        o
    })
    .unwrap()
}

#[test]
fn a_converted_lead_s_opportunity_may_still_be_won_or_lost_and_nothing_else() {
    let lead = lead_in(LeadStatus::Converted);
    let o = opportunity_of(&lead);
    let stage = |s| OpportunityPatch {
        stage: Some(s),
        ..Default::default()
    };
    let w = decide_opportunity_update(&lead, &o, &sales(), 1, &stage(OpportunityStage::Won), t0())
        .unwrap();
    assert_eq!(
        (w.opportunity.stage, w.opportunity.version),
        (OpportunityStage::Won, 2)
    );
    assert!(
        !w.lead_must_be_open,
        "a stage change may land on a converted lead"
    );
    let value = OpportunityPatch {
        value: Some(Money::from_minor(1, Currency::parse("KWD").unwrap()).unwrap()),
        stage: Some(OpportunityStage::Won),
        ..Default::default()
    };
    assert!(matches!(
        decide_opportunity_update(&lead, &o, &manager(), 1, &value, t0()),
        Err(CrmError::ReadOnly(_))
    ));
    assert!(matches!(
        decide_opportunity_update(&lead, &o, &other(), 1, &stage(OpportunityStage::Lost), t0()),
        Err(CrmError::Forbidden { .. })
    ));
    assert!(matches!(
        decide_opportunity_update(&lead, &o, &sales(), 7, &stage(OpportunityStage::Lost), t0()),
        Err(CrmError::Conflict { expected: 7, .. })
    ));
    // On an open lead any change needs the lead still open when it is stored.
    let open = lead_in(LeadStatus::Contacted);
    let o = opportunity_of(&open);
    let w = decide_opportunity_update(&open, &o, &sales(), 1, &value, t0()).unwrap();
    assert!(w.lead_must_be_open);
}

#[test]
fn system_actors_may_sweep_and_dispatch_only_when_named() {
    assert_eq!(authorize_system(Action::RunSweep, true), Ok(()));
    assert_eq!(authorize_system(Action::DispatchClients, true), Ok(()));
    for a in Action::ALL {
        assert!(authorize_system(a, false).is_err(), "{a}");
    }
    for a in [
        Action::AcknowledgeEvents,
        Action::ManageEmployees,
        Action::CreateLead,
        Action::ReopenLead,
    ] {
        assert!(authorize_system(a, true).is_err(), "{a}");
    }
}

#[test]
fn the_duplicate_is_the_oldest_open_lead_by_email_then_by_phone() {
    let at = |secs: i64, status: LeadStatus, email: &str, phone: Option<&str>| {
        let mut r = lead_in(status).record().clone();
        r.id = LeadId::new_at(t0() + TimeDelta::seconds(secs));
        r.created_at = t0() + TimeDelta::seconds(secs);
        r.updated_at = r.created_at;
        r.email = Some(Email::parse(email).unwrap());
        r.phone = phone.map(|p| crm_core::Phone::parse(p).unwrap());
        Lead::from_record(r).unwrap()
    };
    let old_lost = at(1, LeadStatus::Lost, "a@x.com", Some("+15550000001"));
    let older_phone = at(2, LeadStatus::New, "b@x.com", Some("+15550000001"));
    let newer_email = at(3, LeadStatus::Contacted, "a@x.com", None);
    let newest_email = at(4, LeadStatus::New, "a@x.com", None);
    let others = [&old_lost, &older_phone, &newer_email, &newest_email];
    let candidate = at(9, LeadStatus::New, "a@x.com", Some("+15550000001"));
    assert_eq!(
        find_duplicate(&candidate, others.iter().copied()),
        Some(DuplicateOf {
            existing: newer_email.id(),
            field: ContactField::Email
        }),
        "closed leads never block; the email is looked for first"
    );
    let by_phone = at(9, LeadStatus::New, "z@x.com", Some("+15550000001"));
    assert_eq!(
        find_duplicate(&by_phone, others.iter().copied()).map(|d| d.existing),
        Some(older_phone.id())
    );
    // A lead is never its own duplicate.
    assert_eq!(find_duplicate(&newest_email, [&newest_email]), None);
}

fn east() -> crm_core::Team {
    crm_core::Team::parse("east").unwrap()
}

#[test]
fn an_assigned_creation_takes_the_next_turn_and_names_it() {
    use crm_core::decide::decide_create_assigned;
    let rule: crm_core::AssignmentRule = "round-robin:east".parse().unwrap();
    let members = vec![sales().in_team(east()), sales2().in_team(east())];
    let input =
        NewLead::new(name("Hind"), Source::web()).email(Email::parse("h@example.com").unwrap());
    let open = Default::default();
    let (w, turn) = decide_create_assigned(
        &manager(),
        &rule,
        &members,
        Some(sales().id),
        &open,
        input.clone(),
        t0(),
    )
    .unwrap();
    assert_eq!(w.lead.owner(), sales2().id);
    assert_eq!(turn.owner, sales2().id);
    assert_eq!(turn.after, Some(sales().id));
    assert_eq!(turn.rule, "*:east");
    assert!(matches!(
        w.events[0].kind,
        EventKind::LeadCreated { owner, .. } if owner == sales2().id
    ));
    // Read-only staff are refused before any turn is taken; an empty team is refused.
    let r = decide_create_assigned(&other(), &rule, &members, None, &open, input.clone(), t0());
    assert!(matches!(
        r,
        Err(CrmError::Forbidden {
            action: Action::CreateLead,
            ..
        })
    ));
    let r = decide_create_assigned(&manager(), &rule, &[], None, &open, input, t0());
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::NoActiveSales { .. }))
    ));
}

#[test]
fn a_bulk_item_is_decided_like_the_single_change_and_hides_what_is_out_of_view() {
    use crm_core::bulk::decide_bulk_item;
    use crm_core::{BulkChange, BulkTarget, Scope};
    let lead = lead_in(LeadStatus::New);
    let target = |version| BulkTarget {
        id: lead.id(),
        version,
    };
    let contacted = BulkChange::Status {
        to: LeadStatus::Contacted,
        reason: None,
    };
    let mine = Scope::Owners([sales().id].into());
    let theirs = Scope::Owners([sales2().id].into());
    let later = t0() + TimeDelta::hours(1);
    let decide = |scope: &Scope, version, change: &BulkChange| {
        decide_bulk_item(
            Some(&lead),
            scope,
            &sales(),
            target(version),
            change,
            None,
            &LostReasons::default(),
            later,
            later,
            &Counting::default(),
        )
    };
    // No version given: the lead's own; a stale one conflicts.
    let w = decide(&mine, None, &contacted).unwrap();
    assert_eq!(
        (w.lead.status(), w.lead.version()),
        (LeadStatus::Contacted, 4)
    );
    assert!(matches!(
        decide(&mine, Some(2), &contacted),
        Err(CrmError::Conflict { expected: 2, .. })
    ));
    // Out of scope and missing read the same.
    assert!(matches!(
        decide(&theirs, None, &contacted),
        Err(CrmError::NotFound { .. })
    ));
    let missing = decide_bulk_item(
        None,
        &Scope::All,
        &sales(),
        target(None),
        &contacted,
        None,
        &LostReasons::default(),
        later,
        later,
        &Counting::default(),
    );
    assert!(matches!(missing, Err(CrmError::NotFound { .. })));
    // The status table and the assignee rule apply per lead.
    let convert = BulkChange::Status {
        to: LeadStatus::Converted,
        reason: None,
    };
    assert!(matches!(
        decide(&Scope::All, None, &convert),
        Err(CrmError::InvalidTransition { .. })
    ));
    // A bulk move to lost takes a code from the host's list, like a single move.
    let lose = |c: &str| BulkChange::Status {
        to: LeadStatus::Lost,
        reason: Some(LostReason::new(code(c))),
    };
    assert!(matches!(
        decide(&Scope::All, None, &lose("weather")),
        Err(CrmError::Validation(
            ValidationError::UnknownLostReason { .. }
        ))
    ));
    let w = decide(&Scope::All, None, &lose("price")).unwrap();
    assert_eq!(w.lead.lost_reason_code(), Some(&code("price")));
    let give = BulkChange::Assign { to: inactive().id };
    let r = decide_bulk_item(
        Some(&lead),
        &Scope::All,
        &sales(),
        target(None),
        &give,
        Some(&inactive()),
        &LostReasons::default(),
        later,
        later,
        &Counting::default(),
    );
    assert!(matches!(
        r,
        Err(CrmError::InvalidAssignee {
            problem: AssigneeProblem::Inactive,
            ..
        })
    ));
}

#[test]
fn bulk_targets_are_refused_as_a_whole_when_ambiguous() {
    use crm_core::BulkTarget;
    use crm_core::bulk::check_targets;
    let id = LeadId::new_at(t0());
    let t = |version| BulkTarget { id, version };
    assert_eq!(check_targets(&[t(None)]), Ok(()));
    assert!(matches!(
        check_targets(&[t(None), t(Some(1))]),
        Err(ValidationError::RepeatedLead { .. })
    ));
    assert!(matches!(
        check_targets(&[]),
        Err(ValidationError::BulkSize { count: 0, .. })
    ));
}
