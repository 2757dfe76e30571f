//! The shared statements on a rusqlite connection: [`Conn`] is a [`Db`] and a [`Tx`], so
//! reads, reports and commits are written once for both backends. A store call runs whole
//! on the connection's thread: its future is polled there once by [`now`] and is then done,
//! since every statement here runs synchronously (nothing in it ever waits). Statements are
//! prepared once per connection (`prepare_cached`), `$n` parameters bound by name, rows read
//! by column name.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use crm_core::{BoxError, Lead, LeadId, NewEvent, StoreError};
use rusqlite::types::{FromSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ErrorCode, Statement, ToSql, ffi};
use uuid::Uuid;

use super::conn::db;
use crate::bind::{self, Args, Binds, Built};
use crate::commit::{self, HistoryRow, Tx};
use crate::db::Db;
use crate::error::Failed;
use crate::import::OpenLookup;
use crate::rows::{self, Cols, from_days, from_flag, from_micros, lead_cols};

/// The answer of `f`, a store call over this module's statements, polled once on the
/// connection's thread.
pub(crate) fn now<T>(f: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        // Unreachable while every future here runs its statements synchronously.
        Poll::Pending => Err(StoreError::Backend(
            "a SQLite store call waited, which it never should".into(),
        )),
    }
}

impl ToSql for bind::Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let int = |i: i64| ToSqlOutput::Owned(Value::Integer(i));
        Ok(match self {
            Self::Uuid(Some(u)) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
            Self::Text(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Self::Int(Some(i)) => int(*i),
            Self::Time(Some(t)) => int(t.timestamp_micros()),
            Self::Day(d) => int(i64::from(d.num_days_from_ce())),
            Self::Flag(f) => int(i64::from(*f)),
            Self::Uuid(None) | Self::Text(None) | Self::Int(None) | Self::Time(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

/// A result row: the statement's column names and the row's values.
pub(crate) struct SqlRow {
    names: Rc<[String]>,
    values: Vec<Value>,
}

impl SqlRow {
    /// Column `col` as a `T`.
    fn get<T: FromSql>(&self, col: &str) -> Result<T, BoxError> {
        let v = (self.names.iter().position(|n| n == col))
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| format!("no column {col}"))?;
        Ok(T::column_result(ValueRef::from(v))?)
    }
}

impl Cols for SqlRow {
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, BoxError> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, BoxError> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, BoxError> {
        self.get(col)
    }
    fn opt_ts(&self, col: &str) -> Result<Option<DateTime<Utc>>, BoxError> {
        self.get::<Option<i64>>(col)?.map(from_micros).transpose()
    }
    fn date(&self, col: &str) -> Result<NaiveDate, BoxError> {
        from_days(self.get(col)?)
    }
    fn flag(&self, col: &str) -> Result<bool, BoxError> {
        from_flag(self.get(col)?)
    }
}

/// Prepares `sql` (once per connection) and binds `$n` to the `n`th of `values`; a statement
/// that does not number exactly its values fails, as it would on PostgreSQL.
fn bound<'c>(
    c: &'c Connection,
    sql: &str,
    values: &[bind::Value],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut st = c.prepare_cached(sql)?;
    let mut last = 0;
    for i in 1..=st.parameter_count() {
        let name = st.parameter_name(i).unwrap_or("?");
        let n: usize = (name.strip_prefix('$').and_then(|n| n.parse().ok()))
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?;
        let v = values.get(n.wrapping_sub(1));
        st.raw_bind_parameter(
            i,
            v.ok_or(rusqlite::Error::InvalidParameterCount(n, values.len()))?,
        )?;
        last = last.max(n);
    }
    if last != values.len() {
        return Err(rusqlite::Error::InvalidParameterCount(last, values.len()));
    }
    Ok(st)
}

/// Every row of the constant statement `sql` with `args`.
pub(super) fn rows(c: &Connection, sql: &str, args: Args) -> rusqlite::Result<Vec<SqlRow>> {
    let mut st = bound(c, sql, &args.0)?;
    read(&mut st)
}

fn read(st: &mut Statement<'_>) -> rusqlite::Result<Vec<SqlRow>> {
    let names: Rc<[String]> = st.column_names().into_iter().map(str::to_owned).collect();
    let mut found = st.raw_query();
    let mut out = Vec::new();
    while let Some(r) = found.next()? {
        let values = (0..names.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<_>>()?;
        out.push(SqlRow {
            names: names.clone(),
            values,
        });
    }
    Ok(out)
}

/// Every row of the statement `b`.
fn built(c: &Connection, b: &Built) -> rusqlite::Result<Vec<SqlRow>> {
    let mut st = bound(c, &b.sql, &b.values)?;
    read(&mut st)
}

/// Runs the constant statement `sql` with `args`: how many rows it changed.
pub(super) fn execute(c: &Connection, sql: &str, args: Args) -> rusqlite::Result<u64> {
    Ok(bound(c, sql, &args.0)?.raw_execute()? as u64)
}

/// A connection, for the shared statements: reads, the table-backed ports' statements, and
/// a commit's inside its `BEGIN IMMEDIATE` transaction, which holds the database's write
/// lock until it ends, so nothing a commit read changes meanwhile and no row locks are
/// needed.
pub(crate) struct Conn<'c>(pub(crate) &'c Connection);

impl Db for Conn<'_> {
    type Row = SqlRow;
    const FIND: &'static str = "instr";
    const NAME_COMPANY_KEYS: &'static str = "substr(search_text, 1, \
         instr(search_text || char(10), char(10)) - 1), \
         substr(search_text, length(rtrim(search_text, replace(search_text, char(10), ''))) + 1)";

    async fn exec(&mut self, sql: &'static str, args: Args) -> Result<u64, Failed> {
        Ok(execute(self.0, sql, args)?)
    }

    async fn all(&mut self, sql: &'static str, args: Args) -> Result<Vec<SqlRow>, Failed> {
        Ok(rows(self.0, sql, args)?)
    }

    async fn built(&mut self, b: Built) -> Result<Vec<SqlRow>, StoreError> {
        built(self.0, &b).map_err(db)
    }
}

/// The open leads with one of the emails or phone keys, each list one JSON parameter.
const OPEN_WITH_CONTACTS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE ",
    crate::open_lead!(),
    " AND (email IN (SELECT value FROM json_each($1)) \
     OR phone IN (SELECT value FROM json_each($2)))"
);

impl OpenLookup for Conn<'_> {
    async fn open_with_contacts(
        &mut self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Lead>, StoreError> {
        let mut a = Args::default();
        a.str(&rows::json(&emails)?).str(&rows::json(&phones)?);
        self.all(OPEN_WITH_CONTACTS, a)
            .await?
            .iter()
            .map(rows::lead)
            .collect()
    }
}

impl From<rusqlite::Error> for Failed {
    fn from(e: rusqlite::Error) -> Self {
        let unique = matches!(
            &e,
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == ErrorCode::ConstraintViolation
                    && matches!(
                        f.extended_code,
                        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    )
        );
        Self {
            unique,
            error: db(e),
        }
    }
}

/// An event numbered after both the newest event and the acknowledged watermark (migration
/// `..._leaner_writes.sql`); one writer at a time, so numbers are commit order.
const INSERT_EVENT: &str = "INSERT INTO events (seq, id, at, lead_id, actor, kind) VALUES (\
     (SELECT MAX(IFNULL(MAX(seq), 0), (SELECT acked FROM event_ack WHERE id = 1)) + 1 \
      FROM events), $1, $2, $3, $4, $5)";
const DROP_NOTICE: &str = "DELETE FROM follow_up_notices WHERE id = $1";

impl Tx for Conn<'_> {
    const LEAD_STATE: &'static str = "SELECT version, status, merged_into, \
         last_interaction_at, next_follow_up_at, follow_up_notified_at, \
         follow_up_reminded_for, owner_notified_at, escalated_for FROM leads WHERE id = $1";
    const OPPORTUNITY_VERSION: &'static str = "SELECT version FROM opportunities WHERE id = $1";
    const OPPORTUNITY_LEAD: &'static str = "SELECT l.id, l.status, l.merged_into \
         FROM opportunities o JOIN leads l ON l.id = o.lead_id WHERE o.id = $1";
    const CLIENT_PENDING: &'static str = "SELECT 1 FROM pending_clients WHERE lead_id = $1";
    const ACK_STATE: &'static str = crate::events::ack_state!();

    async fn lock_keys(&mut self, _: &[i64]) -> Result<(), StoreError> {
        // The write lock is the database's: no other commit runs meanwhile.
        Ok(())
    }

    async fn lock_leads(&mut self, _: &[LeadId]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn lock_counts(&mut self, _: &[&Lead]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn append_history(&mut self, rows: &[HistoryRow<'_>]) -> Result<(), StoreError> {
        commit::insert_history(self, rows).await
    }

    async fn drop_notices(&mut self, ids: &[Uuid]) -> Result<(), StoreError> {
        for id in ids {
            let mut a = Args::default();
            a.uuid(*id);
            execute(self.0, DROP_NOTICE, a).map_err(db)?;
        }
        Ok(())
    }

    async fn append_events(&mut self, events: &[&NewEvent]) -> Result<(), StoreError> {
        for e in events {
            let mut a = Args::default();
            a.uuid(e.id.as_uuid())
                .time(e.at)
                .uuid(e.lead_id.as_uuid())
                .opt_int(e.actor.map(|a| a.get()))
                .str(&rows::json(&e.kind)?);
            execute(self.0, INSERT_EVENT, a).map_err(db)?;
        }
        Ok(())
    }
}
