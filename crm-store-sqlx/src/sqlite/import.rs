//! Import batches on SQLite: one `BEGIN IMMEDIATE` transaction under the write gate, the
//! shared statements of `crate::import` sent one by one inside it.

use crm_core::{ImportBatch, Lead, NewEvent, StoreError};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Sqlite};

use super::Handle;
use super::claims::WriteTx;
use super::script::positional;
use crate::bind::Args;
use crate::error::db;
use crate::events;
use crate::import::{self, ImportTx};

/// Appends events numbered on from the newest event and the acknowledged watermark, as
/// `writes::INSERT_EVENT` does for one: the `n`-th event of the statement (`v.column1`)
/// gets that number plus `n`.
const EVENTS_HEAD: &str = "INSERT INTO events (seq, id, at, lead_id, actor, kind) \
     SELECT b.s + v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 \
     FROM (SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) AS s \
           FROM events) AS b, (VALUES ";
const EVENTS_TAIL: &str = ") AS v";
/// Events per statement (six values each).
const EVENTS_PER_STATEMENT: usize = 4_000;

struct Tx<'c>(&'c mut SqliteConnection);

impl ImportTx for Tx<'_> {
    type Args = Args<Sqlite>;
    type Row = SqliteRow;

    async fn exec(&mut self, sql: &str, args: Args<Sqlite>) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query_with(
            AssertSqlSafe(positional(sql).into_owned()),
            args.0.into_args()?,
        )
        .execute(&mut *self.0)
        .await?
        .rows_affected())
    }

    async fn all(&mut self, sql: &str, args: Args<Sqlite>) -> Result<Vec<SqliteRow>, sqlx::Error> {
        sqlx::query_with(
            AssertSqlSafe(positional(sql).into_owned()),
            args.0.into_args()?,
        )
        .fetch_all(&mut *self.0)
        .await
    }

    async fn append_events(&mut self, events: &[&NewEvent]) -> Result<(), StoreError> {
        // Numbered after what the statements before appended: one statement at a time.
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            let sql = import::tuples(EVENTS_HEAD, 6, chunk.len(), EVENTS_TAIL);
            let mut a = Args::<Sqlite>::default();
            for (n, e) in (1i64..).zip(chunk) {
                crate::bind::Binds::int(&mut a, n);
                events::event(&mut a, e)?;
            }
            self.exec(&sql, a).await.map_err(db)?;
        }
        Ok(())
    }

    async fn lock_contacts(&mut self, _: &[&Lead]) -> Result<(), StoreError> {
        // The write gate and BEGIN IMMEDIATE: no other write runs meanwhile.
        Ok(())
    }

    async fn lock_counts(&mut self, _: &[&Lead]) -> Result<(), StoreError> {
        // As for the contacts: one writer at a time.
        Ok(())
    }
}

impl import::OpenLookup for Handle {
    async fn open_with_contacts(
        &self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Lead>, StoreError> {
        import::open_in_lists(self, emails, phones).await
    }
}

pub(super) async fn import_batch(h: &Handle, batch: &ImportBatch) -> Result<(), StoreError> {
    let mut w = WriteTx::begin(h).await?;
    let r = import::write(&mut Tx(w.conn()), batch).await;
    w.finish(r).await
}

#[cfg(test)]
mod tests {
    use super::positional;

    #[test]
    fn in_order_parameters_become_positional() {
        assert_eq!(
            positional("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(positional("SELECT 1"), "SELECT 1");
        // Reused or out of order: the numbers matter, so they stay.
        for kept in [
            "SELECT $1 WHERE a = $1",
            "SELECT $2, $1",
            "SELECT $1, $3",
            "SELECT $x",
        ] {
            assert_eq!(positional(kept), kept);
        }
    }
}
