//! The ports: one small trait per thing the core needs from outside. Hosts and adapters
//! implement them; [`crate::Crm`] holds them as `Arc<dyn Port>`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::conversion::{ClientRequest, PendingClient};
use crate::detail::LeadDetail;
use crate::employee::Employee;
use crate::error::{PortError, StoreError};
use crate::events::{Event, NewEvent};
use crate::follow_up::FollowUpNotice;
use crate::history::HistoryEntry;
use crate::ids::{ClientId, EmployeeId, LeadId, OpportunityId};
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::opportunity::Opportunity;
use crate::query::{LeadQuery, Page};
use crate::report::{Report, ReportFilter};

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
    /// email or phone as `lead`.
    pub check_duplicates: bool,
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
    async fn list_leads(&self, query: &LeadQuery) -> Result<Page<Lead>, StoreError>;

    /// Counts by status x source under `filter`.
    async fn report(&self, filter: &ReportFilter) -> Result<Report, StoreError>;

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
    /// `NotFound`, `Conflict`, or `ReadOnly` when its lead is converted.
    async fn update_opportunity(
        &self,
        expected_version: u64,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;

    /// Leads that are `new`, have no interaction, were not yet notified, and were created at
    /// or before `cutoff`: oldest first, at most `limit`.
    async fn due_follow_ups(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Lead>, StoreError>;

    /// Marks the lead notified at `at` if it is still due (`new`, no interaction, not yet
    /// marked). Returns whether this call claimed it, so concurrent sweeps notify once.
    async fn claim_follow_up(&self, id: LeadId, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Clears a claim whose notification could not be delivered, so the next sweep retries.
    async fn release_follow_up(&self, id: LeadId) -> Result<(), StoreError>;

    /// Clients still to be created, oldest conversion first, at most `limit`.
    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError>;

    /// Stores the client id on the converted lead, removes its pending record and appends
    /// `event`, atomically. Returns `false` (and changes nothing) if no record was pending.
    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Counts a failed attempt on a pending record.
    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Unacknowledged events with `seq > after`, in order, at most `limit`.
    async fn pending_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError>;

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
    /// Delivers one notice.
    async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError>;
}

/// The source of the current time. Domain code never reads the system clock.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}
