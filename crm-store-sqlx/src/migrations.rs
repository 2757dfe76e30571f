//! The embedded migrations of both backends, built the way `sqlx::migrate!` builds them
//! (version and description from the file name, the checksum of the text), without sqlx's
//! macros: the macros build a second copy of sqlx and SQLite for the compiler, which doubled
//! the C build of the first command a newcomer runs. A database migrated by either way reads
//! the same version and checksum.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(file name, text)` of each of a folder's migrations, oldest first.
macro_rules! files {
    ($dir:literal: $($name:literal,)*) => {
        &[$((
            concat!($name, ".sql"),
            include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        )),*]
    };
}

/// The SQLite migrations.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: &[(&str, &str)] = files!("sqlite":
    "20260101000001_leads",
    "20260101000002_lead_records",
    "20260101000003_events",
    "20260101000004_directory",
    "20260101000005_write_checks",
    "20260101000006_lead_counts",
    "20260101000007_claims",
    "20260101000008_phone_display",
    "20260101000009_leaner_writes",
    "20260101000010_teams_and_assignment",
    "20260101000011_sales_process",
    "20260101000012_merge",
    "20260101000013_import_keys",
    "20260101000014_stage_probabilities",
    "20260101000016_postgres_perf",
    "20260101000018_plain_commits",
    "20260101000019_lead_scoring",
    "20260101000020_captures",
);

/// The PostgreSQL migrations.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[(&str, &str)] = files!("postgres":
    "20260101000001_leads",
    "20260101000002_lead_records",
    "20260101000003_events",
    "20260101000004_directory",
    "20260101000007_claims",
    "20260101000008_phone_display",
    "20260101000010_teams_and_assignment",
    "20260101000011_sales_process",
    "20260101000012_merge",
    "20260101000013_import_keys",
    "20260101000014_stage_probabilities",
    "20260101000016_one_trip_writes_and_counts",
    "20260101000017_merged_leads_leave_duplicate_checks",
    "20260101000018_plain_commits",
    "20260101000019_lead_scoring",
    "20260101000020_captures",
);

/// The migrator of one backend's files.
pub(crate) fn migrator(files: &'static [(&'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(name, sql)| migration(name, sql))
            .collect(),
    )
}

/// One migration as `sqlx::migrate!` reads it: `<version>_<description>.sql`, the
/// description with `_` read as spaces; `-- no-transaction` first opts out of the
/// transaction.
fn migration(name: &'static str, sql: &'static str) -> Migration {
    let (version, rest) = name.split_once('_').unwrap_or((name, ""));
    let migration_type = MigrationType::from_filename(rest);
    let description = rest
        .trim_end_matches(migration_type.suffix())
        .replace('_', " ");
    Migration::new(
        // The file names are ours and checked by a test; a bad one could only be 0.
        version.parse().unwrap_or(0),
        Cow::Owned(description),
        migration_type,
        SqlStr::from_static(sql),
        sql.starts_with("-- no-transaction"),
    )
}

/// The SQLite migrator.
#[cfg(feature = "sqlite")]
pub(crate) static SQLITE_MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| migrator(SQLITE));

/// The PostgreSQL migrator.
#[cfg(feature = "postgres")]
pub(crate) static POSTGRES_MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| migrator(POSTGRES));
