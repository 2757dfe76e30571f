//! The `Crm` service: every use case, each taking the acting employee (or, for the sweep
//! and the dispatch, a system actor the host named). Each use case loads what it needs,
//! calls one pure decision (`decide_*` in the file of the rule it applies), stores the
//! result and calls the host's ports; it holds no rule of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::assignment::{AssignmentRules, Strategy, plan_takeover, takeover_team};
use crate::bulk::{
    BulkChange, BulkOutcome, BulkTarget, check_actor, check_targets, decide_bulk_item,
};
use crate::clock::SystemClock;
use crate::decide::{
    decide_add_opportunity, decide_assign, decide_create, decide_create_assigned, decide_edit,
    decide_interaction, decide_opportunity_update, decide_status_change,
};
use crate::detail::LeadDetail;
use crate::employee::Employee;
use crate::employee::{TeamSummary, check_teams, teams_of};
use crate::error::{CrmError, Entity, PortError, ValidationError};
use crate::escalation::{EscalationRule, addressed};
use crate::events::{Event, EventKind, NewEvent};
use crate::follow_up::{FollowUpClaim, FollowUpNotice, FollowUpRule, NoticeKind, check_sweep_time};
use crate::ids::{ClientId, EmployeeId, LeadId, NoticeId, OpportunityId};
use crate::interaction::{Interaction, NewInteraction};
use crate::lead::{Lead, LeadPatch, NewLead};
use crate::lost_reason::{LostReason, LostReasons};
use crate::notify::LogNotifier;
use crate::opportunity::{NewOpportunity, Opportunity, OpportunityPatch, OpportunityStage};
use crate::permissions::{Action, Actor, SystemActor, authorize, authorize_system};
use crate::pipeline::{PipelineFilter, PipelineReport, Probability, StageProbabilities};
use crate::ports::{
    ClientsPort, Clock, EmployeeAdmin, EmployeeDirectory, LeadStore, LeadWrite, Notifier,
    StoreWrites, TeamDirectory,
};
use crate::query::{LeadQuery, Page};
use crate::report::{LostReasonReport, Report, ReportFilter};
use crate::scoring::Facts;
use crate::stage_probability::{StageProbabilityChange, StageSetting, decide_stage_probability};
use crate::status::LeadStatus;
use crate::team::Team;
use crate::visibility::{Scope, Visibility, scope, teams_in_view};

mod board;
mod capture;
mod import;
mod my_day;
mod scoring;
mod sorting;

pub use import::ImportRun;
pub use scoring::Training;

/// How often a create decides again when a concurrent create took its assignment turn.
const TURN_ATTEMPTS: usize = 64;

/// The result type of every use case.
pub type CrmResult<T> = Result<T, CrmError>;

/// What happened to the client of a lead that was just converted.
#[derive(Debug)]
pub enum ConversionOutcome {
    /// The clients system created (or linked) the client.
    ClientCreated(ClientId),
    /// The clients system failed; the pending record stays for `dispatch_pending`.
    Deferred(PortError),
}

/// The result of a status change.
#[derive(Debug)]
pub struct StatusChange {
    /// The lead after the change (with its client id if the client was created at once).
    pub lead: Lead,
    /// Set when the change converted the lead.
    pub conversion: Option<ConversionOutcome>,
}

/// What a follow-up sweep did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Leads whose owner was notified by this sweep that nobody contacted them (a lead whose
    /// earlier notice was never confirmed delivered may appear in a later sweep again, under
    /// the same notice id).
    pub notified: Vec<LeadId>,
    /// Leads whose owner was reminded of an overdue follow-up time.
    pub reminded: Vec<LeadId>,
    /// Leads escalated to their owner's manager.
    pub escalated: Vec<LeadId>,
    /// Leads whose owner was told a capture channel took in a message or a submission from
    /// them ([`crate::capture`]).
    pub captured: Vec<LeadId>,
    /// Notices delivered by this sweep.
    pub notices: Vec<NoticeId>,
    /// Leads whose notification failed; their notices stay for the next sweep.
    pub failed: Vec<(LeadId, PortError)>,
}

/// What a dispatch of pending clients did.
#[derive(Debug, Default)]
pub struct DispatchReport {
    /// Clients created now and recorded by this dispatch.
    pub created: Vec<(LeadId, ClientId)>,
    /// Attempts that failed; the records stay pending.
    pub failed: Vec<(LeadId, PortError)>,
}

/// What deactivating an employee did.
#[derive(Debug)]
pub struct Deactivation {
    /// The employee, now inactive.
    pub employee: Employee,
    /// The open leads they still own: nobody works them until a manager gives them to
    /// others ([`Crm::reassign_all`]).
    pub open_leads: u64,
}

/// The lead management service. Cheap to clone; share it across tasks.
#[derive(Clone)]
pub struct Crm {
    store: Arc<dyn LeadStore>,
    employees: Arc<dyn EmployeeDirectory>,
    admin: Option<Arc<dyn EmployeeAdmin>>,
    teams: Option<Arc<dyn TeamDirectory>>,
    visibility: Visibility,
    assignment: AssignmentRules,
    clients: Arc<dyn ClientsPort>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    follow_up: FollowUpRule,
    system_actors: BTreeSet<SystemActor>,
    lease: TimeDelta,
    batch: u32,
    settings: Arc<SalesSettings>,
}

/// The sales-process settings of a [`Crm`] (each has a documented default).
#[derive(Clone, Debug, Default)]
struct SalesSettings {
    lost_reasons: LostReasons,
    probabilities: StageProbabilities,
    escalation: Option<EscalationRule>,
    scoring: crate::scoring::Rules,
    score_events: bool,
    sources: crate::source::Sources,
    currencies: crate::money::Currencies,
    captures: BTreeMap<SystemActor, crate::capture::CaptureChannel>,
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm")
            .field("follow_up", &self.follow_up)
            .field("visibility", &self.visibility)
            .field("assignment", &self.assignment)
            .field("system_actors", &self.system_actors)
            .field("lease", &self.lease)
            .field("batch", &self.batch)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Crm`]. Store, employee directory and clients port are required; the notifier
/// defaults to [`LogNotifier`], the clock to [`SystemClock`], the follow-up rule to 5 days,
/// the claim lease to 5 minutes, the claim batch to 100, the lost reasons to
/// [`LostReasons::default`], the stage probabilities to [`StageProbabilities::default`],
/// escalation to off, the visibility to [`Visibility::All`], no assignment rule, and no
/// system actor is named.
pub struct CrmBuilder {
    store: Option<Arc<dyn LeadStore>>,
    employees: Option<Arc<dyn EmployeeDirectory>>,
    admin: Option<Arc<dyn EmployeeAdmin>>,
    teams: Option<Arc<dyn TeamDirectory>>,
    visibility: Visibility,
    assignment: AssignmentRules,
    clients: Option<Arc<dyn ClientsPort>>,
    notifier: Option<Arc<dyn Notifier>>,
    clock: Option<Arc<dyn Clock>>,
    follow_up: FollowUpRule,
    system_actors: BTreeSet<SystemActor>,
    lease: TimeDelta,
    batch: u32,
    settings: SalesSettings,
}

impl Default for CrmBuilder {
    fn default() -> Self {
        Self {
            store: None,
            employees: None,
            admin: None,
            teams: None,
            visibility: Visibility::All,
            assignment: AssignmentRules::default(),
            clients: None,
            notifier: None,
            clock: None,
            follow_up: FollowUpRule::default(),
            system_actors: BTreeSet::new(),
            lease: TimeDelta::minutes(5),
            batch: 100,
            settings: SalesSettings::default(),
        }
    }
}

/// A required port was not given to the builder, or a setting is out of range: returned by
/// [`CrmBuilder::build`] at start-up, never later. A bug of the host's set-up: the message
/// names what is missing; fix the builder calls (retrying cannot help).
#[derive(Debug, thiserror::Error)]
#[error("CrmBuilder needs {0}")]
pub struct MissingPort(&'static str);

impl CrmBuilder {
    /// The store.
    pub fn store(mut self, s: Arc<dyn LeadStore>) -> Self {
        self.store = Some(s);
        self
    }
    /// The employee directory.
    pub fn employees(mut self, e: Arc<dyn EmployeeDirectory>) -> Self {
        self.employees = Some(e);
        self
    }
    /// A directory the library may also write (optional): it enables
    /// [`Crm::save_employee`] and [`Crm::employees`], and serves as the employee directory
    /// when none is given.
    pub fn employee_admin(mut self, a: Arc<dyn EmployeeAdmin>) -> Self {
        self.admin = Some(a);
        self
    }
    /// A directory that knows teams (optional): needed by [`Visibility::Team`] and
    /// [`Visibility::Own`] and by assignment rules. Defaults to the employee admin port when
    /// one is given.
    pub fn teams(mut self, t: Arc<dyn TeamDirectory>) -> Self {
        self.teams = Some(t);
        self
    }
    /// Who sees which leads (see [`crate::visibility`]). Default: [`Visibility::All`].
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = v;
        self
    }
    /// The rules that pick the owner of a lead created without one (see
    /// [`crate::assignment`]). Default: none (the creating employee owns it).
    pub fn assignment(mut self, rules: AssignmentRules) -> Self {
        self.assignment = rules;
        self
    }
    /// The clients port.
    pub fn clients(mut self, c: Arc<dyn ClientsPort>) -> Self {
        self.clients = Some(c);
        self
    }
    /// The notifier.
    pub fn notifier(mut self, n: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(n);
        self
    }
    /// The clock.
    pub fn clock(mut self, c: Arc<dyn Clock>) -> Self {
        self.clock = Some(c);
        self
    }
    /// The follow-up rule.
    pub fn follow_up(mut self, rule: FollowUpRule) -> Self {
        self.follow_up = rule;
        self
    }
    /// Names a system actor (a scheduler, a worker) that may run the sweep and the dispatch
    /// without being an employee. Call once per name.
    pub fn system_actor(mut self, actor: SystemActor) -> Self {
        self.system_actors.insert(actor);
        self
    }
    /// How long a sweep or a dispatch holds what it claimed before another may take it over
    /// (its sender presumed crashed). At least one second. Default: 5 minutes.
    pub fn claim_lease(mut self, lease: TimeDelta) -> Self {
        self.lease = lease;
        self
    }
    /// How many notices or pending clients a sweep or a dispatch claims at a time (1 to
    /// 10,000; default 100). Each batch is claimed for the lease when it is claimed, so the
    /// lease must outlast sending one batch (a batch times the slowest notifier or clients
    /// call), or another sweep may take over what is still being sent.
    pub fn claim_batch(mut self, batch: u32) -> Self {
        self.batch = batch;
        self
    }
    /// The lost-reason codes a move to `lost` may give (default: [`LostReasons::default`]).
    pub fn lost_reasons(mut self, reasons: LostReasons) -> Self {
        self.settings.lost_reasons = reasons;
        self
    }
    /// The probability of each open opportunity stage (default:
    /// [`StageProbabilities::default`]).
    pub fn stage_probabilities(mut self, p: StageProbabilities) -> Self {
        self.settings.probabilities = p;
        self
    }
    /// Escalate leads left without follow-up this many working days after their owner was
    /// notified, to the owner's manager (default: no escalation). Working days are those of
    /// the follow-up rule's calendar ([`FollowUpRule::in_calendar`]).
    pub fn escalation(mut self, rule: EscalationRule) -> Self {
        self.settings.escalation = Some(rule);
        self
    }
    /// The rule points and decay management set on top of the predictive lead score
    /// (default: none, [`crate::scoring::Rules::default`]).
    pub fn scoring_rules(mut self, rules: crate::scoring::Rules) -> Self {
        self.settings.scoring = rules;
        self
    }
    /// Whether a write that moves a lead's score by [`crate::scoring::EVENT_MOVE`] points or
    /// more appends a `score_changed` event (default: no). Each interaction, opportunity and
    /// edit then reads the lead's facts and its team's frequencies before it commits: on
    /// SQLite an interaction took 2.9x as long with it on (measured in
    /// `examples/bench/README.md`), so a host turns it on when its sales system uses them.
    pub fn score_events(mut self, on: bool) -> Self {
        self.settings.score_events = on;
        self
    }
    /// The sources offered and who may record a lead under one not listed (default: the
    /// built-in sources, anyone may add one). A create, edit or import row with a source
    /// not listed, from someone who may not add one, is refused.
    pub fn sources(mut self, sources: crate::source::Sources) -> Self {
        self.settings.sources = sources;
        self
    }
    /// The currencies opportunities may be valued in (default: any ISO 4217 currency). An
    /// opportunity added or revalued in another is refused; those already stored stay.
    pub fn currencies(mut self, currencies: crate::money::Currencies) -> Self {
        self.settings.currencies = currencies;
        self
    }
    /// Names a capture channel (a web form, a mailbox: [`crate::capture`]) that may only
    /// take leads in ([`Crm::capture`]), giving its new leads by its rule. Call once per
    /// channel; a later call with the same name replaces it. Needs a team directory.
    pub fn capture_channel(mut self, channel: crate::capture::CaptureChannel) -> Self {
        self.settings
            .captures
            .insert(channel.actor.clone(), channel);
        self
    }
    /// Builds the service.
    pub fn build(self) -> Result<Crm, MissingPort> {
        if self.lease < TimeDelta::seconds(1) {
            return Err(MissingPort("a claim lease of at least one second"));
        }
        if !(1..=10_000).contains(&self.batch) {
            return Err(MissingPort("a claim batch of 1 to 10,000"));
        }
        let teams = self
            .teams
            .or_else(|| self.admin.clone().map(|a| -> Arc<dyn TeamDirectory> { a }));
        if teams.is_none() && self.visibility != Visibility::All {
            return Err(MissingPort(
                "a team directory for the team and own visibility",
            ));
        }
        if teams.is_none() && !self.assignment.is_empty() {
            return Err(MissingPort("a team directory for the assignment rules"));
        }
        if teams.is_none() && !self.settings.captures.is_empty() {
            return Err(MissingPort("a team directory for the capture channels"));
        }
        if (self.settings.captures.keys()).any(|c| self.system_actors.contains(c)) {
            return Err(MissingPort(
                "capture channels named apart from the system actors",
            ));
        }
        let employees = match (self.employees, &self.admin) {
            (Some(e), _) => e,
            (None, Some(a)) => a.clone(),
            (None, None) => return Err(MissingPort("an employee directory")),
        };
        Ok(Crm {
            store: self.store.ok_or(MissingPort("a store"))?,
            employees,
            admin: self.admin,
            teams,
            visibility: self.visibility,
            assignment: self.assignment,
            clients: self.clients.ok_or(MissingPort("a clients port"))?,
            notifier: self.notifier.unwrap_or_else(|| Arc::new(LogNotifier)),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            follow_up: self.follow_up,
            system_actors: self.system_actors,
            lease: self.lease,
            batch: self.batch,
            settings: Arc::new(self.settings),
        })
    }
}

fn not_found(entity: Entity, id: impl ToString) -> CrmError {
    CrmError::NotFound {
        entity,
        id: id.to_string(),
    }
}

/// The end of a claim taken at `now` for `lease`.
fn lease_end(now: DateTime<Utc>, lease: TimeDelta) -> DateTime<Utc> {
    now.checked_add_signed(lease)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Crm {
    /// Starts a builder.
    pub fn builder() -> CrmBuilder {
        CrmBuilder::default()
    }

    /// The follow-up rule in force.
    pub fn follow_up_rule(&self) -> &FollowUpRule {
        &self.follow_up
    }

    /// Who sees which leads ([`crate::visibility`]).
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }

    /// The clock's time, to the microsecond.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        crate::clock::to_micros(self.clock.now())
    }

    /// The acting employee, who must be in the directory.
    async fn actor(&self, id: EmployeeId) -> CrmResult<Employee> {
        self.employees
            .employee(id)
            .await?
            .ok_or(CrmError::UnknownActor(id))
    }

    /// Checks that `actor` may perform one of the operations open to system actors or
    /// management only (`action`).
    async fn authorize_actor(&self, actor: &Actor, action: Action) -> CrmResult<()> {
        match actor {
            Actor::Employee(id) => {
                let e = self.actor(*id).await?;
                authorize(&e, action, None).map_err(CrmError::from)
            }
            Actor::System(s) => {
                authorize_system(action, self.system_actors.contains(s)).map_err(|reason| {
                    CrmError::SystemForbidden {
                        actor: s.clone(),
                        action,
                        reason,
                    }
                })
            }
        }
    }

    /// What the directory says of `id`, unless it is `known` already.
    async fn employee_or(&self, id: EmployeeId, known: &Employee) -> CrmResult<Option<Employee>> {
        if id == known.id {
            return Ok(Some(known.clone()));
        }
        Ok(self.employees.employee(id).await?)
    }

    async fn load(&self, id: LeadId) -> CrmResult<Lead> {
        self.store
            .get_lead(id)
            .await?
            .ok_or_else(|| not_found(Entity::Lead, id))
    }

    fn team_directory(&self) -> CrmResult<&Arc<dyn TeamDirectory>> {
        self.teams
            .as_ref()
            .ok_or(CrmError::NotConfigured("a team directory"))
    }

    /// The employees of `teams` (none asked for when there are none).
    async fn members(&self, teams: &[Team]) -> CrmResult<Vec<Employee>> {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.team_directory()?.team_members(teams).await?)
    }

    /// The leads `actor` sees under the host's policy ([`crate::visibility`]).
    async fn view(&self, actor: &Employee) -> CrmResult<Scope> {
        let Some(teams) = teams_in_view(self.visibility, actor) else {
            return Ok(Scope::All);
        };
        let teams: Vec<Team> = teams.into_iter().collect();
        let members = self.members(&teams).await?;
        Ok(scope(self.visibility, actor, &members))
    }

    /// The lead, if it exists and `actor` sees it; `NotFound` alike otherwise.
    async fn load_visible(&self, actor: &Employee, id: LeadId) -> CrmResult<Lead> {
        let lead = self.load(id).await?;
        if self.view(actor).await?.admits(lead.owner()) {
            Ok(lead)
        } else {
            Err(not_found(Entity::Lead, id))
        }
    }

    /// `e` as `actor` may read it: a duplicate refusal names the existing lead only when
    /// `actor` sees it, and otherwise the manager of its owner ([`CrmError::Duplicate`]).
    /// When that cannot be told (the store or a directory failed), the lead is not named.
    pub(crate) async fn as_seen_by(&self, actor: &Employee, e: impl Into<CrmError>) -> CrmError {
        let e = e.into();
        let CrmError::Duplicate {
            existing: Some(id),
            field,
            ..
        } = e
        else {
            return e;
        };
        let seen = async {
            let scope = self.view(actor).await?;
            if scope == Scope::All {
                return Ok::<_, CrmError>(None);
            }
            let owner = self.load(id).await?.owner();
            if scope.admits(owner) {
                return Ok(None);
            }
            let manager = match self
                .employees
                .employee(owner)
                .await?
                .and_then(|o| o.manager)
            {
                Some(m) => self.employees.employee(m).await?,
                None => None,
            };
            Ok(Some(manager.filter(|m| m.active).map(|m| m.name)))
        };
        match seen.await {
            Ok(None) => e,
            Ok(Some(ask)) => CrmError::Duplicate {
                existing: None,
                field,
                ask,
            },
            Err(_) => CrmError::Duplicate {
                existing: None,
                field,
                ask: None,
            },
        }
    }

    /// Creates a lead in status `new`, owned by `input.owner`; without one, by whom the
    /// assignment rule for its source picks ([`crate::assignment`]), or else by the actor.
    pub async fn create_lead(&self, actor: EmployeeId, input: NewLead) -> CrmResult<Lead> {
        let actor = self.actor(actor).await?;
        if input.owner.is_none()
            && let Some(rule) = self.assignment.for_source(&input.source)
        {
            return self.create_assigned(&actor, rule, input).await;
        }
        let owner = self
            .employee_or(input.owner.unwrap_or(actor.id), &actor)
            .await?;
        let write = decide_create(&actor, owner.as_ref(), input, self.now())?;
        self.settings.sources.check(write.lead.source(), &actor)?;
        if let Err(e) = self.store.insert_lead(&write).await {
            return Err(self.as_seen_by(&actor, e).await);
        }
        Ok(write.lead)
    }

    /// Creates a lead given to the next turn of `rule`, deciding again whenever a
    /// concurrent create took the turn first.
    async fn create_assigned(
        &self,
        actor: &Employee,
        rule: &crate::assignment::AssignmentRule,
        input: NewLead,
    ) -> CrmResult<Lead> {
        let members = self.members(std::slice::from_ref(&rule.team)).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (last, open) = self.rotation(rule, &members).await?;
            let (write, turn) = decide_create_assigned(
                actor,
                rule,
                &members,
                last,
                &open,
                input.clone(),
                self.now(),
            )?;
            self.settings.sources.check(write.lead.source(), actor)?;
            match self.store.insert_lead_taking_turn(&write, &turn).await {
                Ok(()) => return Ok(write.lead),
                Err(e) if e.is_retryable() && attempt < TURN_ATTEMPTS => continue,
                Err(e) => return Err(self.as_seen_by(actor, e).await),
            }
        }
    }

    /// Edits a lead's contact data and source.
    pub async fn edit_lead(
        &self,
        actor: EmployeeId,
        id: LeadId,
        expected_version: u64,
        patch: LeadPatch,
    ) -> CrmResult<Lead> {
        let actor = self.actor(actor).await?;
        let lead = self.load_visible(&actor, id).await?;
        let mut write = decide_edit(&lead, &actor, expected_version, &patch, self.now())?;
        if write.lead.source() != lead.source() {
            self.settings.sources.check(write.lead.source(), &actor)?;
        }
        let moved = (self.score_moved(&lead, &write.lead, |f| f, actor.id)).await?;
        write.events.extend(moved);
        if let Err(e) = self.store.update_lead(expected_version, &write).await {
            return Err(self.as_seen_by(&actor, e).await);
        }
        Ok(write.lead)
    }

    /// Gives a lead to another responsible employee. Sales staff may hand over their own
    /// leads; management any lead.
    pub async fn assign_lead(
        &self,
        actor: EmployeeId,
        id: LeadId,
        expected_version: u64,
        to: EmployeeId,
    ) -> CrmResult<Lead> {
        let actor = self.actor(actor).await?;
        let lead = self.load_visible(&actor, id).await?;
        let assignee = self.employee_or(to, &actor).await?;
        let write = decide_assign(
            &lead,
            &actor,
            expected_version,
            to,
            assignee.as_ref(),
            self.now(),
        )?;
        self.store.update_lead(expected_version, &write).await?;
        Ok(write.lead)
    }

    /// Moves a lead through the status machine ([`crate::status::TRANSITIONS`]). Moving to
    /// `lost` needs `lost_reason`, whose code must be in the list in force
    /// ([`CrmBuilder::lost_reasons`]), and no other move takes one. A converted lead is
    /// [`CrmError::ReadOnly`], as for every other change. Moving to `converted` also creates the client (see
    /// [`crate::conversion`]); if the clients system fails, the lead is still converted and
    /// the outcome says the client is deferred.
    pub async fn change_status(
        &self,
        actor: EmployeeId,
        id: LeadId,
        expected_version: u64,
        to: LeadStatus,
        lost_reason: Option<LostReason>,
    ) -> CrmResult<StatusChange> {
        let actor = self.actor(actor).await?;
        let lead = self.load_visible(&actor, id).await?;
        let counting = self.counting(&lead, to).await?;
        let now = self.now();
        let write = decide_status_change(
            &lead,
            &actor,
            expected_version,
            to,
            lost_reason,
            &self.settings.lost_reasons,
            now,
            lease_end(now, self.lease),
            &counting,
        )?;
        self.store.update_lead(expected_version, &write).await?;
        self.after_status_change(write).await
    }

    /// Sends the client of a lead the stored `write` converted, if it did.
    async fn after_status_change(&self, write: LeadWrite) -> CrmResult<StatusChange> {
        let id = write.lead.id();
        let mut lead = write.lead;
        let conversion = match write.pending_client {
            Some(pending) => Some(match self.send_client(&pending).await {
                Ok(Some(client)) => {
                    lead = lead.with_client(client.clone());
                    ConversionOutcome::ClientCreated(client)
                }
                // A dispatcher recorded the client first (this call's claim had run out).
                Ok(None) => match self.load(id).await?.client_id() {
                    Some(client) => {
                        lead = lead.with_client(client.clone());
                        ConversionOutcome::ClientCreated(client.clone())
                    }
                    None => ConversionOutcome::Deferred(PortError::new(
                        "store",
                        "the client was created but not recorded",
                    )),
                },
                Err(e) => ConversionOutcome::Deferred(e),
            }),
            None => None,
        };
        Ok(StatusChange { lead, conversion })
    }

    /// Sends the pending client this call holds (the converting call's own claim) and, when
    /// the clients system failed, releases it at once for the next dispatch.
    async fn send_client(
        &self,
        pending: &crate::conversion::PendingClient,
    ) -> Result<Option<ClientId>, PortError> {
        let r = self.create_client(&pending.request, self.now()).await;
        if r.is_err()
            && let Some(token) = pending.claimed_until
            && let Err(e) = self
                .store
                .release_pending_client(pending.request.lead_id, token)
                .await
        {
            // The claim runs out by itself; the next dispatch after that retries.
            tracing::warn!(lead_id = %pending.request.lead_id, error = %e, "could not release a pending client");
        }
        r
    }

    /// Sends one claimed pending client to the clients system and records the outcome:
    /// `Some(client)` when this call recorded it, `None` when the record was no longer
    /// pending (another caller recorded it). A storage failure after the client was created
    /// leaves the record pending; the retry is safe because the clients port is idempotent
    /// on the lead id.
    async fn create_client(
        &self,
        request: &crate::conversion::ClientRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientId>, PortError> {
        match self.clients.create_client(request).await {
            Ok(client) => {
                let event = NewEvent::new(
                    request.lead_id,
                    None,
                    now,
                    EventKind::LeadConverted {
                        client_id: client.clone(),
                    },
                );
                match self
                    .store
                    .complete_conversion(request.lead_id, &client, &event)
                    .await
                {
                    Ok(true) => Ok(Some(client)),
                    Ok(false) => Ok(None),
                    Err(e) => {
                        tracing::warn!(lead_id = %request.lead_id, error = %e, "client created but not yet recorded; will retry");
                        Err(PortError::new("store", e))
                    }
                }
            }
            Err(e) => {
                let text = error_chain(&e);
                if let Err(se) = self
                    .store
                    .record_conversion_failure(request.lead_id, &text, now)
                    .await
                {
                    tracing::warn!(lead_id = %request.lead_id, error = %se, "could not record a failed client creation");
                }
                Err(e)
            }
        }
    }

    /// Retries every pending client creation that no one else is sending; returns what
    /// this call created and what failed. Management or a named system actor. Concurrent
    /// dispatchers split the records between them (each claims a batch at a time); a record
    /// that failed stays claimed until the end of this call, so the call moves on to the
    /// next ones, and is then released for the next dispatch.
    pub async fn dispatch_pending(&self, actor: impl Into<Actor>) -> CrmResult<DispatchReport> {
        let actor = actor.into();
        self.authorize_actor(&actor, Action::DispatchClients)
            .await?;
        let scope = self.report_scope(&actor).await?;
        let mut report = DispatchReport::default();
        let mut failed = Vec::new();
        let outcome = async {
            loop {
                let now = self.now();
                let until = lease_end(now, self.lease);
                let batch = self
                    .store
                    .claim_pending_clients(now, until, self.batch)
                    .await?;
                let full = batch.len() == self.batch as usize;
                for p in batch {
                    let lead_id = p.request.lead_id;
                    match self.create_client(&p.request, self.now()).await {
                        Ok(Some(c)) => report.created.push((lead_id, c)),
                        Ok(None) => {}
                        Err(e) => {
                            failed.push((lead_id, until));
                            report.failed.push((lead_id, e));
                        }
                    }
                }
                if !full {
                    return Ok::<_, CrmError>(());
                }
            }
        }
        .await;
        for (lead_id, until) in failed {
            self.store.release_pending_client(lead_id, until).await?;
        }
        let mut report = outcome.map(|()| report)?;
        // Created or not, a client of a lead outside the actor's view is not named to them.
        let mut created = Vec::with_capacity(report.created.len());
        for (lead, client) in report.created {
            if self.reports_lead(&scope, lead).await? {
                created.push((lead, client));
            }
        }
        let mut failed = Vec::with_capacity(report.failed.len());
        for (lead, e) in report.failed {
            if self.reports_lead(&scope, lead).await? {
                failed.push((lead, e));
            }
        }
        report.created = created;
        report.failed = failed;
        Ok(report)
    }

    /// Logs an interaction on a lead that is not converted.
    pub async fn log_interaction(
        &self,
        actor: EmployeeId,
        lead_id: LeadId,
        input: NewInteraction,
    ) -> CrmResult<Interaction> {
        let actor = self.actor(actor).await?;
        let lead = self.load_visible(&actor, lead_id).await?;
        let (i, event) = decide_interaction(&lead, &actor, input, self.now())?;
        let after = lead.interacted(i.occurred_at);
        let one_more = |f: Facts| Facts {
            interactions: f.interactions.saturating_add(1),
            ..f
        };
        let moved = self.score_moved(&lead, &after, one_more, actor.id).await?;
        let events: Vec<NewEvent> = std::iter::once(event).chain(moved).collect();
        self.store.insert_interaction(&i, &events).await?;
        Ok(i)
    }

    /// Adds an opportunity to a lead that is not converted.
    pub async fn add_opportunity(
        &self,
        actor: EmployeeId,
        lead_id: LeadId,
        input: NewOpportunity,
    ) -> CrmResult<Opportunity> {
        let actor = self.actor(actor).await?;
        let lead = self.load_visible(&actor, lead_id).await?;
        let (o, event) = decide_add_opportunity(&lead, &actor, input, self.now())?;
        self.settings.currencies.check(o.value.currency())?;
        let with_opportunity = |f: Facts| Facts {
            has_opportunity: true,
            ..f
        };
        let moved = (self.score_moved(&lead, &lead, with_opportunity, actor.id)).await?;
        let events: Vec<NewEvent> = std::iter::once(event).chain(moved).collect();
        self.store.insert_opportunity(&o, &events).await?;
        Ok(o)
    }

    /// Changes an opportunity (title, value, close date, stage). On a converted lead only
    /// the stage may change.
    pub async fn update_opportunity(
        &self,
        actor: EmployeeId,
        id: OpportunityId,
        expected_version: u64,
        patch: OpportunityPatch,
    ) -> CrmResult<Opportunity> {
        let actor = self.actor(actor).await?;
        let current = self.visible_opportunity(&actor, id).await?;
        let lead = self.load(current.lead_id).await?;
        let write = decide_opportunity_update(
            &lead,
            &current,
            &actor,
            expected_version,
            &patch,
            self.now(),
        )?;
        if write.opportunity.value.currency() != current.value.currency() {
            self.settings
                .currencies
                .check(write.opportunity.value.currency())?;
        }
        self.store
            .update_opportunity(expected_version, &write)
            .await?;
        Ok(write.opportunity)
    }

    /// An opportunity whose lead `actor` sees; `NotFound` alike otherwise.
    async fn visible_opportunity(
        &self,
        actor: &Employee,
        id: OpportunityId,
    ) -> CrmResult<Opportunity> {
        let o = self
            .store
            .get_opportunity(id)
            .await?
            .ok_or_else(|| not_found(Entity::Opportunity, id))?;
        match self.load_visible(actor, o.lead_id).await {
            Ok(_) => Ok(o),
            Err(CrmError::NotFound { .. }) => Err(not_found(Entity::Opportunity, id)),
            Err(e) => Err(e),
        }
    }

    /// One lead the actor sees ([`crate::visibility`]).
    pub async fn lead(&self, actor: EmployeeId, id: LeadId) -> CrmResult<Lead> {
        let actor = self.actor(actor).await?;
        self.load_visible(&actor, id).await
    }

    /// One opportunity of a lead the actor sees.
    pub async fn opportunity(
        &self,
        actor: EmployeeId,
        id: OpportunityId,
    ) -> CrmResult<Opportunity> {
        let actor = self.actor(actor).await?;
        self.visible_opportunity(&actor, id).await
    }

    /// The detail view of a lead the actor sees: the lead with history, interactions,
    /// opportunities and client.
    pub async fn lead_detail(&self, actor: EmployeeId, id: LeadId) -> CrmResult<LeadDetail> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        self.store
            .lead_detail(id)
            .await?
            .filter(|d| scope.admits(d.lead.owner()))
            .ok_or_else(|| not_found(Entity::Lead, id))
    }

    /// The groups of open leads the actor sees that share an email or a phone, and with
    /// `fuzzy` a name within the same company, both under Arabic folding
    /// ([`crate::duplicates::duplicate_groups`]). Any employee in the directory may read.
    pub async fn duplicates(
        &self,
        actor: EmployeeId,
        fuzzy: bool,
    ) -> CrmResult<Vec<crate::DuplicateGroup>> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        Ok(self.store.duplicate_groups(&scope, fuzzy).await?)
    }

    /// Merges lead `other` into lead `keep` (management only; both leads in the actor's
    /// view, read at `keep_version` and `other_version`): see [`crate::merge`]. Atomic: on
    /// any refusal nothing changes.
    pub async fn merge_leads(
        &self,
        actor: EmployeeId,
        keep: LeadId,
        keep_version: u64,
        other: LeadId,
        other_version: u64,
    ) -> CrmResult<crate::MergeOutcome> {
        let actor = self.actor(actor).await?;
        authorize(&actor, Action::MergeLeads, None).map_err(CrmError::from)?;
        let kept = self.load_visible(&actor, keep).await?;
        let scope = self.view(&actor).await?;
        let gone = self
            .store
            .lead_detail(other)
            .await?
            .filter(|d| scope.admits(d.lead.owner()))
            .ok_or_else(|| not_found(Entity::Lead, other))?;
        let moved = crate::Moved {
            interactions: gone.interactions.iter().map(|i| i.id).collect(),
            opportunities: gone.opportunities.iter().map(|o| o.id).collect(),
        };
        let write = crate::merge::decide_merge(
            &kept,
            &gone.lead,
            &actor,
            keep_version,
            other_version,
            moved,
            self.now(),
        )?;
        self.store.merge_leads(&write).await?;
        Ok(crate::MergeOutcome {
            kept: write.keep.lead,
            merged: write.other.lead,
        })
    }

    /// One page of the leads the actor sees (searches included).
    pub async fn list_leads(&self, actor: EmployeeId, query: &LeadQuery) -> CrmResult<Page<Lead>> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        Ok(self.store.list_leads_in(query, &scope).await?)
    }

    /// How many leads the actor sees that `query` matches, over all its pages (its cursor
    /// and page size ignored): the list's total.
    pub async fn count_leads(&self, actor: EmployeeId, query: &LeadQuery) -> CrmResult<u64> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        Ok(self.store.count_leads_in(query, &scope).await?)
    }

    /// The lost-reason codes in force.
    pub fn lost_reasons(&self) -> &LostReasons {
        &self.settings.lost_reasons
    }

    /// The sources offered and who may add one ([`CrmBuilder::sources`]).
    pub fn sources(&self) -> &crate::source::Sources {
        &self.settings.sources
    }

    /// The currencies offered ([`CrmBuilder::currencies`]).
    pub fn currencies(&self) -> &crate::money::Currencies {
        &self.settings.currencies
    }

    /// The scoring rules in force ([`CrmBuilder::scoring_rules`]).
    pub fn scoring_rules(&self) -> &crate::scoring::Rules {
        &self.settings.scoring
    }

    /// Lost leads counted by reason code, under `filter` (any employee in the directory may
    /// read; only leads the actor sees).
    pub async fn lost_reason_report(
        &self,
        actor: EmployeeId,
        filter: &ReportFilter,
    ) -> CrmResult<LostReasonReport> {
        let actor = self.actor(actor).await?;
        filter.validate()?;
        let scope = self.view(&actor).await?;
        Ok(self.store.lost_reason_report(filter, &scope).await?)
    }

    /// The host's configured stage probabilities: in force for every stage management has
    /// stored no probability for (see [`Crm::pipeline_stages`] for what is in force).
    pub fn stage_probabilities(&self) -> &StageProbabilities {
        &self.settings.probabilities
    }

    /// The stage probabilities in force: the stored ones over the host's.
    async fn probabilities_in_force(&self) -> CrmResult<StageProbabilities> {
        let stored = self.store.stage_probabilities().await?;
        Ok(crate::stage_probability::in_force(
            &self.settings.probabilities,
            &stored,
        )?)
    }

    /// Each configurable stage's probability: in force, the host's default, and the stored
    /// change that set it (any employee in the directory may read).
    pub async fn pipeline_stages(&self, actor: EmployeeId) -> CrmResult<Vec<StageSetting>> {
        self.actor(actor).await?;
        let stored = self.store.stage_probabilities().await?;
        Ok(crate::stage_probability::settings(
            &self.settings.probabilities,
            &stored,
        )?)
    }

    /// Sets an open stage's probability (management only; `won` and `lost` are fixed at
    /// 100 % and 0 %). Stored with who and when; the pipeline report uses it from then on.
    pub async fn set_stage_probability(
        &self,
        actor: EmployeeId,
        stage: OpportunityStage,
        probability: Probability,
    ) -> CrmResult<StageProbabilityChange> {
        let actor = self.actor(actor).await?;
        let change = decide_stage_probability(&actor, stage, probability, self.now())?;
        self.store.insert_stage_probability(&change).await?;
        Ok(change)
    }

    /// The stored stage probability changes, newest first, at most `limit` (any employee in
    /// the directory may read).
    pub async fn stage_probability_history(
        &self,
        actor: EmployeeId,
        limit: u32,
    ) -> CrmResult<Vec<StageProbabilityChange>> {
        self.actor(actor).await?;
        Ok(self.store.stage_probability_history(limit).await?)
    }

    /// What the pipeline is worth, per currency: open, weighted, won and lost totals, by
    /// owner, stage and expected-close month, of the leads the actor sees (any employee in
    /// the directory may read).
    pub async fn pipeline(
        &self,
        actor: EmployeeId,
        filter: &PipelineFilter,
    ) -> CrmResult<PipelineReport> {
        let actor = self.actor(actor).await?;
        filter.validate()?;
        let scope = self.view(&actor).await?;
        let probabilities = self.probabilities_in_force().await?;
        let rows = self
            .store
            .pipeline_rows(filter, &scope, &probabilities)
            .await?;
        Ok(PipelineReport::from_rows(&rows)?)
    }

    /// The average time leads spend in each status, per owner and source, under `filter`,
    /// with stays not yet ended counted until the clock's time (any employee in the
    /// directory may read; only leads the actor sees).
    pub async fn time_in_status_report(
        &self,
        actor: EmployeeId,
        filter: &ReportFilter,
    ) -> CrmResult<crate::TimeInStatusReport> {
        let actor = self.actor(actor).await?;
        filter.validate()?;
        let scope = self.view(&actor).await?;
        let rows = self
            .store
            .status_time_rows(filter, &scope, self.now())
            .await?;
        Ok(crate::TimeInStatusReport::from_rows(&rows))
    }

    /// The status x source report over the leads the actor sees.
    pub async fn report(&self, actor: EmployeeId, filter: &ReportFilter) -> CrmResult<Report> {
        let actor = self.actor(actor).await?;
        filter.validate()?;
        let scope = self.view(&actor).await?;
        Ok(self.store.report_in(filter, &scope).await?)
    }

    /// The follow-up sweep at the clock's time. Management or a named system actor.
    pub async fn sweep_now(&self, actor: impl Into<Actor>) -> CrmResult<SweepReport> {
        self.sweep(actor, self.now()).await
    }

    /// Checks that `actor` may sweep, and that `at` is not later than the clock; `at` to the
    /// microsecond.
    async fn sweep_time(&self, actor: Actor, at: DateTime<Utc>) -> CrmResult<DateTime<Utc>> {
        self.authorize_actor(&actor, Action::RunSweep).await?;
        let at = crate::clock::to_micros(at);
        check_sweep_time(at, self.now())?;
        Ok(at)
    }

    /// The leads a report of a company-wide job (the sweep, the dispatch) may name to its
    /// actor: every lead for a system actor, the employee's view for an employee. The job
    /// itself runs over every lead; a lead outside the view is only left out of the report.
    async fn report_scope(&self, actor: &Actor) -> CrmResult<Scope> {
        match actor {
            Actor::System(_) => Ok(Scope::All),
            Actor::Employee(id) => {
                let employee = self.actor(*id).await?;
                self.view(&employee).await
            }
        }
    }

    /// Whether a report in `scope` may name the lead `id` (one that is gone is not named).
    async fn reports_lead(&self, scope: &Scope, id: LeadId) -> CrmResult<bool> {
        if *scope == Scope::All {
            return Ok(true);
        }
        Ok(self
            .store
            .get_lead(id)
            .await?
            .is_some_and(|l| scope.admits(l.owner())))
    }

    /// What a sweep asks the store for at `at`, claimed at the clock's time.
    fn follow_up_claim(&self, at: DateTime<Utc>) -> FollowUpClaim {
        let now = self.now();
        let calendar = self.follow_up.calendar().cloned().unwrap_or_default();
        FollowUpClaim {
            cutoff: self.follow_up.cutoff(at),
            at,
            now,
            lease_until: lease_end(now, self.lease),
            limit: self.batch,
            escalation_cutoff: self.settings.escalation.map(|e| e.cutoff(&calendar, at)),
        }
    }

    /// `notice` as it goes out: an escalation addressed to the owner's manager.
    async fn addressed(&self, notice: &FollowUpNotice) -> Result<FollowUpNotice, PortError> {
        if !matches!(notice.kind, NoticeKind::Escalation { .. }) {
            return Ok(notice.clone());
        }
        let owner = self.employees.employee(notice.owner).await?;
        let manager = match owner.as_ref().and_then(|o| o.manager) {
            Some(m) => self.employees.employee(m).await?,
            None => None,
        };
        addressed(notice, owner.as_ref(), manager.as_ref())
            .map_err(|e| PortError::new("escalation", e))
    }

    /// Notifies the owner of every lead due under the follow-up rule at `at` (not later
    /// than the clock), reminds owners of overdue follow-up times, and escalates leads left
    /// without follow-up to the owner's manager (when an [`EscalationRule`] is set), at least
    /// once each: see [`crate::follow_up`] for how a crash between claiming and sending is
    /// recovered, and how concurrent sweeps split the work. A notice the notifier refused
    /// (or an escalation whose owner has no active manager) stays claimed until the end of
    /// this sweep, so the sweep moves on to the next ones, and is then released for the next
    /// sweep. Management or a named system actor.
    pub async fn sweep(
        &self,
        actor: impl Into<Actor>,
        at: DateTime<Utc>,
    ) -> CrmResult<SweepReport> {
        let actor = actor.into();
        let at = self.sweep_time(actor.clone(), at).await?;
        let scope = self.report_scope(&actor).await?;
        let mut report = SweepReport::default();
        let mut refused = Vec::new();
        let outcome = async {
            loop {
                let claim = self.follow_up_claim(at);
                let batch = self.store.claim_follow_ups(&claim).await?;
                let full = batch.len() == self.batch as usize;
                let mut delivered = Vec::with_capacity(batch.len());
                for notice in batch {
                    let sent = match self.addressed(&notice).await {
                        Ok(n) => self.notifier.notify(&n).await,
                        Err(e) => Err(e),
                    };
                    let named = scope.admits(notice.owner);
                    match sent {
                        Ok(()) => {
                            delivered.push(notice.id);
                            if !named {
                                continue;
                            }
                            match notice.kind {
                                NoticeKind::FirstContact => &mut report.notified,
                                NoticeKind::Overdue { .. } => &mut report.reminded,
                                NoticeKind::Escalation { .. } => &mut report.escalated,
                                NoticeKind::Captured { .. } => &mut report.captured,
                            }
                            .push(notice.lead_id);
                            report.notices.push(notice.id);
                        }
                        Err(e) => {
                            refused.push((notice.id, claim.lease_until, error_chain(&e)));
                            if named {
                                report.failed.push((notice.lead_id, e));
                            }
                        }
                    }
                }
                // One store write for the batch's deliveries, not one per notice. Until it
                // lands the notices stay claimed (the next claim skips them); a crash before
                // it sends them again once the lease runs out, under the same ids.
                if !delivered.is_empty() {
                    self.store.follow_ups_delivered(&delivered).await?;
                }
                if !full {
                    return Ok::<_, CrmError>(());
                }
            }
        }
        .await;
        for (id, until, error) in refused {
            self.store
                .release_follow_up(id, until, Some(error), self.now())
                .await?;
        }
        outcome.map(|()| report)
    }

    /// What a sweep at `at` would send, without sending or marking anything (at most
    /// `limit` notices, in the order the sweep takes them; escalations addressed to the
    /// manager when the directory names one). Management or a named system actor.
    pub async fn sweep_preview(
        &self,
        actor: impl Into<Actor>,
        at: DateTime<Utc>,
        limit: u32,
    ) -> CrmResult<Vec<FollowUpNotice>> {
        let actor = actor.into();
        let at = self.sweep_time(actor.clone(), at).await?;
        let scope = self.report_scope(&actor).await?;
        let mut claim = self.follow_up_claim(at);
        claim.limit = limit.clamp(1, 10_000);
        let mut out = Vec::new();
        for n in self.store.preview_follow_ups(&claim).await? {
            if scope.admits(n.owner) {
                out.push(self.addressed(&n).await.unwrap_or(n));
            }
        }
        Ok(out)
    }

    /// Unacknowledged events after `after` about leads the actor sees, in order.
    pub async fn pending_events(
        &self,
        actor: EmployeeId,
        after: u64,
        limit: u32,
    ) -> CrmResult<Vec<Event>> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        Ok(self
            .store
            .pending_events_in(after, limit.clamp(1, 10_000), &scope)
            .await?)
    }

    /// Acknowledges events up to `up_to` for the sales system. Management only.
    pub async fn ack_events(&self, actor: EmployeeId, up_to: u64) -> CrmResult<u64> {
        self.authorize_actor(&Actor::Employee(actor), Action::AcknowledgeEvents)
            .await?;
        Ok(self.store.ack_events(up_to).await?)
    }

    fn admin(&self) -> CrmResult<&Arc<dyn EmployeeAdmin>> {
        self.admin
            .as_ref()
            .ok_or(CrmError::NotConfigured("an employee admin port"))
    }

    /// Adds or changes an employee in the library's own directory. Management only.
    pub async fn save_employee(
        &self,
        actor: EmployeeId,
        employee: Employee,
    ) -> CrmResult<Employee> {
        let admin = self.admin()?;
        self.authorize_actor(&Actor::Employee(actor), Action::ManageEmployees)
            .await?;
        check_teams(&employee)?;
        let staff = admin.list_employees().await?;
        crate::permissions::check_keeps_a_manager(&staff, &employee)?;
        crate::escalation::check_manager(&staff, &employee)?;
        admin.upsert_employee(&employee).await?;
        Ok(employee)
    }

    /// Adds the first employee of a new installation, who must be an active manager, with no
    /// one acting (there is no one yet). Refused once the directory holds anyone: from then
    /// on a manager adds employees ([`Crm::save_employee`]).
    pub async fn bootstrap_manager(&self, employee: Employee) -> CrmResult<Employee> {
        let admin = self.admin()?;
        if employee.role != crate::employee::Role::Manager || !employee.active {
            return Err(ValidationError::FirstEmployeeNotManager.into());
        }
        check_teams(&employee)?;
        if !admin.insert_first_employee(&employee).await? {
            return Err(CrmError::AlreadyBootstrapped);
        }
        Ok(employee)
    }

    /// One employee of the directory, e.g. to show a name (any employee in it may read).
    pub async fn employee(&self, actor: EmployeeId, id: EmployeeId) -> CrmResult<Option<Employee>> {
        let me = self.actor(actor).await?;
        self.employee_or(id, &me).await
    }

    /// Every employee of the library's own directory (any employee in it may read).
    pub async fn employees(&self, actor: EmployeeId) -> CrmResult<Vec<Employee>> {
        let admin = self.admin()?;
        self.actor(actor).await?;
        Ok(admin.list_employees().await?)
    }

    /// Every team of the library's own directory, with members and managers (any employee
    /// in it may read).
    pub async fn teams(&self, actor: EmployeeId) -> CrmResult<Vec<TeamSummary>> {
        let staff = self.employees(actor).await?;
        Ok(teams_of(&staff))
    }

    /// Deactivates an employee of the library's own directory (management only) and says
    /// how many open leads they still own: nobody works those until a manager gives them to
    /// others ([`Crm::reassign_all`]).
    pub async fn deactivate_employee(
        &self,
        actor: EmployeeId,
        id: EmployeeId,
    ) -> CrmResult<Deactivation> {
        let admin = self.admin()?;
        self.authorize_actor(&Actor::Employee(actor), Action::ManageEmployees)
            .await?;
        let employee = admin
            .employee(id)
            .await?
            .ok_or_else(|| not_found(Entity::Employee, id))?;
        let employee = self.save_employee(actor, employee.inactive()).await?;
        let open_leads = self.open_leads_of(id).await?;
        Ok(Deactivation {
            employee,
            open_leads,
        })
    }

    /// How many open leads `id` owns (management only: it counts leads the manager may not
    /// see, without showing them).
    pub async fn open_lead_count(&self, actor: EmployeeId, id: EmployeeId) -> CrmResult<u64> {
        self.authorize_actor(&Actor::Employee(actor), Action::ManageEmployees)
            .await?;
        self.open_leads_of(id).await
    }

    async fn open_leads_of(&self, id: EmployeeId) -> CrmResult<u64> {
        let counts = self
            .store
            .open_leads_by_owner(&BTreeSet::from([id]))
            .await?;
        Ok(counts.get(&id).copied().unwrap_or(0))
    }

    /// Gives every open lead of `from` that the actor sees to the active sales staff of
    /// `team` (default: `from`'s own team), other than `from`, spread by `strategy`
    /// ([`crate::assignment::plan_reassignment`]). Management only. Each lead changes on its
    /// own, with its history entry and event, as [`Crm::assign_lead`] would change it; the
    /// outcome lists the leads changed and the ones refused (e.g. changed meanwhile).
    pub async fn reassign_all(
        &self,
        actor: EmployeeId,
        from: EmployeeId,
        strategy: Strategy,
        team: Option<Team>,
    ) -> CrmResult<BulkOutcome> {
        let actor = self.actor(actor).await?;
        authorize(&actor, Action::ReassignAll, Some(from)).map_err(CrmError::from)?;
        let leaving = self
            .employee_or(from, &actor)
            .await?
            .ok_or_else(|| not_found(Entity::Employee, from))?;
        let team = takeover_team(&leaving, team)?;
        let members = self.members(std::slice::from_ref(&team)).await?;
        let scope = self.view(&actor).await?;
        let mut leads = Vec::new();
        for status in LeadStatus::ALL.into_iter().filter(|s| s.is_open()) {
            let mut query = LeadQuery::default()
                .owner(from)
                .status(status)
                .limit(1000)?;
            loop {
                let page = self.store.list_leads_in(&query, &scope).await?;
                leads.extend(page.items);
                match page.next {
                    Some(c) => query = query.after(c),
                    None => break,
                }
            }
        }
        let open = match strategy {
            Strategy::RoundRobin => BTreeMap::new(),
            Strategy::LeastOpen => {
                let ids = members.iter().map(|e| e.id).collect();
                self.store.open_leads_by_owner(&ids).await?
            }
        };
        let ids: Vec<LeadId> = leads.iter().map(Lead::id).collect();
        let plan = plan_takeover(strategy, from, &team, &members, &ids, &open)?;
        let mut outcome = BulkOutcome::default();
        for (lead, (_, owner)) in leads.iter().zip(plan) {
            let assignee = members.iter().find(|e| e.id == owner);
            let write = decide_assign(lead, &actor, lead.version(), owner, assignee, self.now());
            self.store_one(&mut outcome, lead.id(), write).await;
        }
        Ok(outcome)
    }

    /// Applies one change to many leads, each on its own ([`crate::bulk`]): the outcome
    /// lists the leads changed and the ones refused, with the error each got. Refused as a
    /// whole only for bad input (no lead, too many, a lead listed twice), an unknown actor,
    /// or an actor who may only read ([`crate::bulk::check_actor`]).
    pub async fn bulk(
        &self,
        actor: EmployeeId,
        targets: &[BulkTarget],
        change: &BulkChange,
    ) -> CrmResult<BulkOutcome> {
        check_targets(targets)?;
        let actor = self.actor(actor).await?;
        check_actor(&actor, change)?;
        let scope = self.view(&actor).await?;
        let assignee = match change {
            BulkChange::Assign { to } => self.employee_or(*to, &actor).await?,
            BulkChange::Status { .. } => None,
        };
        let mut outcome = BulkOutcome::default();
        for target in targets {
            let lead = match self.store.get_lead(target.id).await {
                Ok(l) => l,
                Err(e) => {
                    outcome.failed.push((target.id, e.into()));
                    continue;
                }
            };
            let counting = match (&lead, change) {
                (Some(l), BulkChange::Status { to, .. }) if scope.admits(l.owner()) => {
                    match self.counting(l, *to).await {
                        Ok(c) => c,
                        Err(e) => {
                            outcome.failed.push((target.id, e));
                            continue;
                        }
                    }
                }
                _ => crate::counting::Counting::default(),
            };
            let now = self.now();
            let write = decide_bulk_item(
                lead.as_ref(),
                &scope,
                &actor,
                *target,
                change,
                assignee.as_ref(),
                &self.settings.lost_reasons,
                now,
                lease_end(now, self.lease),
                &counting,
            );
            self.store_one(&mut outcome, target.id, write).await;
        }
        Ok(outcome)
    }

    /// Stores one lead's decided write of a bulk change (sending the client of a lead it
    /// converts) and records how it went. A decided write is one version past the version
    /// it was decided on, which the store must still hold.
    async fn store_one(&self, outcome: &mut BulkOutcome, id: LeadId, write: CrmResult<LeadWrite>) {
        let stored = async {
            let write = write?;
            let decided_on = write.lead.version().saturating_sub(1);
            self.store.update_lead(decided_on, &write).await?;
            Ok::<_, CrmError>(self.after_status_change(write).await?.lead)
        };
        match stored.await {
            Ok(lead) => outcome.done.push(lead),
            Err(e) => outcome.failed.push((id, e)),
        }
    }
}

/// An error and its sources, joined, for operators reading a pending record.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s.chars().take(1000).collect()
}
