//! [`SqliteStore`]: the port over the shared statements, each write one `BEGIN IMMEDIATE`
//! transaction under the write gate ([`WriteTx`]).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::changeset::{Changeset, Committed};
use crm_core::{
    DuplicateGroup, EmployeeId, Event, FollowUpClaim, FollowUpNotice, ImportKey, ImportLookup,
    Lead, LeadDetail, LeadId, LeadQuery, LeadStore, LostReasonReport, NewEvent, Opportunity,
    OpportunityId, OutboxEntry, OutboxRead, Page, PipelineFilter, PipelineRow, Report,
    ReportFilter, Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError,
};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Executor, QueryBuilder, Row, Sqlite};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use super::{Handle, SqliteStore};
use crate::bind::{Args, Binds};
use crate::claims::{self, ClaimSql};
use crate::commit::{self, HistoryRow, Tx};
use crate::error::db;
use crate::{
    assignment, duplicates, events, follow_up, import, outbox, reads, records, reports,
    stage_probabilities,
};

impl import::OpenLookup for Handle {
    async fn open_with_contacts(
        &self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Lead>, StoreError> {
        import::open_in_lists(self, emails, phones).await
    }
}

/// A write transaction: the write gate, then `BEGIN IMMEDIATE` on the writer connection, so
/// what a write reads is what it changes. Dropped before it ends (a cancelled call), its
/// connection is closed instead of going back to the pool, which rolls the transaction back.
pub(super) struct WriteTx {
    conn: PoolConnection<Sqlite>,
    open: bool,
    _gate: OwnedMutexGuard<()>,
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl WriteTx {
    pub(super) async fn begin(h: &Handle) -> Result<Self, StoreError> {
        let gate = h.gate().await;
        let conn = h.write_conn().await?;
        let mut w = Self {
            conn,
            open: true,
            _gate: gate,
        };
        w.conn.execute("BEGIN IMMEDIATE").await.map_err(db)?;
        Ok(w)
    }

    pub(super) fn tx(&mut self) -> SqliteTx<'_> {
        SqliteTx(&mut self.conn)
    }

    /// Commits on `Ok`, rolls back on `Err`.
    pub(super) async fn finish<T>(mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Ok(v) => {
                self.conn.execute("COMMIT").await.map_err(db)?;
                self.open = false;
                Ok(v)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    /// Ends the transaction; if that fails, the connection is closed when dropped.
    pub(super) async fn rollback(&mut self) {
        match self.conn.execute("ROLLBACK").await {
            Ok(_) => self.open = false,
            Err(e) => tracing::debug!(error = %e, "rollback failed; closing the connection"),
        }
    }
}

/// Statements inside a [`WriteTx`].
pub(super) struct SqliteTx<'c>(&'c mut SqliteConnection);

impl Tx for SqliteTx<'_> {
    type Args = Args<Sqlite>;
    type Row = SqliteRow;

    // No locks: one writer at a time holds the database's write lock from `BEGIN IMMEDIATE`.
    const LEAD_STATE: &'static str = "SELECT version, status, merged_into, \
         last_interaction_at, next_follow_up_at, follow_up_notified_at, \
         follow_up_reminded_for, owner_notified_at, escalated_for FROM leads WHERE id = $1";
    const OPPORTUNITY_VERSION: &'static str = "SELECT version FROM opportunities WHERE id = $1";
    const OPPORTUNITY_LEAD: &'static str = "SELECT l.id, l.status, l.merged_into \
         FROM opportunities o JOIN leads l ON l.id = o.lead_id WHERE o.id = $1";
    const LAST_TURN: &'static str = "SELECT last_owner FROM assignment_rotations WHERE rule = $1";
    const CLIENT_PENDING: &'static str = "SELECT 1 FROM pending_clients WHERE lead_id = $1";
    const ACK_STATE: &'static str = events::ack_state!();

    async fn exec(&mut self, sql: &'static str, args: Args<Sqlite>) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query_with(sql, args.0.into_args()?)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn all(
        &mut self,
        sql: &'static str,
        args: Args<Sqlite>,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        sqlx::query_with(sql, args.0.into_args()?)
            .fetch_all(&mut *self.0)
            .await
    }

    async fn lock_keys(&mut self, _: &[i64]) -> Result<(), StoreError> {
        // The write lock is the database's: no other write runs meanwhile.
        Ok(())
    }

    async fn stored_leads(&mut self, ids: &[LeadId]) -> Result<Vec<LeadId>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IN_LIST) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT id FROM leads WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_uuid());
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *self.0).await.map_err(db)? {
                let id = r.try_get::<Uuid, _>("id").map_err(db)?;
                found.push(LeadId::from_uuid(id));
            }
        }
        Ok(found)
    }

    async fn stored_keys(&mut self, keys: &[&str]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(IN_LIST) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT key FROM import_keys WHERE key IN (");
            let mut list = q.separated(", ");
            for key in chunk {
                list.push_bind(*key);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *self.0).await.map_err(db)? {
                found.push(r.try_get::<String, _>("key").map_err(db)?);
            }
        }
        Ok(found)
    }

    async fn lock_leads(&mut self, _: &[LeadId]) -> Result<(), StoreError> {
        // As for the keys: one writer at a time.
        Ok(())
    }

    async fn lock_counts(&mut self, _: &[&Lead]) -> Result<(), StoreError> {
        // As for the keys: one writer at a time.
        Ok(())
    }

    async fn append_history(&mut self, rows: &[HistoryRow<'_>]) -> Result<(), StoreError> {
        commit::insert_history(self, rows).await
    }

    async fn append_events(&mut self, events: &[&NewEvent]) -> Result<(), StoreError> {
        for e in events {
            let mut a = Args::default();
            events::event(&mut a, e)?;
            self.exec(INSERT_EVENT, a).await.map_err(db)?;
        }
        Ok(())
    }
}

/// At most this many values in one `IN (...)` list.
const IN_LIST: usize = 500;

/// Appends an event numbered after both the newest event and the acknowledged watermark
/// (migration `..._leaner_writes.sql`: what AUTOINCREMENT guaranteed, without writing
/// `sqlite_sequence` on every append). One writer at a time, so numbers are commit order.
const INSERT_EVENT: &str = "INSERT INTO events (seq, id, at, lead_id, actor, kind) VALUES (\
     (SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) + 1 \
      FROM events), $1, $2, $3, $4, $5)";

impl ClaimSql for SqliteTx<'_> {
    const EXPIRED_NOTICES: &'static str = "SELECT notice FROM follow_up_notices \
         WHERE claimed_until <= $1 ORDER BY id LIMIT $2";
    /// On the partial index `leads_follow_up_due`.
    const DUE_FOLLOW_UPS: &'static str = concat!(
        "SELECT ",
        crate::rows::lead_cols!(),
        " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL \
         AND merged_into IS NULL AND follow_up_notified_at IS NULL AND created_at <= $1 \
         ORDER BY created_at, id LIMIT $2"
    );
    const OVERDUE_LEADS: &'static str = follow_up::overdue_leads!();
    const ESCALATION_LEADS: &'static str = follow_up::escalation_leads!();
}

/// Claims what an outbox read returns, oldest first (the outbox's order).
const CLAIM_NOTICES: &str = "UPDATE follow_up_notices SET claimed_until = $3 WHERE id IN \
     (SELECT id FROM follow_up_notices WHERE claimed_until <= $2 ORDER BY id LIMIT $1) \
     RETURNING notice, claimed_until";
const CLAIM_CLIENTS: &str = concat!(
    "UPDATE pending_clients SET claimed_until = $3 WHERE lead_id IN \
     (SELECT lead_id FROM pending_clients WHERE claimed_until IS NULL OR claimed_until <= $2 \
      ORDER BY created_at, lead_id LIMIT $1) RETURNING ",
    crate::rows::pending_cols!()
);

impl SqliteStore {
    /// The rows of `reads::DETAIL` for lead `id`, read in one transaction (one snapshot).
    async fn detail_rows(&self, id: LeadId) -> Result<Vec<SqliteRow>, StoreError> {
        let (mut c, _read) = self.db.read_conn().await?;
        c.execute("BEGIN").await.map_err(db)?;
        let r = detail_in(&mut c, id).await;
        let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
        if let Err(e) = c.execute(end).await {
            // Left in a transaction, the connection must not go back to the pool.
            c.close_on_drop();
            return Err(db(r.err().unwrap_or(e)));
        }
        r.map_err(db)
    }
}

async fn detail_in(c: &mut SqliteConnection, id: LeadId) -> Result<Vec<SqliteRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for sql in reads::DETAIL {
        let mut a = Args::<Sqlite>::default();
        a.uuid(id.as_uuid());
        rows.extend(
            sqlx::query_with(sql, a.0.into_args()?)
                .fetch_all(&mut *c)
                .await?,
        );
    }
    Ok(rows)
}

#[async_trait]
impl LeadStore for SqliteStore {
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
        let mut w = WriteTx::begin(&self.db).await?;
        let r = commit::run(&mut w.tx(), changes).await;
        w.finish(r).await
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        reads::get_lead(&self.db, id).await
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        reads::detail(&self.detail_rows(id).await?)
    }

    async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
        reads::list_leads(&self.db, q, s).await
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        records::get_opportunity(&self.db, id).await
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        assignment::last_turn(&self.db, rule).await
    }

    async fn imported(
        &self,
        keys: &[ImportKey],
    ) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        import::imported(&self.db, keys).await
    }

    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        stage_probabilities::history(&self.db, limit).await
    }

    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        if read.claim_until.is_none() {
            return outbox::read(&self.db, read).await;
        }
        let sql = match read.kind {
            crm_core::OutboxKind::FollowUps => CLAIM_NOTICES,
            crm_core::OutboxKind::Clients => CLAIM_CLIENTS,
        };
        let mut a = Args::default();
        outbox::values(&mut a, read);
        let mut w = WriteTx::begin(&self.db).await?;
        let r = w.tx().all(sql, a).await.map_err(db);
        let found = w.finish(r).await?;
        outbox::entries(read.kind, &found)
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        events::pending(&self.db, after, limit, scope).await
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        reports::report(&self.db, filter, scope, Some(REPORT_COUNTS)).await
    }

    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        assignment::open_by_owner(&self.db, owners).await
    }

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        reports::lost_reasons(&self.db, filter, scope).await
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        reports::status_times(&self.db, filter, scope, now).await
    }

    async fn pipeline_rows(
        &self,
        filter: &PipelineFilter,
        scope: &Scope,
        probabilities: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        reports::pipeline(&self.db, filter, scope, probabilities).await
    }

    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        stage_probabilities::in_force(&self.db).await
    }

    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        import::lookup(&self.db, keys, emails, phones).await
    }

    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        duplicates::groups(&self.db, scope, fuzzy).await
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut w = WriteTx::begin(&self.db).await?;
        let r = claims::claim_follow_ups(&mut w.tx(), claim).await;
        w.finish(r).await
    }

    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut w = WriteTx::begin(&self.db).await?;
        let r = claims::claim_follow_ups(&mut w.tx(), claim).await;
        // Rolled back whatever happened: a preview changes nothing.
        w.rollback().await;
        r
    }
}

/// The report without a creation-date range, from the counts the triggers of migration
/// `..._lead_counts.sql` keep: at most owners x sources x statuses rows, not every lead.
const REPORT_COUNTS: &str = "SELECT status, source, SUM(n) FROM lead_counts WHERE n > 0";
