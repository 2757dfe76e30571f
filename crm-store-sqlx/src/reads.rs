//! Reads of leads, the same on both backends: one lead, its detail view, and the listing
//! (filters built once with bound values, keyset paging over `(created_at, id)`).

use crm_core::{Lead, LeadDetail, LeadId, LeadQuery, Page, Scope, StoreError};

use crate::bind::{Binds, Built, args, id_arg};
use crate::commit::Tx;
use crate::db::Db;
use crate::rows::{self, Cols, interaction_cols, lead_cols, opportunity_cols, pending_cols};

pub(crate) const GET_LEAD: &str = concat!("SELECT ", lead_cols!(), " FROM leads WHERE id = $1");

/// The detail view's statements, each with the lead id as `$1`; its column `part`
/// says which part of the view a row is (see [`detail`]).
pub(crate) const DETAIL: [&str; 5] = [
    concat!(
        "SELECT ",
        lead_cols!(),
        ", CAST(0 AS BIGINT) AS part FROM leads WHERE id = $1"
    ),
    // With the history of the leads merged into this one, by time, each row naming its lead.
    // Two index searches joined by UNION ALL: PostgreSQL plans `lead_id = $1 OR lead_id IN
    // (...)` as a scan of the whole history (4 ms a detail view at 20,000 leads).
    "SELECT version, at, actor, change, lead_id, CAST(1 AS BIGINT) AS part FROM (\
       SELECT lead_id, write_version, ord, version, at, actor, change FROM lead_history \
       WHERE lead_id = $1 \
       UNION ALL \
       SELECT h.lead_id, h.write_version, h.ord, h.version, h.at, h.actor, h.change \
       FROM leads m JOIN lead_history h ON h.lead_id = m.id WHERE m.merged_into = $1) AS h \
     ORDER BY at, lead_id, write_version, ord",
    concat!(
        "SELECT ",
        interaction_cols!(),
        ", CAST(2 AS BIGINT) AS part FROM interactions WHERE lead_id = $1 ORDER BY occurred_at, id"
    ),
    concat!(
        "SELECT ",
        opportunity_cols!(),
        ", CAST(3 AS BIGINT) AS part FROM opportunities WHERE lead_id = $1 ORDER BY created_at, id"
    ),
    concat!(
        "SELECT ",
        pending_cols!(),
        ", CAST(4 AS BIGINT) AS part FROM pending_clients WHERE lead_id = $1"
    ),
];

/// Merged leads ([`crm_core::merge`]) leave the listing.
const LIST_HEAD: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE merged_into IS NULL"
);

/// The lead `id`, if there is one.
pub(crate) async fn get_lead<D: Db>(db: &mut D, id: LeadId) -> Result<Option<Lead>, StoreError> {
    db.one(
        GET_LEAD,
        args(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?
    .map(|r| rows::lead(&r))
    .transpose()
}

/// The detail view of lead `id`, its [`DETAIL`] statements run in the open transaction `t`
/// (one snapshot).
pub(crate) async fn detail<T: Tx>(t: &mut T, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
    let mut rows = Vec::new();
    for sql in DETAIL {
        rows.extend(t.all(sql, id_arg(id.as_uuid())).await?);
        if rows.is_empty() {
            // No lead: nothing hangs off it.
            return Ok(None);
        }
    }
    let mut lead = None;
    let (mut history, mut interactions, mut opportunities) = (vec![], vec![], vec![]);
    let mut pending_client = None;
    for r in &rows {
        let part = r.int("part").map_err(rows::corrupt("detail row"))?;
        match part {
            0 => lead = Some(rows::lead(r)?),
            1 => history.push(rows::history(r)?),
            2 => interactions.push(rows::interaction(r)?),
            3 => opportunities.push(rows::opportunity(r)?),
            4 => pending_client = Some(rows::pending_client(r)?),
            p => {
                return Err(rows::corrupt("detail row")(
                    format!("unknown part {p}").into(),
                ));
            }
        }
    }
    Ok(lead.map(|lead| LeadDetail {
        lead,
        history,
        interactions,
        opportunities,
        pending_client,
    }))
}

/// Narrows `b` to the leads of `query` (its filters and search, not its cursor) in `scope`.
fn matching<D: Db>(b: &mut Built, query: &LeadQuery, scope: &Scope) {
    crate::assignment::scope(b, scope, "owner");
    if let Some(s) = query.status {
        b.sql(" AND status = ").str(s.as_str());
    }
    if let Some(s) = &query.source {
        b.sql(" AND source = ").str(s.as_str());
    }
    if let Some(o) = query.owner {
        b.sql(" AND owner = ").int(o.get());
    }
    if let Some(k) = query.search_key() {
        b.sql(" AND (")
            .sql(D::FIND)
            .sql("(search_text, ")
            .str(k)
            .sql(") > 0");
        // Text that reads as a phone number also finds the number however it was typed.
        if let Some(p) = query.search_phone_key() {
            b.sql(" OR ")
                .sql(D::FIND)
                .sql("(search_text, ")
                .str(p)
                .sql(") > 0");
        }
        b.sql(")");
    }
}

/// How many leads in `scope` `query` matches (all its pages).
pub(crate) async fn count_leads<D: Db>(
    db: &mut D,
    query: &LeadQuery,
    scope: &Scope,
) -> Result<u64, StoreError> {
    let mut b = Built::head("SELECT COUNT(*) AS n FROM leads WHERE merged_into IS NULL");
    matching::<D>(&mut b, query, scope);
    let rows = db.built(b).await?;
    let n = match rows.first() {
        Some(r) => r.int("n").map_err(rows::corrupt("lead count"))?,
        None => 0,
    };
    u64::try_from(n).map_err(|e| rows::corrupt("lead count")(Box::new(e)))
}

/// One page of the leads in `scope`, newest first.
pub(crate) async fn list_leads<D: Db>(
    db: &mut D,
    query: &LeadQuery,
    scope: &Scope,
) -> Result<Page<Lead>, StoreError> {
    let limit = query.page_size() as usize;
    let mut b = Built::head(LIST_HEAD);
    matching::<D>(&mut b, query, scope);
    if let Some(c) = query.after {
        b.sql(" AND (created_at, id) < (")
            .time(c.created_at)
            .sql(", ")
            .uuid(c.id.as_uuid())
            .sql(")");
    }
    // One row more than the page: whether there is a next page, without counting.
    b.sql(" ORDER BY created_at DESC, id DESC LIMIT ")
        .int(limit as i64 + 1);
    let mut items = db
        .built(b)
        .await?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(crm_core::Cursor::after)
    } else {
        None
    };
    Ok(Page { items, next })
}
