//! The ports: one small trait per thing the core needs from outside. Hosts and adapters
//! implement them; [`crate::Crm`] holds them as `Arc<dyn Port>`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::assignment::Turn;
use crate::conversion::{ClientRequest, PendingClient};
use crate::detail::LeadDetail;
use crate::employee::Employee;
use crate::error::{PortError, StoreError};
use crate::events::{Event, NewEvent};
use crate::follow_up::{FollowUpClaim, FollowUpNotice};
use crate::history::HistoryEntry;
use crate::ids::{ClientId, EmployeeId, LeadId, NoticeId, OpportunityId};
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::opportunity::Opportunity;
use crate::query::{LeadQuery, Page};
use crate::report::{Report, ReportFilter};
use crate::team::Team;
use crate::visibility::Scope;

/// One atomic write of a lead: its new state, the history entries and events describing the
/// change, and, on conversion, the pending client record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadWrite {
    /// The lead as it is after the change.
    pub lead: Lead,
    /// History entries to append.
    pub history: Vec<HistoryEntry>,
    /// Events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// A pending client record to insert (conversion).
    pub pending_client: Option<PendingClient>,
    /// Refuse the write with [`StoreError::Duplicate`] when another open lead has the same
    /// email or phone as `lead` (the rule of [`crate::duplicates`]).
    pub check_duplicates: bool,
}

/// One atomic write of an opportunity: its new state and the events describing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpportunityWrite {
    /// The opportunity after the change.
    pub opportunity: Opportunity,
    /// Events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// The write must be refused with `ReadOnly` if the lead is converted by then. `false`
    /// only for a change of the stage alone: a converted lead's opportunities can still be
    /// won or lost.
    pub lead_must_be_open: bool,
}

/// Where leads live. Each write method is atomic: all of it is stored, or none. Adapters
/// must pass the conformance suite in the `crm-tests` crate.
///
/// ```
/// # use crm_core::ports::LeadStore;
/// // A host uses a ready adapter, e.g. `crm_store_memory::MemoryStore::new()`, or
/// // `crm_store_sqlx::SqliteStore::connect("sqlite://crm.db")`, as `Arc<dyn LeadStore>`.
/// fn takes_any_store(_: std::sync::Arc<dyn LeadStore>) {}
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    /// Inserts a new lead (version 1). Fails with `Duplicate` (when asked to check) naming the
    /// oldest open lead with the same email or phone.
    async fn insert_lead(&self, write: &LeadWrite) -> Result<(), StoreError>;

    /// Replaces a lead whose stored version is `expected_version` (the new one must be
    /// `expected_version + 1`). Fails with `NotFound`, or `Conflict` when the version moved.
    async fn update_lead(&self, expected_version: u64, write: &LeadWrite)
    -> Result<(), StoreError>;

    /// One lead.
    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError>;

    /// The detail view of one lead.
    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError>;

    /// Leads matching `query`, newest first, one page.
    async fn list_leads(&self, query: &LeadQuery) -> Result<Page<Lead>, StoreError> {
        self.list_leads_in(query, &Scope::All).await
    }

    /// Leads matching `query` whose owner `scope` admits ([`Scope::admits`]), newest first,
    /// one page. The scope is part of the query: a page holds `query.page_size()` leads in
    /// scope whenever that many match.
    async fn list_leads_in(
        &self,
        query: &LeadQuery,
        scope: &Scope,
    ) -> Result<Page<Lead>, StoreError>;

    /// Counts by status x source under `filter`.
    async fn report(&self, filter: &ReportFilter) -> Result<Report, StoreError> {
        self.report_in(filter, &Scope::All).await
    }

    /// Counts by status x source under `filter`, of the leads in `scope` only.
    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError>;

    /// How many open leads (status `new`, `contacted` or `interested`) each of `owners`
    /// owns; owners with none may be left out.
    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError>;

    /// Whom the assignment rule stored under `rule` ([`crate::AssignmentRule::rotation_key`])
    /// gave its last lead to, if it gave one.
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError>;

    /// Inserts a new lead like [`LeadStore::insert_lead`] and, in the same transaction, takes
    /// `turn`: the rule's last owner becomes `turn.owner` provided it is still `turn.after`.
    /// When another create took the turn first, nothing is written and the call fails with
    /// [`StoreError::Busy`] (the caller decides again from the new state).
    async fn insert_lead_taking_turn(
        &self,
        write: &LeadWrite,
        turn: &Turn,
    ) -> Result<(), StoreError>;

    /// Lost leads (status `lost` now) of the leads in `scope`, counted by reason code under
    /// `filter`, as [`crate::report::LostReasonReport::from_leads`] counts them.
    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<crate::report::LostReasonReport, StoreError>;

    /// Time in status per (owner, source, status) of the leads in `scope` under `filter`,
    /// their stays counted until `now`, as [`crate::StatusTimeRow::from_histories`] computes
    /// them from the stored history (any order).
    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::StatusTimeRow>, StoreError>;

    /// Opportunities of leads in `scope`, grouped by currency, their lead's owner, stage and
    /// expected-close month under `filter`, with each group's weighted total under
    /// `probabilities`, as [`crate::PipelineRow::from_opportunities`] computes them (any
    /// order).
    async fn pipeline_rows(
        &self,
        filter: &crate::PipelineFilter,
        scope: &Scope,
        probabilities: &crate::StageProbabilities,
    ) -> Result<Vec<crate::PipelineRow>, StoreError>;

    /// Adds an interaction and its events, and moves the lead's `last_interaction_at` forward.
    /// Fails with `NotFound` for a missing lead, `ReadOnly` for a converted one.
    async fn insert_interaction(
        &self,
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;

    /// Adds an opportunity and its events. Fails like [`LeadStore::insert_interaction`].
    async fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;

    /// One opportunity.
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError>;

    /// Replaces an opportunity whose stored version is `expected_version`. Fails with
    /// `NotFound`, `Conflict`, or `ReadOnly` when its lead is converted and
    /// `write.lead_must_be_open`.
    async fn update_opportunity(
        &self,
        expected_version: u64,
        write: &OpportunityWrite,
    ) -> Result<(), StoreError>;

    /// Claims follow-up notices to send, atomically (see [`FollowUpClaim`]): outbox notices
    /// whose claim ran out (`claimed_until <= claim.now`) first, oldest notice id first, each
    /// replaced by [`crate::follow_up::refreshed`] against its lead (and deleted when that is
    /// `None`); then, up to `claim.limit` in all: leads that
    /// [`crate::follow_up::awaits_follow_up`] and were created at or before `claim.cutoff`,
    /// oldest `(created_at, id)` first, each written as
    /// [`crate::follow_up::notify_first_contact`] gives it with its notice; then leads
    /// [`crate::follow_up::is_overdue`] at `claim.at`, oldest `(next_follow_up_at, id)`
    /// first, each written as [`crate::follow_up::remind_overdue`] gives it with its notice;
    /// then, when `claim.escalation_cutoff` is set, leads [`crate::escalation::is_due`] under
    /// it, oldest `(owner_notified_at, id)` first, each written as
    /// [`crate::escalation::escalate`] gives it with its notice. New notices go into the
    /// outbox. Every returned notice is claimed until `claim.lease_until`. Concurrent callers
    /// get disjoint notices.
    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError>;

    /// What [`LeadStore::claim_follow_ups`] would return for `claim`, changing nothing: the
    /// outbox notices it would take over (refreshed; moot ones left out), then the new
    /// notices it would create, in the same order and under the same limit.
    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError>;

    /// The notifier accepted the notice: it leaves the outbox. Unknown ids are ignored.
    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError>;

    /// The notifier accepted these notices: they all leave the outbox, as
    /// [`LeadStore::follow_up_delivered`] does for each, in one call (a sweep marks a claimed
    /// batch at once rather than one write per notice). Unknown ids are ignored. On an error
    /// some may have left and some not: a notice that stays is sent again once its claim runs
    /// out, under the same id (at-least-once delivery). The default marks them one by one;
    /// stores write them in one go.
    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        for id in ids {
            self.follow_up_delivered(*id).await?;
        }
        Ok(())
    }

    /// Releases a notice the caller claimed until `claimed_until` and did not deliver, so the
    /// next sweep sends it; `error` (if any) is counted as a failed attempt at `at`. Nothing
    /// happens when the claim is no longer the caller's (it ran out and another sweep took
    /// the notice over), or the notice is gone.
    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Notices in the outbox (claimed or not), oldest first, at most `limit`: what is still
    /// to be delivered.
    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError>;

    /// Clients still to be created, oldest conversion first, at most `limit`.
    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError>;

    /// Claims pending clients to send, atomically: records with no claim or whose claim ran
    /// out (`claimed_until <= now`), oldest conversion first, at most `limit`, each claimed
    /// until `lease_until`. Concurrent callers get disjoint records.
    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError>;

    /// Releases a pending record the caller claimed until `claimed_until` and did not
    /// complete, so the next dispatch sends it. Nothing happens when the claim is no longer
    /// the caller's (it ran out and another dispatcher took the record over), or the record
    /// is gone.
    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores the client id on the converted lead, removes its pending record and appends
    /// `event`, atomically. Returns `false` (and changes nothing) if no record was pending.
    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Counts a failed attempt on a pending record (its claim stays; the caller releases it
    /// with [`LeadStore::release_pending_client`]).
    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Unacknowledged events with `seq > after`, in order, at most `limit`.
    async fn pending_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.pending_events_in(after, limit, &Scope::All).await
    }

    /// Unacknowledged events with `seq > after` about leads whose owner (now) `scope`
    /// admits, in order, at most `limit` of them.
    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError>;

    /// Acknowledges every event with `seq <= up_to`; returns how many were newly acknowledged.
    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError>;
}

/// The host's employee directory.
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{Employee, EmployeeId, PortError, ports::EmployeeDirectory};
///
/// struct Hr(Vec<Employee>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Hr {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.iter().find(|e| e.id == id).cloned())
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmployeeDirectory: Send + Sync + 'static {
    /// The employee with this id, or `None` if there is none.
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError>;
}

/// A directory that knows teams: needed by the `team` and `own` visibility policies and by
/// the assignment rules ([`crate::CrmBuilder::teams`]).
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{Employee, EmployeeId, PortError, Team, ports::{EmployeeDirectory, TeamDirectory}};
///
/// struct Hr(Vec<Employee>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Hr {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.iter().find(|e| e.id == id).cloned())
///     }
/// }
///
/// #[async_trait]
/// impl TeamDirectory for Hr {
///     async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
///         Ok(self.0.iter().filter(|e| e.team.as_ref().is_some_and(|t| teams.contains(t))).cloned().collect())
///     }
/// }
/// ```
#[async_trait]
pub trait TeamDirectory: EmployeeDirectory {
    /// Every employee (active or not) whose team is one of `teams`, by id.
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError>;
}

/// A directory the library can also write, for hosts without their own employee system (the
/// `crm employee` commands, the quickstart): an optional capability on top of
/// [`TeamDirectory`]. [`crate::Crm::save_employee`] checks who may use it.
///
/// ```
/// use async_trait::async_trait;
/// use std::{collections::BTreeMap, sync::Mutex};
/// use crm_core::{Employee, EmployeeId, PortError, Team};
/// use crm_core::ports::{EmployeeAdmin, EmployeeDirectory, TeamDirectory};
///
/// #[derive(Default)]
/// struct Staff(Mutex<BTreeMap<EmployeeId, Employee>>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Staff {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.get(&id).cloned())
///     }
/// }
///
/// #[async_trait]
/// impl TeamDirectory for Staff {
///     async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
///         let m = self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?;
///         Ok(m.values().filter(|e| e.team.as_ref().is_some_and(|t| teams.contains(t))).cloned().collect())
///     }
/// }
///
/// #[async_trait]
/// impl EmployeeAdmin for Staff {
///     async fn upsert_employee(&self, e: &Employee) -> Result<(), PortError> {
///         self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.insert(e.id, e.clone());
///         Ok(())
///     }
///     async fn insert_first_employee(&self, e: &Employee) -> Result<bool, PortError> {
///         let mut m = self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?;
///         if !m.is_empty() {
///             return Ok(false);
///         }
///         m.insert(e.id, e.clone());
///         Ok(true)
///     }
///     async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
///         Ok(self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.values().cloned().collect())
///     }
/// }
/// ```
#[async_trait]
pub trait EmployeeAdmin: TeamDirectory {
    /// Adds the employee, or replaces the one with the same id.
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError>;
    /// Adds the employee only if the directory is empty, atomically (the first manager of a
    /// new installation); returns whether it was added.
    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError>;
    /// Every employee, by id.
    async fn list_employees(&self) -> Result<Vec<Employee>, PortError>;
}

/// The host's clients system.
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{ClientId, ClientRequest, PortError, ports::ClientsPort};
///
/// struct Erp;
///
/// #[async_trait]
/// impl ClientsPort for Erp {
///     async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
///         // Use req.lead_id as the idempotency key: the same lead must give the same client.
///         ClientId::parse(&format!("client-{}", req.lead_id)).map_err(|e| PortError::new("clients", e))
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientsPort: Send + Sync + 'static {
    /// Creates (or links) the client for a converted lead. Must be idempotent on
    /// `request.lead_id`: a retry after a lost answer returns the same client.
    async fn create_client(&self, request: &ClientRequest) -> Result<ClientId, PortError>;
}

/// Where follow-up notifications go (internal messages, email, an alert log).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Delivers one notice to [`FollowUpNotice::recipient`]: the lead's owner, or for an
    /// escalation the owner's manager. Deduplicate on [`FollowUpNotice::id`]: a notice whose
    /// delivery was not confirmed is sent again under the same id.
    async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError>;
}

pub use crate::clock::Clock;
