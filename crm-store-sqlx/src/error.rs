//! Database errors mapped to the core's [`StoreError`] by meaning.

use crm_core::{Entity, LeadStatus, StoreError};

/// Maps a database error that no caller handles by meaning: a database that stayed busy
/// (SQLite `SQLITE_BUSY`/`SQLITE_LOCKED`, PostgreSQL serialization failure, deadlock or lock
/// timeout, or no pooled connection in time) is [`StoreError::Busy`]; anything else is
/// [`StoreError::Backend`], with the sqlx error kept as the source.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if is_busy(&e) {
        StoreError::Busy(Box::new(e))
    } else {
        StoreError::Backend(Box::new(e))
    }
}

/// Whether the database was busy or locked, or the transaction lost a race it can retry
/// (see [`db`]). Each backend's codes are read only from that backend's errors: PostgreSQL's
/// SQLSTATEs are numbers too, and read as SQLite codes they meant nonsense (`42501`,
/// insufficient privilege, has SQLite's busy code in its low byte).
pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => busy_code(d.as_ref()),
        _ => false,
    }
}

fn busy_code(d: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite reports (extended) result codes as numbers: the primary code is the low
        // byte. 5 = SQLITE_BUSY, 6 = SQLITE_LOCKED.
        return d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|n| matches!(n & 0xff, 5 | 6));
    }
    #[cfg(feature = "postgres")]
    if let Some(p) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // serialization_failure, deadlock_detected, lock_not_available: the transaction was
        // rolled back whole and may be retried.
        return matches!(p.code(), "40001" | "40P01" | "55P03");
    }
    let _ = d;
    false
}

/// Whether `e` is a unique or primary key violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// A statement of a commit that failed: the error as the store reports it, and whether it
/// broke a unique key (which the commit reports as the refusal that key stands for).
pub(crate) struct Failed {
    pub(crate) unique: bool,
    pub(crate) error: StoreError,
}

impl From<sqlx::Error> for Failed {
    fn from(e: sqlx::Error) -> Self {
        Self {
            unique: is_unique_violation(&e),
            error: db(e),
        }
    }
}

impl From<Failed> for StoreError {
    fn from(f: Failed) -> Self {
        f.error
    }
}

/// `NotFound` for `entity` `id`.
pub(crate) fn not_found(entity: Entity, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

/// `Conflict` for `entity` `id` read at `expected`.
pub(crate) fn conflict(entity: Entity, id: impl ToString, expected: u64) -> StoreError {
    StoreError::Conflict {
        entity,
        id: id.to_string(),
        expected,
    }
}

/// A stored status.
pub(crate) fn status_of(s: &str) -> Result<LeadStatus, StoreError> {
    s.parse()
        .map_err(|e: crm_core::ValidationError| crate::rows::corrupt("lead status")(e.into()))
}
