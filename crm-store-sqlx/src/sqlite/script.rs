//! Scripts: a whole SQLite write in one round trip, and what a failed one means.

use std::borrow::Cow;
use std::fmt::Write as _;

use crm_core::{Entity, LeadId, OpportunityId, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Sqlite};

use super::writes::{duplicate_of, lead_exists, merge_refused, not_writable, opportunity_refused};
use super::{Handle, InFlight};
use crate::bind::Args;
use crate::error::{conflict, db, is_busy, not_found};
use crm_core::Lead;

/// Statements sent to SQLite in one round trip. sqlx runs a multi-statement string one
/// statement after the other, so a write (`BEGIN IMMEDIATE`, its statements, and `COMMIT`
/// when nothing is left to decide) costs one trip to sqlx's worker thread instead of one
/// per statement: measured, those trips were most of a call's time, not SQLite's own work.
///
/// Statements are the shared `$n` texts: SQLite numbers `$n` parameters across the whole
/// script, so [`Script::push`] renumbers each statement's parameters after those already
/// bound. A script's text depends only on its shape (how many history entries and events),
/// so sqlx's per-connection statement cache keeps its statements prepared.
pub(crate) struct Script {
    sql: String,
    args: Args<Sqlite>,
    /// The script ends with `COMMIT`: when it runs through, the transaction is over.
    commits: bool,
}

impl Script {
    fn new(begin: Option<&str>) -> Self {
        let mut s = Self {
            sql: String::with_capacity(1024),
            args: Args::default(),
            commits: false,
        };
        if let Some(begin) = begin {
            s.push(begin);
        }
        s
    }

    /// A write: `BEGIN IMMEDIATE` takes the write lock first, so the checks inside see
    /// what the changes will be applied to.
    pub(crate) fn write() -> Self {
        Self::new(Some("BEGIN IMMEDIATE"))
    }

    /// A read: one snapshot for every statement, committed at the end.
    pub(crate) fn read() -> Self {
        Self::new(Some("BEGIN"))
    }

    /// Statements for a transaction that is already open (no `BEGIN`, no `COMMIT`).
    pub(crate) fn within() -> Self {
        Self::new(None)
    }

    /// Appends a statement; its values are bound on the arguments returned.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Args<Sqlite> {
        renumber(&mut self.sql, sql, self.args.0.len());
        self.sql.push_str(";\n");
        &mut self.args
    }

    /// Fails the script with `check` when `condition` (SQL, values bound on the arguments
    /// returned) is true.
    pub(crate) fn check(&mut self, check: Check, condition: &str) -> &mut Args<Sqlite> {
        self.sql.push_str("INSERT INTO write_checks (");
        self.sql.push_str(check.name());
        self.sql.push_str(") SELECT 1 WHERE ");
        self.push(condition)
    }

    /// Ends the script with `COMMIT`: for scripts whose statements leave nothing to decide.
    pub(crate) fn commit(mut self) -> Self {
        self.push("COMMIT");
        self.commits = true;
        self
    }

    /// Runs a [`Script::within`] on the connection of an open transaction.
    pub(crate) async fn execute(self, c: &mut SqliteConnection) -> Result<(), StoreError> {
        let args = self.args.0.into_args().map_err(db)?;
        sqlx::query_with(AssertSqlSafe(sent(self.sql)), args)
            .execute(c)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// Appends `sql` to `out` with each `$n` parameter moved up by `base`.
fn renumber(out: &mut String, sql: &str, base: usize) {
    if base == 0 || !sql.contains('$') {
        out.push_str(sql);
        return;
    }
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", n + base);
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
}

/// `sql` with its `$n` parameters written `?` when they appear once each, in order (`$1`,
/// `$2`, ...), as the multi-row statements of an import batch and most scripts write them;
/// otherwise `sql` as it is. SQLite keeps a statement's named parameters in a list it searches linearly,
/// both when it parses `$n` and when sqlx asks each parameter's name to bind it: for the
/// tens of thousands of values of one batch statement that is quadratic, and was most of
/// an import's time. Plain `?` parameters are numbered by position and never searched.
pub(super) fn positional(sql: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let mut next = 1usize;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if rest[..digits].parse::<usize>().ok() != Some(next) {
            return Cow::Borrowed(sql);
        }
        next += 1;
        out.push('?');
        rest = &rest[digits..];
    }
    if next == 1 {
        return Cow::Borrowed(sql);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A script's text as it is sent: [`positional`] when it can be, so SQLite never searches
/// its parameter list (a claim's script binds hundreds of values).
fn sent(sql: String) -> String {
    let converted = match positional(&sql) {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    };
    converted.unwrap_or(sql)
}

/// The write checks, each a named constraint of the `write_checks` table (migration
/// `..._write_checks.sql`). A check inserts a row there only when it fails, which the
/// constraint refuses: the script stops before its `COMMIT` with an error naming the
/// check, and the transaction is still open to explain the failure, then roll back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// The lead statement before it changed no row: a stale version, a missing lead, or
    /// a lead that refuses the change.
    LeadUnchanged,
    /// Another open lead has the email or the phone.
    Duplicate,
    /// The opportunity update changed no row.
    OpportunityUnchanged,
    /// A conversion to complete had no pending client record.
    NothingPending,
    /// A create's assignment turn was taken by a concurrent create.
    TurnTaken,
}

impl Check {
    const ALL: [Check; 5] = [
        Check::LeadUnchanged,
        Check::Duplicate,
        Check::OpportunityUnchanged,
        Check::NothingPending,
        Check::TurnTaken,
    ];

    /// The column and constraint name.
    fn name(self) -> &'static str {
        match self {
            Check::LeadUnchanged => "lead_unchanged",
            Check::Duplicate => "duplicate",
            Check::OpportunityUnchanged => "opportunity_unchanged",
            Check::NothingPending => "nothing_pending",
            Check::TurnTaken => "turn_taken",
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

/// A pooled connection in a transaction that a script opened. Dropped before the
/// transaction ended (a cancelled call, a failed `ROLLBACK`), the connection is closed
/// instead of going back to the pool, and closing rolls the transaction back.
pub(crate) struct ScriptConn {
    conn: PoolConnection<Sqlite>,
    open: bool,
    /// A read script's place among the reads in flight.
    _read: Option<InFlight>,
}

impl Drop for ScriptConn {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl ScriptConn {
    /// The connection for a write script (the caller holds the gate).
    pub(crate) async fn for_write(h: &Handle) -> Result<Self, StoreError> {
        Ok(Self {
            conn: h.write_conn().await?,
            open: false,
            _read: None,
        })
    }

    /// A connection for a read script.
    pub(crate) async fn for_read(h: &Handle) -> Result<Self, StoreError> {
        let (conn, read) = h.read_conn().await?;
        Ok(Self {
            conn,
            open: false,
            _read: Some(read),
        })
    }

    /// Runs a script that ends with `COMMIT`. On an error the transaction may still be
    /// open: explain, then [`ScriptConn::rollback`].
    pub(crate) async fn run(&mut self, script: Script) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let args = script.args.0.into_args()?;
        self.open = true;
        let rows = sqlx::query_with(AssertSqlSafe(sent(script.sql)), args)
            .fetch_all(&mut *self.conn)
            .await?;
        self.open = !script.commits;
        Ok(rows)
    }

    /// Opens a write transaction, for statements sent one by one.
    pub(crate) async fn begin_immediate(&mut self) -> Result<(), sqlx::Error> {
        self.open = true;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Commits the open transaction.
    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("COMMIT").execute(&mut *self.conn).await?;
        self.open = false;
        Ok(())
    }

    /// The connection, for statements inside the open transaction.
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Ends the transaction if one is open; if that fails, the connection is closed.
    pub(crate) async fn rollback(&mut self) {
        match sqlx::query("ROLLBACK").execute(&mut *self.conn).await {
            Ok(_) => self.open = false,
            // Also when `BEGIN` itself failed and there is nothing to roll back: closing a
            // connection is cheap, and a connection left in a transaction is not.
            Err(e) => tracing::debug!(error = %e, "rollback failed; closing the connection"),
        }
    }
}

/// Why a write script failed, to be explained inside its still open transaction.
pub(crate) enum Why<'a> {
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
    /// A merge's lead writes: `NotFound` or `Conflict`, naming the lead.
    Merge(&'a crm_core::MergeWrite),
}

/// How a write ended when it did not commit: refused with an error, or undone because
/// there was nothing to do.
pub(crate) enum NotDone {
    Refused(StoreError),
    NothingToDo,
}

/// Runs a write script (one round trip, ending in `COMMIT`) under the write gate. When a
/// statement fails, `why` says what the failure means (it gets the failed check, if one
/// failed); the answer is worked out in the same transaction, which is then rolled back.
pub(crate) async fn write<'a>(
    h: &Handle,
    script: Script,
    why: impl FnOnce(Option<Check>, sqlx::Error) -> Why<'a>,
) -> Result<(), NotDone> {
    let _gate = h.gate().await;
    let mut c = ScriptConn::for_write(h).await.map_err(NotDone::Refused)?;
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
        Why::Merge(w) => merge_refused(c, w).await,
    }
}

/// Maps a write's outcome to the port's result.
pub(crate) fn done(r: Result<(), NotDone>) -> Result<(), StoreError> {
    match r {
        Ok(()) | Err(NotDone::NothingToDo) => Ok(()),
        Err(NotDone::Refused(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn parameters_move_up_past_those_bound_before() {
        let mut out = String::new();
        renumber(
            &mut out,
            "UPDATE t SET a = $1, b = $12 WHERE c = $1 AND d = 'x'",
            3,
        );
        assert_eq!(out, "UPDATE t SET a = $4, b = $15 WHERE c = $4 AND d = 'x'");
        let mut first = String::new();
        renumber(&mut first, "SELECT $1", 0);
        assert_eq!(first, "SELECT $1");
    }
}
