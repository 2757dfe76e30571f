//! What the code shared by both backends needs of a database: run one statement, written
//! once with `$n` parameters (or built at run time), and read its rows by column name.

use std::future::Future;

use crm_core::{BoxError, StoreError};

use crate::bind::{Args, Built};
use crate::rows::{self, Cols};

/// One database, as the shared statements see it.
pub(crate) trait Db {
    /// A result row.
    type Row: Cols;

    /// `<fn>(search_text, key) > 0` finds a search key (SQLite `instr`, PostgreSQL `strpos`).
    const FIND: &'static str;
    /// The folded name and folded company of a lead as two columns: the first and the last
    /// line of `search_text` (see migration `..._merge.sql`, whose index has these exact
    /// expressions).
    const NAME_COMPANY_KEYS: &'static str;

    /// Every row `sql` returns.
    fn all(
        &self,
        sql: &'static str,
        args: Args,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>>;

    /// The row `sql` returns, if any.
    fn optional(
        &self,
        sql: &'static str,
        args: Args,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>>;

    /// Runs a one-statement write; how many rows it changed.
    fn write(&self, sql: &'static str, args: Args)
    -> impl Future<Output = Result<u64, StoreError>>;

    /// Every row a statement built at run time returns.
    fn built(&self, built: Built) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>>;

    /// Every row `b` returns, each read by `read`; a row that does not read is stored data
    /// gone bad (`what`).
    fn read_built<T>(
        &self,
        b: Built,
        what: &'static str,
        read: fn(&Self::Row) -> Result<T, BoxError>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> {
        async move {
            let found = self.built(b).await?;
            found
                .iter()
                .map(|r| read(r).map_err(rows::corrupt(what)))
                .collect()
        }
    }
}
