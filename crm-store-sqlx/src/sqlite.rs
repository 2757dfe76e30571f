//! The SQLite backend: [`SqliteStore`], [`SqliteEmployees`] and [`SqliteClients`].
//!
//! Times are INTEGER unix microseconds, ids 16-byte BLOBs (byte order = `Uuid` order). Every
//! write is one `BEGIN IMMEDIATE` transaction, so its checks (version, duplicates, read-only)
//! and its changes happen under the write lock, atomically. Writers of one process queue on
//! an async gate first, so they wait their turn instead of polling SQLite's busy handler;
//! writers of other processes wait up to the busy timeout, then fail with
//! [`StoreError::Busy`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use crm_core::{
    BoxError, ClientId, ClientRequest, ClientsPort, ContactField, Employee, EmployeeDirectory,
    EmployeeId, Entity, Event, HistoryEntry, Interaction, Lead, LeadDetail, LeadId, LeadQuery,
    LeadStatus, LeadStore, LeadWrite, NewEvent, Opportunity, OpportunityId, Page, PendingClient,
    PortError, Report, ReportFilter, StoreError,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::EmployeeAdmin;
use crate::error::{conflict, db, is_unique_violation, not_found, status_of};
use crate::rows::{self, Cols, clamp_i64, from_micros, json, lead_cols, opportunity_cols, to_i64};

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
     last_interaction_at, follow_up_notified_at, search_text) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// The fields a lead write changes. `client_id`, `last_interaction_at` and
/// `follow_up_notified_at` belong to their own operations and are not overwritten, so a
/// concurrent interaction or follow-up claim (which do not bump the version) is not lost.
const UPDATE_LEAD: &str = "UPDATE leads SET name = ?, email = ?, phone = ?, company = ?, \
     source = ?, status = ?, owner = ?, updated_at = ?, version = ?, lost_reason = ?, \
     search_text = ? WHERE id = ? AND version = ?";
const LEAD_EXISTS: &str = "SELECT 1 FROM leads WHERE id = ?";
const LEAD_STATUS: &str = "SELECT status FROM leads WHERE id = ?";
/// The oldest open lead (other than the one written) with the email, and with the phone:
/// one round trip, both probes on the partial indexes `leads_open_email`/`leads_open_phone`.
const DUPLICATE: &str = "SELECT 0, id FROM (SELECT id FROM leads \
       WHERE email = ? AND status IN ('new', 'contacted', 'interested') AND id <> ? \
       ORDER BY created_at, id LIMIT 1) \
     UNION ALL \
     SELECT 1, id FROM (SELECT id FROM leads \
       WHERE phone = ? AND status IN ('new', 'contacted', 'interested') AND id <> ? \
       ORDER BY created_at, id LIMIT 1)";
const INSERT_HISTORY: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) VALUES (?, ?, ?, ?, ?, ?, ?)";
const UPSERT_PENDING: &str = "INSERT INTO pending_clients \
     (lead_id, request, created_at, attempts, last_error, last_attempt_at) \
     VALUES (?, ?, ?, ?, ?, ?) \
     ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
     created_at = excluded.created_at, attempts = excluded.attempts, \
     last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at";
const INSERT_EVENT: &str =
    "INSERT INTO events (id, at, lead_id, actor, kind) VALUES (?, ?, ?, ?, ?)";
const GET_LEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = ?");
const HISTORY_OF: &str = "SELECT version, at, actor, change FROM lead_history \
     WHERE lead_id = ? ORDER BY write_version, ord";
const INTERACTIONS_OF: &str = "SELECT id, lead_id, kind, occurred_at, logged_by, logged_at, \
     notes FROM interactions WHERE lead_id = ? ORDER BY occurred_at, id";
const OPPORTUNITIES_OF: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE lead_id = ? ORDER BY created_at, id"
);
const PENDING_OF: &str = "SELECT request, created_at, attempts, last_error, last_attempt_at \
     FROM pending_clients WHERE lead_id = ?";
const LIST_HEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE 1 = 1");
const REPORT_HEAD: &str = "SELECT status, source, COUNT(*) FROM leads WHERE 1 = 1";
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
const UPDATE_OPPORTUNITY: &str = "UPDATE opportunities SET title = ?, value_minor = ?, \
     currency = ?, expected_close = ?, stage = ?, updated_at = ?, version = ? \
     WHERE id = ? AND version = ?";
/// The sweep, on the partial index `leads_follow_up_due`.
const DUE_FOLLOW_UPS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL \
     AND follow_up_notified_at IS NULL AND created_at <= ? ORDER BY created_at, id LIMIT ?"
);
const CLAIM_FOLLOW_UP: &str = "UPDATE leads SET follow_up_notified_at = ? WHERE id = ? \
     AND status = 'new' AND last_interaction_at IS NULL AND follow_up_notified_at IS NULL";
const RELEASE_FOLLOW_UP: &str = "UPDATE leads SET follow_up_notified_at = NULL WHERE id = ?";
const PENDING_CLIENTS: &str = "SELECT request, created_at, attempts, last_error, \
     last_attempt_at FROM pending_clients ORDER BY created_at, lead_id LIMIT ?";
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
const GET_EMPLOYEE: &str = "SELECT id, name, role, active FROM employees WHERE id = ?";
const UPSERT_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active) \
     VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     role = excluded.role, active = excluded.active";
const LIST_EMPLOYEES: &str = "SELECT id, name, role, active FROM employees ORDER BY id";
const INSERT_CLIENT: &str = "INSERT INTO clients \
     (id, lead_id, name, email, phone, company, owner, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (lead_id) DO NOTHING";
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
        .synchronous(SqliteSynchronous::Normal))
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
        SqlitePoolOptions::new().max_connections(8)
    };
    pool_opts.connect_with(opts).await.map_err(db)
}

/// Applies the embedded migrations, after refusing a database migrated by newer code with
/// [`StoreError::SchemaTooNew`].
pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let has_table: Option<i64> = sqlx::query_scalar(MIGRATIONS_TABLE)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    if has_table.is_some() {
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
// Statements inside a write transaction
// ---------------------------------------------------------------------------------------

async fn insert_lead_row(c: &mut SqliteConnection, lead: &Lead) -> Result<(), StoreError> {
    let r = lead.record();
    sqlx::query(INSERT_LEAD)
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
        .execute(&mut *c)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                conflict(Entity::Lead, r.id, 0)
            } else {
                db(e)
            }
        })?;
    Ok(())
}

/// `Duplicate` naming the oldest open lead with the email, else with the phone.
async fn duplicate_of(c: &mut SqliteConnection, lead: &Lead) -> Result<(), StoreError> {
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
        Some((probe, existing)) => Err(StoreError::Duplicate {
            existing: LeadId::from_uuid(existing),
            field: if probe == 0 {
                ContactField::Email
            } else {
                ContactField::Phone
            },
        }),
        None => Ok(()),
    }
}

async fn append_history(
    c: &mut SqliteConnection,
    write_version: u64,
    lead_id: LeadId,
    entries: &[HistoryEntry],
) -> Result<(), StoreError> {
    let expected = write_version.saturating_sub(1);
    let write_version = to_i64(write_version)?;
    for (ord, e) in (0i64..).zip(entries) {
        sqlx::query(INSERT_HISTORY)
            .bind(lead_id.as_uuid())
            .bind(write_version)
            .bind(ord)
            .bind(to_i64(e.version)?)
            .bind(micros(e.at))
            .bind(e.actor.get())
            .bind(json(&e.change)?)
            .execute(&mut *c)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    conflict(Entity::Lead, lead_id, expected)
                } else {
                    db(err)
                }
            })?;
    }
    Ok(())
}

async fn put_pending(c: &mut SqliteConnection, p: &PendingClient) -> Result<(), StoreError> {
    sqlx::query(UPSERT_PENDING)
        .bind(p.request.lead_id.as_uuid())
        .bind(json(&p.request)?)
        .bind(micros(p.created_at))
        .bind(i64::from(p.attempts))
        .bind(p.last_error.as_deref())
        .bind(p.last_attempt_at.map(micros))
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(())
}

async fn append_events(c: &mut SqliteConnection, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        sqlx::query(INSERT_EVENT)
            .bind(e.id.as_uuid())
            .bind(micros(e.at))
            .bind(e.lead_id.as_uuid())
            .bind(e.actor.map(EmployeeId::get))
            .bind(json(&e.kind)?)
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// History, pending client and events of a lead write.
async fn write_rest(c: &mut SqliteConnection, w: &LeadWrite) -> Result<(), StoreError> {
    append_history(c, w.lead.version(), w.lead.id(), &w.history).await?;
    if let Some(p) = &w.pending_client {
        put_pending(c, p).await?;
    }
    append_events(c, &w.events).await
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

async fn insert_lead_in(c: &mut SqliteConnection, w: &LeadWrite) -> Result<(), StoreError> {
    insert_lead_row(c, &w.lead).await?;
    if w.check_duplicates {
        duplicate_of(c, &w.lead).await?;
    }
    write_rest(c, w).await
}

async fn update_lead_in(
    c: &mut SqliteConnection,
    expected: u64,
    w: &LeadWrite,
) -> Result<(), StoreError> {
    let lead = &w.lead;
    let id = lead.id();
    let stale = || conflict(Entity::Lead, id, expected);
    let updated = if expected.checked_add(1) == Some(lead.version()) {
        let r = lead.record();
        sqlx::query(UPDATE_LEAD)
            .bind(r.name.as_str())
            .bind(r.email.as_ref().map(|e| e.as_str()))
            .bind(r.phone.as_ref().map(|p| p.as_str()))
            .bind(r.company.as_ref().map(|n| n.as_str()))
            .bind(r.source.as_str())
            .bind(r.status.as_str())
            .bind(r.owner.get())
            .bind(micros(r.updated_at))
            .bind(to_i64(r.version)?)
            .bind(r.lost_reason.as_ref().map(|n| n.as_str()))
            .bind(lead.search_text())
            .bind(id.as_uuid())
            .bind(to_i64(expected)?)
            .execute(&mut *c)
            .await
            .map_err(db)?
            .rows_affected()
    } else {
        0
    };
    if updated == 0 {
        return Err(if lead_exists(c, id).await? {
            stale()
        } else {
            not_found(Entity::Lead, id)
        });
    }
    if w.check_duplicates {
        duplicate_of(c, lead).await?;
    }
    write_rest(c, w).await
}

async fn insert_interaction_in(
    c: &mut SqliteConnection,
    i: &Interaction,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let at = micros(i.occurred_at);
    let touched = sqlx::query(TOUCH_INTERACTION)
        .bind(at)
        .bind(at)
        .bind(i.lead_id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    if touched == 0 {
        return Err(not_writable(c, i.lead_id).await?);
    }
    sqlx::query(INSERT_INTERACTION)
        .bind(i.id.as_uuid())
        .bind(i.lead_id.as_uuid())
        .bind(i.kind.as_str())
        .bind(at)
        .bind(i.logged_by.get())
        .bind(micros(i.logged_at))
        .bind(i.notes.as_str())
        .execute(&mut *c)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                conflict(Entity::Interaction, i.id, 0)
            } else {
                db(e)
            }
        })?;
    append_events(c, events).await
}

async fn insert_opportunity_in(
    c: &mut SqliteConnection,
    o: &Opportunity,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let inserted = sqlx::query(INSERT_OPPORTUNITY)
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
        .bind(o.lead_id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                conflict(Entity::Opportunity, o.id, 0)
            } else {
                db(e)
            }
        })?
        .rows_affected();
    if inserted == 0 {
        return Err(not_writable(c, o.lead_id).await?);
    }
    append_events(c, events).await
}

async fn update_opportunity_in(
    c: &mut SqliteConnection,
    expected: u64,
    o: &Opportunity,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let row = sqlx::query(OPPORTUNITY_STATE)
        .bind(o.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found(Entity::Opportunity, o.id))?;
    let read = || -> Result<(i64, Uuid, Option<String>), BoxError> {
        Ok((row.int(0)?, row.uuid(1)?, row.opt_text(2)?))
    };
    let (version, lead_id, status) = read().map_err(rows::corrupt("opportunity"))?;
    let lead_id = LeadId::from_uuid(lead_id);
    if u64::try_from(version).ok() != Some(expected) || expected.checked_add(1) != Some(o.version) {
        return Err(conflict(Entity::Opportunity, o.id, expected));
    }
    match status {
        None => return Err(not_found(Entity::Lead, lead_id)),
        Some(s) if status_of(&s)?.is_read_only() => {
            return Err(StoreError::ReadOnly { lead: lead_id });
        }
        Some(_) => {}
    }
    sqlx::query(UPDATE_OPPORTUNITY)
        .bind(o.title.as_str())
        .bind(o.value.minor())
        .bind(o.value.currency().code())
        .bind(o.expected_close.num_days_from_ce())
        .bind(o.stage.as_str())
        .bind(micros(o.updated_at))
        .bind(to_i64(o.version)?)
        .bind(o.id.as_uuid())
        .bind(version)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    append_events(c, events).await
}

async fn complete_conversion_in(
    c: &mut SqliteConnection,
    lead_id: LeadId,
    client_id: &ClientId,
    event: &NewEvent,
) -> Result<bool, StoreError> {
    let removed = sqlx::query(DELETE_PENDING)
        .bind(lead_id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    if removed == 0 {
        return Ok(false);
    }
    let set = sqlx::query(SET_CLIENT)
        .bind(AsRef::<str>::as_ref(client_id))
        .bind(lead_id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    if set == 0 {
        return Err(not_found(Entity::Lead, lead_id));
    }
    append_events(c, std::slice::from_ref(event)).await?;
    Ok(true)
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
    async fn insert_lead(&self, write: &LeadWrite) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = insert_lead_in(&mut w.tx, write).await;
        w.finish(r).await
    }

    async fn update_lead(
        &self,
        expected_version: u64,
        write: &LeadWrite,
    ) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = update_lead_in(&mut w.tx, expected_version, write).await;
        w.finish(r).await
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
        // One read transaction: one snapshot for the lead and everything hanging off it.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let uuid = id.as_uuid();
        let Some(lead) = sqlx::query(GET_LEAD)
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let lead = rows::lead(&lead)?;
        let history = sqlx::query(HISTORY_OF)
            .bind(uuid)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(|r| rows::history(id, r))
            .collect::<Result<_, _>>()?;
        let interactions = sqlx::query(INTERACTIONS_OF)
            .bind(uuid)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(rows::interaction)
            .collect::<Result<_, _>>()?;
        let opportunities = sqlx::query(OPPORTUNITIES_OF)
            .bind(uuid)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(rows::opportunity)
            .collect::<Result<_, _>>()?;
        let pending_client = sqlx::query(PENDING_OF)
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .map(|r| rows::pending_client(&r))
            .transpose()?;
        tx.commit().await.map_err(db)?;
        Ok(Some(LeadDetail {
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
        let mut qb = QueryBuilder::<Sqlite>::new(REPORT_HEAD);
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
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = insert_interaction_in(&mut w.tx, interaction, events).await;
        w.finish(r).await
    }

    async fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = insert_opportunity_in(&mut w.tx, opportunity, events).await;
        w.finish(r).await
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
        expected_version: u64,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = update_opportunity_in(&mut w.tx, expected_version, opportunity, events).await;
        w.finish(r).await
    }

    async fn due_follow_ups(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Lead>, StoreError> {
        sqlx::query(DUE_FOLLOW_UPS)
            .bind(micros(cutoff))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect()
    }

    async fn claim_follow_up(&self, id: LeadId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let _gate = self.gate.lock().await;
        let n = sqlx::query(CLAIM_FOLLOW_UP)
            .bind(micros(at))
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn release_follow_up(&self, id: LeadId) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        sqlx::query(RELEASE_FOLLOW_UP)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
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

    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut w = self.begin().await?;
        let r = complete_conversion_in(&mut w.tx, lead_id, client_id, event).await;
        w.finish(r).await
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
}

impl SqliteEmployees {
    /// A directory over an existing (migrated) pool.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
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

#[async_trait]
impl EmployeeAdmin for SqliteEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), StoreError> {
        sqlx::query(UPSERT_EMPLOYEE)
            .bind(employee.id.get())
            .bind(employee.name.as_str())
            .bind(employee.role.as_str())
            .bind(i64::from(employee.active))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, StoreError> {
        sqlx::query(LIST_EMPLOYEES)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::employee)
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
