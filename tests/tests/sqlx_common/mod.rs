//! The SQLite store factory for the crm-store-sqlx test files: a fresh database file in a
//! temporary directory. (PostgreSQL's is `crm_tests::postgres`.)

#![allow(dead_code)] // each test file uses some of these
#![allow(clippy::expect_used)] // test code: a failed expect is a failed test

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

use crm_core::changeset::{Changeset, Committed};
use crm_core::{
    EmployeeId, Event, FollowUpClaim, FollowUpNotice, ImportKey, Lead, LeadDetail, LeadId,
    LeadQuery, LeadStore, Opportunity, OpportunityId, OutboxEntry, OutboxRead, Page, Report,
    ReportFilter, Scope, StoreError,
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

// Every method goes to the store inside, the optional ones too: the tests exercise the
// SQLite store's own reads and claims, not the core's defaults.
#[async_trait]
impl LeadStore for InDir {
    async fn commit(&self, c: &Changeset) -> Result<Committed, StoreError> {
        self.store.commit(c).await
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
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        self.store.get_opportunity(id).await
    }
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        self.store.last_turn(rule).await
    }
    async fn imported(&self, k: &[ImportKey]) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        self.store.imported(k).await
    }
    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<crm_core::StageProbabilityChange>, StoreError> {
        self.store.stage_probability_history(limit).await
    }
    async fn outbox(&self, r: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        self.store.outbox(r).await
    }
    async fn pending_events_in(
        &self,
        after: u64,
        l: u32,
        s: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        self.store.pending_events_in(after, l, s).await
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
    async fn import_lookup(
        &self,
        k: &[ImportKey],
        e: &[String],
        p: &[String],
    ) -> Result<crm_core::ImportLookup, StoreError> {
        self.store.import_lookup(k, e, p).await
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
    async fn duplicate_groups(
        &self,
        s: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<crm_core::DuplicateGroup>, StoreError> {
        self.store.duplicate_groups(s, fuzzy).await
    }
    async fn follow_up_candidates(&self, c: &FollowUpClaim) -> Result<Vec<Lead>, StoreError> {
        self.store.follow_up_candidates(c).await
    }
    async fn claim_follow_ups(&self, c: &FollowUpClaim) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.claim_follow_ups(c).await
    }
    async fn preview_follow_ups(
        &self,
        c: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.preview_follow_ups(c).await
    }
    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.store.undelivered_follow_ups(limit).await
    }
    async fn pending_clients(
        &self,
        limit: u32,
    ) -> Result<Vec<crm_core::PendingClient>, StoreError> {
        self.store.pending_clients(limit).await
    }
    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crm_core::PendingClient>, StoreError> {
        self.store
            .claim_pending_clients(now, lease_until, limit)
            .await
    }
    async fn score_frequencies(
        &self,
        team: &str,
    ) -> Result<crm_core::scoring::Frequencies, StoreError> {
        self.store.score_frequencies(team).await
    }
    async fn score_facts(
        &self,
        leads: &[LeadId],
    ) -> Result<BTreeMap<LeadId, crm_core::scoring::Facts>, StoreError> {
        self.store.score_facts(leads).await
    }
    async fn count_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<u64, StoreError> {
        self.store.count_leads_in(q, s).await
    }
}
