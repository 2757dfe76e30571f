//! What the code shared by both backends needs of a database: run one statement, written
//! once with `$n` parameters, under the backend's own policy. Reads go to the pool; a write
//! follows the backend's write policy (on SQLite, the database's write gate).

use std::future::Future;

use crm_core::StoreError;

use crate::bind::{Binds, Filter};
use crate::rows::Cols;

/// One database, as the shared statements see it.
pub(crate) trait Db {
    /// A result row.
    type Row: Cols;
    /// A statement's arguments.
    type Args: Binds + Default;
    /// A statement built at run time.
    type Built: Filter;

    /// Every row `sql` returns.
    fn all(
        &self,
        sql: &'static str,
        args: Self::Args,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>>;

    /// The row `sql` returns, if any.
    fn optional(
        &self,
        sql: &'static str,
        args: Self::Args,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>>;

    /// Runs a one-statement write under the write policy; how many rows it changed.
    fn write(
        &self,
        sql: &'static str,
        args: Self::Args,
    ) -> impl Future<Output = Result<u64, StoreError>>;

    /// Every row a statement built at run time returns.
    fn built(&self, built: Self::Built)
    -> impl Future<Output = Result<Vec<Self::Row>, StoreError>>;
}

/// Arguments for `D`, filled by `f`.
pub(crate) fn args<D: Db>(f: impl FnOnce(&mut D::Args)) -> D::Args {
    let mut a = D::Args::default();
    f(&mut a);
    a
}
