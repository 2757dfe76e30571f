//! Binding values to statements the same way on both backends. The statements' SQL is
//! written once, with `$n` parameters (PostgreSQL's form; the SQLite driver binds `$n` by
//! name); the values are bound once, through [`Binds`], by functions next to the SQL they
//! belong to, as [`Value`]s that each backend encodes its own way (SQLite: times as unix
//! microseconds, days as day numbers, flags as 0 or 1, ids as 16 bytes).

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A value bound to a statement.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Time(Option<DateTime<Utc>>),
    Day(NaiveDate),
    Flag(bool),
}

/// Values bound to a statement, in parameter order.
pub(crate) trait Binds {
    fn push(&mut self, v: Value);

    fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.push(Value::Uuid(Some(v)));
        self
    }
    fn opt_uuid(&mut self, v: Option<Uuid>) -> &mut Self {
        self.push(Value::Uuid(v));
        self
    }
    fn str(&mut self, v: &str) -> &mut Self {
        self.push(Value::Text(Some(v.to_owned())));
        self
    }
    fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
        self.push(Value::Text(v.map(str::to_owned)));
        self
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.push(Value::Int(Some(v)));
        self
    }
    fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.push(Value::Int(v));
        self
    }
    fn time(&mut self, v: DateTime<Utc>) -> &mut Self {
        self.push(Value::Time(Some(v)));
        self
    }
    fn opt_time(&mut self, v: Option<DateTime<Utc>>) -> &mut Self {
        self.push(Value::Time(v));
        self
    }
    fn day(&mut self, v: NaiveDate) -> &mut Self {
        self.push(Value::Day(v));
        self
    }
    fn flag(&mut self, v: bool) -> &mut Self {
        self.push(Value::Flag(v));
        self
    }
}

/// A constant statement's values, `$1` first.
#[derive(Default)]
pub(crate) struct Args(pub(crate) Vec<Value>);

impl Binds for Args {
    fn push(&mut self, v: Value) {
        self.0.push(v);
    }
}

/// At most this many values in one `IN (...)` list.
pub(crate) const IN_LIST: usize = 500;

/// `Args` filled by `f`.
pub(crate) fn args(f: impl FnOnce(&mut Args)) -> Args {
    let mut a = Args::default();
    f(&mut a);
    a
}

/// `Args` of one id.
pub(crate) fn id_arg(id: Uuid) -> Args {
    args(|a| {
        a.uuid(id);
    })
}

/// A statement built at run time (filters that are there or not): SQL text with a `$n` per
/// value, and the values.
pub(crate) struct Built {
    pub(crate) sql: String,
    pub(crate) values: Vec<Value>,
}

impl Built {
    /// A statement starting with `head`.
    pub(crate) fn head(head: &'static str) -> Self {
        Self {
            sql: head.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub(crate) fn sql(&mut self, sql: &'static str) -> &mut Self {
        // Its own parameters are numbered as they are bound: none in the text.
        debug_assert!(!sql.contains('$'), "{sql}");
        self.sql.push_str(sql);
        self
    }

    /// Appends `values`, each bound by `bind`, separated by commas, and closes the list
    /// (`... IN (` before it).
    pub(crate) fn list<V>(
        &mut self,
        values: impl IntoIterator<Item = V>,
        bind: impl Fn(&mut Self, V),
    ) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            bind(self, v);
        }
        self.sql(")")
    }
}

impl Binds for Built {
    fn push(&mut self, v: Value) {
        self.values.push(v);
        // Writing to a `String` cannot fail.
        let _ = write!(self.sql, "${}", self.values.len());
    }
}
