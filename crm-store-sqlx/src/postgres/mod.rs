//! The PostgreSQL backend: [`PostgresStore`], [`PostgresEmployees`] and [`PostgresClients`].
//!
//! Times are `timestamptz` (microseconds), ids `uuid`. Every write is one READ COMMITTED
//! transaction (on a `store::PgConn`) made race-free where it matters:
//! - what a precondition reads stays locked until the commit (`SELECT ... FOR NO KEY
//!   UPDATE` of the lead or opportunity a write then changes), so a concurrent writer waits,
//!   then reads the new version;
//! - the duplicate checks and assignment turns a commit relies on take transaction-scoped
//!   advisory locks first, in key order, so two writers of the same contact data (or turn)
//!   check one after the other, each probe reading what the other committed (READ
//!   COMMITTED: every statement reads a fresh snapshot);
//! - events are appended at the end, under a transaction-scoped advisory lock, so
//!   transactions take outbox sequence numbers in commit order and an acknowledged watermark
//!   never skips an event that commits later.

mod claims;
mod import;
mod ports;
mod store;

use store::PgConn;

pub use ports::{PostgresClients, PostgresEmployees};

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{BoxError, Employee, StoreError};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, Postgres, Row};
use uuid::Uuid;

use crate::bind::{Args, Value};
use crate::directory;
use crate::error::db;
use crate::rows::Cols;

use crate::migrations::POSTGRES_MIGRATOR as MIGRATOR;

/// The embedded PostgreSQL migrations (`migrations/postgres`), for a host that runs its own
/// sqlx migrations and folds ours in.
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

impl Cols for PgRow {
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, BoxError> {
        Ok(self.try_get::<Option<Uuid>, _>(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, BoxError> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, BoxError> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }
    fn opt_ts(&self, col: &str) -> Result<Option<DateTime<Utc>>, BoxError> {
        Ok(self.try_get::<Option<DateTime<Utc>>, _>(col)?)
    }
    fn date(&self, col: &str) -> Result<NaiveDate, BoxError> {
        Ok(self.try_get::<NaiveDate, _>(col)?)
    }
    fn flag(&self, col: &str) -> Result<bool, BoxError> {
        Ok(self.try_get::<bool, _>(col)?)
    }
}

const MIGRATIONS_TABLE: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
const NEWEST_MIGRATION: &str = "SELECT MAX(version) FROM _sqlx_migrations";
/// The first employee of an empty directory takes this table lock first, so two added at
/// once take turns (the second then finds the first).
const LOCK_EMPLOYEES: &str = "LOCK TABLE employees IN SHARE ROW EXCLUSIVE MODE";

/// Connect options for a `postgres://` or `postgresql://` URL (all of sqlx's URL
/// parameters apply, e.g. `options=-c search_path=...`).
pub fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url.trim()).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// How long connecting may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where `opts` points, for messages: host, port and database, never the password.
fn target(opts: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap_or("")
    )
}

/// Opens a pool for `url` without migrating. The server is tried once first: an unreachable
/// one fails within [`CONNECT_TIMEOUT`] with [`StoreError::Unavailable`] saying where and
/// why, instead of the pool retrying until its acquire timeout.
pub async fn pool(url: &str) -> Result<PgPool, StoreError> {
    let opts = options(url)?;
    let unavailable = |source: BoxError| StoreError::Unavailable {
        target: target(&opts),
        source,
    };
    let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts))
        .await
        .map_err(|_| unavailable(format!("no answer within {CONNECT_TIMEOUT:?}").into()))?
        .map_err(|e| unavailable(Box::new(e)))?;
    if let Err(e) = first.close().await {
        tracing::debug!(error = %e, "closing the probe connection failed");
    }
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.clone())
        .await
        .map_err(|e| match e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
                unavailable(Box::new(e))
            }
            e => db(e),
        })
}

/// Applies the embedded migrations, after refusing a database migrated by newer code with
/// [`StoreError::SchemaTooNew`]. Concurrent callers are serialised by sqlx's migration lock.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let has_table: bool = sqlx::query_scalar(MIGRATIONS_TABLE)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if has_table {
        let found: Option<i64> = sqlx::query_scalar(NEWEST_MIGRATION)
            .fetch_one(pool)
            .await
            .map_err(db)?;
        crate::check_schema_version(found, &MIGRATOR)?;
    }
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

/// Creates a new, empty schema named `<prefix>_<uuid v7>` on the server of `base_url` and
/// returns `base_url` with that schema as its `search_path`: one isolated database per test
/// or benchmark run, on a shared server. `prefix` is 1 to 30 of `a-z`, `0-9`, `_`.
pub async fn fresh_schema(base_url: &str, prefix: &str) -> Result<String, StoreError> {
    let valid = !prefix.is_empty()
        && prefix.len() <= 30
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(StoreError::Backend(
            format!("invalid schema prefix {prefix:?}").into(),
        ));
    }
    let schema = format!("{prefix}_{}", Uuid::now_v7().simple());
    let mut conn = PgConnection::connect_with(&options(base_url)?)
        .await
        .map_err(db)?;
    // An identifier cannot be a bind parameter; this one is built from the checked prefix
    // and a UUID's hex digits only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .map_err(db)?;
    if let Err(e) = conn.close().await {
        tracing::debug!(error = %e, "closing the setup connection failed");
    }
    let base = base_url.trim();
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// One PostgreSQL database: its pool.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pool: PgPool,
}

impl Handle {
    /// A pooled connection for the shared statements.
    pub(crate) async fn conn(&self) -> Result<PgConn<PoolConnection<Postgres>>, StoreError> {
        Ok(PgConn(self.pool.acquire().await.map_err(db)?))
    }
}

/// `sql` with `values` bound, PostgreSQL's types for each.
pub(crate) fn query(
    sql: impl sqlx::SqlSafeStr,
    values: Vec<Value>,
) -> Query<'static, Postgres, PgArguments> {
    let mut q = sqlx::query(sql);
    for v in values {
        q = match v {
            Value::Uuid(v) => q.bind(v),
            Value::Text(v) => q.bind(v),
            Value::Int(v) => q.bind(v),
            Value::Time(v) => q.bind(v),
            Value::Day(v) => q.bind(v),
            Value::Flag(v) => q.bind(v),
        };
    }
    q
}

/// The lead store on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    db: Handle,
}

impl PostgresStore {
    /// Connects to and migrates the database at `url`; see [`options`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = pool(url).await?;
        migrate(&pool).await?;
        Ok(Self::from_pool(pool))
    }
}

impl PostgresStore {
    /// A store over an existing pool, for hosts that configure and migrate it themselves
    /// (see [`migrator`]).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            db: Handle { pool },
        }
    }

    /// The embedded migrations.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// The table-backed employee directory on the same database.
    pub fn employees(&self) -> PostgresEmployees {
        PostgresEmployees {
            db: self.db.clone(),
        }
    }

    /// The table-backed clients system on the same database.
    pub fn clients(&self) -> PostgresClients {
        PostgresClients {
            db: self.db.clone(),
        }
    }
}

/// Adds `e` if the directory is empty, under a table lock (see [`LOCK_EMPLOYEES`]).
pub(super) async fn insert_first_employee_in(
    c: &mut PgConnection,
    e: &Employee,
) -> Result<bool, StoreError> {
    sqlx::query(LOCK_EMPLOYEES)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let mut a = Args::default();
    directory::employee_values(&mut a, e)?;
    let n = query(directory::INSERT_FIRST_EMPLOYEE, a.0)
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    Ok(n == 1)
}
