//! The PostgreSQL backend: [`PostgresStore`], [`PostgresEmployees`] and [`PostgresClients`].
//!
//! Times are `timestamptz` (microseconds), ids `uuid`. Every write is one READ COMMITTED
//! transaction made race-free where it matters:
//! - the version check is the `UPDATE ... WHERE id = $1 AND version = $2` itself (a
//!   concurrent writer blocks on the row, then sees the new version and matches nothing);
//! - the duplicate check holds transaction-scoped advisory locks on the normalised email and
//!   phone, so two writers of the same contact data check one after the other;
//! - events are appended under a transaction-scoped advisory lock, so transactions take
//!   outbox sequence numbers in commit order and an acknowledged watermark never skips an
//!   event that commits later.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{
    BoxError, ClientId, ClientRequest, ClientsPort, ContactField, Employee, EmployeeAdmin,
    EmployeeDirectory, EmployeeId, Entity, Event, FollowUpClaim, FollowUpNotice, HistoryEntry,
    Interaction, Lead, LeadDetail, LeadId, LeadQuery, LeadStatus, LeadStore, LeadWrite, NewEvent,
    NoticeId, Opportunity, OpportunityId, OpportunityWrite, Page, PendingClient, PortError, Report,
    ReportFilter, StoreError,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, QueryBuilder, Row, Transaction};
use uuid::Uuid;

use crate::claims;
use crate::error::{conflict, db, is_unique_violation, not_found, status_of};
use crate::rows::{self, Cols, clamp_i64, json, lead_cols, opportunity_cols, pending_cols, to_i64};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The embedded PostgreSQL migrations (`migrations/postgres`), for a host that runs its own
/// sqlx migrations and folds ours in.
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

/// The advisory lock (two-key form, so it cannot collide with the one-key duplicate locks)
/// under which events are appended.
const EVENTS_LOCK: (i32, i32) = (0x0c72_6d00, 1);

impl Cols for PgRow {
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
        Ok(self.try_get::<DateTime<Utc>, _>(i)?)
    }
    fn opt_ts(&self, i: usize) -> Result<Option<DateTime<Utc>>, BoxError> {
        Ok(self.try_get::<Option<DateTime<Utc>>, _>(i)?)
    }
    fn date(&self, i: usize) -> Result<NaiveDate, BoxError> {
        Ok(self.try_get::<NaiveDate, _>(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool, BoxError> {
        Ok(self.try_get::<bool, _>(i)?)
    }
}

// ---------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------

const INSERT_LEAD: &str = "INSERT INTO leads (id, name, email, phone, company, source, status, \
     owner, created_by, created_at, updated_at, version, client_id, lost_reason, \
     last_interaction_at, follow_up_notified_at, search_text, phone_display) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
/// The fields a lead write changes. `client_id`, `last_interaction_at` and
/// `follow_up_notified_at` belong to their own operations and are not overwritten, so a
/// concurrent interaction or follow-up claim (which do not bump the version) is not lost.
const UPDATE_LEAD: &str = "UPDATE leads SET name = $1, email = $2, phone = $3, company = $4, \
     source = $5, status = $6, owner = $7, updated_at = $8, version = $9, lost_reason = $10, \
     search_text = $11, phone_display = $14 WHERE id = $12 AND version = $13";
const LEAD_EXISTS: &str = "SELECT 1 FROM leads WHERE id = $1";
const LEAD_STATUS: &str = "SELECT status FROM leads WHERE id = $1";
/// Serialises duplicate checks on the same normalised contact data (keys sorted by the
/// caller, so two writers never wait on each other in opposite orders).
const LOCK_CONTACTS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t (k)";
/// The oldest open lead (other than the one written) with the email, and with the phone:
/// one round trip, both probes on the partial indexes `leads_open_email`/`leads_open_phone`.
const DUPLICATE: &str = "(SELECT 0::bigint, id FROM leads \
       WHERE email = $1 AND status IN ('new', 'contacted', 'interested') AND id <> $3 \
       ORDER BY created_at, id LIMIT 1) \
     UNION ALL \
     (SELECT 1::bigint, id FROM leads \
       WHERE phone = $2 AND status IN ('new', 'contacted', 'interested') AND id <> $3 \
       ORDER BY created_at, id LIMIT 1)";
const INSERT_HISTORY: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const UPSERT_PENDING: &str = "INSERT INTO pending_clients \
     (lead_id, request, created_at, attempts, last_error, last_attempt_at, claimed_until) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
     created_at = excluded.created_at, attempts = excluded.attempts, \
     last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, \
     claimed_until = excluded.claimed_until";
/// Appends one event under [`EVENTS_LOCK`] (taken in the same round trip).
const INSERT_EVENT: &str = "INSERT INTO events (id, at, lead_id, actor, kind) \
     SELECT $1, $2, $3, $4, $5 FROM pg_advisory_xact_lock($6, $7)";
const GET_LEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = $1");
const HISTORY_OF: &str = "SELECT version, at, actor, change FROM lead_history \
     WHERE lead_id = $1 ORDER BY write_version, ord";
const INTERACTIONS_OF: &str = "SELECT id, lead_id, kind, occurred_at, logged_by, logged_at, \
     notes FROM interactions WHERE lead_id = $1 ORDER BY occurred_at, id";
const OPPORTUNITIES_OF: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE lead_id = $1 ORDER BY created_at, id"
);
const PENDING_OF: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients WHERE lead_id = $1"
);
const LIST_HEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE 1 = 1");
const REPORT_HEAD: &str = "SELECT status, source, COUNT(*) FROM leads WHERE 1 = 1";
const TOUCH_INTERACTION: &str = "UPDATE leads \
     SET last_interaction_at = GREATEST(last_interaction_at, $1) \
     WHERE id = $2 AND status <> 'converted'";
const INSERT_INTERACTION: &str = "INSERT INTO interactions \
     (id, lead_id, kind, occurred_at, logged_by, logged_at, notes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Inserts only while the lead exists and is not converted; `FOR SHARE` holds off a
/// concurrent conversion until this transaction ends.
const INSERT_OPPORTUNITY: &str = "INSERT INTO opportunities (id, lead_id, title, value_minor, \
     currency, expected_close, stage, created_by, created_at, updated_at, version) \
     SELECT $1, id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM leads \
     WHERE id = $11 AND status <> 'converted' FOR SHARE";
const GET_OPPORTUNITY: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE id = $1"
);
/// The opportunity's version and its lead's status, both locked until the write ends.
const OPPORTUNITY_STATE: &str = "SELECT o.version, o.lead_id, \
     (SELECT l.status FROM leads l WHERE l.id = o.lead_id FOR SHARE) \
     FROM opportunities o WHERE o.id = $1 FOR NO KEY UPDATE";
const UPDATE_OPPORTUNITY: &str = "UPDATE opportunities SET title = $1, value_minor = $2, \
     currency = $3, expected_close = $4, stage = $5, updated_at = $6, version = $7 \
     WHERE id = $8 AND version = $9";
/// Notices whose claim ran out, oldest (notice id) first, locked; those another sweep is
/// claiming right now are skipped.
const EXPIRED_NOTICES: &str = "SELECT notice FROM follow_up_notices WHERE claimed_until <= $1 \
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED";
const LEADS_BY_ID: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = ANY($1)");
const RENEW_NOTICES: &str = "UPDATE follow_up_notices f SET claimed_until = $1, notice = t.n \
     FROM UNNEST($2::uuid[], $3::text[]) AS t (i, n) WHERE f.id = t.i";
const DELETE_NOTICES: &str = "DELETE FROM follow_up_notices WHERE id = ANY($1)";
/// The sweep's due leads (`crm_core::follow_up::awaits_follow_up`, created at or before the
/// cutoff), on the partial index `leads_follow_up_due`, locked; rows another sweep (or a
/// write) holds are skipped, so concurrent sweeps split the due leads.
const DUE_FOLLOW_UPS: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE status = 'new' AND last_interaction_at IS NULL \
     AND follow_up_notified_at IS NULL AND created_at <= $1 ORDER BY created_at, id LIMIT $2 \
     FOR UPDATE SKIP LOCKED"
);
const MARK_NOTIFIED: &str = "UPDATE leads SET follow_up_notified_at = $1 WHERE id = ANY($2)";
const INSERT_NOTICES: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     SELECT i, l, n, $4 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS t (i, l, n)";
const DELETE_NOTICE: &str = "DELETE FROM follow_up_notices WHERE id = $1";
/// Frees a notice the caller still holds (claimed until `$4`), claimable from `$1` on,
/// counting a failed attempt when `$2` is given.
const RELEASE_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = $1, \
     attempts = attempts + CASE WHEN $2::text IS NULL THEN 0 ELSE 1 END, \
     last_error = COALESCE($2, last_error), \
     last_attempt_at = CASE WHEN $2::text IS NULL THEN last_attempt_at ELSE $1 END \
     WHERE id = $3 AND claimed_until = $4";
const UNDELIVERED_NOTICES: &str = "SELECT notice FROM follow_up_notices ORDER BY id LIMIT $1";
const PENDING_CLIENTS: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients ORDER BY created_at, lead_id LIMIT $1"
);
/// Free pending clients (no claim, or one that ran out), oldest conversion first, claimed;
/// rows another dispatcher is claiming right now are skipped.
const CLAIM_PENDING: &str = concat!(
    "WITH free AS MATERIALIZED (SELECT lead_id FROM pending_clients \
       WHERE claimed_until IS NULL OR claimed_until <= $2 \
       ORDER BY created_at, lead_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     UPDATE pending_clients p SET claimed_until = $1 FROM free \
     WHERE p.lead_id = free.lead_id RETURNING ",
    pending_cols!()
);
/// Frees a pending client the caller still holds (claimed until `$2`).
const RELEASE_PENDING: &str =
    "UPDATE pending_clients SET claimed_until = NULL WHERE lead_id = $1 AND claimed_until = $2";
const DELETE_PENDING: &str = "DELETE FROM pending_clients WHERE lead_id = $1";
const SET_CLIENT: &str = "UPDATE leads SET client_id = $1 WHERE id = $2";
const CONVERSION_FAILED: &str = "UPDATE pending_clients SET attempts = attempts + 1, \
     last_error = $1, last_attempt_at = $2 WHERE lead_id = $3";
const PENDING_EVENTS: &str = "SELECT seq, id, at, lead_id, actor, kind FROM events \
     WHERE seq > GREATEST($1, (SELECT acked FROM event_ack WHERE id = 1)) ORDER BY seq LIMIT $2";
const ACK_STATE: &str = "SELECT acked, (SELECT COALESCE(MAX(seq), 0) FROM events) \
     FROM event_ack WHERE id = 1 FOR UPDATE";
const SET_ACK: &str = "UPDATE event_ack SET acked = $1 WHERE id = 1";
const MIGRATIONS_TABLE: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
const NEWEST_MIGRATION: &str = "SELECT MAX(version) FROM _sqlx_migrations";
/// The first employee of an empty directory; nothing when it has any. The table lock makes
/// two first employees added at once take turns (the second then finds the first).
const LOCK_EMPLOYEES: &str = "LOCK TABLE employees IN SHARE ROW EXCLUSIVE MODE";
const INSERT_FIRST_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active) \
     SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM employees)";
const GET_EMPLOYEE: &str = "SELECT id, name, role, active FROM employees WHERE id = $1";
const UPSERT_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     role = excluded.role, active = excluded.active";
const LIST_EMPLOYEES: &str = "SELECT id, name, role, active FROM employees ORDER BY id";
const INSERT_CLIENT: &str = "INSERT INTO clients \
     (id, lead_id, name, email, phone, company, owner, created_at, phone_display) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (lead_id) DO NOTHING";
const CLIENT_OF: &str = "SELECT id FROM clients WHERE lead_id = $1";

// ---------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------

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

/// The lead store on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

/// A write transaction (READ COMMITTED; see the module docs for what makes it race-free).
struct WriteTx {
    tx: Transaction<'static, Postgres>,
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

impl PostgresStore {
    /// Connects to and migrates the database at `url`; see [`options`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = pool(url).await?;
        migrate(&pool).await?;
        Ok(Self::from_pool(pool))
    }

    /// A store over an existing pool, for hosts that configure and migrate it themselves
    /// (see [`migrator`]).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The embedded migrations.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The table-backed employee directory on the same database.
    pub fn employees(&self) -> PostgresEmployees {
        PostgresEmployees {
            pool: self.pool.clone(),
        }
    }

    /// The table-backed clients system on the same database.
    pub fn clients(&self) -> PostgresClients {
        PostgresClients {
            pool: self.pool.clone(),
        }
    }

    async fn begin(&self) -> Result<WriteTx, StoreError> {
        let tx = self.pool.begin().await.map_err(db)?;
        Ok(WriteTx { tx })
    }
}

// ---------------------------------------------------------------------------------------
// Statements inside a write transaction
// ---------------------------------------------------------------------------------------

async fn insert_lead_row(c: &mut PgConnection, lead: &Lead) -> Result<(), StoreError> {
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
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(to_i64(r.version)?)
        .bind(r.client_id.as_ref().map(|c| -> &str { c.as_ref() }))
        .bind(r.lost_reason.as_ref().map(|n| n.as_str()))
        .bind(r.last_interaction_at)
        .bind(r.follow_up_notified_at)
        .bind(lead.search_text())
        .bind(r.phone.as_ref().map(|p| p.display()))
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

/// A stable 64-bit key (FNV-1a) for an advisory lock on one normalised contact value.
fn contact_key(field: &str, value: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in field.bytes().chain([0]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// `Duplicate` naming the oldest open lead with the email, else with the phone. First takes
/// the advisory locks of the lead's email and phone (held until the transaction ends), so a
/// concurrent writer of the same contact data runs its check after this one committed.
async fn duplicate_of(c: &mut PgConnection, lead: &Lead) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = [
        lead.email().map(|e| contact_key("email", e.as_str())),
        lead.phone().map(|p| contact_key("phone", p.as_str())),
    ]
    .into_iter()
    .flatten()
    .collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query(LOCK_CONTACTS)
        .bind(keys)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let found = sqlx::query(DUPLICATE)
        .bind(lead.email().map(|e| e.as_str()))
        .bind(lead.phone().map(|p| p.as_str()))
        .bind(lead.id().as_uuid())
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
    c: &mut PgConnection,
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
            .bind(e.at)
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

async fn put_pending(c: &mut PgConnection, p: &PendingClient) -> Result<(), StoreError> {
    sqlx::query(UPSERT_PENDING)
        .bind(p.request.lead_id.as_uuid())
        .bind(json(&p.request)?)
        .bind(p.created_at)
        .bind(i64::from(p.attempts))
        .bind(p.last_error.as_deref())
        .bind(p.last_attempt_at)
        .bind(p.claimed_until)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(())
}

async fn append_events(c: &mut PgConnection, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        sqlx::query(INSERT_EVENT)
            .bind(e.id.as_uuid())
            .bind(e.at)
            .bind(e.lead_id.as_uuid())
            .bind(e.actor.map(EmployeeId::get))
            .bind(json(&e.kind)?)
            .bind(EVENTS_LOCK.0)
            .bind(EVENTS_LOCK.1)
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// History, pending client and events of a lead write.
async fn write_rest(c: &mut PgConnection, w: &LeadWrite) -> Result<(), StoreError> {
    append_history(c, w.lead.version(), w.lead.id(), &w.history).await?;
    if let Some(p) = &w.pending_client {
        put_pending(c, p).await?;
    }
    append_events(c, &w.events).await
}

async fn lead_exists(c: &mut PgConnection, id: LeadId) -> Result<bool, StoreError> {
    Ok(sqlx::query(LEAD_EXISTS)
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .is_some())
}

/// Why a change to a lead that must be writable matched no row.
async fn not_writable(c: &mut PgConnection, id: LeadId) -> Result<StoreError, StoreError> {
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

async fn insert_lead_in(c: &mut PgConnection, w: &LeadWrite) -> Result<(), StoreError> {
    insert_lead_row(c, &w.lead).await?;
    if w.check_duplicates {
        duplicate_of(c, &w.lead).await?;
    }
    write_rest(c, w).await
}

async fn update_lead_in(
    c: &mut PgConnection,
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
            .bind(r.updated_at)
            .bind(to_i64(r.version)?)
            .bind(r.lost_reason.as_ref().map(|n| n.as_str()))
            .bind(lead.search_text())
            .bind(id.as_uuid())
            .bind(to_i64(expected)?)
            .bind(r.phone.as_ref().map(|p| p.display()))
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
    c: &mut PgConnection,
    i: &Interaction,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let at = i.occurred_at;
    let touched = sqlx::query(TOUCH_INTERACTION)
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
        .bind(i.logged_at)
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
    c: &mut PgConnection,
    o: &Opportunity,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let inserted = sqlx::query(INSERT_OPPORTUNITY)
        .bind(o.id.as_uuid())
        .bind(o.title.as_str())
        .bind(o.value.minor())
        .bind(o.value.currency().code())
        .bind(o.expected_close)
        .bind(o.stage.as_str())
        .bind(o.created_by.get())
        .bind(o.created_at)
        .bind(o.updated_at)
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
    c: &mut PgConnection,
    expected: u64,
    w: &OpportunityWrite,
) -> Result<(), StoreError> {
    let (o, events) = (&w.opportunity, &w.events);
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
        Some(s) if w.lead_must_be_open && status_of(&s)?.is_read_only() => {
            return Err(StoreError::ReadOnly { lead: lead_id });
        }
        Some(_) => {}
    }
    sqlx::query(UPDATE_OPPORTUNITY)
        .bind(o.title.as_str())
        .bind(o.value.minor())
        .bind(o.value.currency().code())
        .bind(o.expected_close)
        .bind(o.stage.as_str())
        .bind(o.updated_at)
        .bind(to_i64(o.version)?)
        .bind(o.id.as_uuid())
        .bind(version)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    append_events(c, events).await
}

/// The follow-up claim (see [`LeadStore::claim_follow_ups`]) inside a write transaction.
async fn claim_follow_ups_in(
    c: &mut PgConnection,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let expired = sqlx::query_scalar::<_, String>(EXPIRED_NOTICES)
        .bind(claim.now)
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
        sqlx::query(LEADS_BY_ID)
            .bind(
                expired
                    .iter()
                    .map(|n| n.lead_id.as_uuid())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *c)
            .await
            .map_err(db)?
            .iter()
            .map(rows::lead)
            .collect::<Result<Vec<_>, _>>()?
    };
    let (mut notices, moot) = claims::take_over(expired, leads);
    if !notices.is_empty() {
        sqlx::query(RENEW_NOTICES)
            .bind(claim.lease_until)
            .bind(notices.iter().map(|n| n.id.as_uuid()).collect::<Vec<_>>())
            .bind(notices.iter().map(json).collect::<Result<Vec<_>, _>>()?)
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    if !moot.is_empty() {
        sqlx::query(DELETE_NOTICES)
            .bind(moot.iter().map(|id| id.as_uuid()).collect::<Vec<_>>())
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    let room = claims::room(claim.limit, notices.len());
    if room == 0 {
        return Ok(notices);
    }
    let due = sqlx::query(DUE_FOLLOW_UPS)
        .bind(claim.cutoff)
        .bind(i64::from(room))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
    if due.is_empty() {
        return Ok(notices);
    }
    let fresh = claims::fresh(&due, claim.at);
    let lead_ids: Vec<Uuid> = due.iter().map(|l| l.id().as_uuid()).collect();
    sqlx::query(MARK_NOTIFIED)
        .bind(claim.at)
        .bind(&lead_ids)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    sqlx::query(INSERT_NOTICES)
        .bind(fresh.iter().map(|n| n.id.as_uuid()).collect::<Vec<_>>())
        .bind(&lead_ids)
        .bind(fresh.iter().map(json).collect::<Result<Vec<_>, _>>()?)
        .bind(claim.lease_until)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    notices.extend(fresh);
    Ok(notices)
}

async fn complete_conversion_in(
    c: &mut PgConnection,
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

async fn ack_events_in(c: &mut PgConnection, up_to: u64) -> Result<u64, StoreError> {
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
impl LeadStore for PostgresStore {
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
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db)?;
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
        let mut qb = QueryBuilder::<Postgres>::new(LIST_HEAD);
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
            qb.push(" AND strpos(search_text, ")
                .push_bind(k.to_owned())
                .push(") > 0");
        }
        if let Some(c) = query.after {
            qb.push(" AND (created_at, id) < (")
                .push_bind(c.created_at)
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
        let mut qb = QueryBuilder::<Postgres>::new(REPORT_HEAD);
        if let Some(o) = filter.owner {
            qb.push(" AND owner = ").push_bind(o.get());
        }
        if let Some(s) = &filter.source {
            qb.push(" AND source = ").push_bind(s.as_str().to_owned());
        }
        if let Some(f) = filter.created_from {
            qb.push(" AND created_at >= ").push_bind(f);
        }
        if let Some(t) = filter.created_to {
            qb.push(" AND created_at < ").push_bind(t);
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
        write: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        let r = update_opportunity_in(&mut w.tx, expected_version, write).await;
        w.finish(r).await
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut w = self.begin().await?;
        let r = claim_follow_ups_in(&mut w.tx, claim).await;
        w.finish(r).await
    }

    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
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
        sqlx::query(RELEASE_NOTICE)
            .bind(at)
            .bind(error)
            .bind(id.as_uuid())
            .bind(claimed_until)
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

    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        let claimed = sqlx::query(CLAIM_PENDING)
            .bind(lease_until)
            .bind(now)
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
        sqlx::query(RELEASE_PENDING)
            .bind(lead_id.as_uuid())
            .bind(claimed_until)
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
        sqlx::query(CONVERSION_FAILED)
            .bind(error)
            .bind(at)
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
pub struct PostgresEmployees {
    pool: PgPool,
}

impl PostgresEmployees {
    /// A directory over an existing (migrated) pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl EmployeeDirectory for PostgresEmployees {
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

async fn insert_first_employee_in(c: &mut PgConnection, e: &Employee) -> Result<bool, StoreError> {
    sqlx::query(LOCK_EMPLOYEES)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let n = sqlx::query(INSERT_FIRST_EMPLOYEE)
        .bind(e.id.get())
        .bind(e.name.as_str())
        .bind(e.role.as_str())
        .bind(e.active)
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    Ok(n == 1)
}

#[async_trait]
impl EmployeeAdmin for PostgresEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        sqlx::query(UPSERT_EMPLOYEE)
            .bind(employee.id.get())
            .bind(employee.name.as_str())
            .bind(employee.role.as_str())
            .bind(employee.active)
            .execute(&self.pool)
            .await
            .map_err(|e| PortError::new("employees", db(e)))?;
        Ok(())
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        let run = async {
            let mut tx = self.pool.begin().await.map_err(db)?;
            let added = insert_first_employee_in(&mut tx, employee).await?;
            tx.commit().await.map_err(db)?;
            Ok::<_, StoreError>(added)
        };
        run.await.map_err(|e| PortError::new("employees", e))
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
pub struct PostgresClients {
    pool: PgPool,
}

impl PostgresClients {
    /// A clients system over an existing (migrated) pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ClientsPort for PostgresClients {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        let err = |e: StoreError| PortError::new("clients", e);
        let new_id = crate::client_id_for(req.lead_id).map_err(|e| PortError::new("clients", e))?;
        {
            sqlx::query(INSERT_CLIENT)
                .bind(AsRef::<str>::as_ref(&new_id))
                .bind(req.lead_id.as_uuid())
                .bind(req.name.as_str())
                .bind(req.email.as_ref().map(|e| e.as_str()))
                .bind(req.phone.as_ref().map(|p| p.as_str()))
                .bind(req.company.as_ref().map(|n| n.as_str()))
                .bind(req.owner.get())
                .bind(Utc::now())
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
