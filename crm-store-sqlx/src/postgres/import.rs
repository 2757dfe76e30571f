//! Import batches on PostgreSQL: one READ COMMITTED transaction, the shared statements of
//! `crate::import` in it; events appended under the events lock, duplicate checks under
//! the contact locks of single writes.

use crm_core::{ImportBatch, Lead, NewEvent, StoreError};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Postgres};

use super::Handle;
use super::writes::{WriteTx, lock_contacts};
use crate::bind::Args;
use crate::error::db;
use crate::events;
use crate::import::{self, ImportTx};

/// The events lock of `writes::INSERT_EVENT`, taken once for the batch.
const LOCK_EVENTS: &str = "SELECT pg_advisory_xact_lock(208825600, 1)";
const INSERT_EVENT: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     VALUES ($1, $2, $3, $4, $5)";

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
}

pub(super) async fn import_batch(h: &Handle, batch: &ImportBatch) -> Result<(), StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = import::write(&mut Tx(&mut w.tx), batch).await;
    w.finish(r).await
}
