#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, nightly): each feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
// With one backend compiled in, the other's share of the shared modules is unused.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_imports, unused_macros)
)]

/// What makes a lead open, in SQL: status `new`, `contacted` or `interested`, and not merged
/// into another. The status is written as three comparisons, as the SQLite partial indexes
/// `leads_open_email` and `leads_open_phone` are (SQLite builds a temporary B-tree for a
/// longer `IN` list), so statements with it use them; PostgreSQL proves its indexes'
/// `IN (...)` predicate from it.
macro_rules! open_lead {
    () => {
        "(status = 'new' OR status = 'contacted' OR status = 'interested') \
         AND merged_into IS NULL"
    };
}
pub(crate) use open_lead;

// The modules below are written once for both backends (SQL with `$n` parameters, values
// bound through `bind::Binds`, statements run through `db::Db`); `sqlite` and `postgres` keep
// only what differs: transactions, time encoding, locking.
mod assignment;
mod bind;
mod commit;
mod db;
mod directory;
mod duplicates;
mod error;
mod events;
mod follow_up;
mod import;
mod lead_writes;
mod migrations;
mod outbox;
mod reads;
mod records;
mod reports;
mod rows;
mod scoring;
mod stage_probabilities;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

use crm_core::{ClientId, ClientsPort, LeadId, LeadStore, StoreError, ValidationError};
use sqlx::migrate::Migrator;

pub use crm_core::EmployeeAdmin;

#[cfg(feature = "postgres")]
pub use postgres::{
    PostgresClients, PostgresEmployees, PostgresStore, fresh_schema as postgres_fresh_schema,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteClients, SqliteEmployees, SqliteStore};

/// Everything [`connect`] opens on one database: the lead store, and the table-backed
/// employee directory and clients system (hosts with their own use their own ports).
pub struct Connected {
    /// The lead store.
    pub store: Arc<dyn LeadStore>,
    /// The `employees` table as a directory.
    pub employees: Arc<dyn EmployeeAdmin>,
    /// The `clients` table as a clients system.
    pub clients: Arc<dyn ClientsPort>,
}

/// Opens the database at `url`, applies the embedded migrations, and returns the store and
/// the table-backed ports. The backend follows the scheme: `postgres://` or `postgresql://`
/// is PostgreSQL (feature `postgres`); `sqlite:` or a plain file path is SQLite (feature
/// `sqlite`, the file is created if missing). A database migrated by newer code is refused
/// with [`StoreError::SchemaTooNew`].
pub async fn connect(url: &str) -> Result<Connected, StoreError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = PostgresStore::connect(url).await?;
            return Ok(Connected {
                employees: Arc::new(store.employees()),
                clients: Arc::new(store.clients()),
                store: Arc::new(store),
            });
        }
        #[cfg(not(feature = "postgres"))]
        return Err(unsupported(
            "PostgreSQL needs the `postgres` feature of crm-store-sqlx",
        ));
    }
    if url.contains("://") && !url.starts_with("sqlite:") {
        return Err(unsupported(
            "unsupported database URL: use sqlite://path, a file path, or postgres://...",
        ));
    }
    #[cfg(feature = "sqlite")]
    {
        let store = SqliteStore::connect(url).await?;
        Ok(Connected {
            employees: Arc::new(store.employees()),
            clients: Arc::new(store.clients()),
            store: Arc::new(store),
        })
    }
    #[cfg(not(feature = "sqlite"))]
    Err(unsupported(
        "SQLite needs the `sqlite` feature of crm-store-sqlx",
    ))
}

#[allow(dead_code)] // unused when both backends are compiled in
fn unsupported(msg: &'static str) -> StoreError {
    StoreError::Backend(msg.into())
}

/// Maps a database error to the core's [`StoreError`] the way the stores do: a busy or locked
/// database, or a transaction that lost a race it may retry (SQLite `SQLITE_BUSY`/`LOCKED`;
/// PostgreSQL serialization failure, deadlock, lock not available), is
/// [`StoreError::Busy`]; anything else is [`StoreError::Backend`]. For hosts that run their
/// own statements on the same pool.
pub fn store_error(e: sqlx::Error) -> StoreError {
    error::db(e)
}

/// Refuses a database whose newest applied migration is newer than any `migrator` knows.
#[allow(dead_code)] // unused when no backend is compiled in
pub(crate) fn check_schema_version(
    found: Option<i64>,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match found {
        Some(found) if found > supported => Err(StoreError::SchemaTooNew { found, supported }),
        _ => Ok(()),
    }
}

/// The id the table-backed clients system gives the client of a lead.
#[allow(dead_code)] // unused when no backend is compiled in
pub(crate) fn client_id_for(lead: LeadId) -> Result<ClientId, ValidationError> {
    ClientId::parse(&format!("client-{lead}"))
}
