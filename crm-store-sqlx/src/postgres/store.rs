//! [`Backend`] for PostgreSQL's [`Handle`]: the per-lead writes as one statement each
//! (`one_trip`), the others as PostgreSQL transactions of their own; the store itself is stamped by [`crate::store::sql_store!`].

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};

use crm_core::{
    ClientId, Employee, FollowUpClaim, FollowUpNotice, Interaction, LeadId, LeadWrite, NewEvent,
    Opportunity, OpportunityWrite, PendingClient, StoreError, Turn,
};

use super::writes::{WriteTx, all, values};
use super::{Handle, claims, import, insert_first_employee_in, one_trip, writes};
use crate::bind::Binds;
use crate::error::db;
use crate::reads;
use crate::store::Backend;

/// Runs `$f` (an `async fn(&mut PgConnection, ..)`) in a write transaction of its own.
macro_rules! in_tx {
    ($h:expr, $f:path, $($arg:expr),*) => {{
        let mut w = WriteTx::begin($h).await?;
        let r = $f(&mut w.tx, $($arg),*).await;
        w.finish(r).await
    }};
}

impl Backend for Handle {
    type Pool = PgPool;

    fn from_pool(pool: PgPool) -> Self {
        Handle { pool }
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The counts the triggers of migration 16 keep, spread over shard rows: at most
    /// owners x sources x statuses x 8 rows, however many leads.
    const REPORT_COUNTS: Option<&'static str> =
        Some("SELECT status, source, CAST(SUM(n) AS BIGINT) FROM lead_counts WHERE n > 0");

    async fn insert_lead(&self, w: &LeadWrite, turn: Option<&Turn>) -> Result<(), StoreError> {
        match turn {
            Some(turn) => in_tx!(self, writes::insert_lead_taking_turn_in, w, turn),
            // One statement, its own transaction.
            None => one_trip::insert_lead(&self.pool, w).await,
        }
    }

    async fn update_lead(&self, expected: u64, w: &LeadWrite) -> Result<(), StoreError> {
        one_trip::update_lead(&self.pool, expected, w).await
    }

    async fn detail_rows(&self, id: LeadId) -> Result<Vec<PgRow>, StoreError> {
        // One read transaction: one snapshot for the lead and everything hanging off it.
        // No parallel plans: without fresh statistics (autovacuum off or behind) PostgreSQL
        // planned the history read as a parallel hash join, and starting its workers took 5 ms
        // of a 5.5 ms view at 100,000 leads; serial it takes 0.16 ms. Sent with the `BEGIN`,
        // in the same round trip.
        let mut tx = self
            .pool
            .begin_with(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL max_parallel_workers_per_gather = 0",
            )
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
        Ok(rows)
    }

    async fn insert_interaction(
        &self,
        i: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        one_trip::insert_interaction(&self.pool, i, events).await
    }

    async fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        one_trip::insert_opportunity(&self.pool, o, events).await
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
        claims::preview_follow_ups(self, claim).await
    }

    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        claims::claim_pending_clients(self, now, lease_until, limit).await
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

    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        in_tx!(self, claims::ack_events_in, up_to)
    }

    async fn import_batch(&self, batch: &crm_core::ImportBatch) -> Result<(), StoreError> {
        import::import_batch(self, batch).await
    }

    async fn merge_leads(&self, w: &crm_core::MergeWrite) -> Result<(), StoreError> {
        in_tx!(self, writes::merge_leads_in, w)
    }

    async fn insert_first_employee(&self, e: &Employee) -> Result<bool, StoreError> {
        in_tx!(self, insert_first_employee_in, e)
    }
}
