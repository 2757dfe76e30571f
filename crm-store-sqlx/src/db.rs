//! What the code shared by both backends needs of a database connection: run a statement,
//! written once with `$n` parameters (or built at run time), and read its rows by column
//! name. A commit needs more of it, in a transaction: [`crate::commit::Tx`].

use std::future::Future;

use crm_core::{BoxError, StoreError};

use crate::bind::{Args, Built};
use crate::error::Failed;
use crate::rows::{self, Cols};

/// One connection (or open transaction), as the shared statements see it.
pub(crate) trait Db {
    /// A result row.
    type Row: Cols;

    /// `<fn>(search_text, key) > 0` finds a search key (SQLite `instr`, PostgreSQL `strpos`).
    const FIND: &'static str;
    /// The folded name and folded company of a lead as two columns: the first and the last
    /// line of `search_text` (see migration `..._merge.sql`, whose index has these exact
    /// expressions).
    const NAME_COMPANY_KEYS: &'static str;

    /// Runs `sql`: how many rows it changed.
    fn exec(&mut self, sql: &'static str, args: Args) -> impl Future<Output = Result<u64, Failed>>;

    /// Every row `sql` returns.
    fn all(
        &mut self,
        sql: &'static str,
        args: Args,
    ) -> impl Future<Output = Result<Vec<Self::Row>, Failed>>;

    /// Every row a statement built at run time returns.
    fn built(&mut self, b: Built) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>>;

    /// The first row `sql` returns, if any.
    fn one(
        &mut self,
        sql: &'static str,
        args: Args,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> {
        async move { Ok(self.all(sql, args).await?.into_iter().next()) }
    }

    /// Every row `b` returns, each read by `read`; a row that does not read is stored data
    /// gone bad (`what`).
    fn read_built<T>(
        &mut self,
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
