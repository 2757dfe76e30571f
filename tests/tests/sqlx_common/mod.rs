//! The SQLite store factory for the crm-store-sqlx test files: a fresh database file in a
//! temporary directory. (PostgreSQL's is `crm_tests::postgres`.)

#![allow(dead_code)] // each test file uses some of these
#![allow(clippy::expect_used)] // test code: a failed expect is a failed test

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

use crm_core::{
    ClientId, EmployeeId, Event, FollowUpClaim, FollowUpNotice, Interaction, Lead, LeadDetail,
    LeadId, LeadQuery, LeadStore, LeadWrite, NewEvent, NoticeId, Opportunity, OpportunityId,
    OpportunityWrite, Page, PendingClient, Report, ReportFilter, Scope, StoreError, Turn,
};
use crm_store_sqlx::SqliteStore;

/// A fresh SQLite database file in its own temporary directory, which lives as long as the
/// returned store.
pub async fn sqlite() -> Arc<dyn LeadStore> {
    let (store, dir) = sqlite_store().await;
    Arc::new(InDir {
        store: Arc::new(store),
        _dir: dir,
    })
}

/// A fresh SQLite store and the directory holding its file.
pub async fn sqlite_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crm.db");
    let store = SqliteStore::connect(&path.to_string_lossy())
        .await
        .expect("open SQLite");
    (store, dir)
}

/// A store that owns the temporary directory of its database file.
struct InDir {
    store: Arc<dyn LeadStore>,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl LeadStore for InDir {
    async fn insert_lead(&self, w: &LeadWrite) -> Result<(), StoreError> {
        self.store.insert_lead(w).await
    }
    async fn update_lead(&self, v: u64, w: &LeadWrite) -> Result<(), StoreError> {
        self.store.update_lead(v, w).await
    }
    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.store.get_lead(id).await
    }
    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        self.store.lead_detail(id).await
    }
    async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
        self.store.list_leads_in(q, s).await
    }
    async fn report_in(&self, f: &ReportFilter, s: &Scope) -> Result<Report, StoreError> {
        self.store.report_in(f, s).await
    }
    async fn open_leads_by_owner(
        &self,
        o: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        self.store.open_leads_by_owner(o).await
    }
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        self.store.last_turn(rule).await
    }
    async fn import_batch(&self, b: &crm_core::ImportBatch) -> Result<(), StoreError> {
        self.store.import_batch(b).await
    }
    async fn import_lookup(
        &self,
        k: &[crm_core::ImportKey],
        e: &[String],
        p: &[String],
    ) -> Result<crm_core::ImportLookup, StoreError> {
        self.store.import_lookup(k, e, p).await
    }
    async fn insert_lead_taking_turn(&self, w: &LeadWrite, t: &Turn) -> Result<(), StoreError> {
        self.store.insert_lead_taking_turn(w, t).await
    }
    async fn lost_reason_report(
        &self,
        f: &ReportFilter,
        s: &Scope,
    ) -> Result<crm_core::LostReasonReport, StoreError> {
        self.store.lost_reason_report(f, s).await
    }
    async fn status_time_rows(
        &self,
        f: &ReportFilter,
        s: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<crm_core::StatusTimeRow>, StoreError> {
        self.store.status_time_rows(f, s, now).await
    }
    async fn pipeline_rows(
        &self,
        f: &crm_core::PipelineFilter,
        s: &Scope,
        p: &crm_core::StageProbabilities,
    ) -> Result<Vec<crm_core::PipelineRow>, StoreError> {
        self.store.pipeline_rows(f, s, p).await
    }
    async fn stage_probabilities(
        &self,
    ) -> Result<Vec<crm_core::StageProbabilityChange>, StoreError> {
        self.store.stage_probabilities().await
    }
    async fn insert_stage_probability(
        &self,
        c: &crm_core::StageProbabilityChange,
    ) -> Result<(), StoreError> {
        self.store.insert_stage_probability(c).await
    }
    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<crm_core::StageProbabilityChange>, StoreError> {
        self.store.stage_probability_history(limit).await
    }
    async fn preview_follow_ups(
        &self,
        c: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.preview_follow_ups(c).await
    }
    async fn insert_interaction(&self, i: &Interaction, e: &[NewEvent]) -> Result<(), StoreError> {
        self.store.insert_interaction(i, e).await
    }
    async fn insert_opportunity(&self, o: &Opportunity, e: &[NewEvent]) -> Result<(), StoreError> {
        self.store.insert_opportunity(o, e).await
    }
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        self.store.get_opportunity(id).await
    }
    async fn update_opportunity(&self, v: u64, w: &OpportunityWrite) -> Result<(), StoreError> {
        self.store.update_opportunity(v, w).await
    }
    async fn claim_follow_ups(&self, c: &FollowUpClaim) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.claim_follow_ups(c).await
    }
    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        self.store.follow_up_delivered(id).await
    }
    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        self.store.follow_ups_delivered(ids).await
    }
    async fn release_follow_up(
        &self,
        id: NoticeId,
        until: DateTime<Utc>,
        e: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.release_follow_up(id, until, e, at).await
    }
    async fn undelivered_follow_ups(&self, l: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.undelivered_follow_ups(l).await
    }
    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        l: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        self.store.claim_pending_clients(now, until, l).await
    }
    async fn release_pending_client(
        &self,
        id: LeadId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.release_pending_client(id, until).await
    }
    async fn pending_clients(&self, l: u32) -> Result<Vec<PendingClient>, StoreError> {
        self.store.pending_clients(l).await
    }
    async fn complete_conversion(
        &self,
        id: LeadId,
        c: &ClientId,
        e: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.store.complete_conversion(id, c, e).await
    }
    async fn record_conversion_failure(
        &self,
        id: LeadId,
        err: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.record_conversion_failure(id, err, at).await
    }
    async fn pending_events_in(
        &self,
        after: u64,
        l: u32,
        s: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        self.store.pending_events_in(after, l, s).await
    }
    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        self.store.ack_events(up_to).await
    }
    async fn duplicate_groups(
        &self,
        s: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<crm_core::DuplicateGroup>, StoreError> {
        self.store.duplicate_groups(s, fuzzy).await
    }
    async fn merge_leads(&self, w: &crm_core::MergeWrite) -> Result<(), StoreError> {
        self.store.merge_leads(w).await
    }
}
