//! The `Crm` service: every use case, each taking the acting employee. It loads, calls the
//! pure rules (status table, permissions, follow-up, conversion) and stores; it holds no rule
//! of its own.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::SystemClock;
use crate::contact::Name;
use crate::conversion::{pending_client, triggers_conversion};
use crate::detail::LeadDetail;
use crate::employee::Employee;
use crate::error::{CrmError, Entity, PortError};
use crate::events::{Event, EventKind, NewEvent};
use crate::follow_up::{FollowUpNotice, FollowUpRule};
use crate::history::{Change, HistoryEntry};
use crate::ids::{ClientId, EmployeeId, EventId, InteractionId, LeadId, OpportunityId};
use crate::interaction::{Interaction, NewInteraction};
use crate::lead::{Lead, LeadPatch, NewLead};
use crate::notify::LogNotifier;
use crate::opportunity::{NewOpportunity, Opportunity, OpportunityPatch};
use crate::permissions::{Action, Refusal, authorize, can_own_leads};
use crate::ports::{ClientsPort, Clock, EmployeeDirectory, LeadStore, LeadWrite, Notifier};
use crate::query::{LeadQuery, Page};
use crate::report::{Report, ReportFilter};
use crate::status::{LeadStatus, MoveRule};

/// The result type of every use case.
pub type CrmResult<T> = Result<T, CrmError>;

/// How many records a sweep or dispatch reads per batch.
const BATCH: u32 = 500;

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
    /// Leads whose owner was notified by this sweep.
    pub notified: Vec<LeadId>,
    /// Leads whose notification failed; they stay due for the next sweep.
    pub failed: Vec<(LeadId, PortError)>,
}

/// What a dispatch of pending clients did.
#[derive(Debug, Default)]
pub struct DispatchReport {
    /// Clients created now.
    pub created: Vec<(LeadId, ClientId)>,
    /// Attempts that failed; the records stay pending.
    pub failed: Vec<(LeadId, PortError)>,
}

/// The lead management service. Cheap to clone; share it across tasks.
#[derive(Clone)]
pub struct Crm {
    store: Arc<dyn LeadStore>,
    employees: Arc<dyn EmployeeDirectory>,
    clients: Arc<dyn ClientsPort>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    follow_up: FollowUpRule,
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm")
            .field("follow_up", &self.follow_up)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Crm`]. Store, employee directory and clients port are required; the notifier
/// defaults to [`LogNotifier`], the clock to [`SystemClock`], the follow-up rule to 5 days.
#[derive(Default)]
pub struct CrmBuilder {
    store: Option<Arc<dyn LeadStore>>,
    employees: Option<Arc<dyn EmployeeDirectory>>,
    clients: Option<Arc<dyn ClientsPort>>,
    notifier: Option<Arc<dyn Notifier>>,
    clock: Option<Arc<dyn Clock>>,
    follow_up: FollowUpRule,
}

/// A required port was not given to the builder.
#[derive(Debug, thiserror::Error)]
#[error("CrmBuilder needs a {0}")]
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
    /// Builds the service.
    pub fn build(self) -> Result<Crm, MissingPort> {
        Ok(Crm {
            store: self.store.ok_or(MissingPort("store"))?,
            employees: self.employees.ok_or(MissingPort("employee directory"))?,
            clients: self.clients.ok_or(MissingPort("clients port"))?,
            notifier: self.notifier.unwrap_or_else(|| Arc::new(LogNotifier)),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            follow_up: self.follow_up,
        })
    }
}

fn forbidden(r: Refusal) -> CrmError {
    CrmError::Forbidden {
        actor: r.actor,
        action: r.action,
        reason: r.reason,
    }
}

fn not_found(entity: Entity, id: impl ToString) -> CrmError {
    CrmError::NotFound {
        entity,
        id: id.to_string(),
    }
}

impl Crm {
    /// Starts a builder.
    pub fn builder() -> CrmBuilder {
        CrmBuilder::default()
    }

    /// The store, for host code that reads it directly.
    pub fn store(&self) -> &Arc<dyn LeadStore> {
        &self.store
    }

    /// The follow-up rule in force.
    pub fn follow_up_rule(&self) -> &FollowUpRule {
        &self.follow_up
    }

    /// The clock's time, to the microsecond.
    fn now(&self) -> DateTime<Utc> {
        crate::clock::to_micros(self.clock.now())
    }

    /// The acting employee, who must be in the directory.
    async fn actor(&self, id: EmployeeId) -> CrmResult<Employee> {
        self.employees
            .employee(id)
            .await?
            .ok_or(CrmError::UnknownActor(id))
    }

    /// The assignment rule: the responsible employee exists, is active, and sells.
    async fn check_assignee(&self, id: EmployeeId) -> CrmResult<()> {
        let e = self
            .employees
            .employee(id)
            .await?
            .ok_or(CrmError::InvalidAssignee {
                employee: id,
                problem: crate::error::AssigneeProblem::Unknown,
            })?;
        can_own_leads(&e).map_err(|problem| CrmError::InvalidAssignee {
            employee: id,
            problem,
        })
    }

    async fn load(&self, id: LeadId) -> CrmResult<Lead> {
        self.store
            .get_lead(id)
            .await?
            .ok_or_else(|| not_found(Entity::Lead, id))
    }

    /// Loads a lead for a change by `actor`: authorised, writable, at the version read.
    async fn load_for_change(
        &self,
        actor: &Employee,
        action: Action,
        id: LeadId,
        expected_version: Option<u64>,
    ) -> CrmResult<Lead> {
        let lead = self.load(id).await?;
        authorize(actor, action, Some(lead.owner())).map_err(forbidden)?;
        if lead.status().is_read_only() {
            return Err(CrmError::ReadOnly(id));
        }
        if let Some(v) = expected_version
            && lead.version() != v
        {
            return Err(CrmError::Conflict {
                entity: Entity::Lead,
                id: id.to_string(),
                expected: v,
            });
        }
        Ok(lead)
    }

    fn event(
        &self,
        lead_id: LeadId,
        actor: Option<EmployeeId>,
        at: DateTime<Utc>,
        kind: EventKind,
    ) -> NewEvent {
        NewEvent {
            id: EventId::new_at(at),
            at,
            lead_id,
            actor,
            kind,
        }
    }

    fn entry(lead: &Lead, actor: EmployeeId, change: Change) -> HistoryEntry {
        HistoryEntry {
            lead_id: lead.id(),
            version: lead.version(),
            at: lead.updated_at(),
            actor,
            change,
        }
    }

    /// Creates a lead in status `new`, owned by `input.owner` (default: the actor).
    pub async fn create_lead(&self, actor: EmployeeId, input: NewLead) -> CrmResult<Lead> {
        let actor = self.actor(actor).await?;
        authorize(&actor, Action::CreateLead, None).map_err(forbidden)?;
        let owner = input.owner.unwrap_or(actor.id);
        if owner == actor.id {
            // The actor was just read from the directory: no second lookup.
            can_own_leads(&actor).map_err(|problem| CrmError::InvalidAssignee {
                employee: owner,
                problem,
            })?;
        } else {
            self.check_assignee(owner).await?;
        }
        let now = self.now();
        let check_duplicates = !input.allow_duplicate;
        let lead = Lead::create(LeadId::new_at(now), input, owner, actor.id, now)?;
        let write = LeadWrite {
            history: vec![Self::entry(
                &lead,
                actor.id,
                Change::Created {
                    source: lead.source().clone(),
                    owner,
                },
            )],
            events: vec![self.event(
                lead.id(),
                Some(actor.id),
                now,
                EventKind::LeadCreated {
                    name: lead.name().clone(),
                    source: lead.source().clone(),
                    owner,
                },
            )],
            pending_client: None,
            check_duplicates,
            lead,
        };
        self.store.insert_lead(&write).await?;
        Ok(write.lead)
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
        let lead = self
            .load_for_change(&actor, Action::EditLead, id, Some(expected_version))
            .await?;
        let now = self.now();
        let (new, changes) = lead.edited(&patch, now)?;
        let contact_changed = new.email() != lead.email() || new.phone() != lead.phone();
        let fields = changes
            .iter()
            .filter_map(|c| match c {
                Change::Edited { field, .. } => Some(*field),
                _ => None,
            })
            .collect();
        let write = LeadWrite {
            history: changes
                .into_iter()
                .map(|c| Self::entry(&new, actor.id, c))
                .collect(),
            events: vec![self.event(id, Some(actor.id), now, EventKind::LeadEdited { fields })],
            pending_client: None,
            check_duplicates: contact_changed && new.status().is_open() && !patch.allow_duplicate,
            lead: new,
        };
        self.store.update_lead(expected_version, &write).await?;
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
        let lead = self
            .load_for_change(&actor, Action::ReassignLead, id, Some(expected_version))
            .await?;
        self.check_assignee(to).await?;
        let now = self.now();
        let (new, change) = lead.reassigned(to, now)?;
        let write = LeadWrite {
            history: vec![Self::entry(&new, actor.id, change)],
            events: vec![self.event(
                id,
                Some(actor.id),
                now,
                EventKind::LeadAssigned {
                    from: lead.owner(),
                    to,
                },
            )],
            pending_client: None,
            check_duplicates: false,
            lead: new,
        };
        self.store.update_lead(expected_version, &write).await?;
        Ok(write.lead)
    }

    /// Moves a lead through the status machine ([`crate::status::TRANSITIONS`]). Moving to
    /// `lost` needs `lost_reason`, and no other move takes one. A converted lead is
    /// [`CrmError::ReadOnly`], as for every other change. Moving to `converted` also creates the client (see
    /// [`crate::conversion`]); if the clients system fails, the lead is still converted and
    /// the outcome says the client is deferred.
    pub async fn change_status(
        &self,
        actor: EmployeeId,
        id: LeadId,
        expected_version: u64,
        to: LeadStatus,
        lost_reason: Option<Name>,
    ) -> CrmResult<StatusChange> {
        let actor = self.actor(actor).await?;
        let lead = self.load(id).await?;
        let from = lead.status();
        let rule = from.move_rule(to);
        let action = if rule == Some(MoveRule::Management) {
            Action::ReopenLead
        } else {
            Action::ChangeStatus
        };
        authorize(&actor, action, Some(lead.owner())).map_err(forbidden)?;
        // Read-only before the table: a converted lead reports what an edit of it reports.
        if from.is_read_only() {
            return Err(CrmError::ReadOnly(id));
        }
        if rule.is_none() {
            return Err(CrmError::InvalidTransition {
                from,
                to,
                allowed: from.allowed_targets(),
            });
        }
        if lead.version() != expected_version {
            return Err(CrmError::Conflict {
                entity: Entity::Lead,
                id: id.to_string(),
                expected: expected_version,
            });
        }
        let now = self.now();
        let (new, change) = lead.moved(to, lost_reason, now)?;
        let converting = triggers_conversion(&lead, to);
        let write = LeadWrite {
            history: vec![Self::entry(&new, actor.id, change)],
            events: vec![self.event(
                id,
                Some(actor.id),
                now,
                EventKind::StatusChanged { from, to },
            )],
            pending_client: converting.then(|| pending_client(&new, now)),
            check_duplicates: false,
            lead: new,
        };
        self.store.update_lead(expected_version, &write).await?;
        let mut lead = write.lead;
        let conversion = match write.pending_client {
            Some(pending) => Some(match self.create_client(&pending.request).await {
                Ok(client) => {
                    lead = lead.with_client(client.clone());
                    ConversionOutcome::ClientCreated(client)
                }
                Err(e) => ConversionOutcome::Deferred(e),
            }),
            None => None,
        };
        Ok(StatusChange { lead, conversion })
    }

    /// Sends one pending client to the clients system and records the outcome. A storage
    /// failure after the client was created leaves the record pending; the retry is safe
    /// because the clients port is idempotent on the lead id.
    async fn create_client(
        &self,
        request: &crate::conversion::ClientRequest,
    ) -> Result<ClientId, PortError> {
        let now = self.now();
        match self.clients.create_client(request).await {
            Ok(client) => {
                let event = self.event(
                    request.lead_id,
                    None,
                    now,
                    EventKind::LeadConverted {
                        client_id: client.clone(),
                    },
                );
                if let Err(e) = self
                    .store
                    .complete_conversion(request.lead_id, &client, &event)
                    .await
                {
                    tracing::warn!(lead_id = %request.lead_id, error = %e, "client created but not yet recorded; will retry");
                    return Err(PortError::new("store", e));
                }
                Ok(client)
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

    /// Retries every pending client creation; returns what was created and what failed.
    pub async fn dispatch_pending(&self) -> CrmResult<DispatchReport> {
        let mut report = DispatchReport::default();
        let mut tried = HashSet::new();
        loop {
            let batch = self.store.pending_clients(BATCH).await?;
            let full = batch.len() == BATCH as usize;
            let fresh: Vec<_> = batch
                .into_iter()
                .filter(|p| tried.insert(p.request.lead_id))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for p in fresh {
                match self.create_client(&p.request).await {
                    Ok(c) => report.created.push((p.request.lead_id, c)),
                    Err(e) => report.failed.push((p.request.lead_id, e)),
                }
            }
            if !full {
                break;
            }
        }
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
        self.load_for_change(&actor, Action::LogInteraction, lead_id, None)
            .await?;
        let now = self.now();
        let i = Interaction::create(InteractionId::new_at(now), lead_id, input, actor.id, now)?;
        let events = [self.event(
            lead_id,
            Some(actor.id),
            now,
            EventKind::InteractionLogged {
                interaction_id: i.id,
                kind: i.kind,
                occurred_at: i.occurred_at,
            },
        )];
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
        self.load_for_change(&actor, Action::AddOpportunity, lead_id, None)
            .await?;
        let now = self.now();
        let o = Opportunity::create(OpportunityId::new_at(now), lead_id, input, actor.id, now);
        let events = [self.event(
            lead_id,
            Some(actor.id),
            now,
            EventKind::OpportunityCreated {
                opportunity_id: o.id,
                value: o.value,
                stage: o.stage,
                expected_close: o.expected_close,
            },
        )];
        self.store.insert_opportunity(&o, &events).await?;
        Ok(o)
    }

    /// Changes an opportunity (title, value, close date, stage).
    pub async fn update_opportunity(
        &self,
        actor: EmployeeId,
        id: OpportunityId,
        expected_version: u64,
        patch: OpportunityPatch,
    ) -> CrmResult<Opportunity> {
        let actor = self.actor(actor).await?;
        let o = self
            .store
            .get_opportunity(id)
            .await?
            .ok_or_else(|| not_found(Entity::Opportunity, id))?;
        self.load_for_change(&actor, Action::EditOpportunity, o.lead_id, None)
            .await?;
        if o.version != expected_version {
            return Err(CrmError::Conflict {
                entity: Entity::Opportunity,
                id: id.to_string(),
                expected: expected_version,
            });
        }
        let now = self.now();
        let new = o.edited(&patch, now)?;
        let events = [self.event(
            new.lead_id,
            Some(actor.id),
            now,
            EventKind::OpportunityUpdated {
                opportunity_id: id,
                value: new.value,
                stage: new.stage,
                expected_close: new.expected_close,
            },
        )];
        self.store
            .update_opportunity(expected_version, &new, &events)
            .await?;
        Ok(new)
    }

    /// One lead (any employee in the directory may read).
    pub async fn lead(&self, actor: EmployeeId, id: LeadId) -> CrmResult<Lead> {
        self.actor(actor).await?;
        self.load(id).await
    }

    /// The detail view: the lead with history, interactions, opportunities and client.
    pub async fn lead_detail(&self, actor: EmployeeId, id: LeadId) -> CrmResult<LeadDetail> {
        self.actor(actor).await?;
        self.store
            .lead_detail(id)
            .await?
            .ok_or_else(|| not_found(Entity::Lead, id))
    }

    /// One page of leads.
    pub async fn list_leads(&self, actor: EmployeeId, query: &LeadQuery) -> CrmResult<Page<Lead>> {
        self.actor(actor).await?;
        Ok(self.store.list_leads(query).await?)
    }

    /// The status x source report.
    pub async fn report(&self, actor: EmployeeId, filter: &ReportFilter) -> CrmResult<Report> {
        self.actor(actor).await?;
        filter.validate()?;
        Ok(self.store.report(filter).await?)
    }

    /// The follow-up sweep at the clock's time.
    pub async fn sweep_now(&self) -> CrmResult<SweepReport> {
        self.sweep(self.now()).await
    }

    /// Notifies the owner of every lead due under the follow-up rule at `now`, once. Each lead
    /// is claimed before its notice is sent, so concurrent sweeps notify it once; a failed
    /// notice releases the claim and the next sweep retries it.
    pub async fn sweep(&self, now: DateTime<Utc>) -> CrmResult<SweepReport> {
        let now = crate::clock::to_micros(now);
        let cutoff = self.follow_up.cutoff(now);
        let mut report = SweepReport::default();
        let mut failed = HashSet::new();
        loop {
            let batch = self.store.due_follow_ups(cutoff, BATCH).await?;
            let full = batch.len() == BATCH as usize;
            let mut progressed = false;
            for lead in batch {
                if failed.contains(&lead.id())
                    || !self.store.claim_follow_up(lead.id(), now).await?
                {
                    continue;
                }
                progressed = true;
                match self
                    .notifier
                    .notify(&FollowUpNotice::for_lead(&lead, now))
                    .await
                {
                    Ok(()) => report.notified.push(lead.id()),
                    Err(e) => {
                        self.store.release_follow_up(lead.id()).await?;
                        failed.insert(lead.id());
                        report.failed.push((lead.id(), e));
                    }
                }
            }
            if !full || !progressed {
                break;
            }
        }
        Ok(report)
    }

    /// Unacknowledged events after `after`, in order.
    pub async fn pending_events(&self, after: u64, limit: u32) -> CrmResult<Vec<Event>> {
        Ok(self
            .store
            .pending_events(after, limit.clamp(1, 10_000))
            .await?)
    }

    /// Acknowledges events up to `up_to`.
    pub async fn ack_events(&self, up_to: u64) -> CrmResult<u64> {
        Ok(self.store.ack_events(up_to).await?)
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
