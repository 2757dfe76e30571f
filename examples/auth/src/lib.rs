//! The server's own records, in the crm database but in tables of its own: employees'
//! password hashes (argon2), failed sign-ins and locks, API tokens and browser sessions
//! (both stored as SHA-256 hashes of random 32-byte secrets, so a copy of the database
//! signs no one in), and each employee's saved lead-list filters. Shared with the `crm employee set-password` command.
//!
//! The tables are created by [`AuthStore::open`] on the server's own pool, with
//! `CREATE TABLE IF NOT EXISTS` in one transaction, never through sqlx's migration table,
//! which belongs to crm-store-sqlx.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{Clock, EmployeeId, StoreError};
use sha2::{Digest, Sha256};

/// The statements that create the server's tables, the same on SQLite and PostgreSQL.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS server_credentials (employee_id BIGINT PRIMARY KEY, \
     password_hash TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS server_signin_failures (employee_id BIGINT PRIMARY KEY, \
     failures BIGINT NOT NULL, locked_until BIGINT)",
    "CREATE TABLE IF NOT EXISTS server_tokens (id TEXT PRIMARY KEY, employee_id BIGINT NOT NULL, \
     token_hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL, created_at BIGINT NOT NULL, \
     expires_at BIGINT NOT NULL, revoked_at BIGINT)",
    "CREATE TABLE IF NOT EXISTS server_sessions (id_hash TEXT PRIMARY KEY, \
     employee_id BIGINT NOT NULL, csrf TEXT NOT NULL, created_at BIGINT NOT NULL, \
     expires_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS server_saved_filters (id TEXT PRIMARY KEY, \
     employee_id BIGINT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL, \
     created_at BIGINT NOT NULL, UNIQUE (employee_id, name))",
];

/// The most filters an employee keeps.
pub const MAX_SAVED_FILTERS: usize = 50;

/// Saving under a name the employee used already replaces that filter's query.
const SAVE_FILTER: &str = "INSERT INTO server_saved_filters (id, employee_id, name, query, \
     created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (employee_id, name) \
     DO UPDATE SET query = excluded.query";
const COUNT_FILTERS: &str = "SELECT COUNT(*) FROM server_saved_filters WHERE employee_id = $1 \
     AND name <> $2";
const LIST_FILTERS: &str = "SELECT id, name, query, created_at FROM server_saved_filters \
     WHERE employee_id = $1 ORDER BY name";
const DELETE_FILTER: &str = "DELETE FROM server_saved_filters WHERE id = $1 AND employee_id = $2";

const UPSERT_PASSWORD: &str = "INSERT INTO server_credentials (employee_id, password_hash, updated_at) \
     VALUES ($1, $2, $3) ON CONFLICT (employee_id) DO UPDATE SET password_hash = excluded.password_hash, \
     updated_at = excluded.updated_at";
const GET_PASSWORD: &str = "SELECT password_hash FROM server_credentials WHERE employee_id = $1";
/// Takes a sign-in attempt's place in the count before its password is looked at, in one
/// statement, so parallel attempts (on any number of server processes sharing the database)
/// cannot all pass a check made before any of them is counted. `failures` counts failed
/// attempts and those still being verified; an expired lock starts the count again. The
/// attempt that reaches the limit ($3) sets the lock itself, so a process that dies while
/// verifying leaves at worst a lock that ends. The attempt may verify when the count it
/// returns is at most the limit.
const TAKE_ATTEMPT: &str = "INSERT INTO server_signin_failures AS f (employee_id, failures, \
     locked_until) VALUES ($1, 1, CASE WHEN CAST($3 AS BIGINT) <= 1 THEN CAST($4 AS BIGINT) END) \
     ON CONFLICT (employee_id) DO UPDATE SET \
     failures = CASE WHEN f.locked_until <= CAST($2 AS BIGINT) THEN 1 ELSE f.failures + 1 END, \
     locked_until = CASE \
         WHEN f.locked_until <= CAST($2 AS BIGINT) THEN \
             CASE WHEN CAST($3 AS BIGINT) <= 1 THEN CAST($4 AS BIGINT) END \
         WHEN f.locked_until IS NULL AND f.failures + 1 >= CAST($3 AS BIGINT) \
             THEN CAST($4 AS BIGINT) \
         ELSE f.locked_until END \
     RETURNING failures, locked_until";
const CLEAR_FAILURES: &str = "DELETE FROM server_signin_failures WHERE employee_id = $1";
const INSERT_TOKEN: &str = "INSERT INTO server_tokens (id, employee_id, token_hash, label, created_at, \
     expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)";
const FIND_TOKEN: &str = "SELECT id, employee_id FROM server_tokens WHERE token_hash = $1 \
     AND revoked_at IS NULL AND expires_at > $2";
const REVOKE_TOKEN: &str = "UPDATE server_tokens SET revoked_at = $3 WHERE id = $1 \
     AND employee_id = $2 AND revoked_at IS NULL";
const LIST_TOKENS: &str = "SELECT id, label, created_at, expires_at FROM server_tokens \
     WHERE employee_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at, id";
const INSERT_SESSION: &str = "INSERT INTO server_sessions (id_hash, employee_id, csrf, created_at, \
     expires_at) VALUES ($1, $2, $3, $4, $5)";
const FIND_SESSION: &str =
    "SELECT employee_id, csrf FROM server_sessions WHERE id_hash = $1 AND expires_at > $2";
const DELETE_SESSION: &str = "DELETE FROM server_sessions WHERE id_hash = $1";
const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM server_sessions WHERE expires_at <= $1";
/// Revokes every live token of an employee but the one kept (`''` keeps none).
const REVOKE_OTHER_TOKENS: &str = "UPDATE server_tokens SET revoked_at = $3 WHERE employee_id = $1 \
     AND revoked_at IS NULL AND id <> $2";
/// Ends every session of an employee but the one kept (`''` keeps none).
const DELETE_OTHER_SESSIONS: &str =
    "DELETE FROM server_sessions WHERE employee_id = $1 AND id_hash <> $2";

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD: usize = 10;
/// The longest password accepted, in characters (argon2 takes any length; a bound keeps a
/// request from buying a long hash).
pub const MAX_PASSWORD: usize = 256;

/// A failure of the server's own records.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The password given to be set is too short or too long.
    #[error("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    WeakPassword,
    /// The employee id and password do not match (or no password is set).
    #[error("the employee id or the password is wrong")]
    BadCredentials,
    /// Too many failed sign-ins: the employee is locked out until the time given.
    #[error("too many failed sign-ins; try again after {until}")]
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
        /// Seconds until then, rounded up (the `Retry-After` of the answer).
        retry_after: u64,
    },
    /// The token or session is unknown, expired or revoked.
    #[error("the credentials are missing, expired or revoked")]
    Unauthenticated,
    /// The database failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Store(crm_store_sqlx::store_error(e))
    }
}

/// How sign-ins are guarded and how long credentials live.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Failed sign-ins in a row that lock the employee.
    pub max_failures: u32,
    /// How long the lock lasts.
    pub lock_for: TimeDelta,
    /// The pause after each failed sign-in, times the failures so far.
    pub delay_step: Duration,
    /// How long an API token is valid.
    pub token_ttl: TimeDelta,
    /// How long a browser session is valid.
    pub session_ttl: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_for: TimeDelta::minutes(15),
            delay_step: Duration::from_millis(250),
            token_ttl: TimeDelta::days(90),
            session_ttl: TimeDelta::hours(12),
        }
    }
}

#[derive(Clone, Debug)]
enum Db {
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs the same code over whichever pool the store has (the SQL is the same on both).
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            Db::Postgres($pool) => $body,
        }
    };
}

/// A token just issued: the secret is shown once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The token's id (to revoke it).
    pub id: String,
    /// The secret to send as `Authorization: Bearer`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A live token of an employee (without its secret).
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// The id.
    pub id: String,
    /// What it was issued for.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A lead-list filter an employee saved under a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFilter {
    /// The id.
    pub id: String,
    /// Its name, as the employee gave it.
    pub name: String,
    /// The list's query string (`status=new&mine=true`), as the server checked it.
    pub query: String,
    /// When it was first saved.
    pub created_at: DateTime<Utc>,
}

/// A signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who signed in.
    pub employee: EmployeeId,
    /// The form token every form of this session carries.
    pub csrf: String,
}

/// Passwords, tokens and sessions in the crm database.
#[derive(Clone)]
pub struct AuthStore {
    db: Db,
    clock: Arc<dyn Clock>,
    policy: Policy,
}

impl std::fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStore")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// 32 random bytes as hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a secret.
fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (digest(a), digest(b));
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn hash_password(password: &str) -> Result<String, AuthError> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Hash)
}

fn verify_password(password: &str, hash: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of no one's password, checked when an employee has none, so the answer takes the
/// same time either way.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

/// Refuses a password to be set that is too short or too long.
fn check_length(password: &str) -> Result<(), AuthError> {
    let len = password.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        Ok(())
    } else {
        Err(AuthError::WeakPassword)
    }
}

/// Whole seconds from `now` until `until`, rounded up (a `Retry-After` value).
fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0);
    u64::try_from(ms).unwrap_or(0).div_ceil(1000)
}

/// The credential a request was made with, kept when the employee's others are ended.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An API token, by id.
    Token(String),
    /// A browser session, by its cookie.
    Session(String),
}

/// The stored ids of the token and session to keep (`''` matches none).
fn keep_ids(keep: Option<&Credential>) -> (String, String) {
    match keep {
        Some(Credential::Token(id)) => (id.clone(), String::new()),
        Some(Credential::Session(cookie)) => (String::new(), digest(cookie)),
        None => (String::new(), String::new()),
    }
}

/// Revokes an employee's tokens but one and ends their sessions but one (stored ids, `''`
/// for none), inside the transaction `$tx`; a macro because the pool's type differs per arm
/// of [`on_db!`].
macro_rules! end_credentials_in {
    ($tx:ident, $employee:expr, $token:expr, $session:expr, $now:expr) => {
        sqlx::query(REVOKE_OTHER_TOKENS)
            .bind($employee.get())
            .bind(&$token)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(DELETE_OTHER_SESSIONS)
            .bind($employee.get())
            .bind(&$session)
            .execute(&mut *$tx)
            .await?;
    };
}

impl AuthStore {
    /// Opens the server's own pool on the crm database at `url` (the same forms as
    /// `crm_store_sqlx::connect`) and creates its tables if missing.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, policy: Policy) -> Result<Self, AuthError> {
        let url = url.trim();
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                Db::Postgres(crm_store_sqlx::postgres::pool(url).await?)
            }
            #[cfg(not(feature = "postgres"))]
            return Err(AuthError::Store(StoreError::Backend(
                "PostgreSQL needs the `postgres` feature".into(),
            )));
        } else {
            Db::Sqlite(crm_store_sqlx::sqlite::pool(url).await?)
        };
        on_db!(&db, |pool| {
            let mut tx = pool.begin().await?;
            for stmt in SCHEMA {
                sqlx::query(*stmt).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(Self { db, clock, policy })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sets (or replaces) an employee's password, and in the same transaction ends their
    /// sessions and tokens but `keep` (a changed password must shut out whoever held the
    /// old one). Whether the caller may do so is the caller's to check first (see
    /// [`may_set_password`]).
    pub async fn set_password(
        &self,
        employee: EmployeeId,
        password: &str,
        keep: Option<&Credential>,
    ) -> Result<(), AuthError> {
        check_length(password)?;
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| AuthError::Hash)??;
        let now = micros(self.now());
        let (token, session) = keep_ids(keep);
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(UPSERT_PASSWORD)
                .bind(employee.get())
                .bind(&hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            end_credentials_in!(tx, employee, token, session, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Checks a sign-in. Each attempt is counted in the database before its password is
    /// looked at, in one statement, so of any number of attempts at once, on any number
    /// of servers over one database, at most [`Policy::max_failures`] in a row are verified;
    /// the one that reaches the limit locks the employee for [`Policy::lock_for`], and a
    /// locked employee is refused without looking at the password. Each failure is paid for
    /// with a pause. A success clears the count.
    pub async fn check_password(
        &self,
        employee: EmployeeId,
        password: &str,
    ) -> Result<(), AuthError> {
        let id = employee.get();
        let now = self.now();
        let max = i64::from(self.policy.max_failures.max(1));
        let lock_until = now + self.policy.lock_for;
        let (attempt, locked): (i64, Option<i64>) = on_db!(&self.db, |pool| {
            sqlx::query_as(TAKE_ATTEMPT)
                .bind(id)
                .bind(micros(now))
                .bind(max)
                .bind(micros(lock_until))
                .fetch_one(pool)
                .await?
        });
        if attempt > max {
            let until = locked.map_or(lock_until, from_micros);
            return Err(AuthError::Locked {
                until,
                retry_after: seconds_until(now, until),
            });
        }
        let stored: Option<String> = on_db!(&self.db, |pool| {
            sqlx::query_scalar(GET_PASSWORD)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || match stored {
            Some(hash) if password.chars().count() <= MAX_PASSWORD => {
                verify_password(&password, &hash)
            }
            _ => {
                verify_password(&password, decoy_hash());
                false
            }
        })
        .await
        .map_err(|_| AuthError::Hash)?;
        if ok {
            on_db!(&self.db, |pool| {
                sqlx::query(CLEAR_FAILURES).bind(id).execute(pool).await?;
            });
            return Ok(());
        }
        let steps = u32::try_from(attempt.clamp(1, 8)).unwrap_or(1);
        tokio::time::sleep(self.policy.delay_step * steps).await;
        Err(AuthError::BadCredentials)
    }

    /// Ends every session and revokes every token of `employee` except `keep` (the one a
    /// password change was made with): after a password change, and when the employee
    /// leaves.
    pub async fn end_credentials(
        &self,
        employee: EmployeeId,
        keep: Option<&Credential>,
    ) -> Result<(), AuthError> {
        let now = micros(self.now());
        let (token, session) = keep_ids(keep);
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            end_credentials_in!(tx, employee, token, session, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Issues an API token for `employee` (who has just proved who they are).
    pub async fn issue_token(
        &self,
        employee: EmployeeId,
        label: &str,
    ) -> Result<IssuedToken, AuthError> {
        let token = format!("crm_{}", new_secret());
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let expires_at = now + self.policy.token_ttl;
        let label: String = label.chars().take(100).collect();
        on_db!(&self.db, |pool| {
            sqlx::query(INSERT_TOKEN)
                .bind(&id)
                .bind(employee.get())
                .bind(digest(&token))
                .bind(&label)
                .bind(micros(now))
                .bind(micros(expires_at))
                .execute(pool)
                .await?;
        });
        Ok(IssuedToken {
            id,
            token,
            expires_at,
        })
    }

    /// The token's id and employee, if it is live.
    pub async fn token_owner(&self, token: &str) -> Result<(String, EmployeeId), AuthError> {
        let now = micros(self.now());
        let row: Option<(String, i64)> = on_db!(&self.db, |pool| {
            sqlx::query_as(FIND_TOKEN)
                .bind(digest(token))
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        let (id, employee) = row.ok_or(AuthError::Unauthenticated)?;
        let employee = EmployeeId::new(employee).map_err(|_| AuthError::Unauthenticated)?;
        Ok((id, employee))
    }

    /// Revokes one of `employee`'s own tokens; false when they have no such live token.
    pub async fn revoke_token(&self, employee: EmployeeId, id: &str) -> Result<bool, AuthError> {
        let now = micros(self.now());
        let n = on_db!(&self.db, |pool| {
            sqlx::query(REVOKE_TOKEN)
                .bind(id)
                .bind(employee.get())
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// `employee`'s live tokens, oldest first.
    pub async fn tokens(&self, employee: EmployeeId) -> Result<Vec<TokenInfo>, AuthError> {
        let now = micros(self.now());
        let rows: Vec<(String, String, i64, i64)> = on_db!(&self.db, |pool| {
            sqlx::query_as(LIST_TOKENS)
                .bind(employee.get())
                .bind(now)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, label, c, e)| TokenInfo {
                id,
                label,
                created_at: from_micros(c),
                expires_at: from_micros(e),
            })
            .collect())
    }

    /// Saves `query` as `employee`'s filter `name` (replacing the query of one they saved
    /// under that name). `Ok(None)` when they keep [`MAX_SAVED_FILTERS`] others already.
    /// The caller checks the name and the query.
    pub async fn save_filter(
        &self,
        employee: EmployeeId,
        name: &str,
        query: &str,
    ) -> Result<Option<SavedFilter>, AuthError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = micros(self.now());
        let saved = on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let (others,): (i64,) = sqlx::query_as(COUNT_FILTERS)
                .bind(employee.get())
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
            if usize::try_from(others).unwrap_or(usize::MAX) >= MAX_SAVED_FILTERS {
                false
            } else {
                sqlx::query(SAVE_FILTER)
                    .bind(&id)
                    .bind(employee.get())
                    .bind(name)
                    .bind(query)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                true
            }
        });
        if !saved {
            return Ok(None);
        }
        Ok(self
            .saved_filters(employee)
            .await?
            .into_iter()
            .find(|f| f.name == name))
    }

    /// `employee`'s saved filters, by name.
    pub async fn saved_filters(&self, employee: EmployeeId) -> Result<Vec<SavedFilter>, AuthError> {
        let rows: Vec<(String, String, String, i64)> = on_db!(&self.db, |pool| {
            sqlx::query_as(LIST_FILTERS)
                .bind(employee.get())
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, query, c)| SavedFilter {
                id,
                name,
                query,
                created_at: from_micros(c),
            })
            .collect())
    }

    /// Deletes `employee`'s filter `id`; whether they had it.
    pub async fn delete_filter(&self, employee: EmployeeId, id: &str) -> Result<bool, AuthError> {
        let n = on_db!(&self.db, |pool| {
            sqlx::query(DELETE_FILTER)
                .bind(id)
                .bind(employee.get())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Starts a browser session; returns the cookie value and the session.
    pub async fn start_session(
        &self,
        employee: EmployeeId,
    ) -> Result<(String, Session), AuthError> {
        let cookie = new_secret();
        let csrf = new_secret();
        let now = self.now();
        let expires = now + self.policy.session_ttl;
        on_db!(&self.db, |pool| {
            sqlx::query(DELETE_EXPIRED_SESSIONS)
                .bind(micros(now))
                .execute(pool)
                .await?;
            sqlx::query(INSERT_SESSION)
                .bind(digest(&cookie))
                .bind(employee.get())
                .bind(&csrf)
                .bind(micros(now))
                .bind(micros(expires))
                .execute(pool)
                .await?;
        });
        Ok((cookie, Session { employee, csrf }))
    }

    /// The live session a cookie names.
    pub async fn session(&self, cookie: &str) -> Result<Session, AuthError> {
        let now = micros(self.now());
        let row: Option<(i64, String)> = on_db!(&self.db, |pool| {
            sqlx::query_as(FIND_SESSION)
                .bind(digest(cookie))
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        let (employee, csrf) = row.ok_or(AuthError::Unauthenticated)?;
        let employee = EmployeeId::new(employee).map_err(|_| AuthError::Unauthenticated)?;
        Ok(Session { employee, csrf })
    }

    /// Ends the session a cookie names (nothing when there is none).
    pub async fn end_session(&self, cookie: &str) -> Result<(), AuthError> {
        on_db!(&self.db, |pool| {
            sqlx::query(DELETE_SESSION)
                .bind(digest(cookie))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// Whether `actor` may set `target`'s password: the employee themself, or whoever the
/// library lets manage employees (its own rule, [`crm_core::permissions::authorize`]).
pub fn may_set_password(actor: &crm_core::Employee, target: EmployeeId) -> bool {
    (actor.active && actor.id == target)
        || crm_core::permissions::authorize(actor, crm_core::Action::ManageEmployees, None).is_ok()
}

/// Why a password was not set.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    /// The library refused or failed (unknown actor, storage).
    #[error(transparent)]
    Crm(#[from] crm_core::CrmError),
    /// The actor may not set this employee's password.
    #[error("forbidden: {actor} may not set the password of employee {target}")]
    Forbidden {
        /// Who tried.
        actor: EmployeeId,
        /// Whose password.
        target: EmployeeId,
    },
    /// No such employee.
    #[error("employee {0} not found")]
    NotFound(EmployeeId),
    /// An employee changing their own password did not give the current one.
    #[error("give your current password to change it")]
    CurrentPasswordRequired,
    /// An employee changing their own password gave a wrong current one.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// The password is refused, or storing it failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// How an employee who sets their own password proves that it is them.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    /// The current password, from a person at a page or the API (`None`: not given): a
    /// stolen session or token alone must not be able to take the account over. A wrong one
    /// counts as a failed sign-in.
    CurrentPassword(Option<&'a str>),
    /// Access to the database itself (the `crm` tool, whose user could change any table).
    Database,
}

/// Sets `target`'s password as `actor`: the employee themself (proving it with `proof`) or
/// management (the library's rule decides who is management), for an employee in the
/// directory. The employee's sessions and tokens end, but `keep` (the credential of the
/// request that made the change). The CLI's `employee set-password` and the server share it.
pub async fn set_password_as(
    crm: &crm_core::Crm,
    auth: &AuthStore,
    actor: EmployeeId,
    target: EmployeeId,
    password: &str,
    proof: Proof<'_>,
    keep: Option<&Credential>,
) -> Result<(), SetPasswordError> {
    let me = crm
        .employee(actor, actor)
        .await?
        .ok_or(crm_core::CrmError::UnknownActor(actor))?;
    if !may_set_password(&me, target) {
        return Err(SetPasswordError::Forbidden { actor, target });
    }
    if crm.employee(actor, target).await?.is_none() {
        return Err(SetPasswordError::NotFound(target));
    }
    // A password that would be refused costs no check of the current one (and no attempt
    // towards the lock).
    check_length(password)?;
    if actor == target {
        match proof {
            Proof::CurrentPassword(None) => return Err(SetPasswordError::CurrentPasswordRequired),
            Proof::CurrentPassword(Some(current)) => {
                match auth.check_password(actor, current).await {
                    Ok(()) => {}
                    Err(AuthError::BadCredentials) => {
                        return Err(SetPasswordError::WrongCurrentPassword);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Proof::Database => {}
        }
    }
    auth.set_password(target, password, keep).await?;
    Ok(())
}
