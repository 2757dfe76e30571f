//! [`PostgresStore`]: the port over the shared statements, each write one READ COMMITTED
//! transaction (made race-free as the module docs say), run on a [`PgConn`].

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::changeset::{Changeset, Committed};
use crm_core::{
    DuplicateGroup, EmployeeId, Event, FollowUpClaim, FollowUpNotice, ImportKey, ImportLookup,
    Lead, LeadDetail, LeadId, LeadQuery, LeadStore, LostReasonReport, NewEvent, Opportunity,
    OpportunityId, OutboxEntry, OutboxKind, OutboxRead, Page, PipelineFilter, PipelineRow, Report,
    ReportFilter, Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError,
};
use std::ops::DerefMut;

use sqlx::postgres::{PgConnection, PgRow};
use uuid::Uuid;

use super::claims;
use super::{PostgresStore, query};
use crate::bind::{Args, Built};
use crate::commit::{self, HistoryRow, Tx};
use crate::db::Db;
use crate::error::{Failed, db, is_unique_violation};
use crate::rows::{json, to_i64};
use crate::{
    assignment, duplicates, events, import, outbox, reads, records, reports, stage_probabilities,
};

/// A connection for the shared statements: a pooled one for a read, or the connection of a
/// READ COMMITTED transaction for a commit (its `Tx` methods lock until that transaction
/// ends, so they are only called inside one).
pub(crate) struct PgConn<C>(pub(super) C);

impl<C: DerefMut<Target = PgConnection>> PgConn<C> {
    /// The connection, for statements with PostgreSQL's own types (arrays).
    pub(super) fn conn(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

impl<C: DerefMut<Target = PgConnection> + Send> Db for PgConn<C> {
    type Row = PgRow;

    const FIND: &'static str = "strpos";
    const NAME_COMPANY_KEYS: &'static str =
        "split_part(search_text, chr(10), 1), split_part(search_text, chr(10), -1)";

    async fn exec(&mut self, sql: &'static str, args: Args) -> Result<u64, Failed> {
        Ok(query(sql, args.0)
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    async fn all(&mut self, sql: &'static str, args: Args) -> Result<Vec<PgRow>, Failed> {
        Ok(query(sql, args.0).fetch_all(self.conn()).await?)
    }

    async fn built(&mut self, b: Built) -> Result<Vec<PgRow>, StoreError> {
        query(sqlx::AssertSqlSafe(b.sql), b.values)
            .fetch_all(self.conn())
            .await
            .map_err(db)
    }
}

impl<C: DerefMut<Target = PgConnection> + Send> Tx for PgConn<C> {
    // `NO KEY UPDATE`: a lead stays free for the foreign key checks of records added to it
    // meanwhile (their own commits lock it first when they must).
    const LEAD_STATE: &'static str = "SELECT version, status, merged_into, \
         last_interaction_at, next_follow_up_at, follow_up_notified_at, \
         follow_up_reminded_for, owner_notified_at, escalated_for FROM leads WHERE id = $1 \
         FOR NO KEY UPDATE";
    const OPPORTUNITY_VERSION: &'static str =
        "SELECT version FROM opportunities WHERE id = $1 FOR NO KEY UPDATE";
    // Shared: updates of several opportunities of one lead do not wait on each other, while
    // a conversion or merge of the lead waits for them.
    const OPPORTUNITY_LEAD: &'static str = "SELECT id, status, merged_into FROM leads \
         WHERE id = (SELECT lead_id FROM opportunities WHERE id = $1) FOR SHARE";
    const CLIENT_PENDING: &'static str =
        "SELECT 1 FROM pending_clients WHERE lead_id = $1 FOR UPDATE";
    const ACK_STATE: &'static str = concat!(events::ack_state!(), " FOR UPDATE");

    async fn lock_keys(&mut self, keys: &[i64]) -> Result<(), StoreError> {
        if !keys.is_empty() {
            sqlx::query(LOCK_KEYS)
                .bind(keys)
                .execute(self.conn())
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn lock_leads(&mut self, ids: &[LeadId]) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        sqlx::query(LOCK_LEADS)
            .bind(ids)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn lock_counts(&mut self, created: &[&Lead]) -> Result<(), StoreError> {
        let owners: Vec<i64> = created.iter().map(|l| l.owner().get()).collect();
        let sources: Vec<&str> = created.iter().map(|l| l.source().as_str()).collect();
        let statuses: Vec<&str> = created.iter().map(|l| l.status().as_str()).collect();
        let ids: Vec<Uuid> = created.iter().map(|l| l.id().as_uuid()).collect();
        sqlx::query(LOCK_COUNTS)
            .bind(owners)
            .bind(sources)
            .bind(statuses)
            .bind(ids)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn drop_notices(&mut self, ids: &[Uuid]) -> Result<(), StoreError> {
        sqlx::query(DROP_NOTICES)
            .bind(ids)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn append_history(&mut self, rows: &[HistoryRow<'_>]) -> Result<(), StoreError> {
        if rows.len() < 2 {
            return commit::insert_history(self, rows).await;
        }
        let changes = rows
            .iter()
            .map(|r| json(&r.entry.change))
            .collect::<Result<Vec<_>, _>>()?;
        let versions = rows
            .iter()
            .map(|r| to_i64(r.entry.version))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(INSERT_HISTORY_ROWS)
            .bind(
                rows.iter()
                    .map(|r| r.entry.lead_id.as_uuid())
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|r| r.write_version).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.ord).collect::<Vec<_>>())
            .bind(versions)
            .bind(rows.iter().map(|r| r.entry.at).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.entry.actor.get()).collect::<Vec<_>>())
            .bind(changes)
            .execute(self.conn())
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    rows[0].taken()
                } else {
                    db(e)
                }
            })?;
        Ok(())
    }

    async fn append_events(&mut self, events: &[&NewEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let kinds = events
            .iter()
            .map(|e| json(&e.kind))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(INSERT_EVENTS)
            .bind(events.iter().map(|e| e.id.as_uuid()).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
            .bind(
                events
                    .iter()
                    .map(|e| e.lead_id.as_uuid())
                    .collect::<Vec<_>>(),
            )
            .bind(
                events
                    .iter()
                    .map(|e| e.actor.map(|a| a.get()))
                    .collect::<Vec<_>>(),
            )
            .bind(kinds)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// Takes transaction-scoped advisory locks, one per key, in the order given.
const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t (k)";
/// Locks leads in id order (`ORDER BY` in the locking subquery decides the order).
const LOCK_LEADS: &str = "SELECT id FROM leads WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";
/// The report count rows (`lead_counts`, migration 16) the created leads will move, taken in
/// key order: the insert trigger takes them row by row in the order of the leads, and two
/// commits taking the same shard rows in different orders deadlocked. Adding 0 takes the row
/// lock and creates a missing row. `DISTINCT`: one statement cannot update a row twice.
const LOCK_COUNTS: &str = "INSERT INTO lead_counts (owner, source, status, shard, n) \
     SELECT DISTINCT t.owner, t.source, t.status, lead_counts_shard(t.id), CAST(0 AS BIGINT) \
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[]) AS t (owner, source, status, id) \
     ORDER BY 1, 2, 3, 4 \
     ON CONFLICT (owner, source, status, shard) DO UPDATE SET n = lead_counts.n";
/// Appends a commit's events, in their order, under the events lock (two-key form, so it
/// cannot collide with the one-key locks above), taken in the same statement and held until
/// the commit: transactions append in commit order.
const INSERT_EVENTS: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     SELECT e.id, e.at, e.lead_id, e.actor, e.kind \
     FROM pg_advisory_xact_lock(208825600, 1), \
       unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::bigint[], $5::text[]) \
       WITH ORDINALITY AS e (id, at, lead_id, actor, kind, n) \
     ORDER BY e.n";
/// Deletes the notices of an array of ids.
const DROP_NOTICES: &str = "DELETE FROM follow_up_notices WHERE id = ANY($1)";
/// Appends a commit's history rows, one array per column.
const INSERT_HISTORY_ROWS: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) \
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], \
       $5::timestamptz[], $6::bigint[], $7::text[])";

/// Claims what an outbox read returns; entries another claim is taking are skipped.
const CLAIM_NOTICES: &str = "WITH free AS MATERIALIZED (SELECT id FROM follow_up_notices \
       WHERE claimed_until <= $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     UPDATE follow_up_notices f SET claimed_until = $3 FROM free WHERE f.id = free.id \
     RETURNING f.notice, f.claimed_until";
const CLAIM_CLIENTS: &str = concat!(
    "WITH free AS MATERIALIZED (SELECT lead_id FROM pending_clients \
       WHERE claimed_until IS NULL OR claimed_until <= $2 \
       ORDER BY created_at, lead_id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     UPDATE pending_clients p SET claimed_until = $3 FROM free \
     WHERE p.lead_id = free.lead_id RETURNING ",
    crate::rows::pending_cols!()
);

impl PostgresStore {
    /// The detail view of lead `id`, in one read transaction (one snapshot).
    async fn detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        // No parallel plans: without fresh statistics (autovacuum off or behind) PostgreSQL
        // planned the history read as a parallel hash join, and starting its workers took 5 ms
        // of a 5.5 ms view at 100,000 leads; serial it takes 0.16 ms. Sent with the `BEGIN`.
        let mut tx = self
            .db
            .pool
            .begin_with(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL max_parallel_workers_per_gather = 0",
            )
            .await
            .map_err(db)?;
        let detail = reads::detail(&mut PgConn(&mut *tx), id).await?;
        tx.commit().await.map_err(db)?;
        Ok(detail)
    }
}

#[async_trait]
impl LeadStore for PostgresStore {
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
        let mut tx = self.db.pool.begin().await.map_err(db)?;
        let done = commit::run(&mut PgConn(&mut *tx), changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(done)
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        reads::get_lead(&mut self.db.conn().await?, id).await
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        self.detail(id).await
    }

    async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
        reads::list_leads(&mut self.db.conn().await?, q, s).await
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        records::get_opportunity(&mut self.db.conn().await?, id).await
    }

    async fn count_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<u64, StoreError> {
        reads::count_leads(&mut self.db.conn().await?, q, s).await
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        assignment::last_turn(&mut self.db.conn().await?, rule).await
    }

    async fn imported(
        &self,
        keys: &[ImportKey],
    ) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        import::imported(&mut self.db.conn().await?, keys).await
    }

    async fn score_frequencies(
        &self,
        team: &str,
    ) -> Result<crm_core::scoring::Frequencies, StoreError> {
        crate::scoring::frequencies(&mut self.db.conn().await?, team).await
    }

    async fn score_facts(
        &self,
        leads: &[LeadId],
    ) -> Result<BTreeMap<LeadId, crm_core::scoring::Facts>, StoreError> {
        crate::scoring::facts(&mut self.db.conn().await?, leads).await
    }

    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        stage_probabilities::history(&mut self.db.conn().await?, limit).await
    }

    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        if read.claim_until.is_none() {
            return outbox::read(&mut self.db.conn().await?, read).await;
        }
        let sql = match read.kind {
            OutboxKind::FollowUps => CLAIM_NOTICES,
            OutboxKind::Clients => CLAIM_CLIENTS,
        };
        let mut a = Args::default();
        outbox::values(&mut a, read);
        // One statement: its own transaction.
        let found = self.db.conn().await?.all(sql, a).await?;
        outbox::entries(read.kind, &found)
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        events::pending(&mut self.db.conn().await?, after, limit, scope).await
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        reports::report(&mut self.db.conn().await?, filter, scope).await
    }

    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        assignment::open_by_owner(&mut self.db.conn().await?, owners).await
    }

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        reports::lost_reasons(&mut self.db.conn().await?, filter, scope).await
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        reports::status_times(&mut self.db.conn().await?, filter, scope, now).await
    }

    async fn pipeline_rows(
        &self,
        filter: &PipelineFilter,
        scope: &Scope,
        probabilities: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        reports::pipeline(&mut self.db.conn().await?, filter, scope, probabilities).await
    }

    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        stage_probabilities::in_force(&mut self.db.conn().await?).await
    }

    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        import::lookup(&mut self.db.conn().await?, keys, emails, phones).await
    }

    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        duplicates::groups(&mut self.db.conn().await?, scope, fuzzy).await
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut tx = self.db.pool.begin().await.map_err(db)?;
        let notices = claims::claim_follow_ups(&mut PgConn(&mut *tx), claim).await?;
        tx.commit().await.map_err(db)?;
        Ok(notices)
    }

    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut tx = self.db.pool.begin().await.map_err(db)?;
        let r = claims::claim_follow_ups(&mut PgConn(&mut *tx), claim).await;
        // Rolled back whatever happened: a preview changes nothing.
        if let Err(e) = tx.rollback().await {
            tracing::warn!(error = %e, "rollback failed");
        }
        r
    }
}
