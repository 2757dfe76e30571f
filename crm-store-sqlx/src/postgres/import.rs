//! Import batches on PostgreSQL: one READ COMMITTED transaction, the shared statements of
//! `crate::import` in it; events appended under the events lock, duplicate checks under
//! the contact locks of single writes.

use crm_core::{ImportBatch, Lead, NewEvent, StoreError};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Postgres};
use uuid::Uuid;

use super::Handle;
use super::writes::{WriteTx, lock_contacts};
use crate::bind::Args;
use crate::error::db;
use crate::events;
use crate::import::{self, ImportTx, OpenLookup};
use crate::rows::{self, lead_cols};

/// The events lock of `writes::INSERT_EVENT`, taken once for the batch.
const LOCK_EVENTS: &str = "SELECT pg_advisory_xact_lock(208825600, 1)";
const INSERT_EVENT: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     VALUES ($1, $2, $3, $4, $5)";

/// The report count rows (`lead_counts`, migration 16) the batch's new leads will move,
/// taken in key order before the inserts: the insert trigger takes them row by row in the
/// order of the leads, and two batches taking the same shard rows in different orders
/// deadlocked (PostgreSQL aborts one; the import retried it a second later). Adding 0 takes
/// the row lock and creates a missing row. `DISTINCT`: one statement cannot update a row
/// twice.
const LOCK_COUNTS: &str = "INSERT INTO lead_counts (owner, source, status, shard, n) \
     SELECT DISTINCT t.owner, t.source, t.status, lead_counts_shard(t.id), CAST(0 AS BIGINT) \
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[]) AS t (owner, source, status, id) \
     ORDER BY 1, 2, 3, 4 \
     ON CONFLICT (owner, source, status, shard) DO UPDATE SET n = lead_counts.n";

/// The open leads with one of the emails (`$1`), one index search per email whatever the
/// planner knows: the `LATERAL` subquery runs once per value (`OFFSET 0` keeps it from being
/// flattened into a join), and each run can only be a search of `leads_open_email`. An
/// `email IN ($1, ..., $1000)` was planned from statistics: on a table never analysed it
/// became a scan of every lead, 7.9 s per batch of 1,000 at 115,000 leads.
const OPEN_BY_EMAIL: &str = concat!(
    "SELECT l.* FROM unnest($1::text[]) AS u (v) CROSS JOIN LATERAL (SELECT ",
    lead_cols!(),
    " FROM leads WHERE email = u.v \
     AND (status = 'new' OR status = 'contacted' OR status = 'interested') OFFSET 0) AS l"
);
/// [`OPEN_BY_EMAIL`] for the phone keys, on `leads_open_phone`.
const OPEN_BY_PHONE: &str = concat!(
    "SELECT l.* FROM unnest($1::text[]) AS u (v) CROSS JOIN LATERAL (SELECT ",
    lead_cols!(),
    " FROM leads WHERE phone = u.v \
     AND (status = 'new' OR status = 'contacted' OR status = 'interested') OFFSET 0) AS l"
);

struct Tx<'c>(&'c mut PgConnection);

impl ImportTx for Tx<'_> {
    type Args = Args<Postgres>;
    type Row = PgRow;

    async fn exec(&mut self, sql: &str, args: Args<Postgres>) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query_with(AssertSqlSafe(sql.to_owned()), args.0.into_args()?)
                .execute(&mut *self.0)
                .await?
                .rows_affected(),
        )
    }

    async fn all(&mut self, sql: &str, args: Args<Postgres>) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query_with(AssertSqlSafe(sql.to_owned()), args.0.into_args()?)
            .fetch_all(&mut *self.0)
            .await
    }

    async fn append_events(&mut self, events: &[&NewEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.exec(LOCK_EVENTS, Args::default()).await.map_err(db)?;
        // A multi-row VALUES takes the identity's numbers in row order.
        for chunk in events.chunks(6_000) {
            let sql = import::multi_row(INSERT_EVENT, chunk.len()).ok_or_else(|| {
                StoreError::Backend("the event insert has no VALUES tuple".into())
            })?;
            let mut a = Args::<Postgres>::default();
            for e in chunk {
                events::event(&mut a, e)?;
            }
            self.exec(&sql, a).await.map_err(db)?;
        }
        Ok(())
    }

    async fn lock_contacts(&mut self, leads: &[&Lead]) -> Result<(), StoreError> {
        lock_contacts(self.0, leads).await
    }

    async fn lock_counts(&mut self, created: &[&Lead]) -> Result<(), StoreError> {
        if created.is_empty() {
            return Ok(());
        }
        let owners: Vec<i64> = created.iter().map(|l| l.owner().get()).collect();
        let sources: Vec<&str> = created.iter().map(|l| l.source().as_str()).collect();
        let statuses: Vec<&str> = created.iter().map(|l| l.status().as_str()).collect();
        let ids: Vec<Uuid> = created.iter().map(|l| l.id().as_uuid()).collect();
        sqlx::query(LOCK_COUNTS)
            .bind(owners)
            .bind(sources)
            .bind(statuses)
            .bind(ids)
            .execute(&mut *self.0)
            .await
            .map_err(db)?;
        Ok(())
    }
}

impl OpenLookup for Handle {
    async fn open_with_contacts(
        &self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Lead>, StoreError> {
        let mut open = Vec::new();
        for (sql, values) in [(OPEN_BY_EMAIL, emails), (OPEN_BY_PHONE, phones)] {
            if values.is_empty() {
                continue;
            }
            let found = sqlx::query(sql)
                .bind(values)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            for r in &found {
                open.push(rows::lead(r)?);
            }
        }
        Ok(open)
    }
}

pub(super) async fn import_batch(h: &Handle, batch: &ImportBatch) -> Result<(), StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = import::write(&mut Tx(&mut w.tx), batch).await;
    w.finish(r).await
}
