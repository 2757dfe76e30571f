//! The model-based test: random sequences of operations by random actors run against the real
//! [`Crm`] and, step by step, against a small reference model of the rules written here from
//! the design (its own status table, permission rule, duplicate rule, follow-up rule and
//! conversion rule), with [`proptest_state_machine`] driving and shrinking the sequences.
//!
//! After every step the outcome (success, or which error) must be the model's, and the
//! invariants must hold: every lead reads back as the model has it (status, owner, version,
//! contact data, history length = accepted changes, interactions, opportunities, client,
//! pending conversion, follow-up mark); report totals equal the number of leads; the event
//! count equals the accepted changes; no lead ever gets two clients or two follow-up notices;
//! a refused operation, and any operation by a read-only actor, changes nothing observable.
//! At the end the clients system recovers and one dispatch gives every converted lead exactly
//! one client.
//!
//! Each case runs under a random visibility policy (`all`, `team`, `own`) with teams in the
//! directory (team `a`: both sales employees and the read-only one; the manager leads `a`),
//! and with two assignment rules (`referral`: round-robin over team `a`; `phone`:
//! least-open over team `a`). The model has its own visibility rule (a lead outside the
//! actor's view is `NotFound` for every change) and its own rotation, and after every step
//! each employee's listing and report count exactly the leads the model says they see.
//!
//! The sales process (issue 10) is in the model too: next follow-up times set by editing a
//! lead, the sweep's overdue reminders (once per follow-up time) and its escalations to the
//! owner's manager (once per owner notification, counted in working days of a calendar with
//! a Friday-Saturday weekend, which the first-contact period uses too), notices that wait in
//! the outbox when the notifier or the missing manager refuses them; bulk assignment and
//! status changes (each lead on its own, the outcome listing both sides); and the
//! reassignment of all of an employee's open leads. The model has its own working-time rule
//! (`back`), and every notice delivered is compared, by lead and kind, with the model's.
//!
//! Merges (issue 11) are in the model too, with the model's own merge rule: management only,
//! both leads in view, never a lead into itself, into or out of a merged lead, a converted
//! lead away or into a converted lead, both versions current. OTHER's interactions,
//! opportunities and history go to KEEP (KEEP's detail shows OTHER's history beside its
//! own), KEEP takes OTHER's email, phone and follow-up time where its own are empty, and
//! OTHER becomes read-only with `merged_into` = KEEP, out of listings, reports, sweeps
//! (notices waiting for it included), duplicate checks and the assignment rule's counts.
//!
//! Generic over the store: [`run_model_test`] takes the same async factory as the conformance
//! suite and makes a fresh store for every case.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use crm_core::{
    Action, AssigneeProblem, ClientId, ClientRequest, ClientsPort, Clock, ContactField,
    ConversionOutcome, Crm, CrmError, Currency, Email, Employee, EmployeeId, Entity, Event,
    FollowUpNotice, FollowUpRule, InteractionKind, LeadDetail, LeadId, LeadPatch, LeadQuery,
    LeadStatus, LeadStore, ManualClock, Money, Name, NewInteraction, NewLead, NewOpportunity,
    Notifier, OpportunityId, OpportunityPatch, OpportunityStage, Phone, PortError, Report,
    ReportFilter, Role, Source, Team, ValidationError, Visibility,
};
use crm_core::{BulkChange, BulkTarget, EscalationRule, MergeRefusal, NoticeKind, WorkCalendar};
use crm_store_memory::MemoryEmployees;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

/// Operations per generated sequence.
const STEPS: std::ops::Range<usize> = 1..60;

/// The follow-up period: five working days of the calendar.
const FOLLOW_UP_DAYS: i64 = 5;

/// Escalation to the owner's manager: one working day after the owner was notified.
const ESCALATE_DAYS: i64 = 1;

/// Seconds in a (working) day: the calendar works all day on working days.
const DAY: i64 = 24 * 3600;

/// The model's working-time rule: the latest time `t <= now` (seconds since [`t0`]) such
/// that the working time between `t` and `now` is at least `days` whole days, where every
/// UTC day but Friday and Saturday is worked all day. Far back (before any lead): a time
/// before every lead.
fn back(now: i64, days: i64) -> i64 {
    use chrono::Datelike;
    let abs = |secs: i64| t0() + TimeDelta::seconds(secs);
    let secs = |t: DateTime<Utc>| (t - t0()).num_seconds();
    let mut left = days * DAY;
    let mut d = abs(now).date_naive();
    for _ in 0..400 {
        let worked = !matches!(d.weekday(), chrono::Weekday::Fri | chrono::Weekday::Sat);
        if worked {
            let start = secs(d.and_time(chrono::NaiveTime::MIN).and_utc());
            let end = (start + DAY).min(now);
            if end > start {
                if end - start >= left {
                    return end - left;
                }
                left -= end - start;
            }
        }
        d = d.pred_opt().unwrap();
    }
    i64::MIN / 2
}

type StoreFuture = Pin<Box<dyn Future<Output = Arc<dyn LeadStore>>>>;
type StoreFactory = Rc<dyn Fn() -> StoreFuture>;

thread_local! {
    /// The factory of the running [`run_model_test`] (the state machine's `init_test` takes
    /// no arguments; proptest runs every case on the calling thread).
    static FACTORY: RefCell<Option<StoreFactory>> = const { RefCell::new(None) };
}

/// Runs `cases` random operation sequences against a fresh store from `make_store` each (the
/// conformance suite's factory shape). Panics with the shrunk failing sequence if the system
/// and the model disagree.
pub fn run_model_test<F, Fut>(make_store: F, cases: u32)
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Arc<dyn LeadStore>> + 'static,
{
    let factory: StoreFactory = Rc::new(move || Box::pin(make_store()) as StoreFuture);
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config.clone());
    let result = runner.run(
        &ModelRules::sequential_strategy(STEPS),
        |(initial, transitions, seen)| {
            CrmUnderTest::test_sequential(config.clone(), initial, transitions, seen);
            Ok(())
        },
    );
    FACTORY.with(|f| *f.borrow_mut() = None);
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ------------------------------------------------------------------------------------------
// Actors
// ------------------------------------------------------------------------------------------

/// Who acts (or is named as the new owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Sales1,
    Sales2,
    Manager,
    Other,
    InactiveSales,
    InactiveManager,
    Unknown,
}

/// The model's own roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MRole {
    Sales,
    Manager,
    Other,
}

impl Who {
    const STAFF: [Who; 6] = [
        Who::Sales1,
        Who::Sales2,
        Who::Manager,
        Who::Other,
        Who::InactiveSales,
        Who::InactiveManager,
    ];

    fn id(self) -> EmployeeId {
        let n = match self {
            Who::Sales1 => 1,
            Who::Sales2 => 2,
            Who::Manager => 3,
            Who::Other => 4,
            Who::InactiveSales => 5,
            Who::InactiveManager => 6,
            Who::Unknown => 99,
        };
        EmployeeId::new(n).unwrap()
    }

    /// Role and whether active; `None` when the directory does not know them.
    fn profile(self) -> Option<(MRole, bool)> {
        match self {
            Who::Sales1 | Who::Sales2 => Some((MRole::Sales, true)),
            Who::Manager => Some((MRole::Manager, true)),
            Who::Other => Some((MRole::Other, true)),
            Who::InactiveSales => Some((MRole::Sales, false)),
            Who::InactiveManager => Some((MRole::Manager, false)),
            Who::Unknown => None,
        }
    }

    /// May only read: every change they try must be refused and change nothing.
    fn read_only(self) -> bool {
        !matches!(self.profile(), Some((MRole::Sales | MRole::Manager, true)))
    }

    /// The model's teams: `a` holds both sales employees and the read-only one, `b` the
    /// inactive sales employee.
    fn team(self) -> Option<&'static str> {
        match self {
            Who::Sales1 | Who::Sales2 | Who::Other => Some("a"),
            Who::InactiveSales => Some("b"),
            _ => None,
        }
    }

    /// The teams a manager leads: the active manager leads `a`.
    fn leads_teams(self) -> &'static [&'static str] {
        match self {
            Who::Manager => &["a"],
            _ => &[],
        }
    }

    /// The visibility rule, written out again: under `team` an employee sees the leads of
    /// their team's members; under `own` their own; a manager under both also those of the
    /// teams they lead; everyone their own.
    fn sees(self, policy: Visibility, owner: Who) -> bool {
        let led = self.leads_teams().iter().any(|t| owner.team() == Some(*t));
        let team = self.team().is_some() && self.team() == owner.team();
        match policy {
            Visibility::All => true,
            Visibility::Team => owner == self || led || team,
            Visibility::Own => owner == self || led,
        }
    }

    fn employee(self) -> Option<Employee> {
        let (role, active) = self.profile()?;
        let role = match role {
            MRole::Sales => Role::Sales,
            MRole::Manager => Role::Manager,
            MRole::Other => Role::Other,
        };
        let mut e = Employee::new(self.id(), Name::parse(&format!("{self:?}")).unwrap(), role);
        e.active = active;
        e.team = self.team().map(|t| Team::parse(t).unwrap());
        // Sales staff report to the manager (escalations go there); nobody else has one.
        e.manager = matches!(self, Who::Sales1 | Who::Sales2).then(|| Who::Manager.id());
        e.manages = self
            .leads_teams()
            .iter()
            .map(|t| Team::parse(t).unwrap())
            .collect();
        Some(e)
    }
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Sales1),
        2 => Just(Who::Sales2),
        3 => Just(Who::Manager),
        1 => Just(Who::Other),
        1 => Just(Who::InactiveSales),
        1 => Just(Who::InactiveManager),
        1 => Just(Who::Unknown),
    ]
}

// ------------------------------------------------------------------------------------------
// Operations
// ------------------------------------------------------------------------------------------

/// A change of contact data. Contact values come from a pool of four per field, typed in
/// different spellings, so duplicates on the normalised value happen often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EditKind {
    Rename,
    Email(u8),
    ClearEmail,
    Phone(u8),
    ClearPhone,
}

/// What a bulk change does to each lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BulkKind {
    Assign(Who),
    Status { to: LeadStatus, reason: bool },
}

/// A follow-up notice, by what it is about: the follow-up time of an overdue reminder, the
/// owner notification of an escalation (seconds since [`t0`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MNotice {
    FirstContact,
    Overdue(i64),
    Escalation(i64),
}

/// One step. `lead` and `opportunity` index the leads and opportunities created so far.
#[derive(Clone, Debug)]
enum Op {
    Create {
        actor: Who,
        owner: Option<Who>,
        email: Option<u8>,
        phone: Option<u8>,
        spelling: u8,
        allow_duplicate: bool,
        source: u8,
    },
    Edit {
        actor: Who,
        lead: usize,
        edit: EditKind,
        spelling: u8,
        allow_duplicate: bool,
        stale: bool,
    },
    Assign {
        actor: Who,
        lead: usize,
        to: Who,
        stale: bool,
    },
    Status {
        actor: Who,
        lead: usize,
        to: LeadStatus,
        reason: bool,
        stale: bool,
    },
    Interact {
        actor: Who,
        lead: usize,
        minutes_ago: i64,
    },
    AddOpportunity {
        actor: Who,
        lead: usize,
        minor: i64,
    },
    UpdateOpportunity {
        actor: Who,
        opportunity: usize,
        stage: OpportunityStage,
        stale: bool,
    },
    /// Sets the lead's next follow-up time `hours` from now (`None`: clears it).
    FollowUp {
        actor: Who,
        lead: usize,
        hours: Option<i64>,
        stale: bool,
    },
    /// One change over several leads, each with a stale version or none.
    Bulk {
        actor: Who,
        targets: Vec<(usize, bool)>,
        change: BulkKind,
    },
    /// Merges lead `other` into lead `keep`, each read at its version or a stale one.
    Merge {
        actor: Who,
        keep: usize,
        other: usize,
        stale_keep: bool,
        stale_other: bool,
    },
    /// Gives all open leads of `from` to the rest of their team.
    ReassignAll {
        actor: Who,
        from: Who,
        round_robin: bool,
    },
    Advance {
        hours: i64,
    },
    Sweep,
    Dispatch,
    ClientsFail(bool),
    NotifierFail(bool),
}

impl Op {
    fn actor(&self) -> Option<Who> {
        match self {
            Op::Create { actor, .. }
            | Op::Edit { actor, .. }
            | Op::Assign { actor, .. }
            | Op::Status { actor, .. }
            | Op::Interact { actor, .. }
            | Op::AddOpportunity { actor, .. }
            | Op::UpdateOpportunity { actor, .. }
            | Op::FollowUp { actor, .. }
            | Op::Bulk { actor, .. }
            | Op::Merge { actor, .. }
            | Op::ReassignAll { actor, .. } => Some(*actor),
            _ => None,
        }
    }
}

/// What an operation came to. Errors are compared by meaning, with the details the rules fix
/// (which action was forbidden, which move and which lead a duplicate matched).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Converted {
        client_created: bool,
    },
    Swept {
        notified: Vec<usize>,
        reminded: Vec<usize>,
        escalated: Vec<usize>,
        failed: Vec<usize>,
    },
    /// A bulk change or a reassignment of all leads: the leads changed and the ones refused,
    /// with why.
    Bulk {
        done: Vec<usize>,
        failed: Vec<(usize, Outcome)>,
    },
    Dispatched {
        created: Vec<usize>,
        failed: Vec<usize>,
    },
    UnknownActor,
    Forbidden(Action),
    ReadOnly,
    InvalidTransition {
        from: LeadStatus,
        to: LeadStatus,
        allowed: Vec<LeadStatus>,
    },
    InvalidAssignee(AssigneeProblem),
    MergeRefused(MergeRefusal),
    NotFound(Entity),
    Conflict(Entity),
    /// `existing` when the actor sees it; otherwise `ask`, the name of its owner's active
    /// manager, if any.
    Duplicate {
        existing: Option<usize>,
        field: ContactField,
        ask: Option<String>,
    },
    Invalid(&'static str),
    Unexpected(String),
}

impl Outcome {
    fn refused(&self) -> bool {
        if let Outcome::Bulk { done, .. } = self {
            return done.is_empty();
        }
        !matches!(
            self,
            Outcome::Ok
                | Outcome::Converted { .. }
                | Outcome::Swept { .. }
                | Outcome::Dispatched { .. }
        )
    }
}

// ------------------------------------------------------------------------------------------
// The reference model
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct MLead {
    status: LeadStatus,
    owner: Who,
    email: Option<u8>,
    phone: Option<u8>,
    source: u8,
    created_at: i64,
    version: u64,
    history: usize,
    interactions: usize,
    /// The first-contact notice was claimed (`follow_up_notified_at` set).
    notified: bool,
    /// Notices claimed by a sweep and not delivered: they wait in the outbox.
    waiting: Vec<MNotice>,
    /// The newest interaction's time.
    last_interaction: Option<i64>,
    next_follow_up: Option<i64>,
    reminded_for: Option<i64>,
    owner_notified: Option<i64>,
    escalated_for: Option<i64>,
    client: bool,
    pending: bool,
    /// Every status the lead has been in (time in status counts a lead once per status).
    held: BTreeSet<LeadStatus>,
    /// The lead this one was merged into: read-only, out of listings, reports, sweeps and
    /// duplicate checks.
    merged: Option<usize>,
}

impl MLead {
    /// Still worked: an open status and not merged away.
    fn live(&self) -> bool {
        open(self.status) && self.merged.is_none()
    }
}

#[derive(Clone, Debug)]
struct MOpp {
    lead: usize,
    version: u64,
    stage: OpportunityStage,
    minor: i64,
}

/// The model's own pipeline rule: the default probability of a stage, and the weighted value
/// of an opportunity rounded half up (computed wide, unlike the library's split formula).
fn model_weighted(o: &MOpp) -> i64 {
    let p: i128 = match o.stage {
        OpportunityStage::Open => 10,
        OpportunityStage::Qualified => 25,
        OpportunityStage::Proposal => 50,
        OpportunityStage::Negotiation => 75,
        OpportunityStage::Won => 100,
        _ => 0,
    };
    i64::try_from((i128::from(o.minor) * p + 50) / 100).unwrap()
}

/// The model: what every lead should look like, and what the last step should have given.
#[derive(Clone, Debug, Default)]
struct Model {
    /// The visibility policy of this case.
    policy: Visibility,
    /// Whom each assignment rule (by source index) gave its last lead to.
    rotation: std::collections::BTreeMap<u8, Who>,
    /// Seconds since the start.
    now: i64,
    leads: Vec<MLead>,
    opps: Vec<MOpp>,
    events: usize,
    /// Every notice delivered, by lead.
    delivered: Vec<(usize, MNotice)>,
    clients_failing: bool,
    notifier_failing: bool,
    /// The outcome the last operation must have.
    expected: Option<Outcome>,
}

/// Who may make a move: the design's status table, written out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mover {
    Editors,
    Management,
}

fn table(from: LeadStatus, to: LeadStatus) -> Option<Mover> {
    use LeadStatus::*;
    match (from, to) {
        (New, Contacted | Interested | Lost)
        | (Contacted, Interested | Converted | Lost)
        | (Interested, Converted | Lost) => Some(Mover::Editors),
        (Lost, New) => Some(Mover::Management),
        _ => None,
    }
}

fn allowed_from(from: LeadStatus) -> Vec<LeadStatus> {
    LeadStatus::ALL
        .into_iter()
        .filter(|to| table(from, *to).is_some())
        .collect()
}

fn open(s: LeadStatus) -> bool {
    matches!(
        s,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Interested
    )
}

/// The permission rule: active sales and managers write; sales reassign only their own leads
/// and never reopen, reassign everything or merge; everyone else only reads.
fn permit(actor: Who, action: Action, owner: Option<Who>) -> Result<(), Outcome> {
    let forbidden = Err(Outcome::Forbidden(action));
    match actor.profile() {
        None => Err(Outcome::UnknownActor),
        Some((_, false)) | Some((MRole::Other, _)) => forbidden,
        Some((MRole::Manager, true)) => Ok(()),
        Some((MRole::Sales, true)) => match action {
            Action::ReopenLead | Action::ReassignAll | Action::MergeLeads => forbidden,
            Action::ReassignLead if owner != Some(actor) => forbidden,
            _ => Ok(()),
        },
    }
}

/// The assignment rule: the owner exists, is active, and is sales staff or management.
fn assignable(who: Who) -> Result<(), Outcome> {
    match who.profile() {
        None => Err(Outcome::InvalidAssignee(AssigneeProblem::Unknown)),
        Some((_, false)) => Err(Outcome::InvalidAssignee(AssigneeProblem::Inactive)),
        Some((MRole::Other, _)) => Err(Outcome::InvalidAssignee(AssigneeProblem::NotSales)),
        Some(_) => Ok(()),
    }
}

fn known(actor: Who) -> Result<(), Outcome> {
    actor.profile().map(|_| ()).ok_or(Outcome::UnknownActor)
}

/// The assignment rules, written out again: by source index, round-robin (`true`) or
/// least-open over the active sales staff of team `a`.
fn rule_for(source: u8) -> Option<bool> {
    match source {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

/// The rules as the host configures them.
const RULES: [&str; 2] = ["referral=round-robin:a", "phone=least-open:a"];

impl Model {
    /// A lead outside the actor's view does not exist for them.
    fn visible(&self, actor: Who, lead: usize, entity: Entity) -> Result<(), Outcome> {
        if actor.sees(self.policy, self.leads[lead].owner) {
            Ok(())
        } else {
            Err(Outcome::NotFound(entity))
        }
    }

    /// The owner an assignment rule picks: the team's active sales staff by id (Sales1,
    /// Sales2), the next after the rule's last one; least-open first takes those with the
    /// fewest open leads.
    fn assigned(&self, source: u8, round_robin: bool) -> Who {
        let staff = [Who::Sales1, Who::Sales2];
        let start = match self.rotation.get(&source) {
            Some(Who::Sales1) => 1,
            _ => 0,
        };
        let order = [staff[start], staff[1 - start]];
        if round_robin {
            return order[0];
        }
        let open_of = |w: Who| {
            self.leads
                .iter()
                .filter(|l| l.owner == w && l.live())
                .count()
        };
        let fewest = order.iter().map(|w| open_of(*w)).min().unwrap_or(0);
        order
            .into_iter()
            .find(|w| open_of(*w) == fewest)
            .unwrap_or(order[0])
    }

    /// The duplicate rule: the oldest other open lead with the same email, else phone; named
    /// only to an actor who sees it, else the name of its owner's active manager is given.
    fn duplicate(
        &self,
        actor: Who,
        me: Option<usize>,
        email: Option<u8>,
        phone: Option<u8>,
    ) -> Result<(), Outcome> {
        for (field, value) in [(ContactField::Email, email), (ContactField::Phone, phone)] {
            let Some(v) = value else { continue };
            let hit = self.leads.iter().enumerate().position(|(i, l)| {
                let own = match field {
                    ContactField::Email => l.email,
                    _ => l.phone,
                };
                Some(i) != me && l.live() && own == Some(v)
            });
            if let Some(existing) = hit {
                let owner = self.leads[existing].owner;
                if actor.sees(self.policy, owner) {
                    return Err(Outcome::Duplicate {
                        existing: Some(existing),
                        field,
                        ask: None,
                    });
                }
                let manager = owner.employee().and_then(|o| o.manager);
                let ask = [Who::Manager, Who::InactiveManager]
                    .into_iter()
                    .filter_map(Who::employee)
                    .find(|m| Some(m.id) == manager && m.active)
                    .map(|m| m.name.as_str().to_owned());
                return Err(Outcome::Duplicate {
                    existing: None,
                    field,
                    ask,
                });
            }
        }
        Ok(())
    }

    /// A lead that may be changed: in the actor's view, `action` permitted, neither converted
    /// nor merged away.
    fn writable(&self, actor: Who, action: Action, lead: usize) -> Result<(), Outcome> {
        self.visible(actor, lead, Entity::Lead)?;
        let l = &self.leads[lead];
        permit(actor, action, Some(l.owner))?;
        if l.status == LeadStatus::Converted || l.merged.is_some() {
            return Err(Outcome::ReadOnly);
        }
        Ok(())
    }

    /// One lead of a bulk change: applied as the single change, or refused leaving the
    /// model as it was.
    fn each(
        &mut self,
        one: &Op,
        lead: usize,
        done: &mut Vec<usize>,
        failed: &mut Vec<(usize, Outcome)>,
    ) {
        let before = self.clone();
        match self.step(one) {
            Ok(_) => done.push(lead),
            Err(o) => {
                *self = before;
                failed.push((lead, o));
            }
        }
    }

    fn step(&mut self, op: &Op) -> Result<Outcome, Outcome> {
        match *op {
            Op::Create {
                actor,
                owner,
                email,
                phone,
                allow_duplicate,
                source,
                ..
            } => {
                known(actor)?;
                permit(actor, Action::CreateLead, None)?;
                let rule = rule_for(source).filter(|_| owner.is_none());
                let owner = match rule {
                    Some(round_robin) => self.assigned(source, round_robin),
                    None => owner.unwrap_or(actor),
                };
                assignable(owner)?;
                if !allow_duplicate {
                    self.duplicate(actor, None, email, phone)?;
                }
                if rule.is_some() {
                    self.rotation.insert(source, owner);
                }
                self.leads.push(MLead {
                    status: LeadStatus::New,
                    owner,
                    email,
                    phone,
                    source,
                    created_at: self.now,
                    version: 1,
                    history: 1,
                    interactions: 0,
                    notified: false,
                    waiting: vec![],
                    last_interaction: None,
                    next_follow_up: None,
                    reminded_for: None,
                    owner_notified: None,
                    escalated_for: None,
                    client: false,
                    pending: false,
                    held: [LeadStatus::New].into_iter().collect(),
                    merged: None,
                });
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::Edit {
                actor,
                lead,
                edit,
                allow_duplicate,
                stale,
                ..
            } => {
                known(actor)?;
                self.writable(actor, Action::EditLead, lead)?;
                if stale {
                    return Err(Outcome::Conflict(Entity::Lead));
                }
                let l = &self.leads[lead];
                let (email, phone) = match edit {
                    EditKind::Rename => (l.email, l.phone),
                    EditKind::Email(e) => (Some(e), l.phone),
                    EditKind::ClearEmail => (None, l.phone),
                    EditKind::Phone(p) => (l.email, Some(p)),
                    EditKind::ClearPhone => (l.email, None),
                };
                let contact_changed = (email, phone) != (l.email, l.phone);
                if edit != EditKind::Rename && !contact_changed {
                    return Err(Outcome::Invalid("nothing_to_change"));
                }
                if email.is_none() && phone.is_none() {
                    return Err(Outcome::Invalid("missing_contact"));
                }
                if contact_changed && open(l.status) && !allow_duplicate {
                    self.duplicate(actor, Some(lead), email, phone)?;
                }
                let l = &mut self.leads[lead];
                (l.email, l.phone) = (email, phone);
                l.version += 1;
                l.history += 1;
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::Assign {
                actor,
                lead,
                to,
                stale,
            } => {
                known(actor)?;
                self.writable(actor, Action::ReassignLead, lead)?;
                if stale {
                    return Err(Outcome::Conflict(Entity::Lead));
                }
                assignable(to)?;
                let l = &mut self.leads[lead];
                if l.owner == to {
                    return Err(Outcome::Invalid("nothing_to_change"));
                }
                l.owner = to;
                l.version += 1;
                l.history += 1;
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::Status {
                actor,
                lead,
                to,
                reason,
                stale,
            } => {
                known(actor)?;
                self.visible(actor, lead, Entity::Lead)?;
                let from = self.leads[lead].status;
                let mover = table(from, to);
                let action = if mover == Some(Mover::Management) {
                    Action::ReopenLead
                } else {
                    Action::ChangeStatus
                };
                permit(actor, action, Some(self.leads[lead].owner))?;
                if from == LeadStatus::Converted || self.leads[lead].merged.is_some() {
                    return Err(Outcome::ReadOnly);
                }
                if mover.is_none() {
                    return Err(Outcome::InvalidTransition {
                        from,
                        to,
                        allowed: allowed_from(from),
                    });
                }
                if stale {
                    return Err(Outcome::Conflict(Entity::Lead));
                }
                if to != LeadStatus::Lost && reason {
                    return Err(Outcome::Invalid("reason_without_lost"));
                }
                if to == LeadStatus::Lost && !reason {
                    return Err(Outcome::Invalid("lost_reason_required"));
                }
                let l = &mut self.leads[lead];
                l.status = to;
                l.held.insert(to);
                l.version += 1;
                l.history += 1;
                self.events += 1;
                if to != LeadStatus::Converted {
                    return Ok(Outcome::Ok);
                }
                let client_created = !self.clients_failing;
                l.client = client_created;
                l.pending = !client_created;
                if client_created {
                    self.events += 1;
                }
                Ok(Outcome::Converted { client_created })
            }
            Op::Interact {
                actor,
                lead,
                minutes_ago,
            } => {
                known(actor)?;
                self.writable(actor, Action::LogInteraction, lead)?;
                if minutes_ago < 0 {
                    return Err(Outcome::Invalid("in_future"));
                }
                let at = self.now - minutes_ago * 60;
                let l = &mut self.leads[lead];
                l.last_interaction = Some(l.last_interaction.map_or(at, |t| t.max(at)));
                self.leads[lead].interactions += 1;
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::AddOpportunity { actor, lead, minor } => {
                known(actor)?;
                self.writable(actor, Action::AddOpportunity, lead)?;
                self.opps.push(MOpp {
                    lead,
                    version: 1,
                    stage: OpportunityStage::Open,
                    minor,
                });
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::UpdateOpportunity {
                actor,
                opportunity,
                stage,
                stale,
            } => {
                known(actor)?;
                self.visible(actor, self.opps[opportunity].lead, Entity::Opportunity)?;
                // Only the stage changes here: a converted lead's opportunity may still be
                // won or lost.
                let lead = &self.leads[self.opps[opportunity].lead];
                permit(actor, Action::EditOpportunity, Some(lead.owner))?;
                if stale {
                    return Err(Outcome::Conflict(Entity::Opportunity));
                }
                let o = &mut self.opps[opportunity];
                if o.stage == stage {
                    return Err(Outcome::Invalid("nothing_to_change"));
                }
                o.stage = stage;
                o.version += 1;
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::Advance { hours } => {
                self.now += hours * 3600;
                Ok(Outcome::Ok)
            }
            Op::FollowUp {
                actor,
                lead,
                hours,
                stale,
            } => {
                known(actor)?;
                self.writable(actor, Action::EditLead, lead)?;
                if stale {
                    return Err(Outcome::Conflict(Entity::Lead));
                }
                let at = hours.map(|h| self.now + h * 3600);
                if at.is_some_and(|t| t < self.now) {
                    return Err(Outcome::Invalid("in_past"));
                }
                let l = &mut self.leads[lead];
                if l.next_follow_up == at {
                    return Err(Outcome::Invalid("nothing_to_change"));
                }
                l.next_follow_up = at;
                l.version += 1;
                l.history += 1;
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::Bulk {
                actor,
                ref targets,
                change,
            } => {
                let ids: BTreeSet<usize> = targets.iter().map(|(l, _)| *l).collect();
                if ids.len() != targets.len() {
                    return Err(Outcome::Invalid("repeated_lead"));
                }
                known(actor)?;
                // Who may only read is refused the whole change.
                if actor.read_only() {
                    return Err(Outcome::Forbidden(match change {
                        BulkKind::Assign(_) => Action::ReassignLead,
                        BulkKind::Status { .. } => Action::ChangeStatus,
                    }));
                }
                let mut done = vec![];
                let mut failed = vec![];
                for &(lead, stale) in targets {
                    let one = match change {
                        BulkKind::Assign(to) => Op::Assign {
                            actor,
                            lead,
                            to,
                            stale,
                        },
                        BulkKind::Status { to, reason } => Op::Status {
                            actor,
                            lead,
                            to,
                            reason,
                            stale,
                        },
                    };
                    self.each(&one, lead, &mut done, &mut failed);
                }
                Ok(Outcome::Bulk { done, failed })
            }
            Op::Merge {
                actor,
                keep,
                other,
                stale_keep,
                stale_other,
            } => {
                // The merge rule, written out again: management only; both leads in view;
                // never a lead into itself, into or out of a merged lead, a converted lead
                // away or into a converted (read-only) lead; both versions current.
                known(actor)?;
                permit(actor, Action::MergeLeads, None)?;
                self.visible(actor, keep, Entity::Lead)?;
                self.visible(actor, other, Entity::Lead)?;
                let (k, o) = (&self.leads[keep], &self.leads[other]);
                let refusal = if keep == other {
                    Some(MergeRefusal::SameLead)
                } else if k.merged.is_some() {
                    Some(MergeRefusal::KeepMerged)
                } else if o.merged.is_some() {
                    Some(MergeRefusal::OtherMerged)
                } else if o.status == LeadStatus::Converted {
                    Some(MergeRefusal::OtherConverted)
                } else if k.status == LeadStatus::Converted {
                    Some(MergeRefusal::KeepConverted)
                } else {
                    None
                };
                if let Some(r) = refusal {
                    return Err(Outcome::MergeRefused(r));
                }
                if stale_keep || stale_other {
                    return Err(Outcome::Conflict(Entity::Lead));
                }
                // KEEP takes what it lacks (each an edit in its history, after the entry
                // naming OTHER); a follow-up time only between two leads still worked.
                let o = o.clone();
                let k = &mut self.leads[keep];
                let mut taken = 0;
                if k.email.is_none() && o.email.is_some() {
                    k.email = o.email;
                    taken += 1;
                }
                if k.phone.is_none() && o.phone.is_some() {
                    k.phone = o.phone;
                    taken += 1;
                }
                if open(k.status)
                    && open(o.status)
                    && k.next_follow_up.is_none()
                    && o.next_follow_up.is_some()
                {
                    k.next_follow_up = o.next_follow_up;
                    taken += 1;
                }
                k.version += 1;
                k.history += 1 + taken;
                // OTHER's records move; its history stays its own (KEEP's detail shows it).
                k.interactions += o.interactions;
                k.last_interaction = k.last_interaction.max(o.last_interaction);
                let g = &mut self.leads[other];
                g.interactions = 0;
                g.version += 1;
                g.history += 1;
                g.merged = Some(keep);
                for l in &mut self.leads {
                    if l.merged == Some(other) {
                        l.merged = Some(keep);
                    }
                }
                for opp in &mut self.opps {
                    if opp.lead == other {
                        opp.lead = keep;
                    }
                }
                self.events += 1;
                Ok(Outcome::Ok)
            }
            Op::ReassignAll { actor, from, .. } => {
                known(actor)?;
                permit(actor, Action::ReassignAll, Some(from))?;
                if from.profile().is_none() {
                    return Err(Outcome::NotFound(Entity::Employee));
                }
                let Some(team) = from.team() else {
                    return Err(Outcome::Invalid("other_validation"));
                };
                // Open leads of `from` in the actor's view, by status, newest first.
                let mut leads = vec![];
                for s in [
                    LeadStatus::New,
                    LeadStatus::Contacted,
                    LeadStatus::Interested,
                ] {
                    leads.extend((0..self.leads.len()).rev().filter(|&i| {
                        let l = &self.leads[i];
                        l.owner == from
                            && l.status == s
                            && l.merged.is_none()
                            && actor.sees(self.policy, l.owner)
                    }));
                }
                // The team's other active sales staff: in team `a` one sales employee is
                // left, who takes everything whatever the strategy; team `b` has none.
                let takers: Vec<Who> = [Who::Sales1, Who::Sales2]
                    .into_iter()
                    .filter(|w| w.team() == Some(team) && *w != from)
                    .collect();
                if leads.is_empty() {
                    return Ok(Outcome::Bulk {
                        done: vec![],
                        failed: vec![],
                    });
                }
                let Some(&to) = takers.first() else {
                    return Err(Outcome::Invalid("other_validation"));
                };
                assert_eq!(takers.len(), 1, "the model's teams give one taker");
                let mut done = vec![];
                let mut failed = vec![];
                for lead in leads {
                    let one = Op::Assign {
                        actor,
                        lead,
                        to,
                        stale: false,
                    };
                    self.each(&one, lead, &mut done, &mut failed);
                }
                done.sort_unstable();
                failed.sort_by_key(|(l, _)| *l);
                Ok(Outcome::Bulk { done, failed })
            }
            Op::Sweep => {
                // Notices waiting in the outbox first (each dropped when what it was about is
                // over), then new ones: first contacts, overdue reminders, escalations, each
                // claim marking its lead. A claimed notice the notifier refuses, or an
                // escalation whose owner has no active manager, waits for the next sweep.
                let at = self.now;
                let cutoff = back(at, FOLLOW_UP_DAYS);
                let esc_cutoff = back(at, ESCALATE_DAYS);
                let unanswered = |l: &MLead, since: i64| {
                    l.live() && l.last_interaction.is_none_or(|i| i < since)
                };
                let mut claimed: Vec<(usize, MNotice)> = vec![];
                for (i, l) in self.leads.iter_mut().enumerate() {
                    for k in std::mem::take(&mut l.waiting) {
                        let still = match k {
                            MNotice::FirstContact => {
                                l.status == LeadStatus::New
                                    && l.merged.is_none()
                                    && l.last_interaction.is_none()
                            }
                            MNotice::Overdue(t) => l.next_follow_up == Some(t) && unanswered(l, t),
                            MNotice::Escalation(n) => unanswered(l, n),
                        };
                        if still {
                            claimed.push((i, k));
                        }
                    }
                }
                for (i, l) in self.leads.iter_mut().enumerate() {
                    if l.status == LeadStatus::New
                        && l.merged.is_none()
                        && l.last_interaction.is_none()
                        && !l.notified
                        && l.created_at <= cutoff
                    {
                        l.notified = true;
                        l.owner_notified = Some(at);
                        claimed.push((i, MNotice::FirstContact));
                    }
                }
                for (i, l) in self.leads.iter_mut().enumerate() {
                    if let Some(t) = l.next_follow_up
                        && t <= at
                        && l.reminded_for != Some(t)
                        && unanswered(l, t)
                    {
                        l.reminded_for = Some(t);
                        l.owner_notified = Some(at);
                        claimed.push((i, MNotice::Overdue(t)));
                    }
                }
                for (i, l) in self.leads.iter_mut().enumerate() {
                    if let Some(n) = l.owner_notified
                        && n <= esc_cutoff
                        && l.escalated_for != Some(n)
                        && unanswered(l, n)
                    {
                        l.escalated_for = Some(n);
                        claimed.push((i, MNotice::Escalation(n)));
                    }
                }
                let (mut notified, mut reminded, mut escalated, mut failed) =
                    (vec![], vec![], vec![], vec![]);
                for (i, k) in claimed {
                    // Sales staff have the manager as theirs; nobody else has a manager.
                    let addressable = match k {
                        MNotice::Escalation(_) => {
                            matches!(self.leads[i].owner, Who::Sales1 | Who::Sales2)
                        }
                        _ => true,
                    };
                    if self.notifier_failing || !addressable {
                        self.leads[i].waiting.push(k);
                        failed.push(i);
                        continue;
                    }
                    self.delivered.push((i, k));
                    match k {
                        MNotice::FirstContact => notified.push(i),
                        MNotice::Overdue(_) => reminded.push(i),
                        MNotice::Escalation(_) => escalated.push(i),
                    }
                }
                for v in [&mut notified, &mut reminded, &mut escalated, &mut failed] {
                    v.sort_unstable();
                }
                Ok(Outcome::Swept {
                    notified,
                    reminded,
                    escalated,
                    failed,
                })
            }
            Op::Dispatch => {
                let pending: Vec<usize> = (0..self.leads.len())
                    .filter(|&i| self.leads[i].pending)
                    .collect();
                if self.clients_failing {
                    return Ok(Outcome::Dispatched {
                        created: vec![],
                        failed: pending,
                    });
                }
                for &i in &pending {
                    let l = &mut self.leads[i];
                    (l.pending, l.client) = (false, true);
                    self.events += 1;
                }
                Ok(Outcome::Dispatched {
                    created: pending,
                    failed: vec![],
                })
            }
            Op::ClientsFail(on) => {
                self.clients_failing = on;
                Ok(Outcome::Ok)
            }
            Op::NotifierFail(on) => {
                self.notifier_failing = on;
                Ok(Outcome::Ok)
            }
        }
    }
}

struct ModelRules;

impl ReferenceStateMachine for ModelRules {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        prop::sample::select(Visibility::ALL.to_vec())
            .prop_map(|policy| Model {
                policy,
                ..Model::default()
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let n = state.leads.len();
        let m = state.opps.len();
        let pending = state.leads.iter().any(|l| l.pending);
        let stale = || prop::bool::weighted(0.1);
        let contact = || prop::option::of(0u8..4);
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (
                5,
                (
                    who(),
                    prop::option::weighted(0.2, who()),
                    contact(),
                    contact(),
                    0u8..6,
                    prop::bool::weighted(0.2),
                    0u8..7,
                )
                    .prop_map(
                        |(actor, owner, email, phone, spelling, allow_duplicate, source)| {
                            // Some contact data always: a lead without it is refused earlier.
                            let email = if email.is_none() && phone.is_none() {
                                Some(0)
                            } else {
                                email
                            };
                            Op::Create {
                                actor,
                                owner,
                                email,
                                phone,
                                spelling,
                                allow_duplicate,
                                source,
                            }
                        },
                    )
                    .boxed(),
            ),
            // Time passes and sweeps run often enough for first contacts, overdue reminders
            // and escalations (days after a notification) to happen in many sequences.
            (
                3,
                (1i64..=120).prop_map(|hours| Op::Advance { hours }).boxed(),
            ),
            (3, Just(Op::Sweep).boxed()),
            (if pending { 3 } else { 1 }, Just(Op::Dispatch).boxed()),
            (1, any::<bool>().prop_map(Op::ClientsFail).boxed()),
            (
                1,
                prop::bool::weighted(0.3).prop_map(Op::NotifierFail).boxed(),
            ),
        ];
        if n > 0 {
            let edit = prop_oneof![
                Just(EditKind::Rename),
                (0u8..4).prop_map(EditKind::Email),
                Just(EditKind::ClearEmail),
                (0u8..4).prop_map(EditKind::Phone),
                Just(EditKind::ClearPhone),
            ];
            ops.push((
                2,
                (
                    who(),
                    0..n,
                    edit,
                    0u8..6,
                    prop::bool::weighted(0.2),
                    stale(),
                )
                    .prop_map(
                        |(actor, lead, edit, spelling, allow_duplicate, stale)| Op::Edit {
                            actor,
                            lead,
                            edit,
                            spelling,
                            allow_duplicate,
                            stale,
                        },
                    )
                    .boxed(),
            ));
            ops.push((
                2,
                (who(), 0..n, who(), stale())
                    .prop_map(|(actor, lead, to, stale)| Op::Assign {
                        actor,
                        lead,
                        to,
                        stale,
                    })
                    .boxed(),
            ));
            // Mostly moves the table allows from the lead's status, so leads travel the
            // whole pipeline; sometimes any target, to exercise refusals.
            let statuses: Vec<LeadStatus> = state.leads.iter().map(|l| l.status).collect();
            let target = move |lead: usize| {
                let allowed = allowed_from(statuses[lead]);
                let any = prop::sample::select(LeadStatus::ALL.to_vec());
                if allowed.is_empty() {
                    any.boxed()
                } else {
                    prop_oneof![3 => prop::sample::select(allowed), 1 => any].boxed()
                }
            };
            ops.push((
                6,
                (
                    who(),
                    (0..n).prop_flat_map(move |lead| (Just(lead), target(lead))),
                    prop::bool::weighted(0.85),
                    prop::bool::weighted(0.1),
                    stale(),
                )
                    .prop_map(|(actor, (lead, to), reason, stray, stale)| Op::Status {
                        actor,
                        lead,
                        to,
                        // Mostly a reason for lost and none otherwise; sometimes the wrong way.
                        reason: if to == LeadStatus::Lost {
                            reason
                        } else {
                            stray
                        },
                        stale,
                    })
                    .boxed(),
            ));
            ops.push((
                2,
                (who(), 0..n, -5i64..600)
                    .prop_map(|(actor, lead, minutes_ago)| Op::Interact {
                        actor,
                        lead,
                        minutes_ago,
                    })
                    .boxed(),
            ));
            ops.push((
                2,
                (
                    who(),
                    0..n,
                    prop::option::weighted(0.85, -2i64..72),
                    stale(),
                )
                    .prop_map(|(actor, lead, hours, stale)| Op::FollowUp {
                        actor,
                        lead,
                        hours,
                        stale,
                    })
                    .boxed(),
            ));
            let change = prop_oneof![
                who().prop_map(BulkKind::Assign),
                (
                    prop::sample::select(LeadStatus::ALL.to_vec()),
                    prop::bool::weighted(0.85)
                )
                    .prop_map(|(to, reason)| BulkKind::Status {
                        to,
                        reason: reason == (to == LeadStatus::Lost),
                    }),
            ];
            ops.push((
                2,
                (
                    who(),
                    prop::collection::vec((0..n, prop::bool::weighted(0.1)), 1..5),
                    change,
                )
                    .prop_map(|(actor, targets, change)| Op::Bulk {
                        actor,
                        targets,
                        change,
                    })
                    .boxed(),
            ));
            ops.push((
                1,
                (who(), who(), any::<bool>())
                    .prop_map(|(actor, from, round_robin)| Op::ReassignAll {
                        actor,
                        from,
                        round_robin,
                    })
                    .boxed(),
            ));
            ops.push((
                1,
                (who(), 0..n, 0i64..10_000_000)
                    .prop_map(|(actor, lead, minor)| Op::AddOpportunity { actor, lead, minor })
                    .boxed(),
            ));
            // Mostly by the manager, so merges happen; any actor and pair to exercise the
            // refusals (the same lead, merged and converted leads, sales staff).
            // OTHER is KEEP moved on by `step` (wrapping): mostly another lead.
            let merger = prop_oneof![3 => Just(Who::Manager), 2 => who()];
            let step = prop_oneof![1 => Just(0), 8 => 1..n.max(2)];
            ops.push((
                3,
                (merger, 0..n, step, stale(), stale())
                    .prop_map(
                        move |(actor, keep, step, stale_keep, stale_other)| Op::Merge {
                            actor,
                            keep,
                            other: (keep + step) % n,
                            stale_keep,
                            stale_other,
                        },
                    )
                    .boxed(),
            ));
        }
        if m > 0 {
            ops.push((
                1,
                (
                    who(),
                    0..m,
                    prop::sample::select(OpportunityStage::ALL.to_vec()),
                    stale(),
                )
                    .prop_map(|(actor, opportunity, stage, stale)| Op::UpdateOpportunity {
                        actor,
                        opportunity,
                        stage,
                        stale,
                    })
                    .boxed(),
            ));
        }
        Union::new_weighted(ops).boxed()
    }

    /// Indices must point at leads and opportunities that exist (shrinking drops steps).
    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::Edit { lead, .. }
            | Op::Assign { lead, .. }
            | Op::Status { lead, .. }
            | Op::Interact { lead, .. }
            | Op::AddOpportunity { lead, .. }
            | Op::FollowUp { lead, .. } => *lead < state.leads.len(),
            Op::Bulk { targets, .. } => targets.iter().all(|(l, _)| *l < state.leads.len()),
            Op::Merge { keep, other, .. } => {
                *keep < state.leads.len() && *other < state.leads.len()
            }
            Op::UpdateOpportunity { opportunity, .. } => *opportunity < state.opps.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        // Every step takes one second, so creation times (and orderings) never tie.
        state.now += 1;
        let mut next = state.clone();
        let outcome = next.step(op);
        match outcome {
            Ok(o) => {
                next.expected = Some(o);
                next
            }
            // A refused operation changes nothing but the clock.
            Err(o) => {
                state.expected = Some(o);
                state
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The system under test
// ------------------------------------------------------------------------------------------

/// The calendar of the system under test: UTC, all day, Friday-Saturday weekend.
fn calendar() -> WorkCalendar {
    WorkCalendar::default()
        .weekend(vec![chrono::Weekday::Fri, chrono::Weekday::Sat])
        .unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-04T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn email_text(i: u8, spelling: u8) -> String {
    match spelling % 3 {
        0 => format!("person{i}@example.com"),
        1 => format!("  Person{i}@EXAMPLE.com "),
        _ => format!("PERSON{i}@Example.Com"),
    }
}

fn phone_text(i: u8, spelling: u8) -> String {
    const ARABIC: [char; 10] = ['٠', '١', '٢', '٣', '٤', '٥', '٦', '٧', '٨', '٩'];
    let digits = format!("96650000000{i}");
    match spelling % 6 {
        0 => format!("+{digits}"),
        1 => format!("+966 50 000 000{i}"),
        // Local and 00 forms, read in the harness's region (SA).
        4 => format!("050000000{i}"),
        5 => format!("00{digits}"),
        2 => format!(
            "+{}",
            digits
                .chars()
                .map(|c| ARABIC[c.to_digit(10).unwrap() as usize])
                .collect::<String>()
        ),
        _ => format!("+966-50-000-000{i}"),
    }
}

fn source(i: u8) -> Source {
    Source::parse(
        Source::BUILT_IN
            .get(usize::from(i))
            .copied()
            .unwrap_or("fair"),
    )
    .unwrap()
}

/// A clients system that can be switched to fail and records every client it was asked for
/// and created. It is deliberately not idempotent in its record: a second creation for one
/// lead shows up twice, so the test sees it.
#[derive(Debug, Default)]
struct Clients {
    failing: AtomicBool,
    created: Mutex<Vec<(LeadId, ClientId)>>,
}

#[async_trait]
impl ClientsPort for Clients {
    async fn create_client(&self, request: &ClientRequest) -> Result<ClientId, PortError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(PortError::new("clients", "clients system unavailable"));
        }
        let id = ClientId::parse(&format!("client-{}", request.lead_id)).unwrap();
        self.created
            .lock()
            .unwrap()
            .push((request.lead_id, id.clone()));
        Ok(id)
    }
}

/// A notifier that can be switched to fail and records every notice delivered.
#[derive(Debug, Default)]
struct Notices {
    failing: AtomicBool,
    sent: Mutex<Vec<(LeadId, NoticeKind)>>,
}

#[async_trait]
impl Notifier for Notices {
    async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(PortError::new("notifier", "mailbox full"));
        }
        if let NoticeKind::Escalation { manager, .. } = notice.kind {
            assert_eq!(manager, Some(Who::Manager.id()), "{notice:?}");
        }
        self.sent
            .lock()
            .unwrap()
            .push((notice.lead_id, notice.kind.clone()));
        Ok(())
    }
}

/// Everything observable, to prove that a refused operation changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    details: Vec<LeadDetail>,
    report: Report,
    events: Vec<Event>,
    clients: Vec<(LeadId, ClientId)>,
    notices: Vec<(LeadId, NoticeKind)>,
}

/// Fields drop in order: the service (and with it the store) before its runtime, which a
/// database pool needs to close.
struct Sut {
    crm: Crm,
    /// The store under test, read directly for the scoring counts.
    store: Arc<dyn LeadStore>,
    clock: Arc<ManualClock>,
    clients: Arc<Clients>,
    notices: Arc<Notices>,
    /// The real ids of the model's leads and opportunities, by model index.
    leads: Vec<LeadId>,
    opps: Vec<OpportunityId>,
    renames: usize,
    rt: tokio::runtime::Runtime,
}

fn validation_tag(e: &ValidationError) -> &'static str {
    match e {
        ValidationError::NothingToChange => "nothing_to_change",
        ValidationError::MissingContact => "missing_contact",
        ValidationError::LostReasonRequired => "lost_reason_required",
        ValidationError::ReasonWithoutLost => "reason_without_lost",
        ValidationError::InFuture { .. } => "in_future",
        ValidationError::InPast { .. } => "in_past",
        ValidationError::RepeatedLead { .. } => "repeated_lead",
        _ => "other_validation",
    }
}

impl Sut {
    fn new(rt: tokio::runtime::Runtime, store: Arc<dyn LeadStore>, policy: Visibility) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let clients = Arc::new(Clients::default());
        let notices = Arc::new(Notices::default());
        let employees = Arc::new(MemoryEmployees::new(
            Who::STAFF.iter().filter_map(|w| w.employee()),
        ));
        let rules = RULES.iter().map(|r| r.parse().unwrap());
        let crm = Crm::builder()
            .store(store.clone())
            .employees(employees.clone())
            .teams(employees)
            .visibility(policy)
            .assignment(crm_core::AssignmentRules::new(rules).unwrap())
            .clients(clients.clone())
            .notifier(notices.clone())
            .clock(clock.clone())
            .follow_up(FollowUpRule::in_calendar(FOLLOW_UP_DAYS as u32, calendar()).unwrap())
            .escalation(EscalationRule::after_working_days(ESCALATE_DAYS as u32).unwrap())
            .build()
            .unwrap();
        Self {
            rt,
            crm,
            store,
            clock,
            clients,
            notices,
            leads: vec![],
            opps: vec![],
            renames: 0,
        }
    }

    fn classify(&self, e: &CrmError) -> Outcome {
        match e {
            CrmError::UnknownActor(_) => Outcome::UnknownActor,
            CrmError::Forbidden { action, .. } => Outcome::Forbidden(*action),
            CrmError::ReadOnly(_) => Outcome::ReadOnly,
            CrmError::InvalidTransition { from, to, allowed } => Outcome::InvalidTransition {
                from: *from,
                to: *to,
                allowed: allowed.clone(),
            },
            CrmError::InvalidAssignee { problem, .. } => Outcome::InvalidAssignee(*problem),
            CrmError::MergeRefused { reason, .. } => Outcome::MergeRefused(*reason),
            CrmError::NotFound { entity, .. } => Outcome::NotFound(*entity),
            CrmError::Conflict { entity, .. } => Outcome::Conflict(*entity),
            CrmError::Duplicate {
                existing,
                field,
                ask,
            } => Outcome::Duplicate {
                existing: existing.map(|existing| {
                    self.leads
                        .iter()
                        .position(|l| *l == existing)
                        .unwrap_or(usize::MAX)
                }),
                field: *field,
                ask: ask.as_ref().map(|a| a.as_str().to_owned()),
            },
            CrmError::Validation(v) => Outcome::Invalid(validation_tag(v)),
            other => Outcome::Unexpected(other.to_string()),
        }
    }

    /// A bulk outcome by model index, in the order given (`sorted`: by index).
    fn bulk_outcome(&self, o: crm_core::BulkOutcome, sorted: bool) -> Outcome {
        let mut done: Vec<usize> = o.done.iter().map(|l| self.index(l.id())).collect();
        let mut failed: Vec<(usize, Outcome)> = o
            .failed
            .iter()
            .map(|(id, e)| (self.index(*id), self.classify(e)))
            .collect();
        if sorted {
            done.sort_unstable();
            failed.sort_by_key(|(l, _)| *l);
        }
        Outcome::Bulk { done, failed }
    }

    fn index(&self, id: LeadId) -> usize {
        self.leads
            .iter()
            .position(|l| *l == id)
            .unwrap_or(usize::MAX)
    }

    fn snapshot(&self) -> Snapshot {
        let m = Who::Manager.id();
        self.rt.block_on(async {
            let mut details = vec![];
            for id in &self.leads {
                details.push(self.crm.lead_detail(m, *id).await.unwrap());
            }
            Snapshot {
                details,
                report: self.crm.report(m, &ReportFilter::default()).await.unwrap(),
                events: self.crm.pending_events(m, 0, 10_000).await.unwrap(),
                clients: self.clients.created.lock().unwrap().clone(),
                notices: self.notices.sent.lock().unwrap().clone(),
            }
        })
    }

    /// The version a caller would pass: the current one, or an older one when `stale`.
    async fn version(&self, lead: usize, stale: bool) -> u64 {
        let v = self
            .crm
            .lead(Who::Manager.id(), self.leads[lead])
            .await
            .unwrap()
            .version();
        if stale { v - 1 } else { v }
    }

    fn run(&mut self, op: &Op) -> Outcome {
        let now = self.clock.now();
        let result: Result<Outcome, CrmError> = match op.clone() {
            Op::Create {
                actor,
                owner,
                email,
                phone,
                spelling,
                allow_duplicate,
                source: s,
            } => {
                let mut input = NewLead::new(
                    Name::parse(&format!("Lead {}", self.leads.len())).unwrap(),
                    source(s),
                );
                input.email = email.map(|e| Email::parse(&email_text(e, spelling)).unwrap());
                input.phone = phone.map(|p| {
                    Phone::parse_in(&phone_text(p, spelling), crate::harness::region()).unwrap()
                });
                input.owner = owner.map(Who::id);
                input.allow_duplicate = allow_duplicate;
                let r = self.rt.block_on(self.crm.create_lead(actor.id(), input));
                r.map(|lead| {
                    assert_eq!(lead.version(), 1);
                    assert_eq!(lead.status(), LeadStatus::New);
                    self.leads.push(lead.id());
                    Outcome::Ok
                })
            }
            Op::Edit {
                actor,
                lead,
                edit,
                spelling,
                allow_duplicate,
                stale,
            } => {
                self.renames += 1;
                let mut patch = LeadPatch {
                    allow_duplicate,
                    ..LeadPatch::default()
                };
                match edit {
                    EditKind::Rename => {
                        patch.name =
                            Some(Name::parse(&format!("Renamed {}", self.renames)).unwrap())
                    }
                    EditKind::Email(e) => {
                        patch.email = Some(Some(Email::parse(&email_text(e, spelling)).unwrap()))
                    }
                    EditKind::ClearEmail => patch.email = Some(None),
                    EditKind::Phone(p) => {
                        patch.phone = Some(Some(
                            Phone::parse_in(&phone_text(p, spelling), crate::harness::region())
                                .unwrap(),
                        ))
                    }
                    EditKind::ClearPhone => patch.phone = Some(None),
                }
                self.rt.block_on(async {
                    let v = self.version(lead, stale).await;
                    self.crm
                        .edit_lead(actor.id(), self.leads[lead], v, patch)
                        .await
                        .map(|_| Outcome::Ok)
                })
            }
            Op::Assign {
                actor,
                lead,
                to,
                stale,
            } => self.rt.block_on(async {
                let v = self.version(lead, stale).await;
                self.crm
                    .assign_lead(actor.id(), self.leads[lead], v, to.id())
                    .await
                    .map(|l| {
                        assert_eq!(l.owner(), to.id());
                        Outcome::Ok
                    })
            }),
            Op::Status {
                actor,
                lead,
                to,
                reason,
                stale,
            } => self.rt.block_on(async {
                let v = self.version(lead, stale).await;
                let reason = reason.then(|| crate::harness::reason("no budget this year"));
                self.crm
                    .change_status(actor.id(), self.leads[lead], v, to, reason)
                    .await
                    .map(|c| match c.conversion {
                        None => Outcome::Ok,
                        Some(ConversionOutcome::ClientCreated(id)) => {
                            assert_eq!(c.lead.client_id(), Some(&id));
                            Outcome::Converted {
                                client_created: true,
                            }
                        }
                        Some(ConversionOutcome::Deferred(_)) => {
                            assert_eq!(c.lead.client_id(), None);
                            Outcome::Converted {
                                client_created: false,
                            }
                        }
                    })
            }),
            Op::Interact {
                actor,
                lead,
                minutes_ago,
            } => {
                let input = NewInteraction::new(InteractionKind::Call)
                    .at(now - TimeDelta::minutes(minutes_ago));
                self.rt
                    .block_on(
                        self.crm
                            .log_interaction(actor.id(), self.leads[lead], input),
                    )
                    .map(|_| Outcome::Ok)
            }
            Op::AddOpportunity { actor, lead, minor } => {
                let input = NewOpportunity {
                    title: Name::parse(&format!("Deal {}", self.opps.len())).unwrap(),
                    value: Money::from_minor(minor, Currency::parse("SAR").unwrap()).unwrap(),
                    expected_close: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    probability: None,
                };
                let r = self.rt.block_on(self.crm.add_opportunity(
                    actor.id(),
                    self.leads[lead],
                    input,
                ));
                r.map(|o| {
                    self.opps.push(o.id);
                    Outcome::Ok
                })
            }
            Op::UpdateOpportunity {
                actor,
                opportunity,
                stage,
                stale,
            } => self.rt.block_on(async {
                let id = self.opps[opportunity];
                let v = self
                    .crm
                    .opportunity(Who::Manager.id(), id)
                    .await
                    .unwrap()
                    .version;
                let patch = OpportunityPatch {
                    stage: Some(stage),
                    ..OpportunityPatch::default()
                };
                self.crm
                    .update_opportunity(actor.id(), id, if stale { v - 1 } else { v }, patch)
                    .await
                    .map(|_| Outcome::Ok)
            }),
            Op::FollowUp {
                actor,
                lead,
                hours,
                stale,
            } => self.rt.block_on(async {
                let v = self.version(lead, stale).await;
                let patch = LeadPatch {
                    next_follow_up: Some(hours.map(|h| now + TimeDelta::hours(h))),
                    ..LeadPatch::default()
                };
                self.crm
                    .edit_lead(actor.id(), self.leads[lead], v, patch)
                    .await
                    .map(|_| Outcome::Ok)
            }),
            Op::Bulk {
                actor,
                targets,
                change,
            } => self.rt.block_on(async {
                let mut list = vec![];
                for (lead, stale) in &targets {
                    let version = if *stale {
                        Some(self.version(*lead, true).await)
                    } else {
                        None
                    };
                    list.push(BulkTarget {
                        id: self.leads[*lead],
                        version,
                    });
                }
                let change = match change {
                    BulkKind::Assign(to) => BulkChange::Assign { to: to.id() },
                    BulkKind::Status { to, reason } => BulkChange::Status {
                        to,
                        reason: reason.then(|| crate::harness::reason("bulk: no budget")),
                    },
                };
                self.crm
                    .bulk(actor.id(), &list, &change)
                    .await
                    .map(|o| self.bulk_outcome(o, false))
            }),
            Op::Merge {
                actor,
                keep,
                other,
                stale_keep,
                stale_other,
            } => self.rt.block_on(async {
                let kv = self.version(keep, stale_keep).await;
                let ov = self.version(other, stale_other).await;
                let (k, o) = (self.leads[keep], self.leads[other]);
                self.crm
                    .merge_leads(actor.id(), k, kv, o, ov)
                    .await
                    .map(|out| {
                        assert_eq!((out.kept.id(), out.merged.merged_into()), (k, Some(k)));
                        Outcome::Ok
                    })
            }),
            Op::ReassignAll {
                actor,
                from,
                round_robin,
            } => {
                let strategy = if round_robin {
                    crm_core::Strategy::RoundRobin
                } else {
                    crm_core::Strategy::LeastOpen
                };
                self.rt
                    .block_on(self.crm.reassign_all(actor.id(), from.id(), strategy, None))
                    .map(|o| self.bulk_outcome(o, true))
            }
            Op::Advance { hours } => {
                self.clock.advance(TimeDelta::hours(hours));
                Ok(Outcome::Ok)
            }
            Op::Sweep => self
                .rt
                .block_on(self.crm.sweep_now(Who::Manager.id()))
                .map(|r| {
                    // Notices waiting in the outbox come first, in notice id order (random
                    // within one sweep): compare as sets.
                    let sorted = |mut v: Vec<usize>| {
                        v.sort_unstable();
                        v
                    };
                    let leads = |v: &[LeadId]| sorted(v.iter().map(|id| self.index(*id)).collect());
                    Outcome::Swept {
                        notified: leads(&r.notified),
                        reminded: leads(&r.reminded),
                        escalated: leads(&r.escalated),
                        failed: sorted(r.failed.iter().map(|(id, _)| self.index(*id)).collect()),
                    }
                }),
            Op::Dispatch => self
                .rt
                .block_on(self.crm.dispatch_pending(Who::Manager.id()))
                .map(|r| {
                    let sorted = |mut v: Vec<usize>| {
                        v.sort_unstable();
                        v
                    };
                    Outcome::Dispatched {
                        created: sorted(r.created.iter().map(|(id, _)| self.index(*id)).collect()),
                        failed: sorted(r.failed.iter().map(|(id, _)| self.index(*id)).collect()),
                    }
                }),
            Op::ClientsFail(on) => {
                self.clients.failing.store(on, Ordering::SeqCst);
                Ok(Outcome::Ok)
            }
            Op::NotifierFail(on) => {
                self.notices.failing.store(on, Ordering::SeqCst);
                Ok(Outcome::Ok)
            }
        };
        result.unwrap_or_else(|e| self.classify(&e))
    }
}

struct CrmUnderTest;

impl StateMachineTest for CrmUnderTest {
    type SystemUnderTest = Sut;
    type Reference = ModelRules;

    fn init_test(model: &Model) -> Sut {
        let factory = FACTORY
            .with(|f| f.borrow().clone())
            .expect("the model test runs through run_model_test, which sets the store factory");
        let rt = runtime();
        let store = rt.block_on(factory());
        Sut::new(rt, store, model.policy)
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        sut.clock.advance(TimeDelta::seconds(1));
        let before = sut.snapshot();
        let got = sut.run(&op);
        let expected = model.expected.as_ref().unwrap();
        assert_eq!(&got, expected, "outcome of {op:?}");
        if got.refused() {
            assert!(
                sut.snapshot() == before,
                "the refused {op:?} ({got:?}) changed something"
            );
        }
        if let Some(actor) = op.actor()
            && actor.read_only()
        {
            assert!(got.refused(), "read-only {actor:?} succeeded with {op:?}");
            assert!(
                sut.snapshot() == before,
                "read-only {actor:?} changed something with {op:?}"
            );
        }
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        assert_eq!(sut.leads.len(), model.leads.len(), "number of leads");
        assert_eq!(sut.opps.len(), model.opps.len(), "number of opportunities");
        let snap = sut.snapshot();
        let clients: Vec<LeadId> = snap.clients.iter().map(|(l, _)| *l).collect();
        let unique: BTreeSet<LeadId> = clients.iter().copied().collect();
        assert_eq!(
            clients.len(),
            unique.len(),
            "a lead got two clients: {clients:?}"
        );
        // Every notice delivered is the model's: each first contact once, each overdue
        // reminder once per follow-up time, each escalation once per owner notification.
        let secs = |t: DateTime<Utc>| (t - t0()).num_seconds();
        let mut sent: Vec<(usize, MNotice)> = snap
            .notices
            .iter()
            .map(|(id, kind)| {
                let k = match kind {
                    NoticeKind::FirstContact => MNotice::FirstContact,
                    NoticeKind::Overdue { due_at } => MNotice::Overdue(secs(*due_at)),
                    NoticeKind::Escalation { notified_at, .. } => {
                        MNotice::Escalation(secs(*notified_at))
                    }
                    NoticeKind::Captured { .. } => panic!("the model never captures"),
                };
                (sut.index(*id), k)
            })
            .collect();
        sent.sort_unstable();
        let mut want = model.delivered.clone();
        want.sort_unstable();
        assert_eq!(sent, want, "notices delivered");
        let once: BTreeSet<&(usize, MNotice)> = sent.iter().collect();
        assert_eq!(once.len(), sent.len(), "a notice was delivered twice");

        for (i, (m, d)) in model.leads.iter().zip(&snap.details).enumerate() {
            let l = &d.lead;
            let ctx = format!("lead {i}: model {m:?}, real {d:?}");
            assert_eq!(l.id(), sut.leads[i], "{ctx}");
            assert_eq!(l.status(), m.status, "{ctx}");
            assert_eq!(l.owner(), m.owner.id(), "{ctx}");
            assert_eq!(l.version(), m.version, "{ctx}");
            assert_eq!(l.source(), &source(m.source), "{ctx}");
            assert_eq!(
                l.email().map(|e| e.as_str().to_owned()),
                m.email.map(|e| email_text(e, 0)),
                "{ctx}"
            );
            assert_eq!(
                l.phone().map(|p| p.as_str().to_owned()),
                m.phone.map(|p| phone_text(p, 0)),
                "{ctx}"
            );
            assert_eq!(
                l.lost_reason().is_some(),
                m.status == LeadStatus::Lost,
                "{ctx}"
            );
            assert_eq!(
                l.created_at(),
                t0() + TimeDelta::seconds(m.created_at),
                "{ctx}"
            );
            assert_eq!(l.merged_into(), m.merged.map(|k| sut.leads[k]), "{ctx}");
            // History: the lead's own entries, one per accepted change (a merge writes the
            // entry naming the lead merged in and one per field taken, at one version), at
            // versions 1, 2, 3, ...; then the entries of the leads merged into it.
            let own: Vec<u64> = d
                .history
                .iter()
                .filter(|h| h.lead_id == l.id())
                .map(|h| h.version)
                .collect();
            assert_eq!(own.len(), m.history, "{ctx}");
            let mut versions = own.clone();
            versions.dedup();
            assert_eq!(versions, (1..=m.version).collect::<Vec<_>>(), "{ctx}");
            let merged_in: usize = model
                .leads
                .iter()
                .filter(|o| o.merged == Some(i))
                .map(|o| o.history)
                .sum();
            assert_eq!(d.history.len(), m.history + merged_in, "{ctx}");
            assert_eq!(d.interactions.len(), m.interactions, "{ctx}");
            // A merged lead keeps its last interaction time; its interactions moved.
            if m.merged.is_none() {
                assert_eq!(
                    l.last_interaction_at().is_some(),
                    m.interactions > 0,
                    "{ctx}"
                );
            }
            let opps: Vec<(u64, OpportunityStage)> = d
                .opportunities
                .iter()
                .map(|o| (o.version, o.stage))
                .collect();
            let model_opps: Vec<(u64, OpportunityStage)> = model
                .opps
                .iter()
                .filter(|o| o.lead == i)
                .map(|o| (o.version, o.stage))
                .collect();
            assert_eq!(opps, model_opps, "{ctx}");
            assert_eq!(l.follow_up_notified_at().is_some(), m.notified, "{ctx}");
            let at = |t: Option<i64>| t.map(|t| t0() + TimeDelta::seconds(t));
            assert_eq!(l.next_follow_up_at(), at(m.next_follow_up), "{ctx}");
            assert_eq!(l.follow_up_reminded_for(), at(m.reminded_for), "{ctx}");
            assert_eq!(l.owner_notified_at(), at(m.owner_notified), "{ctx}");
            assert_eq!(l.escalated_for(), at(m.escalated_for), "{ctx}");
            assert_eq!(l.last_interaction_at(), at(m.last_interaction), "{ctx}");
            // Conversion: a client exactly when the clients system confirmed; pending until.
            assert_eq!(d.pending_client.is_some(), m.pending, "{ctx}");
            let expected_client = m
                .client
                .then(|| ClientId::parse(&format!("client-{}", l.id())).unwrap());
            assert_eq!(l.client_id(), expected_client.as_ref(), "{ctx}");
            assert_eq!(unique.contains(&l.id()), m.client, "{ctx}");
        }

        // Reports count every lead once, by status, and by owner under a filter; leads merged
        // away leave listings and reports.
        let listed_leads = || model.leads.iter().filter(|l| l.merged.is_none());
        let in_list = listed_leads().count();
        assert_eq!(snap.report.total, in_list as u64, "report total");
        for s in LeadStatus::ALL {
            let n = listed_leads().filter(|l| l.status == s).count() as u64;
            assert_eq!(snap.report.by_status[&s], n, "report for {s}");
        }
        let by_source: u64 = snap.report.by_source.iter().map(|(_, n)| n).sum();
        assert_eq!(by_source, snap.report.total, "report by source");
        sut.rt.block_on(async {
            let m = Who::Manager.id();
            for owner in [Who::Sales1, Who::Sales2, Who::Manager] {
                let filter = ReportFilter {
                    owner: Some(owner.id()),
                    ..ReportFilter::default()
                };
                let n = listed_leads().filter(|l| l.owner == owner).count() as u64;
                assert_eq!(
                    sut.crm.report(m, &filter).await.unwrap().total,
                    n,
                    "{owner:?}"
                );
            }
            let all = LeadQuery::default().limit(1000).unwrap();
            let listed = sut.crm.list_leads(m, &all).await.unwrap();
            assert_eq!(listed.items.len(), in_list, "listing");
            // Each status, owner and owner-and-status listing paged three at a time: every
            // lead the model has there, once, newest first.
            let mut lists = vec![];
            for s in LeadStatus::ALL {
                lists.push((Some(s), None));
                for owner in [Who::Sales1, Who::Sales2, Who::Manager] {
                    lists.push((None, Some(owner)));
                    lists.push((Some(s), Some(owner)));
                }
            }
            for (status, owner) in lists {
                let mut q = LeadQuery::default().limit(3).unwrap();
                if let Some(s) = status {
                    q = q.status(s);
                }
                if let Some(o) = owner {
                    q = q.owner(o.id());
                }
                let mut seen = vec![];
                loop {
                    let page = sut.crm.list_leads(m, &q).await.unwrap();
                    seen.extend(page.items.iter().map(|l| (l.created_at(), l.id())));
                    match page.next {
                        Some(c) if seen.len() <= in_list => q = q.after(c),
                        _ => break,
                    }
                }
                let n = listed_leads()
                    .filter(|l| status.is_none_or(|s| l.status == s))
                    .filter(|l| owner.is_none_or(|o| l.owner == o))
                    .count();
                assert_eq!(seen.len(), n, "paged listing {status:?} {owner:?}");
                assert!(
                    seen.windows(2).all(|w| w[0] > w[1]),
                    "paged listing {status:?} {owner:?} is newest first, without repeats"
                );
            }

            // Lost leads by reason: every lost lead once, under the code it was lost with.
            let lost = listed_leads()
                .filter(|l| l.status == LeadStatus::Lost)
                .count() as u64;
            let r = sut
                .crm
                .lost_reason_report(m, &ReportFilter::default())
                .await
                .unwrap();
            assert_eq!((r.total, r.count("other")), (lost, lost), "lost reasons");

            // Pipeline value (all SAR): open, weighted, won and lost totals, and by owner.
            let p = sut
                .crm
                .pipeline(m, &crm_core::PipelineFilter::default())
                .await
                .unwrap();
            let sum = |f: &dyn Fn(&MOpp) -> bool, v: &dyn Fn(&MOpp) -> i64| -> i64 {
                model.opps.iter().filter(|o| f(o)).map(v).sum()
            };
            let open = |o: &MOpp| o.stage.is_open();
            let want = crm_core::PipelineTotals {
                open_count: model.opps.iter().filter(|o| open(o)).count() as u64,
                open_minor: sum(&open, &|o| o.minor),
                weighted_minor: sum(&open, &model_weighted),
                won_count: model
                    .opps
                    .iter()
                    .filter(|o| o.stage == OpportunityStage::Won)
                    .count() as u64,
                won_minor: sum(&|o| o.stage == OpportunityStage::Won, &|o| o.minor),
                lost_count: model
                    .opps
                    .iter()
                    .filter(|o| o.stage == OpportunityStage::Lost)
                    .count() as u64,
                lost_minor: sum(&|o| o.stage == OpportunityStage::Lost, &|o| o.minor),
            };
            let got = p
                .currency("SAR")
                .map(|c| c.totals.clone())
                .unwrap_or_default();
            assert_eq!(got, want, "pipeline totals");
            for (owner, t) in p.currency("SAR").map_or(&[][..], |c| &c.by_owner[..]) {
                let mine = |o: &MOpp| model.leads[o.lead].owner.id() == *owner && open(o);
                assert_eq!(
                    t.open_minor,
                    sum(&mine, &|o| o.minor),
                    "pipeline of {owner}"
                );
            }

            // Time in status: every lead counts once in each status it has been in.
            let t = sut
                .crm
                .time_in_status_report(m, &ReportFilter::default())
                .await
                .unwrap();
            for s in LeadStatus::ALL {
                let held = listed_leads().filter(|l| l.held.contains(&s)).count() as u64;
                let got = t
                    .overall
                    .iter()
                    .find(|(st, _, _)| *st == s)
                    .map_or(0, |o| o.1);
                assert_eq!(got, held, "leads that were {s}");
            }
            // Each employee lists, and counts in the report, exactly the leads in view.
            for who in Who::STAFF {
                let seen: BTreeSet<LeadId> = model
                    .leads
                    .iter()
                    .zip(&sut.leads)
                    .filter(|(l, _)| l.merged.is_none() && who.sees(model.policy, l.owner))
                    .map(|(_, id)| *id)
                    .collect();
                let listed = sut.crm.list_leads(who.id(), &all).await.unwrap();
                let ids: BTreeSet<LeadId> = listed.items.iter().map(|l| l.id()).collect();
                assert_eq!(ids, seen, "{who:?} under {}", model.policy);
                let report = sut.crm.report(who.id(), &ReportFilter::default()).await;
                assert_eq!(report.unwrap().total, seen.len() as u64, "{who:?}");
                let lost_seen = listed_leads()
                    .filter(|l| l.status == LeadStatus::Lost && who.sees(model.policy, l.owner))
                    .count() as u64;
                let lost = sut
                    .crm
                    .lost_reason_report(who.id(), &ReportFilter::default())
                    .await
                    .unwrap();
                assert_eq!(lost.total, lost_seen, "lost reasons seen by {who:?}");
            }
        });

        // Scoring: the kept counts (everyone's and each team's) equal a rebuild from the
        // decided leads, and count every converted or lost lead not merged away.
        sut.rt.block_on(async {
            use crm_core::scoring::{ALL_TEAMS, Frequencies};
            let leads = crm_core::ports::derived::scan(sut.store.as_ref(), &crm_core::Scope::All)
                .await
                .unwrap();
            let counted: Vec<_> = leads.iter().filter_map(|l| l.counted_as()).collect();
            let mut teams: Vec<String> = (counted.iter())
                .filter_map(|c| c.team.as_ref().map(|t| t.as_str().to_owned()))
                .collect();
            teams.push(ALL_TEAMS.to_owned());
            for team in teams {
                let kept = sut.store.score_frequencies(&team).await.unwrap();
                let rebuilt = Frequencies::of_counted(&team, counted.iter().copied());
                assert!(kept.same_counts(&rebuilt), "scoring counts of {team:?}");
            }
            let decided = listed_leads()
                .filter(|l| matches!(l.status, LeadStatus::Converted | LeadStatus::Lost))
                .count() as u64;
            let all = sut.store.score_frequencies(ALL_TEAMS).await.unwrap();
            assert_eq!(all.decided(), decided, "decided leads counted");
        });

        // Events: one per accepted change (plus one per client created), in order. A
        // `score_changed` event rides on a change that moved a score (the conformance suite
        // checks when); the model does not score.
        let modelled = (snap.events.iter())
            .filter(|e| e.event.kind.name() != "score_changed")
            .count();
        assert_eq!(modelled, model.events, "events");
        assert!(
            snap.events.windows(2).all(|w| w[0].seq < w[1].seq),
            "event order"
        );
    }

    /// The clients system recovers: one dispatch gives every converted lead its one client,
    /// and a second dispatch has nothing left to do.
    fn teardown(mut sut: Sut, mut model: Model) {
        for _ in 0..2 {
            for op in [Op::ClientsFail(false), Op::Dispatch] {
                model = ModelRules::apply(model, &op);
                sut = Self::apply(sut, &model, op);
                Self::check_invariants(&sut, &model);
            }
        }
        let snap = sut.snapshot();
        for d in &snap.details {
            if d.lead.status() == LeadStatus::Converted {
                assert!(d.lead.client_id().is_some(), "{d:?}");
                assert!(d.pending_client.is_none(), "{d:?}");
            }
        }
        let converted = snap
            .details
            .iter()
            .filter(|d| d.lead.status() == LeadStatus::Converted)
            .count();
        assert_eq!(
            snap.clients.len(),
            converted,
            "one client per converted lead"
        );
    }
}
