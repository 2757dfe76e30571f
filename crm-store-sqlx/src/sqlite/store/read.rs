//! Reads, and rows back into domain types by column name. Each read is one function over
//! the connection, run on its thread in one job; values parse through the domain's own
//! constructors, so stored data is checked on the way out ([`StoreError::Corrupt`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{
    BoxError, EmployeeId, Event, ImportKey, Lead, LeadDetail, LeadId, LeadQuery, Opportunity,
    OpportunityId, Page, PendingClient, Scope, StageProbabilityChange, StoreError,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, named_params, params_from_iter};
use uuid::Uuid;

use super::conn::{corrupt, db};
use crate::rows::{
    self, Cols, from_days, from_flag, from_micros, lead_cols, opportunity_cols, pending_cols,
};

const GET_LEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = :id");
const HISTORY: &str = "SELECT lead_id, version, at, actor, change FROM (\
       SELECT lead_id, write_version, ord, version, at, actor, change FROM lead_history \
       WHERE lead_id = :id \
       UNION ALL \
       SELECT h.lead_id, h.write_version, h.ord, h.version, h.at, h.actor, h.change \
       FROM leads m JOIN lead_history h ON h.lead_id = m.id WHERE m.merged_into = :id) \
     ORDER BY at, lead_id, write_version, ord";
const INTERACTIONS: &str = "SELECT id, lead_id, kind, occurred_at, logged_by, logged_at, notes, \
     next_follow_up_at FROM interactions WHERE lead_id = :id ORDER BY occurred_at, id";
const OPPORTUNITIES: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE lead_id = :id ORDER BY created_at, id"
);
const GET_OPPORTUNITY: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE id = :id"
);
const PENDING_CLIENT: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients WHERE lead_id = :id"
);
const LIST_HEAD: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE merged_into IS NULL"
);
const LAST_TURN: &str = "SELECT last_owner FROM assignment_rotations WHERE rule = :rule";
const IMPORTED: &str = "SELECT key, lead_id FROM import_keys \
     WHERE key IN (SELECT value FROM json_each(:keys))";
const STAGE_HISTORY: &str = "SELECT stage, probability, changed_by, changed_at \
     FROM stage_probability_changes ORDER BY seq DESC LIMIT :limit";
const EVENTS_HEAD: &str = "SELECT e.seq, e.id, e.at, e.lead_id, e.actor, e.kind \
     FROM events e JOIN leads l ON l.id = e.lead_id \
     WHERE e.seq > (SELECT acked FROM event_ack WHERE id = 1)";
const EVENTS_ALL: &str = "SELECT seq, id, at, lead_id, actor, kind FROM events \
     WHERE seq > :after AND seq > (SELECT acked FROM event_ack WHERE id = 1) \
     ORDER BY seq LIMIT :limit";

/// A statement put together from constant fragments, its values bound in order (`?`):
/// filters that are there or not (the listing, the reports), so each shape keeps its index.
#[derive(Default)]
pub(super) struct Built {
    sql: String,
    values: Vec<Value>,
}

impl Built {
    pub(super) fn head(sql: &'static str) -> Self {
        Self {
            sql: sql.to_owned(),
            values: Vec::new(),
        }
    }
    /// Appends SQL text.
    pub(super) fn sql(&mut self, s: &'static str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    /// Appends a parameter with its value.
    pub(super) fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.sql.push('?');
        self.values.push(v.into());
        self
    }
    /// ` AND <col> IN (<owners>)` for a scope of some owners, as one JSON parameter (one
    /// statement text whatever their number).
    pub(super) fn scope(&mut self, scope: &Scope, col: &'static str) -> &mut Self {
        if let Some(owners) = scope.owners() {
            let ids: Vec<i64> = owners.iter().map(|o| o.get()).collect();
            self.sql(" AND ")
                .sql(col)
                .sql(" IN (SELECT value FROM json_each(")
                .bind(json_text(&ids))
                .sql("))");
        }
        self
    }
    /// Every row, each read by `f`.
    pub(super) fn rows<T>(
        &self,
        c: &Connection,
        f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = c.prepare_cached(&self.sql).map_err(db)?;
        let rows = st.query(params_from_iter(self.values.iter())).map_err(db)?;
        collect(rows, f)
    }
}

/// Reads every row of `rows` with `f`.
pub(super) fn collect<T>(
    mut rows: rusqlite::Rows<'_>,
    mut f: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// JSON text of a list, for `json_each`.
pub(super) fn json_text<T: serde::Serialize>(v: &T) -> String {
    // Serialising a list of numbers or strings cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

/// A value read from a row by `f`; what does not parse is stored data gone bad.
pub(super) fn parse<T>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, BoxError>,
) -> Result<T, StoreError> {
    f().map_err(corrupt(what))
}

impl Cols for Row<'_> {
    fn uuid(&self, col: &str) -> Result<Uuid, BoxError> {
        Ok(self.get(col)?)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, BoxError> {
        Ok(self.get(col)?)
    }
    fn text(&self, col: &str) -> Result<String, BoxError> {
        Ok(self.get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, BoxError> {
        Ok(self.get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64, BoxError> {
        Ok(self.get(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, BoxError> {
        Ok(self.get(col)?)
    }
    fn ts(&self, col: &str) -> Result<DateTime<Utc>, BoxError> {
        from_micros(self.get(col)?)
    }
    fn opt_ts(&self, col: &str) -> Result<Option<DateTime<Utc>>, BoxError> {
        self.get::<_, Option<i64>>(col)?
            .map(from_micros)
            .transpose()
    }
    fn date(&self, col: &str) -> Result<NaiveDate, BoxError> {
        from_days(self.get(col)?)
    }
    fn flag(&self, col: &str) -> Result<bool, BoxError> {
        from_flag(self.get(col)?)
    }
}

/// A lead row ([`lead_cols!`]).
pub(super) fn lead(r: &Row) -> Result<Lead, StoreError> {
    rows::lead(r)
}

/// A pending client row ([`pending_cols!`]).
pub(super) fn pending_client(r: &Row) -> Result<PendingClient, StoreError> {
    rows::pending_client(r)
}

/// Unix microseconds, the stored form of a time.
pub(super) fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(super) fn opt_us(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(us)
}

/// The rows of a constant statement with named values.
pub(super) fn all<T>(
    c: &Connection,
    sql: &'static str,
    params: &[(&str, &dyn rusqlite::ToSql)],
    f: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = c.prepare_cached(sql).map_err(db)?;
    let rows = st.query(params).map_err(db)?;
    collect(rows, f)
}

/// The first row of a constant statement, if any.
pub(super) fn one<T>(
    c: &Connection,
    sql: &'static str,
    params: &[(&str, &dyn rusqlite::ToSql)],
    f: impl FnOnce(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut st = c.prepare_cached(sql).map_err(db)?;
    let mut rows = st.query(params).map_err(db)?;
    rows.next().map_err(db)?.map(f).transpose()
}

pub(super) fn get_lead(c: &Connection, id: LeadId) -> Result<Option<Lead>, StoreError> {
    one(c, GET_LEAD, named_params! {":id": id.as_uuid()}, lead)
}

/// The detail view, in one read transaction (one snapshot).
pub(super) fn lead_detail(
    c: &mut Connection,
    id: LeadId,
) -> Result<Option<LeadDetail>, StoreError> {
    let tx = c.transaction().map_err(db)?;
    let Some(lead) = get_lead(&tx, id)? else {
        return Ok(None);
    };
    let p = named_params! {":id": id.as_uuid()};
    let detail = LeadDetail {
        lead,
        history: all(&tx, HISTORY, p, |r| rows::history(r))?,
        interactions: all(&tx, INTERACTIONS, p, |r| rows::interaction(r))?,
        opportunities: all(&tx, OPPORTUNITIES, p, |r| rows::opportunity(r))?,
        pending_client: one(&tx, PENDING_CLIENT, p, pending_client)?,
    };
    tx.finish().map_err(db)?;
    Ok(Some(detail))
}

/// One page of the leads in `scope`, newest first: keyset paging over `(created_at, id)`.
pub(super) fn list_leads(
    c: &Connection,
    q: &LeadQuery,
    scope: &Scope,
) -> Result<Page<Lead>, StoreError> {
    let limit = q.page_size() as usize;
    let mut b = Built::head(LIST_HEAD);
    b.scope(scope, "owner");
    if let Some(s) = q.status {
        b.sql(" AND status = ").bind(s.as_str().to_owned());
    }
    if let Some(s) = &q.source {
        b.sql(" AND source = ").bind(s.as_str().to_owned());
    }
    if let Some(o) = q.owner {
        b.sql(" AND owner = ").bind(o.get());
    }
    if let Some(k) = q.search_key() {
        b.sql(" AND (instr(search_text, ")
            .bind(k.to_owned())
            .sql(") > 0");
        // Text that reads as a phone number also finds the number however it was typed.
        if let Some(p) = q.search_phone_key() {
            b.sql(" OR instr(search_text, ")
                .bind(p.to_owned())
                .sql(") > 0");
        }
        b.sql(")");
    }
    if let Some(after) = q.after {
        b.sql(" AND (created_at, id) < (")
            .bind(us(after.created_at))
            .sql(", ")
            .bind(after.id.as_uuid().as_bytes().to_vec())
            .sql(")");
    }
    // One row more than the page: whether there is a next page, without counting.
    b.sql(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(limit as i64 + 1);
    let mut items = b.rows(c, lead)?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(crm_core::Cursor::after)
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(super) fn get_opportunity(
    c: &Connection,
    id: OpportunityId,
) -> Result<Option<Opportunity>, StoreError> {
    one(
        c,
        GET_OPPORTUNITY,
        named_params! {":id": id.as_uuid()},
        |r| rows::opportunity(r),
    )
}

pub(super) fn last_turn(c: &Connection, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
    one(c, LAST_TURN, named_params! {":rule": rule}, |r| {
        let read =
            || -> Result<EmployeeId, BoxError> { Ok(EmployeeId::new(r.get("last_owner")?)?) };
        read().map_err(corrupt("assignment rotation"))
    })
}

pub(super) fn imported(
    c: &Connection,
    keys: &[ImportKey],
) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
    let list: Vec<&str> = keys.iter().map(ImportKey::as_str).collect();
    let found = all(
        c,
        IMPORTED,
        named_params! {":keys": json_text(&list)},
        |r| {
            parse("import key", || -> Result<(ImportKey, LeadId), BoxError> {
                Ok((
                    ImportKey::from_stored(r.get("key")?),
                    LeadId::from_uuid(r.get("lead_id")?),
                ))
            })
        },
    )?;
    Ok(found.into_iter().collect())
}

pub(super) fn stage_probability_history(
    c: &Connection,
    limit: u32,
) -> Result<Vec<StageProbabilityChange>, StoreError> {
    let p = named_params! {":limit": i64::from(limit)};
    all(c, STAGE_HISTORY, p, |r| {
        crate::stage_probabilities::change(r)
    })
}

pub(super) fn pending_events(
    c: &Connection,
    after: u64,
    limit: u32,
    scope: &Scope,
) -> Result<Vec<Event>, StoreError> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    if scope.owners().is_none() {
        let p = named_params! {":after": after, ":limit": i64::from(limit)};
        return all(c, EVENTS_ALL, p, |r| rows::event(r));
    }
    let mut b = Built::head(EVENTS_HEAD);
    b.sql(" AND e.seq > ").bind(after);
    b.scope(scope, "l.owner");
    b.sql(" ORDER BY e.seq LIMIT ").bind(i64::from(limit));
    b.rows(c, |r| rows::event(r))
}
