//! The SQLite backend: [`SqliteStore`] (the lead store) and [`SqliteEmployees`] and
//! [`SqliteClients`] (the table-backed ports) on rusqlite connection threads, and the sqlx
//! pool they open the database with (its settings and the migrations).
//!
//! Times are INTEGER unix microseconds, ids 16-byte BLOBs (byte order = `Uuid` order).
//! Every connection waits up to the busy timeout for another connection's write lock, then
//! fails with [`StoreError::Busy`].

mod ports;
mod store;

pub use ports::{SqliteClients, SqliteEmployees};
pub use store::SqliteStore;

use std::str::FromStr;
use std::time::Duration;

use crm_core::StoreError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{db, is_busy};

use crate::migrations::SQLITE_MIGRATOR as MIGRATOR;

/// The embedded SQLite migrations (`migrations/sqlite`), for a host that runs its own sqlx
/// migrations and folds ours in.
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

/// How long a write waits for another process's write lock before failing with
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const MIGRATIONS_TABLE: &str =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
const NEWEST_MIGRATION: &str = "SELECT MAX(version) FROM _sqlx_migrations";
const APPLIED_MIGRATIONS: &str =
    "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version";

/// Connect options for `url`: `sqlite://path`, `sqlite:path`, `sqlite::memory:` or a plain
/// file path. The file is created if missing; WAL journal, foreign keys on,
/// `synchronous = NORMAL` and a [`BUSY_TIMEOUT`].
pub fn options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let url = url.trim();
    let opts = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend(Box::new(e)))?
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    Ok(opts
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Normal)
        // 64 MiB of page cache per connection (the default is 2 MiB): the indexes of a
        // few hundred thousand leads stay in memory.
        .pragma("cache_size", "-65536"))
}

/// Opens a pool for `url` (see [`options`]) without migrating. An in-memory database gets
/// a single connection that is never closed, so it lives as long as the pool.
pub async fn pool(url: &str) -> Result<SqlitePool, StoreError> {
    pool_with(options(url)?, in_memory(url)).await
}

/// Whether `name` (a URL, or the file name sqlx gives an in-memory database) is an
/// in-memory database.
fn in_memory(name: &str) -> bool {
    name.contains(":memory:") || name.contains("mode=memory") || name.contains("sqlx-in-memory")
}

async fn pool_with(opts: SqliteConnectOptions, in_memory: bool) -> Result<SqlitePool, StoreError> {
    let pool_opts = if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // No ping before each acquire: an in-process file connection does not go stale, and
        // the ping is a round trip to sqlx's worker thread on every call.
        SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
    };
    // Several processes opening a new file at once race to switch it to WAL: switching takes
    // an exclusive lock that SQLite does not wait for (a reader upgrading would deadlock), so
    // the losers get SQLITE_BUSY at once. The switch is over in a moment: retry until the
    // busy timeout.
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match pool_opts.clone().connect_with(opts.clone()).await {
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            r => return r.map_err(db),
        }
    }
}

/// Applies the embedded migrations, after refusing a database migrated by newer code with
/// [`StoreError::SchemaTooNew`]. Processes opening a new file at once are serialised: the
/// check and every migration run in one `BEGIN IMMEDIATE` transaction, which holds SQLite's
/// write lock (each migration in a savepoint of it), so the second process waits, then
/// finds the migrations applied.
pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    // Most opens find everything applied: a plain read says so without taking the write lock
    // (which would make every reader wait behind writers, and fail on a read-only file).
    if up_to_date(pool).await? {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    let has_table: Option<i64> = sqlx::query_scalar(MIGRATIONS_TABLE)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if has_table.is_some() {
        let found: Option<i64> = sqlx::query_scalar(NEWEST_MIGRATION)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        crate::check_schema_version(found, &MIGRATOR)?;
    }
    // `run_direct` on the transaction's connection: `run(&mut *tx)` would do the same, but
    // its future is not `Send` ("implementation of `Acquire` is not general enough", which
    // sqlx's own comment on `run_direct` names), and hosts spawn `connect` on tokio.
    MIGRATOR
        .run_direct(None, &mut *tx, false)
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    tx.commit().await.map_err(db)
}

/// Whether every embedded migration is applied, unchanged (same checksum), and none newer
/// (refused with [`StoreError::SchemaTooNew`]). Anything else goes to the locked path, where
/// sqlx applies what is missing or reports what changed.
async fn up_to_date(pool: &SqlitePool) -> Result<bool, StoreError> {
    let has_table: Option<i64> = sqlx::query_scalar(MIGRATIONS_TABLE)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    if has_table.is_none() {
        return Ok(false);
    }
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(APPLIED_MIGRATIONS)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    crate::check_schema_version(applied.iter().map(|(v, _)| *v).max(), &MIGRATOR)?;
    Ok(MIGRATOR.iter().all(|m| {
        applied
            .iter()
            .any(|(v, sum)| *v == m.version && sum.as_slice() == &*m.checksum)
    }))
}
