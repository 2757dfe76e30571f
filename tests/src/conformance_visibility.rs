//! Conformance bodies for teams, visibility, assignment rules, reassigning all of an
//! employee's leads, and bulk changes. Stamped out per adapter by
//! [`crate::conformance_suite!`] like every other body.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::StoreWrites;
use crm_core::{
    AssignmentRule, AssignmentRules, BulkChange, BulkTarget, Change, Clock, ContactField, Crm,
    CrmError, Employee, EmployeeId, Entity, EventKind, Lead, LeadId, LeadPatch, LeadQuery,
    LeadStatus, LeadStore, Name, NewInteraction, NewOpportunity, ReportFilter, Role, Scope, Source,
    Strategy, Team, ValidationError, Visibility,
};

use crate::harness::{Harness, manager, new_lead, other, sales, sales2};

fn id(n: i64) -> EmployeeId {
    EmployeeId::new(n).unwrap()
}

fn team(s: &str) -> Team {
    Team::parse(s).unwrap()
}

/// Sales employees 6 and 7, in team `east` with [`sales`].
fn east_mate() -> EmployeeId {
    id(6)
}
fn east_mate2() -> EmployeeId {
    id(7)
}

/// Puts the harness staff in teams: `sales`, `other`, 6 and 7 in `east`; `sales2` in
/// `west`; the manager leads `east`. 8 is an inactive sales employee of `south`.
fn teams(h: &Harness) {
    let put = |id: EmployeeId, name: &str, role, t: &str| {
        h.employees
            .upsert(Employee::new(id, Name::parse(name).unwrap(), role).in_team(team(t)));
    };
    put(sales(), "سارة الأحمد", Role::Sales, "east");
    put(sales2(), "Omar Haddad", Role::Sales, "west");
    put(other(), "Accountant", Role::Other, "east");
    put(east_mate(), "خالد", Role::Sales, "east");
    put(east_mate2(), "Layla", Role::Sales, "east");
    h.employees.upsert(
        Employee::new(
            manager(),
            Name::parse("مدير المبيعات").unwrap(),
            Role::Manager,
        )
        .leading(team("east")),
    );
    h.employees.upsert(
        Employee::new(id(8), Name::parse("Gone").unwrap(), Role::Sales)
            .in_team(team("south"))
            .inactive(),
    );
}

/// A service over the harness's ports with a visibility policy and assignment rules; the
/// employee directory (teams included) is the harness's.
fn crm(h: &Harness, policy: Visibility, rules: &[&str]) -> Crm {
    let rules =
        AssignmentRules::new(rules.iter().map(|r| r.parse::<AssignmentRule>().unwrap())).unwrap();
    h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .visibility(policy)
            .assignment(rules)
    })
}

async fn lead_of(h: &Harness, owner: EmployeeId, n: usize) -> Lead {
    h.advance(TimeDelta::seconds(1));
    h.crm
        .create_lead(
            manager(),
            new_lead(
                &format!("Lead {n}"),
                Some(&format!("l{n}@example.com")),
                None,
            )
            .owner(owner),
        )
        .await
        .unwrap()
}

/// Marks a lead at version 1 lost, as the manager.
async fn lose(crm: &Crm, lead: &Lead) {
    let reason = Some(crate::harness::reason("no budget"));
    crm.change_status(manager(), lead.id(), 1, LeadStatus::Lost, reason)
        .await
        .unwrap();
}

/// A bulk target at whatever version the lead is at.
fn any_version(lead: &Lead) -> BulkTarget {
    BulkTarget {
        id: lead.id(),
        version: None,
    }
}

fn ids(leads: &[Lead]) -> Vec<LeadId> {
    leads.iter().map(Lead::id).collect()
}

async fn listed(crm: &Crm, who: EmployeeId, q: LeadQuery) -> Vec<LeadId> {
    ids(&crm.list_leads(who, &q).await.unwrap().items)
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, CrmError>, entity: Entity) -> bool {
    matches!(r, Err(CrmError::NotFound { entity: e, .. }) if e == entity)
}

/// Under `team` and `own`, a lead outside the actor's view is `NotFound` in every read:
/// detail, listing, search, report, opportunity, events; under `all` everyone sees all.
pub async fn visibility_scopes_every_read(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    teams(&h);
    let east = lead_of(&h, sales(), 1).await;
    let west = lead_of(&h, sales2(), 2).await;
    let mate = lead_of(&h, east_mate(), 3).await;
    let opp = NewOpportunity {
        title: Name::parse("Deal").unwrap(),
        value: crm_core::Money::from_minor(1000, crm_core::Currency::parse("SAR").unwrap())
            .unwrap(),
        expected_close: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        probability: None,
    };
    let west_opp = h
        .crm
        .add_opportunity(sales2(), west.id(), opp.clone())
        .await
        .unwrap();
    let all = crm(&h, Visibility::All, &[]);
    let by_team = crm(&h, Visibility::Team, &[]);
    let own = crm(&h, Visibility::Own, &[]);

    let everything = vec![mate.id(), west.id(), east.id()];
    for who in [sales(), sales2(), manager(), other()] {
        assert_eq!(listed(&all, who, LeadQuery::default()).await, everything);
    }
    let east_view = vec![mate.id(), east.id()];
    assert_eq!(
        listed(&by_team, sales(), LeadQuery::default()).await,
        east_view
    );
    assert_eq!(
        listed(&by_team, other(), LeadQuery::default()).await,
        east_view
    );
    assert_eq!(
        listed(&by_team, manager(), LeadQuery::default()).await,
        east_view
    );
    assert_eq!(
        listed(&by_team, sales2(), LeadQuery::default()).await,
        [west.id()]
    );
    assert_eq!(
        listed(&own, sales(), LeadQuery::default()).await,
        [east.id()]
    );
    assert!(listed(&own, other(), LeadQuery::default()).await.is_empty());
    assert_eq!(
        listed(&own, manager(), LeadQuery::default()).await,
        east_view
    );

    // Search and filters are within the view.
    let q = LeadQuery::default().search("lead 2");
    assert_eq!(listed(&by_team, sales2(), q.clone()).await, [west.id()]);
    assert!(listed(&by_team, sales(), q).await.is_empty());
    let q = LeadQuery::default().owner(sales2());
    assert!(listed(&by_team, sales(), q).await.is_empty());

    // Detail, lead, opportunity.
    assert!(is_not_found(
        by_team.lead(sales(), west.id()).await,
        Entity::Lead
    ));
    assert!(is_not_found(
        by_team.lead_detail(sales(), west.id()).await,
        Entity::Lead
    ));
    assert!(is_not_found(
        own.lead_detail(sales(), mate.id()).await,
        Entity::Lead
    ));
    assert!(is_not_found(
        by_team.opportunity(sales(), west_opp.id).await,
        Entity::Opportunity
    ));
    assert_eq!(by_team.lead(sales(), mate.id()).await.unwrap(), mate);
    assert_eq!(
        by_team.opportunity(sales2(), west_opp.id).await.unwrap(),
        west_opp
    );
    assert_eq!(
        own.lead_detail(sales(), east.id()).await.unwrap().lead,
        east
    );

    // Report counts.
    let total = |c: &Crm, who| {
        let c = c.clone();
        async move { c.report(who, &ReportFilter::default()).await.unwrap().total }
    };
    assert_eq!(total(&all, sales()).await, 3);
    assert_eq!(total(&by_team, sales()).await, 2);
    assert_eq!(total(&by_team, sales2()).await, 1);
    assert_eq!(total(&own, other()).await, 0);
    assert_eq!(total(&own, manager()).await, 2);

    // Part B's reports count the same leads: the pipeline (the west lead's opportunity), and
    // time in status (pushed down to SQL, filtered in the memory store's scan).
    let open_value = |c: &Crm, who| {
        let c = c.clone();
        async move {
            let p = c
                .pipeline(who, &crm_core::PipelineFilter::default())
                .await
                .unwrap();
            p.currency("SAR").map_or(0, |c| c.totals.open_minor)
        }
    };
    assert_eq!(open_value(&all, sales()).await, 1000);
    assert_eq!(open_value(&own, sales2()).await, 1000);
    assert_eq!(open_value(&own, sales()).await, 0);
    assert_eq!(open_value(&own, manager()).await, 0);
    let new_leads = |c: &Crm, who| {
        let c = c.clone();
        async move {
            let t = c
                .time_in_status_report(who, &ReportFilter::default())
                .await
                .unwrap();
            t.overall
                .iter()
                .find(|o| o.0 == LeadStatus::New)
                .map_or(0, |o| o.1)
        }
    };
    assert_eq!(new_leads(&all, other()).await, 3);
    assert_eq!(new_leads(&own, sales()).await, 1);
    assert_eq!(new_leads(&own, other()).await, 0);
    assert_eq!(new_leads(&own, manager()).await, 2);

    // Events: only those about leads in view (the west lead has two: created, opportunity).
    let leads_of = |events: Vec<crm_core::Event>| {
        events
            .into_iter()
            .map(|e| e.event.lead_id)
            .collect::<BTreeSet<_>>()
    };
    let seen = leads_of(by_team.pending_events(sales(), 0, 100).await.unwrap());
    assert_eq!(seen, BTreeSet::from([east.id(), mate.id()]));
    let seen = by_team.pending_events(sales2(), 0, 100).await.unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|e| e.event.lead_id == west.id()));
    // The limit counts events in view only.
    let one = by_team.pending_events(sales(), 0, 1).await.unwrap();
    assert_eq!(one.len(), 1);
    let next = by_team
        .pending_events(sales(), one[0].seq, 1)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].event.lead_id, west.id());
    assert_eq!(all.pending_events(other(), 0, 100).await.unwrap().len(), 4);
}

/// Pages hold a full page of leads in view however the others interleave, and the cursor
/// walks exactly the leads in view; the store filters, the service does not.
pub async fn visible_pages_stay_full(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    let mut mine = Vec::new();
    for n in 0..7 {
        mine.push(lead_of(&h, sales(), 2 * n).await.id());
        lead_of(&h, sales2(), 2 * n + 1).await;
        lead_of(&h, sales2(), 100 + n).await;
    }
    mine.reverse();
    let by_team = crm(&h, Visibility::Team, &[]);
    let mut q = LeadQuery::default().limit(3).unwrap();
    let mut walked = Vec::new();
    loop {
        let page = by_team.list_leads(sales(), &q).await.unwrap();
        assert!(page.items.len() == 3 || page.next.is_none(), "short page");
        walked.extend(ids(&page.items));
        match page.next {
            Some(c) => q = q.after(c),
            None => break,
        }
    }
    assert_eq!(walked, mine);
    // The store call itself: an empty owner set sees nothing, a set sees its owners.
    let none = Scope::Owners(BTreeSet::new());
    let q = LeadQuery::default();
    assert!(
        store
            .list_leads_in(&q, &none)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .report_in(&ReportFilter::default(), &none)
            .await
            .unwrap()
            .total,
        0
    );
    assert!(
        store
            .pending_events_in(0, 100, &none)
            .await
            .unwrap()
            .is_empty()
    );
    let west = Scope::Owners(BTreeSet::from([sales2()]));
    let r = store
        .report_in(&ReportFilter::default(), &west)
        .await
        .unwrap();
    assert_eq!(r.total, 14);
    assert_eq!(
        store.report(&ReportFilter::default()).await.unwrap().total,
        21
    );
}

/// Changing a lead outside the view is `NotFound` and changes nothing; inside the view the
/// usual permissions apply (under `team`, a colleague's lead of the same team is editable).
pub async fn visibility_scopes_every_change(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    teams(&h);
    let west = lead_of(&h, sales2(), 1).await;
    let mate = lead_of(&h, east_mate(), 2).await;
    let opp = h
        .crm
        .add_opportunity(
            sales2(),
            west.id(),
            NewOpportunity {
                title: Name::parse("Deal").unwrap(),
                value: crm_core::Money::from_minor(5, crm_core::Currency::parse("KWD").unwrap())
                    .unwrap(),
                expected_close: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                probability: None,
            },
        )
        .await
        .unwrap();
    let before = crate::conformance::snapshot(&h).await;
    let c = crm(&h, Visibility::Team, &[]);
    let patch = LeadPatch {
        name: Some(Name::parse("Renamed").unwrap()),
        ..Default::default()
    };
    let v = west.version();
    assert!(is_not_found(
        c.edit_lead(sales(), west.id(), v, patch.clone()).await,
        Entity::Lead
    ));
    assert!(is_not_found(
        c.change_status(sales(), west.id(), v, LeadStatus::Contacted, None)
            .await,
        Entity::Lead
    ));
    assert!(is_not_found(
        c.assign_lead(manager(), west.id(), v, sales()).await,
        Entity::Lead
    ));
    assert!(is_not_found(
        c.log_interaction(
            sales(),
            west.id(),
            NewInteraction::new(crm_core::InteractionKind::Call)
        )
        .await,
        Entity::Lead
    ));
    assert!(is_not_found(
        c.update_opportunity(sales(), opp.id, opp.version, Default::default())
            .await,
        Entity::Opportunity
    ));
    assert_eq!(crate::conformance::snapshot(&h).await, before);
    // Under `own`, not even the team's leads; under `team` they are.
    let own = crm(&h, Visibility::Own, &[]);
    assert!(is_not_found(
        own.edit_lead(sales(), mate.id(), 1, patch.clone()).await,
        Entity::Lead
    ));
    let edited = c.edit_lead(sales(), mate.id(), 1, patch).await.unwrap();
    assert_eq!(edited.name().as_str(), "Renamed");
}

/// Round-robin gives leads created without an owner to the team's active sales staff in
/// turn, by id; a new service over the same store continues the rotation; a lead with an
/// owner, or from a source no rule covers, is not assigned by the rule.
pub async fn round_robin_assigns_in_turn_and_survives_restart(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    let c = crm(
        &h,
        Visibility::All,
        &["referral=round-robin:east", "phone=round-robin:west"],
    );
    let create = |c: &Crm, n: usize, source: Source| {
        let c = c.clone();
        async move {
            let mut input = new_lead(
                &format!("RR {n}"),
                Some(&format!("rr{n}@example.com")),
                None,
            );
            input.source = source;
            c.create_lead(manager(), input).await.unwrap()
        }
    };
    let mut owners = Vec::new();
    for n in 0..4 {
        owners.push(create(&c, n, Source::referral()).await.owner());
    }
    assert_eq!(owners, [sales(), east_mate(), east_mate2(), sales()]);
    assert_eq!(
        store.last_turn("referral:east").await.unwrap(),
        Some(sales())
    );
    let restarted = crm(
        &h,
        Visibility::All,
        &["referral=round-robin:east", "phone=round-robin:west"],
    );
    assert_eq!(
        create(&restarted, 4, Source::referral()).await.owner(),
        east_mate()
    );
    // Another source has its own rule and rotation.
    assert_eq!(
        create(&restarted, 5, Source::phone()).await.owner(),
        sales2()
    );
    // No rule for web: the creator owns it; an owner given is kept.
    assert_eq!(
        create(&restarted, 6, Source::web()).await.owner(),
        manager()
    );
    let mut input = new_lead("Given", Some("given@example.com"), None).owner(sales2());
    input.source = Source::referral();
    let given = restarted.create_lead(manager(), input).await.unwrap();
    assert_eq!(given.owner(), sales2());
    assert_eq!(
        store.last_turn("referral:east").await.unwrap(),
        Some(east_mate())
    );
    // The created lead's history and event name the picked owner.
    let d = c.lead_detail(manager(), given.id()).await.unwrap();
    assert!(matches!(d.history[0].change, Change::Created { owner, .. } if owner == sales2()));
}

/// Least-open gives the lead to whoever owns the fewest open leads (lost and converted
/// leads do not count), ties in turn.
pub async fn least_open_assigns_to_the_fewest(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    teams(&h);
    // sales: 2 open; east_mate: 1 open + 1 lost; east_mate2: 0 open + 1 converted.
    lead_of(&h, sales(), 1).await;
    lead_of(&h, sales(), 2).await;
    lead_of(&h, east_mate(), 3).await;
    lose(&h.crm, &lead_of(&h, east_mate(), 4).await).await;
    let won = lead_of(&h, east_mate2(), 5).await;
    let won = h
        .crm
        .change_status(manager(), won.id(), 1, LeadStatus::Contacted, None)
        .await
        .unwrap()
        .lead;
    h.crm
        .change_status(manager(), won.id(), 2, LeadStatus::Converted, None)
        .await
        .unwrap();
    let c = crm(&h, Visibility::All, &["least-open:east"]);
    let mut owners = Vec::new();
    for n in 0..5 {
        let l = c
            .create_lead(
                sales(),
                new_lead(
                    &format!("LO {n}"),
                    Some(&format!("lo{n}@example.com")),
                    None,
                ),
            )
            .await
            .unwrap();
        owners.push(l.owner());
    }
    // Counts (2, 1, 0): mate2 -> (2,1,1): tie after mate2 wraps to mate -> (2,2,1):
    // mate2 -> (2,2,2): tie after mate2 -> sales -> (3,2,2): after sales, mate.
    assert_eq!(
        owners,
        [
            east_mate2(),
            east_mate(),
            east_mate2(),
            sales(),
            east_mate()
        ]
    );
}

/// Concurrent creates never take the same turn: 24 creates at once over a team of three
/// give each member exactly 8 leads, with round-robin and with least-open alike, and
/// round-robin's owners, in commit order, go round without a repeat.
pub async fn concurrent_creates_take_distinct_turns(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    for (rule, source) in [
        ("referral=round-robin:east", Source::referral()),
        ("phone=least-open:east", Source::phone()),
    ] {
        let c = crm(&h, Visibility::All, &[rule]);
        let tasks: Vec<_> = (0..24)
            .map(|n| {
                let c = c.clone();
                let source = source.clone();
                tokio::spawn(async move {
                    let mut input = new_lead(
                        &format!("C {n}"),
                        Some(&format!("c{n}-{source}@example.com")),
                        None,
                    );
                    input.source = source;
                    c.create_lead(manager(), input).await
                })
            })
            .collect();
        let mut count: BTreeMap<EmployeeId, usize> = BTreeMap::new();
        for t in tasks {
            let lead = t.await.unwrap().unwrap_or_else(|e| panic!("{rule}: {e:?}"));
            *count.entry(lead.owner()).or_default() += 1;
        }
        assert_eq!(
            count,
            BTreeMap::from([(sales(), 8), (east_mate(), 8), (east_mate2(), 8)]),
            "{rule}"
        );
    }
    // In the order the creates committed (the event log's), round-robin's owners go round
    // exactly: each create took the turn after the one before, none the same turn twice.
    let events = store.pending_events(0, 10_000).await.unwrap();
    let owners: Vec<EmployeeId> = events
        .iter()
        .filter_map(|e| match &e.event.kind {
            EventKind::LeadCreated { owner, source, .. } if *source == Source::referral() => {
                Some(*owner)
            }
            _ => None,
        })
        .collect();
    let round = [sales(), east_mate(), east_mate2()];
    let expected: Vec<EmployeeId> = round.iter().cycle().take(24).copied().collect();
    assert_eq!(owners, expected);
    let open = store
        .open_leads_by_owner(&BTreeSet::from([
            sales(),
            east_mate(),
            east_mate2(),
            sales2(),
        ]))
        .await
        .unwrap();
    assert_eq!(open.get(&sales()), Some(&16));
    assert_eq!(open.get(&sales2()).copied().unwrap_or(0), 0);
}

/// A rule whose team has no active sales staff refuses the creation and stores nothing;
/// a turn taken by someone else in between is refused by the store as busy.
pub async fn assignment_without_staff_is_refused(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    let c = crm(&h, Visibility::All, &["round-robin:south"]);
    let r = c
        .create_lead(manager(), new_lead("Nobody", Some("n@example.com"), None))
        .await;
    assert!(
        matches!(
            r,
            Err(CrmError::Validation(ValidationError::NoActiveSales { ref team })) if team == "south"
        ),
        "{r:?}"
    );
    assert_eq!(
        store.report(&ReportFilter::default()).await.unwrap().total,
        0
    );
    // The store's compare-and-set: a turn read before another create took one is refused.
    let first = crm(&h, Visibility::All, &["round-robin:east"]);
    first
        .create_lead(manager(), new_lead("One", Some("one@example.com"), None))
        .await
        .unwrap();
    let boss = Employee::new(manager(), Name::parse("Boss").unwrap(), Role::Manager);
    let mate = Employee::new(east_mate(), Name::parse("Mate").unwrap(), Role::Sales);
    let input = new_lead("Two", Some("two@example.com"), None).owner(east_mate());
    let write = crm_core::decide::decide_create(&boss, Some(&mate), input, h.clock.now()).unwrap();
    let stale = crm_core::Turn {
        rule: "*:east".into(),
        after: None,
        owner: east_mate(),
    };
    let r = store.insert_lead_taking_turn(&write, &stale).await;
    assert!(matches!(r, Err(ref e) if e.is_retryable()), "{r:?}");
    assert!(store.get_lead(write.lead.id()).await.unwrap().is_none());
    assert_eq!(store.last_turn("*:east").await.unwrap(), Some(sales()));
    let fresh = crm_core::Turn {
        after: Some(sales()),
        ..stale
    };
    store.insert_lead_taking_turn(&write, &fresh).await.unwrap();
    assert_eq!(store.last_turn("*:east").await.unwrap(), Some(east_mate()));
}

/// A manager gives all open leads of an employee to the rest of their team, each lead with
/// its history entry and event; closed leads stay; deactivating says how many were open.
pub async fn reassign_all_spreads_open_leads(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    let c = crm(&h, Visibility::All, &[]);
    let mut open = Vec::new();
    for n in 0..5 {
        open.push(lead_of(&h, sales(), n).await);
    }
    let lost = lead_of(&h, sales(), 10).await;
    lose(&c, &lost).await;
    // A colleague's lead stays where it is.
    let west = lead_of(&h, sales2(), 11).await;

    let d = c.deactivate_employee(manager(), sales()).await.unwrap();
    assert!(!d.employee.active);
    assert_eq!(d.open_leads, 5);
    assert!(matches!(
        c.reassign_all(sales2(), sales(), Strategy::RoundRobin, None)
            .await,
        Err(CrmError::Forbidden { .. })
    ));
    let out = c
        .reassign_all(manager(), sales(), Strategy::RoundRobin, None)
        .await
        .unwrap();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    assert_eq!(out.done.len(), 5);
    let mut got: BTreeMap<EmployeeId, usize> = BTreeMap::new();
    for l in &out.done {
        *got.entry(l.owner()).or_default() += 1;
        let detail = c.lead_detail(manager(), l.id()).await.unwrap();
        let last = detail.history.last().unwrap();
        assert_eq!(last.actor, manager());
        assert!(
            matches!(last.change, Change::Reassigned { from, to } if from == sales() && to == l.owner())
        );
    }
    assert_eq!(got, BTreeMap::from([(east_mate(), 3), (east_mate2(), 2)]));
    let assigned = c
        .pending_events(manager(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event.kind, EventKind::LeadAssigned { from, .. } if from == sales()))
        .count();
    assert_eq!(assigned, 5);
    assert_eq!(c.open_lead_count(manager(), sales()).await.unwrap(), 0);
    assert_eq!(c.lead(manager(), lost.id()).await.unwrap().owner(), sales());
    assert_eq!(
        c.lead(manager(), west.id()).await.unwrap().owner(),
        sales2()
    );
    // Nothing left: an empty outcome. Someone in no team needs a team named.
    let again = c
        .reassign_all(manager(), sales(), Strategy::LeastOpen, None)
        .await
        .unwrap();
    assert!(again.done.is_empty() && again.failed.is_empty());
    h.employees.upsert(Employee::new(
        id(9),
        Name::parse("Solo").unwrap(),
        Role::Sales,
    ));
    assert!(matches!(
        c.reassign_all(manager(), id(9), Strategy::LeastOpen, None)
            .await,
        Err(CrmError::Validation(ValidationError::NoTeam {
            employee: 9
        }))
    ));
    // Least-open to another team evens the counts out.
    let out = c
        .reassign_all(
            manager(),
            east_mate(),
            Strategy::LeastOpen,
            Some(team("east")),
        )
        .await
        .unwrap();
    assert_eq!(out.done.len(), 3);
    assert!(out.done.iter().all(|l| l.owner() == east_mate2()));
}

/// A bulk change applies to each lead on its own: permission, visibility, version and the
/// status table are checked per lead, and the outcome lists both kinds.
pub async fn bulk_changes_each_lead_on_its_own(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    teams(&h);
    let c = crm(&h, Visibility::Team, &[]);
    let fresh = lead_of(&h, sales(), 1).await;
    let stale = lead_of(&h, sales(), 2).await;
    let converted = h.lead_in(LeadStatus::Converted, 3).await;
    let west = lead_of(&h, sales2(), 4).await;
    let mate = lead_of(&h, east_mate(), 5).await;
    let missing = LeadId::new_at(h.clock.now());
    let targets = [
        BulkTarget {
            id: fresh.id(),
            version: Some(1),
        },
        BulkTarget {
            id: stale.id(),
            version: Some(7),
        },
        any_version(&converted),
        any_version(&west),
        BulkTarget {
            id: missing,
            version: None,
        },
        any_version(&mate),
    ];
    let out = c
        .bulk(
            sales(),
            &targets,
            &BulkChange::Status {
                to: LeadStatus::Contacted,
                reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&out.done), [fresh.id(), mate.id()]);
    assert!(out.done.iter().all(|l| l.status() == LeadStatus::Contacted));
    let failed: BTreeMap<LeadId, &CrmError> = out.failed.iter().map(|(i, e)| (*i, e)).collect();
    assert_eq!(failed.len(), 4);
    assert!(matches!(
        failed[&stale.id()],
        CrmError::Conflict { expected: 7, .. }
    ));
    assert!(matches!(failed[&converted.id()], CrmError::ReadOnly(_)));
    assert!(matches!(failed[&west.id()], CrmError::NotFound { .. }));
    assert!(matches!(failed[&missing], CrmError::NotFound { .. }));
    assert_eq!(c.lead(sales2(), west.id()).await.unwrap().version(), 1);
    // The status table, per lead: new -> converted is refused, contacted -> converted not.
    let out = c
        .bulk(
            sales(),
            &[any_version(&stale), any_version(&fresh)],
            &BulkChange::Status {
                to: LeadStatus::Converted,
                reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&out.done), [fresh.id()]);
    assert!(matches!(
        out.failed[0].1,
        CrmError::InvalidTransition { .. }
    ));
    assert!(out.done[0].client_id().is_some());
    // Assign: sales may hand over only their own leads; the manager any in view.
    let out = c
        .bulk(
            sales(),
            &[any_version(&stale), any_version(&mate)],
            &BulkChange::Assign { to: east_mate2() },
        )
        .await
        .unwrap();
    assert_eq!(ids(&out.done), [stale.id()]);
    assert!(matches!(out.failed[0].1, CrmError::Forbidden { .. }));
    let out = c
        .bulk(
            manager(),
            &[any_version(&mate)],
            &BulkChange::Assign { to: id(8) },
        )
        .await
        .unwrap();
    assert!(matches!(out.failed[0].1, CrmError::InvalidAssignee { .. }));
    // A lead listed twice, or none, refuses the whole change before anything happens.
    let before = crate::conformance::snapshot(&h).await;
    let twice = [
        any_version(&mate),
        BulkTarget {
            id: mate.id(),
            version: Some(2),
        },
    ];
    let change = BulkChange::Assign { to: sales() };
    assert!(matches!(
        c.bulk(manager(), &twice, &change).await,
        Err(CrmError::Validation(ValidationError::RepeatedLead { .. }))
    ));
    assert!(matches!(
        c.bulk(manager(), &[], &change).await,
        Err(CrmError::Validation(ValidationError::BulkSize { .. }))
    ));
    assert_eq!(crate::conformance::snapshot(&h).await, before);
}

/// A lead outside the actor's view still blocks its email and phone (the same person must
/// not be entered twice), but the refusal does not name it: no id, only the name of its
/// owner's active manager to ask, or none. A lead in view is named, as before. Creates
/// (also those an assignment rule places) and edits alike.
pub async fn a_duplicate_outside_the_view_is_not_named(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    teams(&h);
    let west_manager = Name::parse("نادية العلي").unwrap();
    h.employees
        .upsert(Employee::new(id(9), west_manager.clone(), Role::Manager).leading(team("west")));
    h.employees.upsert(
        Employee::new(sales2(), Name::parse("Omar Haddad").unwrap(), Role::Sales)
            .in_team(team("west"))
            .reporting_to(id(9)),
    );
    let west = h
        .crm
        .create_lead(
            sales2(),
            new_lead("West", Some("west@example.com"), Some("+966501234567")),
        )
        .await
        .unwrap();
    let mate = lead_of(&h, east_mate(), 1).await;
    let mine = lead_of(&h, sales(), 2).await;
    let hidden = |r: Result<Lead, CrmError>, want: ContactField, ask: Option<&Name>| {
        let Err(e) = r else { panic!("created: {r:?}") };
        let text = e.to_string();
        assert!(
            matches!(&e, CrmError::Duplicate { existing: None, field, ask: a } if *field == want && a.as_ref() == ask),
            "{e:?}"
        );
        for leaked in [west.id().to_string(), mate.id().to_string()] {
            assert!(!text.contains(&leaked), "{text}");
        }
        text
    };
    let before = crate::conformance::snapshot(&h).await;
    let by_team = crm(&h, Visibility::Team, &[]);
    let text = hidden(
        by_team
            .create_lead(sales(), new_lead("Again", None, Some("050-123-4567")))
            .await,
        ContactField::Phone,
        Some(&west_manager),
    );
    assert!(text.contains("نادية العلي"), "{text}");
    let patch = LeadPatch {
        email: Some(Some(crm_core::Email::parse("west@example.com").unwrap())),
        ..Default::default()
    };
    hidden(
        by_team
            .edit_lead(sales(), mine.id(), mine.version(), patch)
            .await,
        ContactField::Email,
        Some(&west_manager),
    );
    let rotating = crm(&h, Visibility::Team, &["round-robin:east"]);
    hidden(
        rotating
            .create_lead(sales(), new_lead("Placed", Some("west@example.com"), None))
            .await,
        ContactField::Email,
        Some(&west_manager),
    );
    // The team's lead is in view under `team`, and named; under `own` it is not, and its
    // owner has no manager to name.
    let seen = by_team
        .create_lead(sales(), new_lead("Mate's", Some("l1@example.com"), None))
        .await;
    assert!(
        matches!(&seen, Err(CrmError::Duplicate { existing: Some(e), ask: None, .. }) if *e == mate.id()),
        "{seen:?}"
    );
    let own = crm(&h, Visibility::Own, &[]);
    let text = hidden(
        own.create_lead(sales(), new_lead("Mate's", Some("l1@example.com"), None))
            .await,
        ContactField::Email,
        None,
    );
    assert!(text.contains("ask a manager"), "{text}");
    assert_eq!(crate::conformance::snapshot(&h).await, before);
}

/// An employee who may only read (read-only role, or inactive) is refused a bulk change as
/// a whole, as any other write: `Forbidden`, nothing changed, rather than an outcome listing
/// every lead as refused.
pub async fn bulk_changes_are_refused_whole_to_who_may_only_read(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    teams(&h);
    let c = crm(&h, Visibility::Team, &[]);
    let lead = lead_of(&h, sales(), 1).await;
    let before = crate::conformance::snapshot(&h).await;
    let status = BulkChange::Status {
        to: LeadStatus::Contacted,
        reason: None,
    };
    let assign = BulkChange::Assign { to: sales() };
    for (who, change) in [
        (other(), &status),
        (other(), &assign),
        (id(8), &status),
        (id(8), &assign),
    ] {
        let r = c.bulk(who, &[any_version(&lead)], change).await;
        assert!(
            matches!(r, Err(CrmError::Forbidden { actor, .. }) if actor == who),
            "{who}: {r:?}"
        );
    }
    assert_eq!(crate::conformance::snapshot(&h).await, before);
    // Sales staff still get each lead's own answer.
    let out = c
        .bulk(sales(), &[any_version(&lead)], &status)
        .await
        .unwrap();
    assert_eq!(ids(&out.done), [lead.id()]);
}
