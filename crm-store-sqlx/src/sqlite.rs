//! The SQLite backend: [`SqliteStore`], [`SqliteEmployees`] and [`SqliteClients`].
//!
//! Times are INTEGER unix microseconds, ids 16-byte BLOBs (byte order = `Uuid` order). Every
//! write is one `BEGIN IMMEDIATE ... COMMIT` script sent in one round trip (see `Script` below),
//! so its checks (version, duplicates, read-only) and its changes happen under the write
//! lock, atomically; a failed check stops the script before `COMMIT` (see `Check`).
//! Writers of one process queue on an async gate first, so they wait their turn instead of
//! polling SQLite's busy handler; writers of other processes wait up to the busy timeout,
//! then fail with [`StoreError::Busy`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use crm_core::{
    BoxError, ClientId, ClientRequest, ClientsPort, ContactField, Employee, EmployeeAdmin,
    EmployeeDirectory, EmployeeId, Entity, Event, FollowUpClaim, FollowUpNotice, HistoryEntry,
    Interaction, Lead, LeadDetail, LeadId, LeadQuery, LeadStatus, LeadStore, LeadWrite, NewEvent,
    NoticeId, Opportunity, OpportunityId, OpportunityWrite, Page, PendingClient, PortError, Report,
    ReportFilter, StoreError,
};
use sqlx::encode::Encode;
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, AssertSqlSafe, QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::claims;
use crate::error::{
    conflict, db, is_busy, is_constraint_violation, is_unique_violation, not_found, status_of,
};
use crate::rows::{
    self, Cols, clamp_i64, from_micros, json, lead_cols, opportunity_cols, pending_cols, to_i64,
};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// The embedded SQLite migrations (`migrations/sqlite`), for a host that runs its own sqlx
/// migrations and folds ours in.
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

/// How long a write waits for another process's write lock before failing with
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl Cols for SqliteRow {
    fn uuid(&self, i: usize) -> Result<Uuid, BoxError> {
        Ok(self.try_get::<Uuid, _>(i)?)
    }
    fn text(&self, i: usize) -> Result<String, BoxError> {
        Ok(self.try_get::<String, _>(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, BoxError> {
        Ok(self.try_get::<Option<String>, _>(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, BoxError> {
        Ok(self.try_get::<i64, _>(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, BoxError> {
        Ok(self.try_get::<Option<i64>, _>(i)?)
    }
    fn ts(&self, i: usize) -> Result<DateTime<Utc>, BoxError> {
        from_micros(self.try_get::<i64, _>(i)?)
    }
    fn opt_ts(&self, i: usize) -> Result<Option<DateTime<Utc>>, BoxError> {
        self.try_get::<Option<i64>, _>(i)?
            .map(from_micros)
            .transpose()
    }
    fn date(&self, i: usize) -> Result<NaiveDate, BoxError> {
        let days = self.try_get::<i64, _>(i)?;
        i32::try_from(days)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| format!("day number {days} is out of range").into())
    }
    fn flag(&self, i: usize) -> Result<bool, BoxError> {
        match self.try_get::<i64, _>(i)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("{v} is not a boolean").into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------

const INSERT_LEAD: &str = "INSERT INTO leads (id, name, email, phone, company, source, status, \
     owner, created_by, created_at, updated_at, version, client_id, lost_reason, \
     last_interaction_at, follow_up_notified_at, search_text, phone_display) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// The fields a lead write changes. `client_id`, `last_interaction_at` and
/// `follow_up_notified_at` belong to their own operations and are not overwritten, so a
/// concurrent interaction or follow-up claim (which do not bump the version) is not lost.
const UPDATE_LEAD: &str = "UPDATE leads SET name = ?, email = ?, phone = ?, phone_display = ?, \
     company = ?, \
     source = ?, status = ?, owner = ?, updated_at = ?, version = ?, lost_reason = ?, \
     search_text = ? WHERE id = ? AND version = ?";
const LEAD_EXISTS: &str = "SELECT 1 FROM leads WHERE id = ?";
const LEAD_STATUS: &str = "SELECT status FROM leads WHERE id = ?";
/// The oldest open lead (other than the one written) with the email (tagged 0), and with
/// the phone (tagged 1): both probes on the partial indexes `leads_open_email` and
/// `leads_open_phone`.
macro_rules! duplicate_probe {
    () => {
        "SELECT 0, id FROM (SELECT id FROM leads \
           WHERE email = ? AND status IN ('new', 'contacted', 'interested') AND id <> ? \
           ORDER BY created_at, id LIMIT 1) \
         UNION ALL \
         SELECT 1, id FROM (SELECT id FROM leads \
           WHERE phone = ? AND status IN ('new', 'contacted', 'interested') AND id <> ? \
           ORDER BY created_at, id LIMIT 1)"
    };
}
const DUPLICATE: &str = duplicate_probe!();
const INSERT_HISTORY: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) VALUES (?, ?, ?, ?, ?, ?, ?)";
const UPSERT_PENDING: &str = "INSERT INTO pending_clients \
     (lead_id, request, created_at, attempts, last_error, last_attempt_at, claimed_until) \
     VALUES (?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
     created_at = excluded.created_at, attempts = excluded.attempts, \
     last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, \
     claimed_until = excluded.claimed_until";
/// Whether the duplicate probe finds a lead, for the `duplicate` write check (same binds).
const HAS_DUPLICATE: &str = concat!("EXISTS (", duplicate_probe!(), ")");
/// `changes()` right after a statement: how many rows it changed.
const NOTHING_CHANGED: &str = "changes() = 0";
const INSERT_EVENT: &str =
    "INSERT INTO events (id, at, lead_id, actor, kind) VALUES (?, ?, ?, ?, ?)";
const GET_LEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = ?");
// The detail view's statements, one script: the last column says which part a row is.
const DETAIL_LEAD: &str = concat!("SELECT ", lead_cols!(), ", 0 FROM leads WHERE id = ?");
const DETAIL_HISTORY: &str = "SELECT version, at, actor, change, 1 FROM lead_history \
     WHERE lead_id = ? ORDER BY write_version, ord";
const DETAIL_INTERACTIONS: &str = "SELECT id, lead_id, kind, occurred_at, logged_by, \
     logged_at, notes, 2 FROM interactions WHERE lead_id = ? ORDER BY occurred_at, id";
const DETAIL_OPPORTUNITIES: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    ", 3 FROM opportunities WHERE lead_id = ? ORDER BY created_at, id"
);
const DETAIL_PENDING: &str = concat!(
    "SELECT ",
    pending_cols!(),
    ", 4 FROM pending_clients WHERE lead_id = ?"
);
const LIST_HEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE 1 = 1");
const REPORT_HEAD: &str = "SELECT status, source, COUNT(*) FROM leads WHERE 1 = 1";
/// The report without a creation-date range, from the counts the triggers of migration
/// `..._lead_counts.sql` keep: at most owners x sources x statuses rows, not every lead.
const REPORT_COUNTS_HEAD: &str = "SELECT status, source, SUM(n) FROM lead_counts WHERE n > 0";
const TOUCH_INTERACTION: &str = "UPDATE leads \
     SET last_interaction_at = MAX(IFNULL(last_interaction_at, ?), ?) \
     WHERE id = ? AND status <> 'converted'";
const INSERT_INTERACTION: &str = "INSERT INTO interactions \
     (id, lead_id, kind, occurred_at, logged_by, logged_at, notes) VALUES (?, ?, ?, ?, ?, ?, ?)";
/// Inserts only while the lead exists and is not converted: no separate read.
const INSERT_OPPORTUNITY: &str = "INSERT INTO opportunities (id, lead_id, title, value_minor, \
     currency, expected_close, stage, created_by, created_at, updated_at, version) \
     SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM leads WHERE id = ? AND status <> 'converted'";
const GET_OPPORTUNITY: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE id = ?"
);
const OPPORTUNITY_STATE: &str = "SELECT o.version, o.lead_id, l.status FROM opportunities o \
     LEFT JOIN leads l ON l.id = o.lead_id WHERE o.id = ?";
/// An update of an opportunity at a version; [`UPDATE_OPPORTUNITY_OPEN_LEAD`] also needs
/// its lead not converted.
macro_rules! update_opportunity {
    () => {
        "UPDATE opportunities SET title = ?, value_minor = ?, \
         currency = ?, expected_close = ?, stage = ?, updated_at = ?, version = ? \
         WHERE id = ? AND version = ?"
    };
}
const UPDATE_OPPORTUNITY: &str = update_opportunity!();
const UPDATE_OPPORTUNITY_OPEN_LEAD: &str = concat!(
    update_opportunity!(),
    " AND EXISTS (SELECT 1 FROM leads \
       WHERE leads.id = opportunities.lead_id AND status <> 'converted')"
);
/// Notices whose claim ran out, oldest (notice id) first.
const EXPIRED_NOTICES: &str = "SELECT notice FROM follow_up_notices \
     WHERE claimed_until <= ? ORDER BY id LIMIT ?";
const LEADS_BY_ID_HEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id IN (");
const RENEW_NOTICE: &str =
    "UPDATE follow_up_notices SET claimed_until = ?, notice = ? WHERE id = ?";
/// The sweep's due leads (`crm_core::follow_up::awaits_follow_up`, created at or before the
/// cutoff), on the partial index `leads_follow_up_due`.
const DUE_FOLLOW_UPS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL \
     AND follow_up_notified_at IS NULL AND created_at <= ? ORDER BY created_at, id LIMIT ?"
);
const MARK_NOTIFIED: &str = "UPDATE leads SET follow_up_notified_at = ? WHERE id = ?";
const INSERT_NOTICE: &str =
    "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) VALUES (?, ?, ?, ?)";
const DELETE_NOTICE: &str = "DELETE FROM follow_up_notices WHERE id = ?";
/// Frees a notice the caller still holds (claimed until the given time), claimable from
/// `at` on, counting a failed attempt when an error is given.
const RELEASE_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = ?1, \
     attempts = attempts + (?2 IS NOT NULL), last_error = IFNULL(?2, last_error), \
     last_attempt_at = CASE WHEN ?2 IS NULL THEN last_attempt_at ELSE ?1 END \
     WHERE id = ?3 AND claimed_until = ?4";
const UNDELIVERED_NOTICES: &str = "SELECT notice FROM follow_up_notices ORDER BY id LIMIT ?";
const PENDING_CLIENTS: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients ORDER BY created_at, lead_id LIMIT ?"
);
/// Free pending clients (no claim, or one that ran out), oldest conversion first, claimed.
const CLAIM_PENDING: &str = concat!(
    "UPDATE pending_clients SET claimed_until = ? WHERE lead_id IN \
     (SELECT lead_id FROM pending_clients \
       WHERE claimed_until IS NULL OR claimed_until <= ? \
       ORDER BY created_at, lead_id LIMIT ?) RETURNING ",
    pending_cols!()
);
/// Frees a pending client the caller still holds (claimed until the given time).
const RELEASE_PENDING: &str =
    "UPDATE pending_clients SET claimed_until = NULL WHERE lead_id = ? AND claimed_until = ?";
const DELETE_PENDING: &str = "DELETE FROM pending_clients WHERE lead_id = ?";
const SET_CLIENT: &str = "UPDATE leads SET client_id = ? WHERE id = ?";
const CONVERSION_FAILED: &str = "UPDATE pending_clients SET attempts = attempts + 1, \
     last_error = ?, last_attempt_at = ? WHERE lead_id = ?";
const PENDING_EVENTS: &str = "SELECT seq, id, at, lead_id, actor, kind FROM events \
     WHERE seq > MAX(?, (SELECT acked FROM event_ack WHERE id = 1)) ORDER BY seq LIMIT ?";
const ACK_STATE: &str =
    "SELECT acked, (SELECT IFNULL(MAX(seq), 0) FROM events) FROM event_ack WHERE id = 1";
const SET_ACK: &str = "UPDATE event_ack SET acked = ? WHERE id = 1";
const MIGRATIONS_TABLE: &str =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
const NEWEST_MIGRATION: &str = "SELECT MAX(version) FROM _sqlx_migrations";
const APPLIED_MIGRATIONS: &str =
    "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version";
/// The first employee of an empty directory; nothing when it has any.
const INSERT_FIRST_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active) \
     SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM employees)";
const GET_EMPLOYEE: &str = "SELECT id, name, role, active FROM employees WHERE id = ?";
const UPSERT_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active) \
     VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     role = excluded.role, active = excluded.active";
const LIST_EMPLOYEES: &str = "SELECT id, name, role, active FROM employees ORDER BY id";
const INSERT_CLIENT: &str = "INSERT INTO clients \
     (id, lead_id, name, email, phone, company, owner, created_at, phone_display) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (lead_id) DO NOTHING";
const CLIENT_OF: &str = "SELECT id FROM clients WHERE lead_id = ?";

// ---------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------

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
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    pool_with(options(url)?, in_memory).await
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

/// The lead store on SQLite.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    gate: Arc<Mutex<()>>,
}

/// A write transaction: the in-process gate, then `BEGIN IMMEDIATE`.
struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Commits on `Ok`, rolls back on `Err`.
    async fn finish<T>(self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Ok(v) => {
                self.tx.commit().await.map_err(db)?;
                Ok(v)
            }
            Err(e) => {
                if let Err(re) = self.tx.rollback().await {
                    tracing::warn!(error = %re, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url`; see [`options`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = pool(url).await?;
        migrate(&pool).await?;
        Ok(Self::from_pool(pool))
    }

    /// Opens and migrates a file database with options of the host's choosing (e.g. another
    /// busy timeout); start from [`options`] to keep WAL and foreign keys.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let pool = pool_with(options, false).await?;
        migrate(&pool).await?;
        Ok(Self::from_pool(pool))
    }

    /// A store over an existing pool, for hosts that configure and migrate it themselves
    /// (see [`migrator`]). Use the [`options`] settings (WAL, foreign keys on).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            gate: Arc::new(Mutex::new(())),
        }
    }

    /// The embedded migrations.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The table-backed employee directory on the same database.
    pub fn employees(&self) -> SqliteEmployees {
        SqliteEmployees {
            pool: self.pool.clone(),
            gate: self.gate.clone(),
        }
    }

    /// The table-backed clients system on the same database.
    pub fn clients(&self) -> SqliteClients {
        SqliteClients {
            pool: self.pool.clone(),
            gate: self.gate.clone(),
        }
    }

    async fn begin(&self) -> Result<WriteTx, StoreError> {
        let gate = self.gate.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        Ok(WriteTx { tx, _gate: gate })
    }
}

// ---------------------------------------------------------------------------------------
// Scripts: a whole call in one round trip
// ---------------------------------------------------------------------------------------

/// Statements sent to SQLite in one round trip. sqlx runs a multi-statement string one
/// statement after the other and numbers the `?` parameters across all of them, so a write
/// (`BEGIN IMMEDIATE`, its statements, and `COMMIT` when nothing is left to decide) costs
/// one trip to sqlx's worker thread instead of one per statement: measured, those trips
/// were most of a call's time, not SQLite's own work. A script's text depends only on its
/// shape (how many history entries and events), so sqlx's per-connection statement cache
/// keeps its statements prepared.
struct Script {
    sql: String,
    args: SqliteArguments,
    bad_arg: Option<BoxDynError>,
    /// The script ends with `COMMIT`: when it runs through, the transaction is over.
    commits: bool,
}

impl Script {
    fn new(begin: &str) -> Self {
        let mut s = Self {
            sql: String::with_capacity(1024),
            args: SqliteArguments::default(),
            bad_arg: None,
            commits: false,
        };
        s.push(begin);
        s
    }

    /// A write: `BEGIN IMMEDIATE` takes the write lock first, so the checks inside see
    /// what the changes will be applied to.
    fn write() -> Self {
        Self::new("BEGIN IMMEDIATE")
    }

    /// A read: one snapshot for every statement, committed at the end.
    fn read() -> Self {
        Self::new("BEGIN")
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    fn bind<'t, T: Encode<'t, Sqlite> + sqlx::Type<Sqlite>>(&mut self, value: T) -> &mut Self {
        if let Err(e) = self.args.add(value)
            && self.bad_arg.is_none()
        {
            self.bad_arg = Some(e);
        }
        self
    }

    /// Statements for a transaction that is already open (no `BEGIN`, no `COMMIT`).
    fn within() -> Self {
        Self {
            sql: String::with_capacity(1024),
            args: SqliteArguments::default(),
            bad_arg: None,
            commits: false,
        }
    }

    /// Runs a [`Script::within`] on the connection of an open transaction.
    async fn execute(self, c: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if let Some(e) = self.bad_arg {
            return Err(sqlx::Error::Encode(e));
        }
        sqlx::query_with(AssertSqlSafe(self.sql), self.args)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Ends the script with `COMMIT`: for scripts whose statements leave nothing to decide.
    fn commit(mut self) -> Self {
        self.push("COMMIT");
        self.commits = true;
        self
    }
}

/// The write checks, each a named constraint of the `write_checks` table (migration
/// `..._write_checks.sql`). A check inserts a row there only when it fails, which the
/// constraint refuses: the script stops before its `COMMIT` with an error naming the
/// check, and the transaction is still open to explain the failure, then roll back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// The lead statement before it changed no row: a stale version, a missing lead, or
    /// a lead that refuses the change.
    LeadUnchanged,
    /// Another open lead has the email or the phone.
    Duplicate,
    /// The opportunity update changed no row.
    OpportunityUnchanged,
    /// A conversion to complete had no pending client record.
    NothingPending,
}

impl Check {
    const ALL: [Check; 4] = [
        Check::LeadUnchanged,
        Check::Duplicate,
        Check::OpportunityUnchanged,
        Check::NothingPending,
    ];

    /// The column and constraint name.
    fn name(self) -> &'static str {
        match self {
            Check::LeadUnchanged => "lead_unchanged",
            Check::Duplicate => "duplicate",
            Check::OpportunityUnchanged => "opportunity_unchanged",
            Check::NothingPending => "nothing_pending",
        }
    }

    /// The check that `e` reports failed, if it is one: SQLite's message is
    /// `CHECK constraint failed: <name>`.
    fn failed(e: &sqlx::Error) -> Option<Check> {
        let d = e.as_database_error()?;
        if !matches!(d.kind(), sqlx::error::ErrorKind::CheckViolation) {
            return None;
        }
        let name = d.message().rsplit(':').next()?.trim();
        Check::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl Script {
    /// Fails the script with `check` when `condition` (SQL, binds pushed after) is true.
    fn check(&mut self, check: Check, condition: &str) -> &mut Self {
        self.sql.push_str("INSERT INTO write_checks (");
        self.sql.push_str(check.name());
        self.sql.push_str(") SELECT 1 WHERE ");
        self.push(condition)
    }
}

/// A pooled connection in a transaction that a script opened. Dropped before the
/// transaction ended (a cancelled call, a failed `ROLLBACK`), the connection is closed
/// instead of going back to the pool, and closing rolls the transaction back.
struct ScriptConn {
    conn: PoolConnection<Sqlite>,
    open: bool,
}

impl Drop for ScriptConn {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl ScriptConn {
    async fn acquire(pool: &SqlitePool) -> Result<Self, StoreError> {
        Ok(Self {
            conn: pool.acquire().await.map_err(db)?,
            open: false,
        })
    }

    /// Runs a script that ends with `COMMIT`. On an error the transaction may still be
    /// open: explain, then [`ScriptConn::rollback`].
    async fn run(&mut self, script: Script) -> Result<Vec<SqliteRow>, sqlx::Error> {
        if let Some(e) = script.bad_arg {
            return Err(sqlx::Error::Encode(e));
        }
        self.open = true;
        let rows = sqlx::query_with(AssertSqlSafe(script.sql), script.args)
            .fetch_all(&mut *self.conn)
            .await?;
        self.open = !script.commits;
        Ok(rows)
    }

    /// Ends the transaction if one is open; if that fails, the connection is closed.
    async fn rollback(&mut self) {
        match sqlx::query("ROLLBACK").execute(&mut *self.conn).await {
            Ok(_) => self.open = false,
            // Also when `BEGIN` itself failed and there is nothing to roll back: closing a
            // connection is cheap, and a connection left in a transaction is not.
            Err(e) => tracing::debug!(error = %e, "rollback failed; closing the connection"),
        }
    }
}

/// Why a write script failed, to be explained inside its still open transaction.
enum Why<'a> {
    /// Explained already.
    Error(StoreError),
    /// A lead at `expected` was to be updated: `Conflict`, or `NotFound`.
    LeadVersion(LeadId, u64),
    /// A lead had to exist and not be converted: `NotFound`, or `ReadOnly`.
    LeadWritable(LeadId),
    /// The duplicate check: `Duplicate` naming the oldest other open lead.
    Duplicate(&'a Lead),
    /// An opportunity at `expected` was to be updated (to the next version, or not:
    /// `false`): `Conflict`, `NotFound`, or `ReadOnly`.
    Opportunity(OpportunityId, u64, bool),
}

/// How a write ended when it did not commit: refused with an error, or undone because
/// there was nothing to do.
enum NotDone {
    Refused(StoreError),
    NothingToDo,
}

impl SqliteStore {
    /// Runs a write script (one round trip, ending in `COMMIT`) under the in-process write
    /// gate. When a statement fails, `why` says what the failure means (it gets the failed
    /// check, if one failed); the answer is worked out in the same transaction, which is
    /// then rolled back.
    async fn write<'a>(
        &self,
        script: Script,
        why: impl FnOnce(Option<Check>, sqlx::Error) -> Why<'a>,
    ) -> Result<(), NotDone> {
        let _gate = self.gate.lock().await;
        let mut c = ScriptConn::acquire(&self.pool)
            .await
            .map_err(NotDone::Refused)?;
        let e = match c.run(script).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let check = Check::failed(&e);
        let answer = if check == Some(Check::NothingPending) {
            Err(NotDone::NothingToDo)
        } else if is_busy(&e) {
            Err(NotDone::Refused(db(e)))
        } else {
            Err(NotDone::Refused(
                explain(&mut c.conn, why(check, e))
                    .await
                    .unwrap_or_else(|e| e),
            ))
        };
        if c.open {
            c.rollback().await;
        }
        answer
    }
}

/// Works out what a failed write means, in its open transaction.
async fn explain(c: &mut SqliteConnection, why: Why<'_>) -> Result<StoreError, StoreError> {
    match why {
        Why::Error(e) => Ok(e),
        Why::LeadVersion(id, expected) => Ok(if lead_exists(c, id).await? {
            conflict(Entity::Lead, id, expected)
        } else {
            not_found(Entity::Lead, id)
        }),
        Why::LeadWritable(id) => not_writable(c, id).await,
        Why::Duplicate(lead) => duplicate_of(c, lead).await,
        Why::Opportunity(id, expected, next) => opportunity_refused(c, id, expected, next).await,
    }
}

/// Maps a write's outcome to the port's result.
fn done(r: Result<(), NotDone>) -> Result<(), StoreError> {
    match r {
        Ok(()) | Err(NotDone::NothingToDo) => Ok(()),
        Err(NotDone::Refused(e)) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// Statements, pushed onto scripts
// ---------------------------------------------------------------------------------------

fn push_insert_lead(s: &mut Script, lead: &Lead) -> Result<(), StoreError> {
    let r = lead.record();
    s.push(INSERT_LEAD)
        .bind(r.id.as_uuid())
        .bind(r.name.as_str())
        .bind(r.email.as_ref().map(|e| e.as_str()))
        .bind(r.phone.as_ref().map(|p| p.as_str()))
        .bind(r.company.as_ref().map(|n| n.as_str()))
        .bind(r.source.as_str())
        .bind(r.status.as_str())
        .bind(r.owner.get())
        .bind(r.created_by.get())
        .bind(micros(r.created_at))
        .bind(micros(r.updated_at))
        .bind(to_i64(r.version)?)
        .bind(r.client_id.as_ref().map(|c| -> &str { c.as_ref() }))
        .bind(r.lost_reason.as_ref().map(|n| n.as_str()))
        .bind(r.last_interaction_at.map(micros))
        .bind(r.follow_up_notified_at.map(micros))
        .bind(lead.search_text())
        .bind(r.phone.as_ref().map(|p| p.display()));
    Ok(())
}

/// The update, checked: it must change the lead at `expected`.
fn push_update_lead(s: &mut Script, expected: u64, lead: &Lead) -> Result<(), StoreError> {
    let r = lead.record();
    s.push(UPDATE_LEAD)
        .bind(r.name.as_str())
        .bind(r.email.as_ref().map(|e| e.as_str()))
        .bind(r.phone.as_ref().map(|p| p.as_str()))
        .bind(r.phone.as_ref().map(|p| p.display()))
        .bind(r.company.as_ref().map(|n| n.as_str()))
        .bind(r.source.as_str())
        .bind(r.status.as_str())
        .bind(r.owner.get())
        .bind(micros(r.updated_at))
        .bind(to_i64(r.version)?)
        .bind(r.lost_reason.as_ref().map(|n| n.as_str()))
        .bind(lead.search_text())
        .bind(r.id.as_uuid())
        .bind(to_i64(expected)?);
    s.check(Check::LeadUnchanged, NOTHING_CHANGED);
    Ok(())
}

fn push_duplicate_check(s: &mut Script, lead: &Lead) {
    let id = lead.id().as_uuid();
    s.check(Check::Duplicate, HAS_DUPLICATE)
        .bind(lead.email().map(|e| e.as_str()))
        .bind(id)
        .bind(lead.phone().map(|p| p.as_str()))
        .bind(id);
}

/// `Duplicate` naming the oldest open lead with the email, else with the phone.
async fn duplicate_of(c: &mut SqliteConnection, lead: &Lead) -> Result<StoreError, StoreError> {
    let id = lead.id().as_uuid();
    let found = sqlx::query(DUPLICATE)
        .bind(lead.email().map(|e| e.as_str()))
        .bind(id)
        .bind(lead.phone().map(|p| p.as_str()))
        .bind(id)
        .fetch_all(&mut *c)
        .await
        .map_err(db)?;
    let mut best: Option<(i64, Uuid)> = None;
    for row in &found {
        let probe = row.int(0).map_err(rows::corrupt("duplicate probe"))?;
        let existing = row.uuid(1).map_err(rows::corrupt("lead id"))?;
        if best.is_none_or(|(p, _)| probe < p) {
            best = Some((probe, existing));
        }
    }
    match best {
        Some((probe, existing)) => Ok(StoreError::Duplicate {
            existing: LeadId::from_uuid(existing),
            field: if probe == 0 {
                ContactField::Email
            } else {
                ContactField::Phone
            },
        }),
        None => Err(StoreError::Backend(
            "the duplicate check failed but the probe found no duplicate".into(),
        )),
    }
}

fn push_history(
    s: &mut Script,
    write_version: u64,
    lead_id: LeadId,
    entries: &[HistoryEntry],
) -> Result<(), StoreError> {
    let write_version = to_i64(write_version)?;
    for (ord, e) in (0i64..).zip(entries) {
        s.push(INSERT_HISTORY)
            .bind(lead_id.as_uuid())
            .bind(write_version)
            .bind(ord)
            .bind(to_i64(e.version)?)
            .bind(micros(e.at))
            .bind(e.actor.get())
            .bind(json(&e.change)?);
    }
    Ok(())
}

fn push_pending(s: &mut Script, p: &PendingClient) -> Result<(), StoreError> {
    s.push(UPSERT_PENDING)
        .bind(p.request.lead_id.as_uuid())
        .bind(json(&p.request)?)
        .bind(micros(p.created_at))
        .bind(i64::from(p.attempts))
        .bind(p.last_error.as_deref())
        .bind(p.last_attempt_at.map(micros))
        .bind(p.claimed_until.map(micros));
    Ok(())
}

fn push_events(s: &mut Script, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        s.push(INSERT_EVENT)
            .bind(e.id.as_uuid())
            .bind(micros(e.at))
            .bind(e.lead_id.as_uuid())
            .bind(e.actor.map(EmployeeId::get))
            .bind(json(&e.kind)?);
    }
    Ok(())
}

/// History, pending client and events of a lead write, and its duplicate check.
fn push_rest(s: &mut Script, w: &LeadWrite) -> Result<(), StoreError> {
    push_history(s, w.lead.version(), w.lead.id(), &w.history)?;
    if let Some(p) = &w.pending_client {
        push_pending(s, p)?;
    }
    push_events(s, &w.events)?;
    if w.check_duplicates {
        push_duplicate_check(s, &w.lead);
    }
    Ok(())
}

async fn lead_exists(c: &mut SqliteConnection, id: LeadId) -> Result<bool, StoreError> {
    Ok(sqlx::query(LEAD_EXISTS)
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .is_some())
}

/// Why a change to a lead that must be writable matched no row.
async fn not_writable(c: &mut SqliteConnection, id: LeadId) -> Result<StoreError, StoreError> {
    let status: Option<String> = sqlx::query_scalar(LEAD_STATUS)
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    match status {
        None => Ok(not_found(Entity::Lead, id)),
        Some(s) if status_of(&s)?.is_read_only() => Ok(StoreError::ReadOnly { lead: id }),
        Some(s) => Err(StoreError::Backend(
            format!("lead {id} in status {s} refused a write").into(),
        )),
    }
}

/// Why an opportunity update at `expected` changed no row.
async fn opportunity_refused(
    c: &mut SqliteConnection,
    id: OpportunityId,
    expected: u64,
    next: bool,
) -> Result<StoreError, StoreError> {
    let Some(row) = sqlx::query(OPPORTUNITY_STATE)
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
    else {
        return Ok(not_found(Entity::Opportunity, id));
    };
    let read = || -> Result<(i64, Uuid, Option<String>), BoxError> {
        Ok((row.int(0)?, row.uuid(1)?, row.opt_text(2)?))
    };
    let (version, lead, status) = read().map_err(rows::corrupt("opportunity"))?;
    let lead = LeadId::from_uuid(lead);
    if u64::try_from(version).ok() != Some(expected) || !next {
        return Ok(conflict(Entity::Opportunity, id, expected));
    }
    match status {
        None => Ok(not_found(Entity::Lead, lead)),
        Some(s) if status_of(&s)?.is_read_only() => Ok(StoreError::ReadOnly { lead }),
        Some(s) => Err(StoreError::Backend(
            format!("opportunity {id} of a {s} lead refused an update").into(),
        )),
    }
}

/// What a failed lead write means: a failed check as it says; a unique key taken by an
/// insert means another write got there first; a missing lead (foreign key) or a taken
/// history version of an update is explained by the lead.
fn lead_write_failed(
    w: &LeadWrite,
    expected: Option<u64>,
    check: Option<Check>,
    e: sqlx::Error,
) -> Why<'_> {
    let id = w.lead.id();
    match (check, expected) {
        (Some(Check::Duplicate), _) => Why::Duplicate(&w.lead),
        (Some(Check::LeadUnchanged), Some(v)) => Why::LeadVersion(id, v),
        (None, None) if is_unique_violation(&e) => Why::Error(conflict(Entity::Lead, id, 0)),
        (None, Some(v)) if is_constraint_violation(&e) => Why::LeadVersion(id, v),
        _ => Why::Error(db(e)),
    }
}

/// What a failed insert of a record hanging off a lead (an interaction, an opportunity)
/// means: the lead refused it (missing or converted), or the record's id was taken.
fn record_write_failed(
    lead: LeadId,
    entity: Entity,
    id: impl ToString,
    check: Option<Check>,
    e: sqlx::Error,
) -> Why<'static> {
    if check == Some(Check::LeadUnchanged) {
        Why::LeadWritable(lead)
    } else if is_unique_violation(&e) {
        Why::Error(conflict(entity, id, 0))
    } else {
        Why::Error(db(e))
    }
}

/// The follow-up claim (see [`LeadStore::claim_follow_ups`]) inside a write transaction.
async fn claim_follow_ups_in(
    c: &mut SqliteConnection,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = sqlx::query_scalar::<_, String>(EXPIRED_NOTICES)
        .bind(micros(claim.now))
        .bind(i64::from(claim.limit))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(|n| rows::notice(n))
        .collect::<Result<Vec<_>, _>>()?;
    let leads = if expired.is_empty() {
        vec![]
    } else {
        let mut qb = QueryBuilder::<Sqlite>::new(LEADS_BY_ID_HEAD);
        let mut ids = qb.separated(", ");
        for n in &expired {
            ids.push_bind(n.lead_id.as_uuid());
        }
        qb.push(")")
            .build()
            .fetch_all(&mut *c)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?
    };
    let (mut notices, moot) = claims::take_over(expired, leads);
    let room = claims::room(claim.limit, notices.len());
    let due = if room == 0 {
        vec![]
    } else {
        sqlx::query(DUE_FOLLOW_UPS)
            .bind(micros(claim.cutoff))
            .bind(i64::from(room))
            .fetch_all(&mut *c)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?
    };
    let fresh = claims::fresh(&due, claim.at);
    if notices.is_empty() && moot.is_empty() && fresh.is_empty() {
        return Ok(notices);
    }
    // Every renewal, deletion, mark and new notice of the batch in one round trip.
    let mut s = Script::within();
    for n in &notices {
        s.push(RENEW_NOTICE)
            .bind(micros(claim.lease_until))
            .bind(json(n)?)
            .bind(n.id.as_uuid());
    }
    for id in &moot {
        s.push(DELETE_NOTICE).bind(id.as_uuid());
    }
    for n in &fresh {
        s.push(MARK_NOTIFIED)
            .bind(micros(claim.at))
            .bind(n.lead_id.as_uuid());
        s.push(INSERT_NOTICE)
            .bind(n.id.as_uuid())
            .bind(n.lead_id.as_uuid())
            .bind(json(n)?)
            .bind(micros(claim.lease_until));
    }
    s.execute(c).await.map_err(db)?;
    notices.extend(fresh);
    Ok(notices)
}

async fn ack_events_in(c: &mut SqliteConnection, up_to: u64) -> Result<u64, StoreError> {
    let row = sqlx::query(ACK_STATE)
        .fetch_one(&mut *c)
        .await
        .map_err(db)?;
    let (acked, last) = (|| -> Result<(i64, i64), BoxError> { Ok((row.int(0)?, row.int(1)?)) })()
        .map_err(rows::corrupt("event watermark"))?;
    let new = clamp_i64(up_to).min(last);
    if new <= acked {
        return Ok(0);
    }
    sqlx::query(SET_ACK)
        .bind(new)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    u64::try_from(new - acked).map_err(|e| StoreError::Backend(e.into()))
}

#[async_trait]
impl LeadStore for SqliteStore {
    async fn insert_lead(&self, w: &LeadWrite) -> Result<(), StoreError> {
        let mut s = Script::write();
        push_insert_lead(&mut s, &w.lead)?;
        push_rest(&mut s, w)?;
        done(
            self.write(s.commit(), |check, e| lead_write_failed(w, None, check, e))
                .await,
        )
    }

    async fn update_lead(&self, expected: u64, w: &LeadWrite) -> Result<(), StoreError> {
        let mut s = Script::write();
        if expected.checked_add(1) == Some(w.lead.version()) {
            push_update_lead(&mut s, expected, &w.lead)?;
            push_rest(&mut s, w)?;
        } else {
            // Not the next version: nothing to write, only a conflict to explain.
            s.check(Check::LeadUnchanged, "1");
        }
        done(
            self.write(s.commit(), |check, e| {
                lead_write_failed(w, Some(expected), check, e)
            })
            .await,
        )
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        sqlx::query(GET_LEAD)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| rows::lead(&r))
            .transpose()
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        // One read transaction, one round trip: each row's last column says what it is.
        let uuid = id.as_uuid();
        let mut s = Script::read();
        for sql in [
            DETAIL_LEAD,
            DETAIL_HISTORY,
            DETAIL_INTERACTIONS,
            DETAIL_OPPORTUNITIES,
            DETAIL_PENDING,
        ] {
            s.push(sql).bind(uuid);
        }
        let mut c = ScriptConn::acquire(&self.pool).await?;
        let rows = match c.run(s.commit()).await {
            Ok(rows) => rows,
            Err(e) => {
                c.rollback().await;
                return Err(db(e));
            }
        };
        let mut lead = None;
        let (mut history, mut interactions, mut opportunities) = (vec![], vec![], vec![]);
        let mut pending_client = None;
        for r in &rows {
            let part = r
                .int(r.len().saturating_sub(1))
                .map_err(rows::corrupt("detail row"))?;
            match part {
                0 => lead = Some(rows::lead(r)?),
                1 => history.push(rows::history(id, r)?),
                2 => interactions.push(rows::interaction(r)?),
                3 => opportunities.push(rows::opportunity(r)?),
                4 => pending_client = Some(rows::pending_client(r)?),
                p => {
                    return Err(rows::corrupt("detail row")(
                        format!("unknown part {p}").into(),
                    ));
                }
            }
        }
        Ok(lead.map(|lead| LeadDetail {
            lead,
            history,
            interactions,
            opportunities,
            pending_client,
        }))
    }

    async fn list_leads(&self, query: &LeadQuery) -> Result<Page<Lead>, StoreError> {
        let limit = query.page_size() as usize;
        let mut qb = QueryBuilder::<Sqlite>::new(LIST_HEAD);
        if let Some(s) = query.status {
            qb.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(s) = &query.source {
            qb.push(" AND source = ").push_bind(s.as_str().to_owned());
        }
        if let Some(o) = query.owner {
            qb.push(" AND owner = ").push_bind(o.get());
        }
        if let Some(k) = query.search_key() {
            qb.push(" AND instr(search_text, ")
                .push_bind(k.to_owned())
                .push(") > 0");
        }
        if let Some(c) = query.after {
            qb.push(" AND (created_at, id) < (")
                .push_bind(micros(c.created_at))
                .push(", ")
                .push_bind(c.id.as_uuid())
                .push(")");
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(limit as i64 + 1);
        let mut items = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(crm_core::Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn report(&self, filter: &ReportFilter) -> Result<Report, StoreError> {
        let dated = filter.created_from.is_some() || filter.created_to.is_some();
        let mut qb = QueryBuilder::<Sqlite>::new(if dated {
            REPORT_HEAD
        } else {
            REPORT_COUNTS_HEAD
        });
        if let Some(o) = filter.owner {
            qb.push(" AND owner = ").push_bind(o.get());
        }
        if let Some(s) = &filter.source {
            qb.push(" AND source = ").push_bind(s.as_str().to_owned());
        }
        if let Some(f) = filter.created_from {
            qb.push(" AND created_at >= ").push_bind(micros(f));
        }
        if let Some(t) = filter.created_to {
            qb.push(" AND created_at < ").push_bind(micros(t));
        }
        qb.push(" GROUP BY status, source");
        let counts = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                let read = || -> Result<_, BoxError> {
                    Ok((
                        r.text(0)?.parse::<LeadStatus>()?,
                        crm_core::Source::parse(&r.text(1)?)?,
                        u64::try_from(r.int(2)?)?,
                    ))
                };
                read().map_err(rows::corrupt("report row"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Report::from_counts(counts))
    }

    async fn insert_interaction(
        &self,
        i: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let at = micros(i.occurred_at);
        let mut s = Script::write();
        s.push(TOUCH_INTERACTION)
            .bind(at)
            .bind(at)
            .bind(i.lead_id.as_uuid());
        s.check(Check::LeadUnchanged, NOTHING_CHANGED);
        s.push(INSERT_INTERACTION)
            .bind(i.id.as_uuid())
            .bind(i.lead_id.as_uuid())
            .bind(i.kind.as_str())
            .bind(at)
            .bind(i.logged_by.get())
            .bind(micros(i.logged_at))
            .bind(i.notes.as_str());
        push_events(&mut s, events)?;
        done(
            self.write(s.commit(), |check, e| {
                record_write_failed(i.lead_id, Entity::Interaction, i.id, check, e)
            })
            .await,
        )
    }

    async fn insert_opportunity(
        &self,
        o: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut s = Script::write();
        s.push(INSERT_OPPORTUNITY)
            .bind(o.id.as_uuid())
            .bind(o.title.as_str())
            .bind(o.value.minor())
            .bind(o.value.currency().code())
            .bind(o.expected_close.num_days_from_ce())
            .bind(o.stage.as_str())
            .bind(o.created_by.get())
            .bind(micros(o.created_at))
            .bind(micros(o.updated_at))
            .bind(to_i64(o.version)?)
            .bind(o.lead_id.as_uuid());
        s.check(Check::LeadUnchanged, NOTHING_CHANGED);
        push_events(&mut s, events)?;
        done(
            self.write(s.commit(), |check, e| {
                record_write_failed(o.lead_id, Entity::Opportunity, o.id, check, e)
            })
            .await,
        )
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        sqlx::query(GET_OPPORTUNITY)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| rows::opportunity(&r))
            .transpose()
    }

    async fn update_opportunity(
        &self,
        expected: u64,
        w: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        let (o, events) = (&w.opportunity, &w.events);
        let mut s = Script::write();
        let next = expected.checked_add(1) == Some(o.version);
        if next {
            s.push(if w.lead_must_be_open {
                UPDATE_OPPORTUNITY_OPEN_LEAD
            } else {
                UPDATE_OPPORTUNITY
            })
            .bind(o.title.as_str())
            .bind(o.value.minor())
            .bind(o.value.currency().code())
            .bind(o.expected_close.num_days_from_ce())
            .bind(o.stage.as_str())
            .bind(micros(o.updated_at))
            .bind(to_i64(o.version)?)
            .bind(o.id.as_uuid())
            .bind(to_i64(expected)?);
            s.check(Check::OpportunityUnchanged, NOTHING_CHANGED);
            push_events(&mut s, events)?;
        } else {
            // Not the next version: nothing to write, only a conflict to explain.
            s.check(Check::OpportunityUnchanged, "1");
        }
        done(
            self.write(s.commit(), |check, e| {
                if check == Some(Check::OpportunityUnchanged) {
                    Why::Opportunity(o.id, expected, next)
                } else {
                    Why::Error(db(e))
                }
            })
            .await,
        )
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        // One write transaction: the reclaim, the read of the due leads and their marks and
        // notices commit together, so a crash leaves either all of a batch claimed (and
        // its notices in the outbox) or none of it.
        let mut w = self.begin().await?;
        let r = claim_follow_ups_in(&mut w.tx, claim).await;
        w.finish(r).await
    }

    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        sqlx::query(DELETE_NOTICE)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        sqlx::query(RELEASE_NOTICE)
            .bind(micros(at))
            .bind(error.as_deref())
            .bind(id.as_uuid())
            .bind(micros(claimed_until))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        sqlx::query_scalar::<_, String>(UNDELIVERED_NOTICES)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|n| rows::notice(n))
            .collect()
    }

    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError> {
        sqlx::query(PENDING_CLIENTS)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::pending_client)
            .collect()
    }

    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        let _gate = self.gate.lock().await;
        let claimed = sqlx::query(CLAIM_PENDING)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::pending_client)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows::in_claim_order(claimed))
    }

    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        sqlx::query(RELEASE_PENDING)
            .bind(lead_id.as_uuid())
            .bind(micros(claimed_until))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut s = Script::write();
        // Only a conversion still pending is completed: a second completion finds no row
        // and changes nothing.
        s.push(DELETE_PENDING).bind(lead_id.as_uuid());
        s.check(Check::NothingPending, NOTHING_CHANGED);
        s.push(SET_CLIENT)
            .bind(AsRef::<str>::as_ref(client_id))
            .bind(lead_id.as_uuid());
        s.check(Check::LeadUnchanged, NOTHING_CHANGED);
        push_events(&mut s, std::slice::from_ref(event))?;
        let r = self
            .write(s.commit(), |check, e| {
                if check == Some(Check::LeadUnchanged) {
                    Why::Error(not_found(Entity::Lead, lead_id))
                } else {
                    Why::Error(db(e))
                }
            })
            .await;
        match r {
            Ok(()) => Ok(true),
            Err(NotDone::NothingToDo) => Ok(false),
            Err(NotDone::Refused(e)) => Err(e),
        }
    }

    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        sqlx::query(CONVERSION_FAILED)
            .bind(error)
            .bind(micros(at))
            .bind(lead_id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn pending_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        sqlx::query(PENDING_EVENTS)
            .bind(clamp_i64(after))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::event)
            .collect()
    }

    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        let mut w = self.begin().await?;
        let r = ack_events_in(&mut w.tx, up_to).await;
        w.finish(r).await
    }
}

// ---------------------------------------------------------------------------------------
// Employees and clients
// ---------------------------------------------------------------------------------------

/// The employee directory backed by the `employees` table.
#[derive(Clone, Debug)]
pub struct SqliteEmployees {
    pool: SqlitePool,
    gate: Arc<Mutex<()>>,
}

impl SqliteEmployees {
    /// A directory over an existing (migrated) pool.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            gate: Arc::new(Mutex::new(())),
        }
    }
}

#[async_trait]
impl EmployeeDirectory for SqliteEmployees {
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
        let row = sqlx::query(GET_EMPLOYEE)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| PortError::new("employees", db(e)))?;
        row.map(|r| rows::employee(&r))
            .transpose()
            .map_err(|e| PortError::new("employees", e))
    }
}

impl SqliteEmployees {
    /// Writes one employee with `sql` (an insert with the employee's four binds); returns
    /// how many rows it wrote.
    async fn write(&self, sql: &'static str, e: &Employee) -> Result<u64, PortError> {
        let _gate = self.gate.lock().await;
        Ok(sqlx::query(sql)
            .bind(e.id.get())
            .bind(e.name.as_str())
            .bind(e.role.as_str())
            .bind(i64::from(e.active))
            .execute(&self.pool)
            .await
            .map_err(|e| PortError::new("employees", db(e)))?
            .rows_affected())
    }
}

#[async_trait]
impl EmployeeAdmin for SqliteEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        self.write(UPSERT_EMPLOYEE, employee).await.map(|_| ())
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        Ok(self.write(INSERT_FIRST_EMPLOYEE, employee).await? == 1)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
        let err = |e| PortError::new("employees", e);
        sqlx::query(LIST_EMPLOYEES)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| err(db(e)))?
            .iter()
            .map(|r| rows::employee(r).map_err(err))
            .collect()
    }
}

/// The clients system backed by the `clients` table: one client per lead, id
/// `client-<lead id>`; creating it again returns the same client.
#[derive(Clone, Debug)]
pub struct SqliteClients {
    pool: SqlitePool,
    gate: Arc<Mutex<()>>,
}

impl SqliteClients {
    /// A clients system over an existing (migrated) pool.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            gate: Arc::new(Mutex::new(())),
        }
    }
}

#[async_trait]
impl ClientsPort for SqliteClients {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        let err = |e: StoreError| PortError::new("clients", e);
        let new_id = crate::client_id_for(req.lead_id).map_err(|e| PortError::new("clients", e))?;
        {
            let _gate = self.gate.lock().await;
            sqlx::query(INSERT_CLIENT)
                .bind(AsRef::<str>::as_ref(&new_id))
                .bind(req.lead_id.as_uuid())
                .bind(req.name.as_str())
                .bind(req.email.as_ref().map(|e| e.as_str()))
                .bind(req.phone.as_ref().map(|p| p.as_str()))
                .bind(req.company.as_ref().map(|n| n.as_str()))
                .bind(req.owner.get())
                .bind(micros(Utc::now()))
                .bind(req.phone.as_ref().map(|p| p.display()))
                .execute(&self.pool)
                .await
                .map_err(|e| err(db(e)))?;
        }
        let id: String = sqlx::query_scalar(CLIENT_OF)
            .bind(req.lead_id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| err(db(e)))?;
        rows::client_id(&id).map_err(err)
    }
}
