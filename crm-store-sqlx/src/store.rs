//! The lead store and its table-backed ports, written once for both backends: a backend is
//! a [`Backend`] (its [`Db`] plus the writes it makes its own way), and [`sql_store!`]
//! stamps the public store, employee directory and clients system of a backend from it. A
//! new store method is added here once, and to [`Backend`] only when the backend's own
//! transaction or script is needed.

use std::future::Future;

use chrono::{DateTime, Utc};
use crm_core::{
    ClientId, Employee, FollowUpClaim, FollowUpNotice, Interaction, LeadId, LeadWrite, NewEvent,
    Opportunity, OpportunityWrite, PendingClient, StoreError, Turn,
};

use crate::db::Db;

/// What differs per backend: the pool it is opened on, and the writes (and the one read)
/// that take the backend's own transaction, script or lock. Everything else is the shared
/// modules over [`Db`].
pub(crate) trait Backend: Db + Clone + std::fmt::Debug + Sized {
    /// The backend's connection pool.
    type Pool;

    /// The database `pool` opens.
    fn from_pool(pool: Self::Pool) -> Self;

    /// The pool.
    fn pool(&self) -> &Self::Pool;

    /// The report without a creation-date range from kept counts, where the backend keeps
    /// them (see `reports::report`).
    const REPORT_COUNTS: Option<&'static str>;

    /// Inserts a lead and, first, takes its assignment `turn` when it has one.
    fn insert_lead(
        &self,
        w: &LeadWrite,
        turn: Option<&Turn>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces version `expected` of a lead.
    fn update_lead(
        &self,
        expected: u64,
        w: &LeadWrite,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The rows of `reads::DETAIL` for lead `id`, read in one snapshot.
    fn detail_rows(
        &self,
        id: LeadId,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;

    /// Records an interaction.
    fn insert_interaction(
        &self,
        i: &Interaction,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records an opportunity.
    fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces version `expected` of an opportunity.
    fn update_opportunity(
        &self,
        expected: u64,
        w: &OpportunityWrite,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims due follow-ups (see [`crm_core::LeadStore::claim_follow_ups`]).
    fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> impl Future<Output = Result<Vec<FollowUpNotice>, StoreError>> + Send;

    /// What [`Backend::claim_follow_ups`] would claim, changing nothing.
    fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> impl Future<Output = Result<Vec<FollowUpNotice>, StoreError>> + Send;

    /// Claims free pending clients.
    fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PendingClient>, StoreError>> + Send;

    /// Completes a pending conversion; `false` when none was pending.
    fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves the event watermark up to `up_to`.
    fn ack_events(&self, up_to: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Writes an import batch in one transaction (see `crate::import`).
    fn import_batch(
        &self,
        batch: &crm_core::ImportBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a merge ([`crm_core::LeadStore::merge_leads`]) in one transaction.
    fn merge_leads(
        &self,
        w: &crm_core::MergeWrite,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds `e` if the directory is empty; whether it did.
    fn insert_first_employee(
        &self,
        e: &Employee,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Stamps, for the backend whose [`Backend`] is `Handle` in the calling module:
/// the store's shared inherent methods (`from_pool`, `migrator`, `pool`, `employees`,
/// `clients`), the employee directory and clients system structs over the same database,
/// and [`crm_core::LeadStore`] for the store. The store struct itself (with its field
/// `db: Handle`) and its `connect` stay in the backend's module.
macro_rules! sql_store {
    (
        store: $store:ident,
        employees: $employees:ident,
        clients: $clients:ident,
        pool: $pool:ty $(,)?
    ) => {
        impl $store {
            /// A store over an existing pool, for hosts that configure and migrate it
            /// themselves (see [`migrator`]).
            pub fn from_pool(pool: $pool) -> Self {
                Self {
                    db: <Handle as $crate::store::Backend>::from_pool(pool),
                }
            }

            /// The embedded migrations.
            pub fn migrator() -> &'static ::sqlx::migrate::Migrator {
                &MIGRATOR
            }

            /// The pool.
            pub fn pool(&self) -> &$pool {
                $crate::store::Backend::pool(&self.db)
            }

            /// The table-backed employee directory on the same database.
            pub fn employees(&self) -> $employees {
                $employees {
                    db: self.db.clone(),
                }
            }

            /// The table-backed clients system on the same database.
            pub fn clients(&self) -> $clients {
                $clients {
                    db: self.db.clone(),
                }
            }
        }

        /// The employee directory backed by the `employees` table.
        #[derive(Clone, Debug)]
        pub struct $employees {
            db: Handle,
        }

        impl $employees {
            /// A directory over an existing (migrated) pool.
            pub fn from_pool(pool: $pool) -> Self {
                Self {
                    db: <Handle as $crate::store::Backend>::from_pool(pool),
                }
            }
        }

        #[::async_trait::async_trait]
        impl ::crm_core::EmployeeDirectory for $employees {
            async fn employee(
                &self,
                id: ::crm_core::EmployeeId,
            ) -> Result<Option<::crm_core::Employee>, ::crm_core::PortError> {
                $crate::directory::employee(&self.db, id).await
            }
        }

        #[::async_trait::async_trait]
        impl ::crm_core::TeamDirectory for $employees {
            async fn team_members(
                &self,
                teams: &[::crm_core::Team],
            ) -> Result<Vec<::crm_core::Employee>, ::crm_core::PortError> {
                $crate::directory::team_members(&self.db, teams).await
            }
        }

        #[::async_trait::async_trait]
        impl ::crm_core::EmployeeAdmin for $employees {
            async fn upsert_employee(
                &self,
                employee: &::crm_core::Employee,
            ) -> Result<(), ::crm_core::PortError> {
                $crate::directory::upsert_employee(&self.db, employee).await
            }

            async fn insert_first_employee(
                &self,
                employee: &::crm_core::Employee,
            ) -> Result<bool, ::crm_core::PortError> {
                $crate::store::Backend::insert_first_employee(&self.db, employee)
                    .await
                    .map_err($crate::directory::employees)
            }

            async fn list_employees(
                &self,
            ) -> Result<Vec<::crm_core::Employee>, ::crm_core::PortError> {
                $crate::directory::list_employees(&self.db).await
            }
        }

        /// The clients system backed by the `clients` table: one client per lead, id
        /// `client-<lead id>`; creating it again returns the same client.
        #[derive(Clone, Debug)]
        pub struct $clients {
            db: Handle,
        }

        impl $clients {
            /// A clients system over an existing (migrated) pool.
            pub fn from_pool(pool: $pool) -> Self {
                Self {
                    db: <Handle as $crate::store::Backend>::from_pool(pool),
                }
            }
        }

        #[::async_trait::async_trait]
        impl ::crm_core::ClientsPort for $clients {
            async fn create_client(
                &self,
                req: &::crm_core::ClientRequest,
            ) -> Result<::crm_core::ClientId, ::crm_core::PortError> {
                $crate::directory::create_client(&self.db, req).await
            }
        }

        $crate::store::lead_store!($store);
    };
}

/// [`crm_core::LeadStore`] for a store whose field `db` is a [`Backend`]: each call is the
/// shared statement code, or the backend's own write it names.
macro_rules! lead_store {
    ($store:ident) => {
        #[::async_trait::async_trait]
        impl ::crm_core::LeadStore for $store {
            async fn insert_lead(
                &self,
                w: &::crm_core::LeadWrite,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::insert_lead(&self.db, w, None).await
            }

            async fn insert_lead_taking_turn(
                &self,
                w: &::crm_core::LeadWrite,
                turn: &::crm_core::Turn,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::insert_lead(&self.db, w, Some(turn)).await
            }

            async fn last_turn(
                &self,
                rule: &str,
            ) -> Result<Option<::crm_core::EmployeeId>, ::crm_core::StoreError> {
                $crate::assignment::last_turn(&self.db, rule).await
            }

            async fn import_batch(
                &self,
                batch: &::crm_core::ImportBatch,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::import_batch(&self.db, batch).await
            }

            async fn import_lookup(
                &self,
                keys: &[::crm_core::ImportKey],
                emails: &[String],
                phones: &[String],
            ) -> Result<::crm_core::ImportLookup, ::crm_core::StoreError> {
                $crate::import::lookup(&self.db, keys, emails, phones).await
            }

            async fn open_leads_by_owner(
                &self,
                owners: &::std::collections::BTreeSet<::crm_core::EmployeeId>,
            ) -> Result<
                ::std::collections::BTreeMap<::crm_core::EmployeeId, u64>,
                ::crm_core::StoreError,
            > {
                $crate::assignment::open_by_owner(&self.db, owners).await
            }

            async fn update_lead(
                &self,
                expected: u64,
                w: &::crm_core::LeadWrite,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::update_lead(&self.db, expected, w).await
            }

            async fn get_lead(
                &self,
                id: ::crm_core::LeadId,
            ) -> Result<Option<::crm_core::Lead>, ::crm_core::StoreError> {
                $crate::reads::get_lead(&self.db, id).await
            }

            async fn lead_detail(
                &self,
                id: ::crm_core::LeadId,
            ) -> Result<Option<::crm_core::LeadDetail>, ::crm_core::StoreError> {
                let rows = $crate::store::Backend::detail_rows(&self.db, id).await?;
                $crate::reads::detail(&rows)
            }

            async fn list_leads_in(
                &self,
                query: &::crm_core::LeadQuery,
                scope: &::crm_core::Scope,
            ) -> Result<::crm_core::Page<::crm_core::Lead>, ::crm_core::StoreError> {
                $crate::reads::list_leads(&self.db, query, scope).await
            }

            async fn report_in(
                &self,
                filter: &::crm_core::ReportFilter,
                scope: &::crm_core::Scope,
            ) -> Result<::crm_core::Report, ::crm_core::StoreError> {
                $crate::reports::report(
                    &self.db,
                    filter,
                    scope,
                    <Handle as $crate::store::Backend>::REPORT_COUNTS,
                )
                .await
            }

            async fn lost_reason_report(
                &self,
                filter: &::crm_core::ReportFilter,
                scope: &::crm_core::Scope,
            ) -> Result<::crm_core::LostReasonReport, ::crm_core::StoreError> {
                $crate::reports::lost_reasons(&self.db, filter, scope).await
            }

            async fn status_time_rows(
                &self,
                filter: &::crm_core::ReportFilter,
                scope: &::crm_core::Scope,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Vec<::crm_core::StatusTimeRow>, ::crm_core::StoreError> {
                $crate::reports::status_times(&self.db, filter, scope, now).await
            }

            async fn pipeline_rows(
                &self,
                filter: &::crm_core::PipelineFilter,
                scope: &::crm_core::Scope,
                probabilities: &::crm_core::StageProbabilities,
            ) -> Result<Vec<::crm_core::PipelineRow>, ::crm_core::StoreError> {
                $crate::reports::pipeline(&self.db, filter, scope, probabilities).await
            }

            async fn stage_probabilities(
                &self,
            ) -> Result<Vec<::crm_core::StageProbabilityChange>, ::crm_core::StoreError> {
                $crate::stage_probabilities::in_force(&self.db).await
            }

            async fn insert_stage_probability(
                &self,
                change: &::crm_core::StageProbabilityChange,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::stage_probabilities::insert(&self.db, change).await
            }

            async fn stage_probability_history(
                &self,
                limit: u32,
            ) -> Result<Vec<::crm_core::StageProbabilityChange>, ::crm_core::StoreError> {
                $crate::stage_probabilities::history(&self.db, limit).await
            }

            async fn insert_interaction(
                &self,
                i: &::crm_core::Interaction,
                events: &[::crm_core::NewEvent],
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::insert_interaction(&self.db, i, events).await
            }

            async fn insert_opportunity(
                &self,
                o: &::crm_core::Opportunity,
                events: &[::crm_core::NewEvent],
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::insert_opportunity(&self.db, o, events).await
            }

            async fn get_opportunity(
                &self,
                id: ::crm_core::OpportunityId,
            ) -> Result<Option<::crm_core::Opportunity>, ::crm_core::StoreError> {
                $crate::records::get_opportunity(&self.db, id).await
            }

            async fn update_opportunity(
                &self,
                expected: u64,
                w: &::crm_core::OpportunityWrite,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::update_opportunity(&self.db, expected, w).await
            }

            async fn claim_follow_ups(
                &self,
                claim: &::crm_core::FollowUpClaim,
            ) -> Result<Vec<::crm_core::FollowUpNotice>, ::crm_core::StoreError> {
                $crate::store::Backend::claim_follow_ups(&self.db, claim).await
            }

            async fn preview_follow_ups(
                &self,
                claim: &::crm_core::FollowUpClaim,
            ) -> Result<Vec<::crm_core::FollowUpNotice>, ::crm_core::StoreError> {
                $crate::store::Backend::preview_follow_ups(&self.db, claim).await
            }

            async fn follow_up_delivered(
                &self,
                id: ::crm_core::NoticeId,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::follow_up::delivered(&self.db, id).await
            }

            async fn follow_ups_delivered(
                &self,
                ids: &[::crm_core::NoticeId],
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::follow_up::delivered_all(&self.db, ids).await
            }

            async fn release_follow_up(
                &self,
                id: ::crm_core::NoticeId,
                claimed_until: ::chrono::DateTime<::chrono::Utc>,
                error: Option<String>,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::follow_up::release(&self.db, id, claimed_until, error.as_deref(), at).await
            }

            async fn undelivered_follow_ups(
                &self,
                limit: u32,
            ) -> Result<Vec<::crm_core::FollowUpNotice>, ::crm_core::StoreError> {
                $crate::follow_up::undelivered(&self.db, limit).await
            }

            async fn pending_clients(
                &self,
                limit: u32,
            ) -> Result<Vec<::crm_core::PendingClient>, ::crm_core::StoreError> {
                $crate::conversion::pending_clients(&self.db, limit).await
            }

            async fn claim_pending_clients(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<::crm_core::PendingClient>, ::crm_core::StoreError> {
                $crate::store::Backend::claim_pending_clients(&self.db, now, lease_until, limit)
                    .await
            }

            async fn release_pending_client(
                &self,
                lead_id: ::crm_core::LeadId,
                claimed_until: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::conversion::release(&self.db, lead_id, claimed_until).await
            }

            async fn complete_conversion(
                &self,
                lead_id: ::crm_core::LeadId,
                client_id: &::crm_core::ClientId,
                event: &::crm_core::NewEvent,
            ) -> Result<bool, ::crm_core::StoreError> {
                $crate::store::Backend::complete_conversion(&self.db, lead_id, client_id, event)
                    .await
            }

            async fn record_conversion_failure(
                &self,
                lead_id: ::crm_core::LeadId,
                error: &str,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::conversion::failed(&self.db, lead_id, error, at).await
            }

            async fn pending_events_in(
                &self,
                after: u64,
                limit: u32,
                scope: &::crm_core::Scope,
            ) -> Result<Vec<::crm_core::Event>, ::crm_core::StoreError> {
                $crate::events::pending(&self.db, after, limit, scope).await
            }

            async fn ack_events(&self, up_to: u64) -> Result<u64, ::crm_core::StoreError> {
                $crate::store::Backend::ack_events(&self.db, up_to).await
            }

            async fn duplicate_groups(
                &self,
                scope: &::crm_core::Scope,
                fuzzy: bool,
            ) -> Result<Vec<::crm_core::DuplicateGroup>, ::crm_core::StoreError> {
                $crate::duplicates::groups(&self.db, scope, fuzzy).await
            }

            async fn merge_leads(
                &self,
                w: &::crm_core::MergeWrite,
            ) -> Result<(), ::crm_core::StoreError> {
                $crate::store::Backend::merge_leads(&self.db, w).await
            }
        }
    };
}

pub(crate) use {lead_store, sql_store};
