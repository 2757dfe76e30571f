//! [`LeadStore`] for [`SqliteStore`]: each call is the shared statement code or the SQLite
//! write it names.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

use crm_core::{
    ClientId, EmployeeId, Event, FollowUpClaim, FollowUpNotice, Interaction, Lead, LeadDetail,
    LeadId, LeadQuery, LeadStore, LeadWrite, NewEvent, NoticeId, Opportunity, OpportunityId,
    OpportunityWrite, Page, PendingClient, Report, ReportFilter, Scope, StoreError, Turn,
};

use super::script::{Script, ScriptConn};
use super::{SqliteStore, claims, writes};
use crate::bind::Binds;
use crate::error::db;
use crate::{assignment, conversion, events, follow_up, reads, records, reports};

/// The report without a creation-date range, from the counts the triggers of migration
/// `..._lead_counts.sql` keep: at most owners x sources x statuses rows, not every lead.
const REPORT_COUNTS: &str = "SELECT status, source, SUM(n) FROM lead_counts WHERE n > 0";

#[async_trait]
impl LeadStore for SqliteStore {
    async fn insert_lead(&self, w: &LeadWrite) -> Result<(), StoreError> {
        writes::insert_lead(&self.db, w, None).await
    }

    async fn insert_lead_taking_turn(&self, w: &LeadWrite, turn: &Turn) -> Result<(), StoreError> {
        writes::insert_lead(&self.db, w, Some(turn)).await
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        assignment::last_turn(&self.db, rule).await
    }

    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        assignment::open_by_owner(&self.db, owners).await
    }

    async fn update_lead(&self, expected: u64, w: &LeadWrite) -> Result<(), StoreError> {
        writes::update_lead(&self.db, expected, w).await
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        reads::get_lead(&self.db, id).await
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        // One read transaction, one round trip.
        let mut s = Script::read();
        for sql in reads::DETAIL {
            s.push(sql).uuid(id.as_uuid());
        }
        let mut c = ScriptConn::for_read(&self.db).await?;
        let rows = match c.run(s.commit()).await {
            Ok(rows) => rows,
            Err(e) => {
                c.rollback().await;
                return Err(db(e));
            }
        };
        reads::detail(id, &rows)
    }

    async fn list_leads_in(
        &self,
        query: &LeadQuery,
        scope: &Scope,
    ) -> Result<Page<Lead>, StoreError> {
        reads::list_leads(&self.db, query, scope).await
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        reports::report(&self.db, filter, scope, Some(REPORT_COUNTS)).await
    }

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<crm_core::LostReasonReport, StoreError> {
        reports::lost_reasons(&self.db, filter, scope).await
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crm_core::StatusTimeRow>, StoreError> {
        reports::status_times(&self.db, filter, scope, now).await
    }

    async fn pipeline_rows(
        &self,
        filter: &crm_core::PipelineFilter,
        scope: &Scope,
        probabilities: &crm_core::StageProbabilities,
    ) -> Result<Vec<crm_core::PipelineRow>, StoreError> {
        reports::pipeline(&self.db, filter, scope, probabilities).await
    }

    async fn insert_interaction(
        &self,
        i: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        writes::insert_interaction(&self.db, i, events).await
    }

    async fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        writes::insert_opportunity(&self.db, o, events).await
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        records::get_opportunity(&self.db, id).await
    }

    async fn update_opportunity(
        &self,
        expected: u64,
        w: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        writes::update_opportunity(&self.db, expected, w).await
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        claims::claim_follow_ups(&self.db, claim).await
    }

    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        claims::preview_follow_ups(&self.db, claim).await
    }

    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        follow_up::delivered(&self.db, id).await
    }

    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        follow_up::delivered_all(&self.db, ids).await
    }

    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        follow_up::release(&self.db, id, claimed_until, error.as_deref(), at).await
    }

    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        follow_up::undelivered(&self.db, limit).await
    }

    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError> {
        conversion::pending_clients(&self.db, limit).await
    }

    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        claims::claim_pending_clients(&self.db, now, lease_until, limit).await
    }

    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        conversion::release(&self.db, lead_id, claimed_until).await
    }

    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        writes::complete_conversion(&self.db, lead_id, client_id, event).await
    }

    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        conversion::failed(&self.db, lead_id, error, at).await
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        events::pending(&self.db, after, limit, scope).await
    }

    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        claims::ack_events(&self.db, up_to).await
    }
}
