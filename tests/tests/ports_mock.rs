//! The host ports through `Crm`, with mockall mocks: each test says how often each port must
//! be called and with what, so a broken rule (a second client, a repeated notice, a missed
//! retry, a stale clock) fails it. The store is the in-memory one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use crm_core::testing::{MockClientsPort, MockClock, MockEmployeeDirectory, MockNotifier};
use crm_core::{
    Action, AssigneeProblem, ClientId, ClientRequest, ConversionOutcome, Crm, CrmError, Email,
    Employee, EmployeeDirectory, EmployeeId, FollowUpRule, InteractionKind, Lead, LeadStatus,
    LeadStore, Name, NewInteraction, NewLead, PortError, ReportFilter, Role, Source, SystemActor,
    ValidationError,
};
use crm_store_memory::{MemoryEmployees, MemoryStore};
use mockall::Sequence;
use mockall::predicate::eq;

// ------------------------------------------------------------------------------------------
// Given
// ------------------------------------------------------------------------------------------

fn id(n: i64) -> EmployeeId {
    EmployeeId::new(n).unwrap()
}
fn sales() -> EmployeeId {
    id(1)
}
fn manager() -> EmployeeId {
    id(3)
}
fn former_rep() -> EmployeeId {
    id(5)
}

fn employee(id: EmployeeId, role: Role, active: bool) -> Employee {
    Employee {
        active,
        ..Employee::new(id, Name::parse(&format!("Employee {id}")).unwrap(), role)
    }
}

fn staff() -> MemoryEmployees {
    MemoryEmployees::new([
        employee(sales(), Role::Sales, true),
        employee(manager(), Role::Manager, true),
        employee(former_rep(), Role::Sales, false),
    ])
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

/// Sunday 2026-01-04 09:00 UTC.
fn t0() -> DateTime<Utc> {
    at("2026-01-04T09:00:00Z")
}

/// A clock mock whose time the test sets; the service must read it for every "now".
fn clock_at(start: DateTime<Utc>) -> (MockClock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(start));
    let mut clock = MockClock::new();
    let shared = now.clone();
    clock
        .expect_now()
        .times(1..)
        .returning(move || *shared.lock().unwrap());
    (clock, now)
}

fn lead_input(name: &str, email: &str) -> NewLead {
    NewLead::new(Name::parse(name).unwrap(), Source::web())
        .email(Email::parse(email).unwrap())
        .company(Name::parse("شركة الأفق").unwrap())
}

/// The system actor the tests' host names: it runs the sweep and the dispatch.
fn scheduler() -> SystemActor {
    SystemActor::parse("scheduler").unwrap()
}

/// The ports of one test. Every mock starts without expectations, so a call the test did not
/// expect fails it.
struct Given {
    store: Arc<MemoryStore>,
    employees: Arc<dyn EmployeeDirectory>,
    clients: MockClientsPort,
    notifier: MockNotifier,
    clock: Option<MockClock>,
    rule: FollowUpRule,
}

fn given() -> Given {
    Given {
        store: Arc::new(MemoryStore::new()),
        employees: Arc::new(staff()),
        clients: MockClientsPort::new(),
        notifier: MockNotifier::new(),
        clock: None,
        rule: FollowUpRule::default(),
    }
}

impl Given {
    fn employees(mut self, e: MockEmployeeDirectory) -> Self {
        self.employees = Arc::new(e);
        self
    }
    fn clients(mut self, c: MockClientsPort) -> Self {
        self.clients = c;
        self
    }
    fn notifier(mut self, n: MockNotifier) -> Self {
        self.notifier = n;
        self
    }
    fn clock(mut self, c: MockClock) -> Self {
        self.clock = Some(c);
        self
    }
    fn rule(mut self, r: FollowUpRule) -> Self {
        self.rule = r;
        self
    }
    fn crm(self) -> (Crm, Arc<MemoryStore>) {
        let clock = self.clock.unwrap_or_else(|| {
            // Tests that do not drive time: a clock standing at t0, read or not.
            let mut c = MockClock::new();
            c.expect_now().returning(t0);
            c
        });
        let crm = Crm::builder()
            .store(self.store.clone())
            .employees(self.employees)
            .clients(Arc::new(self.clients))
            .notifier(Arc::new(self.notifier))
            .clock(Arc::new(clock))
            .follow_up(self.rule)
            .system_actor(scheduler())
            .build()
            .unwrap();
        (crm, self.store)
    }
}

/// A lead created by `sales` and moved to `contacted`, ready to convert.
async fn given_contacted_lead(crm: &Crm, name: &str, email: &str) -> Lead {
    let lead = crm
        .create_lead(sales(), lead_input(name, email))
        .await
        .unwrap();
    crm.change_status(sales(), lead.id(), 1, LeadStatus::Contacted, None)
        .await
        .unwrap()
        .lead
}

async fn when_converted(crm: &Crm, lead: &Lead) -> (Lead, ConversionOutcome) {
    let change = crm
        .change_status(
            sales(),
            lead.id(),
            lead.version(),
            LeadStatus::Converted,
            None,
        )
        .await
        .unwrap();
    (
        change.lead,
        change.conversion.expect("a conversion outcome"),
    )
}

async fn lead_count(store: &MemoryStore) -> u64 {
    store.report(&ReportFilter::default()).await.unwrap().total
}

// ------------------------------------------------------------------------------------------
// Clients port
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn clients_port_failing_then_recovering_creates_exactly_one_client() {
    let requests = Arc::new(Mutex::new(Vec::<ClientRequest>::new()));
    let mut clients = MockClientsPort::new();
    let mut seq = Sequence::new();
    let seen = requests.clone();
    clients
        .expect_create_client()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |r| {
            seen.lock().unwrap().push(r.clone());
            Err(PortError::new("clients", "ERP unavailable"))
        });
    let seen = requests.clone();
    clients
        .expect_create_client()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |r| {
            seen.lock().unwrap().push(r.clone());
            Ok(ClientId::parse("erp-7").unwrap())
        });
    let (crm, store) = given().clients(clients).crm();
    let lead = given_contacted_lead(&crm, "Layla Haddad", "layla@example.com").await;

    // When the clients system fails, the lead is converted all the same, the record pending.
    let (converted, outcome) = when_converted(&crm, &lead).await;
    assert!(
        matches!(&outcome, ConversionOutcome::Deferred(e) if e.port() == "clients"),
        "{outcome:?}"
    );
    assert_eq!(converted.status(), LeadStatus::Converted);
    assert_eq!(converted.client_id(), None);
    let detail = crm.lead_detail(manager(), lead.id()).await.unwrap();
    assert_eq!(detail.lead.status(), LeadStatus::Converted);
    let pending = detail.pending_client.expect("the pending record stays");
    assert_eq!(pending.attempts, 1);
    assert!(pending.last_error.is_some());

    // When the clients system is back, a dispatch creates the one client and stores its id.
    let first = crm.dispatch_pending(scheduler()).await.unwrap();
    assert_eq!(
        first.created,
        [(lead.id(), ClientId::parse("erp-7").unwrap())]
    );
    assert!(first.failed.is_empty());
    let detail = crm.lead_detail(manager(), lead.id()).await.unwrap();
    assert_eq!(detail.lead.client_id().map(|c| c.as_ref()), Some("erp-7"));
    assert_eq!(detail.pending_client, None);

    // Then a second dispatch has nothing to do (the mock allows no third call).
    let second = crm.dispatch_pending(scheduler()).await.unwrap();
    assert!(second.created.is_empty() && second.failed.is_empty());

    // Both calls were keyed by the lead id and carried the lead's data.
    let requests = requests.lock().unwrap().clone();
    let expected = ClientRequest {
        lead_id: lead.id(),
        name: lead.name().clone(),
        email: lead.email().cloned(),
        phone: None,
        company: lead.company().cloned(),
        owner: sales(),
    };
    assert_eq!(requests, [expected.clone(), expected]);
    assert_eq!(lead_count(&store).await, 1);
}

#[tokio::test]
async fn clients_port_succeeding_at_once_is_called_once_and_never_again() {
    let mut clients = MockClientsPort::new();
    clients
        .expect_create_client()
        .withf(|r| r.email.as_ref().map(|e| e.as_ref()) == Some("omar@example.com"))
        .times(1)
        .returning(|r| Ok(ClientId::parse(&format!("c-{}", r.lead_id)).unwrap()));
    let (crm, _) = given().clients(clients).crm();
    let lead = given_contacted_lead(&crm, "Omar Said", "omar@example.com").await;

    let (converted, outcome) = when_converted(&crm, &lead).await;

    let expected = ClientId::parse(&format!("c-{}", lead.id())).unwrap();
    assert!(matches!(&outcome, ConversionOutcome::ClientCreated(c) if *c == expected));
    assert_eq!(converted.client_id(), Some(&expected));
    let report = crm.dispatch_pending(scheduler()).await.unwrap();
    assert!(report.created.is_empty() && report.failed.is_empty());
}

// ------------------------------------------------------------------------------------------
// Notifier
// ------------------------------------------------------------------------------------------

/// Expects `times` notices for the lead called `name`, to its owner `sales`.
fn expect_notice(
    notifier: &mut MockNotifier,
    seq: Option<&mut Sequence>,
    name: &'static str,
    result: fn() -> Result<(), PortError>,
) {
    let e = notifier
        .expect_notify()
        .withf(move |n| n.lead_name.as_str() == name && n.owner == sales())
        .times(1);
    if let Some(seq) = seq {
        e.in_sequence(seq);
    }
    e.returning(move |_| result());
}

#[tokio::test]
async fn notifier_failing_for_one_lead_retries_only_that_lead() {
    let mut notifier = MockNotifier::new();
    let mut seq = Sequence::new();
    expect_notice(&mut notifier, None, "Lead A", || Ok(()));
    expect_notice(&mut notifier, Some(&mut seq), "Lead B", || {
        Err(PortError::new("notifier", "mailbox full"))
    });
    expect_notice(&mut notifier, Some(&mut seq), "Lead B", || Ok(()));
    expect_notice(&mut notifier, None, "Lead C", || Ok(()));
    let (clock, now) = clock_at(t0());
    let (crm, store) = given().notifier(notifier).clock(clock).crm();
    let mut leads = vec![];
    for (i, name) in (0..).zip(["Lead A", "Lead B", "Lead C"]) {
        leads.push(given_lead_at(&crm, &now, t0() + TimeDelta::seconds(i), name).await);
    }
    *now.lock().unwrap() = t0() + TimeDelta::days(6);

    // The first sweep notifies A and C; B fails and stays due.
    let first = crm.sweep_now(scheduler()).await.unwrap();
    assert_eq!(first.notified, [leads[0].id(), leads[2].id()]);
    let failed: Vec<_> = first.failed.iter().map(|(l, _)| *l).collect();
    assert_eq!(failed, [leads[1].id()]);
    // B stays claimed; its notice waits in the outbox.
    let b = store.get_lead(leads[1].id()).await.unwrap().unwrap();
    assert!(b.follow_up_notified_at().is_some());
    let waiting = store.undelivered_follow_ups(10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].lead_id, leads[1].id());

    // The next sweep retries only B; the one after sends nothing at all.
    let second = crm.sweep_now(scheduler()).await.unwrap();
    assert_eq!(second.notified, [leads[1].id()]);
    assert!(second.failed.is_empty());
    let third = crm.sweep_now(scheduler()).await.unwrap();
    assert!(third.notified.is_empty() && third.failed.is_empty());
    for l in &leads {
        let l = store.get_lead(l.id()).await.unwrap().unwrap();
        assert!(l.follow_up_notified_at().is_some(), "{l:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Employee directory
// ------------------------------------------------------------------------------------------

/// A directory mock answering for `who` exactly `times` times.
fn expect_employee(dir: &mut MockEmployeeDirectory, who: Employee, times: usize) {
    dir.expect_employee()
        .with(eq(who.id))
        .times(times)
        .returning(move |_| Ok(Some(who.clone())));
}

#[tokio::test]
async fn inactive_employee_as_actor_is_forbidden_and_nothing_is_stored() {
    let mut dir = MockEmployeeDirectory::new();
    expect_employee(&mut dir, employee(former_rep(), Role::Sales, false), 1);
    let (crm, store) = given().employees(dir).crm();

    let err = crm
        .create_lead(former_rep(), lead_input("Sara", "sara@example.com"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, CrmError::Forbidden { actor, action: Action::CreateLead, .. } if actor == former_rep()),
        "{err:?}"
    );
    assert_eq!(lead_count(&store).await, 0);
}

#[tokio::test]
async fn inactive_employee_as_assignee_is_refused_on_create_and_reassign() {
    let mut dir = MockEmployeeDirectory::new();
    // Create (actor, who is also the owner: one lookup), refused create (actor), reassign
    // (actor).
    expect_employee(&mut dir, employee(manager(), Role::Manager, true), 3);
    // Named as the owner on create, then as the new owner on reassign.
    expect_employee(&mut dir, employee(former_rep(), Role::Sales, false), 2);
    let (crm, store) = given().employees(dir).crm();
    let lead = crm
        .create_lead(manager(), lead_input("Chen Li", "chen@example.com"))
        .await
        .unwrap();

    let on_create = crm
        .create_lead(
            manager(),
            lead_input("Ana Ruiz", "ana@example.com").owner(former_rep()),
        )
        .await
        .unwrap_err();
    let on_assign = crm
        .assign_lead(manager(), lead.id(), lead.version(), former_rep())
        .await
        .unwrap_err();

    for err in [on_create, on_assign] {
        assert!(
            matches!(
                err,
                CrmError::InvalidAssignee { employee, problem: AssigneeProblem::Inactive }
                    if employee == former_rep()
            ),
            "{err:?}"
        );
    }
    assert_eq!(lead_count(&store).await, 1);
    let unchanged = store.get_lead(lead.id()).await.unwrap().unwrap();
    assert_eq!(unchanged, lead);
}

#[tokio::test]
async fn employee_directory_error_is_a_port_error_and_changes_nothing() {
    let mut dir = MockEmployeeDirectory::new();
    dir.expect_employee()
        .with(eq(sales()))
        .times(1)
        .returning(|_| Err(PortError::new("employees", "HR system down")));
    // For the second call: the actor is known, the owner lookup fails.
    expect_employee(&mut dir, employee(manager(), Role::Manager, true), 1);
    dir.expect_employee()
        .with(eq(id(7)))
        .times(1)
        .returning(|_| Err(PortError::new("employees", "HR system down")));
    let (crm, store) = given().employees(dir).crm();

    let as_actor = crm
        .create_lead(sales(), lead_input("Ravi", "ravi@example.com"))
        .await
        .unwrap_err();
    let as_owner = crm
        .create_lead(
            manager(),
            lead_input("Ravi", "ravi@example.com").owner(id(7)),
        )
        .await
        .unwrap_err();

    for err in [as_actor, as_owner] {
        assert!(
            matches!(&err, CrmError::Port(p) if p.port() == "employees"),
            "{err:?}"
        );
    }
    assert_eq!(lead_count(&store).await, 0);
}

// ------------------------------------------------------------------------------------------
// Clock
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn clock_decides_what_is_in_the_future() {
    let (clock, now) = clock_at(t0());
    let (crm, store) = given().clock(clock).crm();
    let lead = crm
        .create_lead(sales(), lead_input("Alice", "alice@example.com"))
        .await
        .unwrap();
    assert_eq!(lead.created_at(), t0());
    *now.lock().unwrap() = t0() + TimeDelta::hours(2);
    let later = t0() + TimeDelta::hours(2) + TimeDelta::seconds(1);

    let err = crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).at(later),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CrmError::Validation(ValidationError::InFuture { now: n, .. }) if n == t0() + TimeDelta::hours(2)),
        "{err:?}"
    );

    // Once the clock has moved past it, the same time is accepted; without a time, "now".
    *now.lock().unwrap() = later;
    let i = crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).at(later),
        )
        .await
        .unwrap();
    assert_eq!(i.occurred_at, later);
    let n = crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Note),
        )
        .await
        .unwrap();
    assert_eq!((n.occurred_at, n.logged_at), (later, later));
    let detail = store.lead_detail(lead.id()).await.unwrap().unwrap();
    assert_eq!(detail.interactions.len(), 2);
}

/// Creates a lead named `name` at `when` (the clock is moved there first).
async fn given_lead_at(
    crm: &Crm,
    now: &Mutex<DateTime<Utc>>,
    when: DateTime<Utc>,
    name: &str,
) -> Lead {
    *now.lock().unwrap() = when;
    let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
    crm.create_lead(sales(), lead_input(name, &email))
        .await
        .unwrap()
}

#[tokio::test]
async fn sweep_cutoff_is_five_days_by_the_clock() {
    let mut notifier = MockNotifier::new();
    let mut seq = Sequence::new();
    expect_notice(&mut notifier, Some(&mut seq), "Lead A", || Ok(()));
    expect_notice(&mut notifier, Some(&mut seq), "Lead B", || Ok(()));
    let (clock, now) = clock_at(t0());
    let (crm, _) = given().notifier(notifier).clock(clock).crm();
    let a = given_lead_at(&crm, &now, t0(), "Lead A").await;
    let b = given_lead_at(&crm, &now, t0() + TimeDelta::seconds(1), "Lead B").await;

    // Four days, 23:59:59 after A: nothing is due yet.
    *now.lock().unwrap() = t0() + TimeDelta::days(5) - TimeDelta::seconds(1);
    assert!(
        crm.sweep_now(scheduler())
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    // Exactly five days after A: A is due, B (one second younger) not yet.
    *now.lock().unwrap() = t0() + TimeDelta::days(5);
    assert_eq!(crm.sweep_now(scheduler()).await.unwrap().notified, [a.id()]);
    // One second later B is due too; A is not notified again.
    *now.lock().unwrap() = t0() + TimeDelta::days(5) + TimeDelta::seconds(1);
    assert_eq!(crm.sweep_now(scheduler()).await.unwrap().notified, [b.id()]);
}

#[tokio::test]
async fn sweep_counts_working_days_skipping_friday_and_saturday() {
    let mut notifier = MockNotifier::new();
    expect_notice(&mut notifier, None, "Thursday Lead", || Ok(()));
    let (clock, now) = clock_at(t0());
    let (crm, _) = given()
        .notifier(notifier)
        .clock(clock)
        .rule(FollowUpRule::working_days(5, vec![Weekday::Fri, Weekday::Sat]).unwrap())
        .crm();
    // Created on Thursday 2026-01-01 at noon.
    let lead = given_lead_at(&crm, &now, at("2026-01-01T12:00:00Z"), "Thursday Lead").await;

    // Wednesday noon is six calendar days later but only four working days (Fri and Sat
    // do not count): not due, though the calendar rule would call it due.
    *now.lock().unwrap() = at("2026-01-07T12:00:00Z");
    assert!(
        crm.sweep_now(scheduler())
            .await
            .unwrap()
            .notified
            .is_empty()
    );
    assert!(
        FollowUpRule::default().cutoff(at("2026-01-07T12:00:00Z")) >= lead.created_at(),
        "the calendar rule would be due here"
    );
    // Thursday noon, five working days (Sun to Thu) later: due, once.
    *now.lock().unwrap() = at("2026-01-08T12:00:00Z");
    assert_eq!(
        crm.sweep_now(scheduler()).await.unwrap().notified,
        [lead.id()]
    );
    *now.lock().unwrap() = at("2026-01-09T12:00:00Z");
    assert!(
        crm.sweep_now(scheduler())
            .await
            .unwrap()
            .notified
            .is_empty()
    );
}
