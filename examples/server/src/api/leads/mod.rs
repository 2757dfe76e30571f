//! Leads, their interactions and opportunities; their JSON shapes are in `dto`.

mod dto;

pub use dto::{
    AssignIn, DetailOut, HistoryOut, InteractionIn, InteractionOut, LeadFilter, LeadOut, LeadPage,
    LeadPatchIn, NewLeadIn, OpportunityIn, OpportunityOut, OpportunityPatchIn, ScoreOut, StatusIn,
    StatusOut,
};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_core::{ConversionOutcome, LeadId, OpportunityId};

use super::responses::{Create, GuardedInput, Lookup, Update, Write};
use super::{ApiResult, Body, Caller, Fields, Params, if_match, path_id, with_etag};
use crate::AppState;
use crate::input::{self, ListOrder};
use crm_config::sentence;

/// Lists leads with filters and search: newest first in keyset pages, or (`sort=score`)
/// the best open leads by score. Each open lead carries its score and reasons, said in the
/// language of `Accept-Language` (Arabic or English).
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(LeadFilter),
    security(("bearer" = [])),
    responses((status = 200, body = LeadPage), GuardedInput))]
pub async fn list_leads(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(q): Params<LeadFilter>,
) -> ApiResult<Json<LeadPage>> {
    let mut f = Fields::default();
    let mut order = input::list_order(&mut f, &q.sort);
    if order.is_some_and(|o| o != ListOrder::Newest) && q.after.is_some() {
        order = f.take(
            "after",
            Err("pages the newest-first list; sort=score lists the best `limit` leads"),
        );
    }
    // A cursor refused for the sort is not read as a cursor too.
    let q = LeadFilter {
        after: q.after.filter(|_| order == Some(ListOrder::Newest)),
        ..q
    };
    let query = input::lead_query_of(&mut f, &q, s.config.region, Some(caller.employee));
    let (query, order) = f.done(query.zip(order))?;
    let locale = lang(&headers).locale();
    let (page, scores) = list_in_order(&s, caller.employee, &query, order).await?;
    let items = (page.items.iter().zip(&scores))
        .map(|(l, sc)| LeadOut::scored(l, sc.as_ref(), locale))
        .collect();
    let next = page.next.map(|c| c.to_string());
    let total = list_total(&s, caller.employee, &query, order).await?;
    Ok(Json(LeadPage { items, next, total }))
}

/// The leads a list in `order` shows, each with its score: newest first a page at a time
/// (with the next page's cursor), else one list without a next page (the best open leads
/// by score, or a column's order). The one reading the API and the page share.
pub(crate) async fn list_in_order(
    s: &AppState,
    actor: crm_core::EmployeeId,
    query: &crm_core::LeadQuery,
    order: ListOrder,
) -> Result<
    (
        crm_core::Page<crm_core::Lead>,
        Vec<Option<crm_core::scoring::Score>>,
    ),
    crm_core::CrmError,
> {
    let page = match order {
        ListOrder::Score => {
            let best = s.crm.leads_by_score(actor, query).await?;
            let (items, scores) = best.into_iter().map(|(l, sc)| (l, Some(sc))).unzip();
            let page = crm_core::Page { items, next: None };
            return Ok((page, scores));
        }
        ListOrder::By(sort) => crm_core::Page {
            items: s.crm.leads_sorted(actor, query, sort).await?,
            next: None,
        },
        ListOrder::Newest => s.crm.list_leads(actor, query).await?,
    };
    let scores = s.crm.scores(actor, &page.items).await?;
    Ok((page, scores))
}

/// How many leads a list in `order` holds over all its pages: for the best by score, the
/// open leads only (decided ones have no score), else every match.
pub(crate) async fn list_total(
    s: &AppState,
    actor: crm_core::EmployeeId,
    query: &crm_core::LeadQuery,
    order: ListOrder,
) -> Result<u64, crm_core::CrmError> {
    if order != ListOrder::Score {
        return s.crm.count_leads(actor, query).await;
    }
    let mut total = 0;
    for status in crm_core::LeadStatus::ALL
        .into_iter()
        .filter(|st| st.is_open())
    {
        if query.status.is_none_or(|asked| asked == status) {
            total += s
                .crm
                .count_leads(actor, &query.clone().status(status))
                .await?;
        }
    }
    Ok(total)
}

/// The language of a request's `Accept-Language`: Arabic when it asks for Arabic first.
fn lang(headers: &HeaderMap) -> crate::i18n::Lang {
    let asked = (headers.get(axum::http::header::ACCEPT_LANGUAGE))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if asked.trim_start().to_ascii_lowercase().starts_with("ar") {
        crate::i18n::Lang::Ar
    } else {
        crate::i18n::Lang::En
    }
}

/// Creates a lead in status `new`.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = NewLeadIn,
    security(("bearer" = [])),
    responses((status = 201, body = LeadOut, headers(("ETag" = String))), Create))]
pub async fn create_lead(
    State(s): State<AppState>,
    caller: Caller,
    Body(i): Body<NewLeadIn>,
) -> ApiResult<Response> {
    let mut f = Fields::default();
    let lead = input::new_lead(&mut f, &i, s.config.region);
    let lead = f.done(lead)?;
    let l = s.crm.create_lead(caller.employee, lead).await?;
    Ok(with_etag(
        l.version(),
        (StatusCode::CREATED, Json(LeadOut::from(&l))),
    ))
}

/// One lead, with its version as the ETag.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = LeadOut, headers(("ETag" = String))), Lookup))]
pub async fn get_lead(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let l = s.crm.lead(caller.employee, id).await?;
    let score = s.crm.lead_score(caller.employee, id).await?;
    let out = LeadOut::scored(&l, score.as_ref(), lang(&headers).locale());
    Ok(with_etag(l.version(), Json(out)))
}

/// Edits a lead's contact data and source (`If-Match` required).
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads", request_body = LeadPatchIn,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = LeadOut, headers(("ETag" = String))), Update))]
pub async fn edit_lead(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(i): Body<LeadPatchIn>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let patch = input::lead_patch(&mut f, &i, s.config.region);
    let patch = f.done(patch)?;
    let version = if_match(&headers)?;
    let l = s.crm.edit_lead(caller.employee, id, version, patch).await?;
    Ok(with_etag(l.version(), Json(LeadOut::from(&l))))
}

/// A lead with its history, interactions, opportunities, time in each status, and all of
/// them as one timeline, newest first, said in the language of `Accept-Language`.
#[utoipa::path(get, path = "/api/v1/leads/{id}/detail", tag = "leads",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = DetailOut, headers(("ETag" = String))), Lookup))]
pub async fn lead_detail(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let d = s.crm.lead_detail(caller.employee, id).await?;
    let score = s.crm.lead_score(caller.employee, id).await?;
    let lang = lang(&headers);
    let names = (s.crm.employees(caller.employee).await?.into_iter())
        .map(|e| (e.id.get(), e.name.to_string()))
        .collect();
    let mut out =
        DetailOut::new(&d, s.clock.now()).with_timeline(&d, lang, s.config.time_zone, &names);
    out.lead.score = score.map(|sc| ScoreOut::new(&sc, lang.locale()));
    Ok(with_etag(d.lead.version(), Json(out)))
}

/// Gives a lead to another responsible employee (`If-Match` required).
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "leads", request_body = AssignIn,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = LeadOut, headers(("ETag" = String))), Update))]
pub async fn assign_lead(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(i): Body<AssignIn>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let to = f.take("to", crm_core::EmployeeId::new(i.to));
    let to = f.done(to)?;
    let version = if_match(&headers)?;
    let l = s.crm.assign_lead(caller.employee, id, version, to).await?;
    Ok(with_etag(l.version(), Json(LeadOut::from(&l))))
}

/// Moves a lead through the status pipeline (`If-Match` required). Converting creates the
/// client; if the clients system fails, the lead is still converted and the client deferred.
#[utoipa::path(post, path = "/api/v1/leads/{id}/status", tag = "leads", request_body = StatusIn,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = StatusOut, headers(("ETag" = String))), Update))]
pub async fn change_status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(i): Body<StatusIn>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let parsed = input::status(&mut f, &i);
    let (to, reason) = f.done(parsed)?;
    let version = if_match(&headers)?;
    let c = s
        .crm
        .change_status(caller.employee, id, version, to, reason)
        .await?;
    let (client_id, client_deferred) = match &c.conversion {
        Some(ConversionOutcome::ClientCreated(cl)) => (Some(cl.to_string()), None),
        Some(ConversionOutcome::Deferred(e)) => (None, Some(sentence(e))),
        None => (None, None),
    };
    Ok(with_etag(
        c.lead.version(),
        Json(StatusOut {
            lead: (&c.lead).into(),
            client_id,
            client_deferred,
        }),
    ))
}

/// Logs an interaction on a lead.
#[utoipa::path(post, path = "/api/v1/leads/{id}/interactions", tag = "leads",
    request_body = InteractionIn, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = InteractionOut), Write))]
pub async fn log_interaction(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(i): Body<InteractionIn>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let n = input::interaction(&mut f, &i);
    let n = f.done(n)?;
    let i = s.crm.log_interaction(caller.employee, id, n).await?;
    Ok((StatusCode::CREATED, Json(InteractionOut::from(&i))).into_response())
}

/// Adds an opportunity to a lead.
#[utoipa::path(post, path = "/api/v1/leads/{id}/opportunities", tag = "opportunities",
    request_body = OpportunityIn, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = OpportunityOut, headers(("ETag" = String))), Write))]
pub async fn add_opportunity(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(i): Body<OpportunityIn>,
) -> ApiResult<Response> {
    let id: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let n = input::new_opportunity(&mut f, &i);
    let n = f.done(n)?;
    let o = s.crm.add_opportunity(caller.employee, id, n).await?;
    Ok(with_etag(
        o.version,
        (StatusCode::CREATED, Json(OpportunityOut::from(&o))),
    ))
}

/// One opportunity, with its version as the ETag.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "opportunities",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OpportunityOut, headers(("ETag" = String))), Lookup))]
pub async fn get_opportunity(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: OpportunityId = path_id("opportunity", &id)?;
    let o = s.crm.opportunity(caller.employee, id).await?;
    Ok(with_etag(o.version, Json(OpportunityOut::from(&o))))
}

/// Changes an opportunity's title, value, close date or stage (`If-Match` required).
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "opportunities",
    request_body = OpportunityPatchIn,
    params(("id" = String, Path), ("If-Match" = String, Header)), security(("bearer" = [])),
    responses((status = 200, body = OpportunityOut, headers(("ETag" = String))), Update))]
pub async fn update_opportunity(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(i): Body<OpportunityPatchIn>,
) -> ApiResult<Response> {
    let id: OpportunityId = path_id("opportunity", &id)?;
    let current = s.crm.opportunity(caller.employee, id).await?;
    let mut f = Fields::default();
    let patch = input::opportunity_patch(&mut f, &i, current.value.currency());
    let patch = f.done(patch)?;
    let version = if_match(&headers)?;
    let o = s
        .crm
        .update_opportunity(caller.employee, id, version, patch)
        .await?;
    Ok(with_etag(o.version, Json(OpportunityOut::from(&o))))
}
