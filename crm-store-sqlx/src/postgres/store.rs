//! [`LeadStore`] for [`PostgresStore`]: each call is the shared statement code, or the
//! PostgreSQL write it names in a transaction of its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

use crm_core::{
    ClientId, EmployeeId, Event, FollowUpClaim, FollowUpNotice, Interaction, Lead, LeadDetail,
    LeadId, LeadQuery, LeadStore, LeadWrite, NewEvent, NoticeId, Opportunity, OpportunityId,
    OpportunityWrite, Page, PendingClient, Report, ReportFilter, Scope, StoreError, Turn,
};

use super::writes::{WriteTx, all, values};
use super::{PostgresStore, claims, writes};
use crate::bind::Binds;
use crate::error::db;
use crate::{assignment, conversion, events, follow_up, reads, records, reports};

/// Runs `$f` (an `async fn(&mut PgConnection, ..)`) in a write transaction of its own.
macro_rules! in_tx {
    ($self:ident, $f:path, $($arg:expr),*) => {{
        let mut w = WriteTx::begin(&$self.db).await?;
        let r = $f(&mut w.tx, $($arg),*).await;
        w.finish(r).await
    }};
}

#[async_trait]
impl LeadStore for PostgresStore {
    async fn insert_lead(&self, w: &LeadWrite) -> Result<(), StoreError> {
        in_tx!(self, writes::insert_lead_in, w)
    }

    async fn insert_lead_taking_turn(&self, w: &LeadWrite, turn: &Turn) -> Result<(), StoreError> {
        in_tx!(self, writes::insert_lead_taking_turn_in, w, turn)
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
        in_tx!(self, writes::update_lead_in, expected, w)
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        reads::get_lead(&self.db, id).await
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        // One read transaction: one snapshot for the lead and everything hanging off it.
        let mut tx = self
            .pool()
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db)?;
        let mut rows = Vec::new();
        for sql in reads::DETAIL {
            rows.extend(
                all(
                    &mut tx,
                    sql,
                    values(|a| {
                        a.uuid(id.as_uuid());
                    }),
                )
                .await?,
            );
            if rows.is_empty() {
                // No lead: nothing hangs off it.
                break;
            }
        }
        tx.commit().await.map_err(db)?;
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
        reports::report(&self.db, filter, scope, None).await
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
        in_tx!(self, writes::insert_interaction_in, i, events)
    }

    async fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        in_tx!(self, writes::insert_opportunity_in, o, events)
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        records::get_opportunity(&self.db, id).await
    }

    async fn update_opportunity(
        &self,
        expected: u64,
        w: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        in_tx!(self, writes::update_opportunity_in, expected, w)
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        in_tx!(self, claims::claim_follow_ups_in, claim)
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
        in_tx!(
            self,
            writes::complete_conversion_in,
            lead_id,
            client_id,
            event
        )
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
        in_tx!(self, claims::ack_events_in, up_to)
    }
}
