//! Binding values to statements the same way on both backends. The statements' SQL is
//! written once, with `$n` parameters (PostgreSQL's form, which SQLite reads as well); the
//! values are bound once, through [`Binds`], by functions next to the SQL they belong to.
//! What the backends store differently (times, dates, flags) is each backend's
//! [`Encoding`]; nothing else about binding differs.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::encode::Encode;
use sqlx::error::BoxDynError;
use sqlx::{Arguments, Database, QueryBuilder, Type};
use uuid::Uuid;

/// How a backend stores the values the two store differently.
pub(crate) trait Encoding: Database {
    /// A point in time.
    type Time: for<'q> Encode<'q, Self> + Type<Self> + Send;
    /// A calendar date.
    type Day: for<'q> Encode<'q, Self> + Type<Self> + Send;
    /// A boolean.
    type Flag: for<'q> Encode<'q, Self> + Type<Self> + Send;
    /// `<fn>(search_text, key) > 0` finds a search key (SQLite `instr`, PostgreSQL `strpos`).
    const FIND: &'static str;
    /// The folded name and folded company of a lead as two columns: the first and the last
    /// line of `search_text` (see migration `..._merge.sql`, whose index has these exact
    /// expressions).
    const NAME_COMPANY_KEYS: &'static str;
    fn time(t: DateTime<Utc>) -> Self::Time;
    fn day(d: NaiveDate) -> Self::Day;
    fn flag(b: bool) -> Self::Flag;
}

/// Values bound to a statement, in parameter order.
pub(crate) trait Binds {
    fn uuid(&mut self, v: Uuid) -> &mut Self;
    fn opt_uuid(&mut self, v: Option<Uuid>) -> &mut Self;
    fn str(&mut self, v: &str) -> &mut Self;
    fn opt_str(&mut self, v: Option<&str>) -> &mut Self;
    fn int(&mut self, v: i64) -> &mut Self;
    fn opt_int(&mut self, v: Option<i64>) -> &mut Self;
    fn time(&mut self, v: DateTime<Utc>) -> &mut Self;
    fn opt_time(&mut self, v: Option<DateTime<Utc>>) -> &mut Self;
    fn day(&mut self, v: NaiveDate) -> &mut Self;
    fn flag(&mut self, v: bool) -> &mut Self;
}

/// Anything that takes a backend's values one after the other: a statement's arguments,
/// or a query builder.
pub(crate) trait Add<DB: Database> {
    fn add<'t, T: Encode<'t, DB> + Type<DB>>(&mut self, v: T) -> &mut Self;
}

// Written once for both backends: each value goes to `add`, encoded by the backend's
// `Encoding` where the two differ.
impl<DB: Encoding, A: Add<DB>> Binds for Bind<A, DB>
where
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DB::Time>: Encode<'q, DB> + Type<DB>,
{
    fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.0.add(v);
        self
    }
    fn opt_uuid(&mut self, v: Option<Uuid>) -> &mut Self {
        self.0.add(v);
        self
    }
    fn str(&mut self, v: &str) -> &mut Self {
        self.0.add(v);
        self
    }
    fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
        self.0.add(v);
        self
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.0.add(v);
        self
    }
    fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.0.add(v);
        self
    }
    fn time(&mut self, v: DateTime<Utc>) -> &mut Self {
        self.0.add(DB::time(v));
        self
    }
    fn opt_time(&mut self, v: Option<DateTime<Utc>>) -> &mut Self {
        self.0.add(v.map(DB::time));
        self
    }
    fn day(&mut self, v: NaiveDate) -> &mut Self {
        self.0.add(DB::day(v));
        self
    }
    fn flag(&mut self, v: bool) -> &mut Self {
        self.0.add(DB::flag(v));
        self
    }
}

/// A value sink `A` of backend `DB`, seen as [`Binds`].
pub(crate) struct Bind<A, DB>(pub(crate) A, std::marker::PhantomData<DB>);

impl<A, DB> Bind<A, DB> {
    pub(crate) fn new(a: A) -> Self {
        Self(a, std::marker::PhantomData)
    }
}

/// A statement's arguments; the first value that fails to encode is kept and reported when
/// the statement runs.
pub(crate) struct Values<DB: Database> {
    args: DB::Arguments,
    bad: Option<BoxDynError>,
}

impl<DB: Database> Default for Values<DB> {
    fn default() -> Self {
        Self {
            args: DB::Arguments::default(),
            bad: None,
        }
    }
}

impl<DB: Database> Add<DB> for Values<DB> {
    fn add<'t, T: Encode<'t, DB> + Type<DB>>(&mut self, v: T) -> &mut Self {
        if let Err(e) = self.args.add(v)
            && self.bad.is_none()
        {
            self.bad = Some(e);
        }
        self
    }
}

impl<DB: Database> Values<DB> {
    /// The arguments, or the error of the first value that failed to encode.
    pub(crate) fn into_args(self) -> Result<DB::Arguments, sqlx::Error> {
        match self.bad {
            Some(e) => Err(sqlx::Error::Encode(e)),
            None => Ok(self.args),
        }
    }
}

impl<DB: Database> Add<DB> for QueryBuilder<DB> {
    fn add<'t, T: Encode<'t, DB> + Type<DB>>(&mut self, v: T) -> &mut Self {
        self.push_bind(v);
        self
    }
}

/// A statement's arguments, bound through [`Binds`].
pub(crate) type Args<DB> = Bind<Values<DB>, DB>;

/// A statement built at run time (filters), bound through [`Binds`].
pub(crate) type Built<DB> = Bind<QueryBuilder<DB>, DB>;

impl<DB: Database> Default for Args<DB> {
    fn default() -> Self {
        Bind::new(Values::default())
    }
}

/// A statement built at run time: SQL text and bound values, in order.
pub(crate) trait Filter: Binds {
    /// `<fn>(search_text, key) > 0` finds a search key (SQLite `instr`, PostgreSQL `strpos`).
    const FIND: &'static str;
    /// The folded name and folded company of a lead as two columns: the first and the last
    /// line of `search_text` (see migration `..._merge.sql`, whose index has these exact
    /// expressions).
    const NAME_COMPANY_KEYS: &'static str;
    /// A statement starting with `head`.
    fn head(head: &'static str) -> Self;
    /// Appends SQL text.
    fn sql(&mut self, sql: &'static str) -> &mut Self;
}

impl<DB: Encoding> Filter for Built<DB>
where
    Built<DB>: Binds,
{
    const FIND: &'static str = DB::FIND;
    const NAME_COMPANY_KEYS: &'static str = DB::NAME_COMPANY_KEYS;

    fn head(head: &'static str) -> Self {
        Bind::new(QueryBuilder::new(head))
    }

    fn sql(&mut self, sql: &'static str) -> &mut Self {
        self.0.push(sql);
        self
    }
}
