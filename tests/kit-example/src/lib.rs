//! A tiny store adapter for crm-core, written outside the crm workspace: [`CountingStore`]
//! delegates every call to [`MemoryStore`] and counts the writes that succeeded. It stands
//! for any third-party adapter (another database, a cache in front of one); its
//! `tests/kit.rs` proves it behaves like the official stores with crm-tests' kit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    ClientId, DuplicateGroup, EmployeeId, Event, FollowUpClaim, FollowUpNotice, ImportBatch,
    ImportKey, ImportLookup, Interaction, Lead, LeadDetail, LeadId, LeadQuery, LeadStore,
    LeadWrite, LostReasonReport, MergeWrite, NewEvent, NoticeId, Opportunity, OpportunityId,
    OpportunityWrite, Page, PendingClient, PipelineFilter, PipelineRow, Report, ReportFilter,
    Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError, Turn,
};
use crm_store_memory::MemoryStore;

/// A [`MemoryStore`] that counts the lead, interaction and opportunity writes it stored.
#[derive(Debug, Default)]
pub struct CountingStore {
    inner: MemoryStore,
    writes: AtomicU64,
    skip_duplicate_check: bool,
}

impl CountingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with a planted bug: it never checks new leads for duplicates. The kit
    /// must fail on it (`tests/kit_catches_bugs.rs`), or the kit proves nothing.
    pub fn without_duplicate_check() -> Self {
        Self {
            skip_duplicate_check: true,
            ..Self::default()
        }
    }

    /// Lead, interaction and opportunity writes stored so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn count<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_ok() {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

#[async_trait]
impl LeadStore for CountingStore {
    async fn insert_lead(&self, w: &LeadWrite) -> Result<(), StoreError> {
        if self.skip_duplicate_check {
            let unchecked = LeadWrite {
                check_duplicates: false,
                ..w.clone()
            };
            return self.count(self.inner.insert_lead(&unchecked).await);
        }
        self.count(self.inner.insert_lead(w).await)
    }
    async fn update_lead(&self, v: u64, w: &LeadWrite) -> Result<(), StoreError> {
        self.count(self.inner.update_lead(v, w).await)
    }
    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.inner.get_lead(id).await
    }
    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        self.inner.lead_detail(id).await
    }
    async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
        self.inner.list_leads_in(q, s).await
    }
    async fn report_in(&self, f: &ReportFilter, s: &Scope) -> Result<Report, StoreError> {
        self.inner.report_in(f, s).await
    }
    async fn open_leads_by_owner(
        &self,
        o: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        self.inner.open_leads_by_owner(o).await
    }
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        self.inner.last_turn(rule).await
    }
    async fn insert_lead_taking_turn(&self, w: &LeadWrite, t: &Turn) -> Result<(), StoreError> {
        self.count(self.inner.insert_lead_taking_turn(w, t).await)
    }
    async fn lost_reason_report(
        &self,
        f: &ReportFilter,
        s: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        self.inner.lost_reason_report(f, s).await
    }
    async fn status_time_rows(
        &self,
        f: &ReportFilter,
        s: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        self.inner.status_time_rows(f, s, now).await
    }
    async fn pipeline_rows(
        &self,
        f: &PipelineFilter,
        s: &Scope,
        p: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        self.inner.pipeline_rows(f, s, p).await
    }
    async fn insert_interaction(&self, i: &Interaction, e: &[NewEvent]) -> Result<(), StoreError> {
        self.count(self.inner.insert_interaction(i, e).await)
    }
    async fn insert_opportunity(&self, o: &Opportunity, e: &[NewEvent]) -> Result<(), StoreError> {
        self.count(self.inner.insert_opportunity(o, e).await)
    }
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        self.inner.get_opportunity(id).await
    }
    async fn update_opportunity(&self, v: u64, w: &OpportunityWrite) -> Result<(), StoreError> {
        self.count(self.inner.update_opportunity(v, w).await)
    }
    async fn claim_follow_ups(&self, c: &FollowUpClaim) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.inner.claim_follow_ups(c).await
    }
    async fn preview_follow_ups(
        &self,
        c: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.inner.preview_follow_ups(c).await
    }
    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        self.inner.follow_up_delivered(id).await
    }
    async fn release_follow_up(
        &self,
        id: NoticeId,
        until: DateTime<Utc>,
        e: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.release_follow_up(id, until, e, at).await
    }
    async fn undelivered_follow_ups(&self, l: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        self.inner.undelivered_follow_ups(l).await
    }
    async fn pending_clients(&self, l: u32) -> Result<Vec<PendingClient>, StoreError> {
        self.inner.pending_clients(l).await
    }
    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        l: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        self.inner.claim_pending_clients(now, until, l).await
    }
    async fn release_pending_client(
        &self,
        id: LeadId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.release_pending_client(id, until).await
    }
    async fn complete_conversion(
        &self,
        id: LeadId,
        c: &ClientId,
        e: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.inner.complete_conversion(id, c, e).await
    }
    async fn record_conversion_failure(
        &self,
        id: LeadId,
        err: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_conversion_failure(id, err, at).await
    }
    async fn pending_events_in(
        &self,
        after: u64,
        l: u32,
        s: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.pending_events_in(after, l, s).await
    }
    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        self.inner.ack_events(up_to).await
    }
    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        self.inner.follow_ups_delivered(ids).await
    }
    async fn import_batch(&self, batch: &ImportBatch) -> Result<(), StoreError> {
        self.count(self.inner.import_batch(batch).await)
    }
    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        self.inner.import_lookup(keys, emails, phones).await
    }
    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        self.inner.duplicate_groups(scope, fuzzy).await
    }
    async fn merge_leads(&self, w: &MergeWrite) -> Result<(), StoreError> {
        self.count(self.inner.merge_leads(w).await)
    }
    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        self.inner.stage_probabilities().await
    }
    async fn insert_stage_probability(&self, c: &StageProbabilityChange) -> Result<(), StoreError> {
        self.inner.insert_stage_probability(c).await
    }
    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        self.inner.stage_probability_history(limit).await
    }
}
