//! [`Backend`] for SQLite's [`Handle`]: the writes that are SQLite scripts or transactions
//! under the write gate; the store itself is stamped by [`crate::store::sql_store!`].

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqlitePool, SqliteRow};

use crm_core::{
    ClientId, Employee, FollowUpClaim, FollowUpNotice, Interaction, LeadId, LeadWrite, NewEvent,
    Opportunity, OpportunityWrite, PendingClient, StoreError, Turn,
};

use super::script::{Script, ScriptConn};
use super::{Handle, claims, writes};
use crate::bind::{Args, Binds};
use crate::db::Db;
use crate::directory;
use crate::error::db;
use crate::reads;
use crate::store::Backend;

impl Backend for Handle {
    type Pool = SqlitePool;

    fn from_pool(pool: SqlitePool) -> Self {
        Handle::new(pool)
    }

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The counts the triggers of migration `..._lead_counts.sql` keep: at most owners x
    /// sources x statuses rows, not every lead.
    const REPORT_COUNTS: Option<&'static str> =
        Some("SELECT status, source, SUM(n) FROM lead_counts WHERE n > 0");

    async fn insert_lead(&self, w: &LeadWrite, turn: Option<&Turn>) -> Result<(), StoreError> {
        writes::insert_lead(self, w, turn).await
    }

    async fn update_lead(&self, expected: u64, w: &LeadWrite) -> Result<(), StoreError> {
        writes::update_lead(self, expected, w).await
    }

    async fn detail_rows(&self, id: LeadId) -> Result<Vec<SqliteRow>, StoreError> {
        // One read transaction, one round trip.
        let mut s = Script::read();
        for sql in reads::DETAIL {
            s.push(sql).uuid(id.as_uuid());
        }
        let mut c = ScriptConn::for_read(self).await?;
        match c.run(s.commit()).await {
            Ok(rows) => Ok(rows),
            Err(e) => {
                c.rollback().await;
                Err(db(e))
            }
        }
    }

    async fn insert_interaction(
        &self,
        i: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        writes::insert_interaction(self, i, events).await
    }

    async fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        writes::insert_opportunity(self, o, events).await
    }

    async fn update_opportunity(
        &self,
        expected: u64,
        w: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        writes::update_opportunity(self, expected, w).await
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        claims::claim_follow_ups(self, claim).await
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
        writes::complete_conversion(self, lead_id, client_id, event).await
    }

    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        claims::ack_events(self, up_to).await
    }

    async fn insert_first_employee(&self, e: &Employee) -> Result<bool, StoreError> {
        // One statement under the write gate: the check and the insert are one transaction.
        let mut a = Args::default();
        directory::employee_values(&mut a, e)?;
        Ok(self.write(directory::INSERT_FIRST_EMPLOYEE, a).await? == 1)
    }
}
