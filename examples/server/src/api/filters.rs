//! Saved filters: each employee's named lead-list filters (`GET`/`POST /api/v1/me/filters`,
//! `DELETE /api/v1/me/filters/{id}`), kept by the server with its other records
//! ([`crm_auth::AuthStore::save_filter`]). A filter is saved as the list's query string,
//! checked first as the list would read it, so a saved filter always opens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{OwnInput, OwnLookup, Unauthenticated};
use super::{ApiResult, Body, Caller, Fields, LeadFilter};
use crate::AppState;
use crate::input;
use crate::problem::Problem;

/// The longest name a filter takes, in characters.
pub const MAX_NAME: usize = 60;

/// Why a filter is not saved when its owner keeps [`crm_auth::MAX_SAVED_FILTERS`] others.
pub const FULL: &str = "you keep the most saved filters already (50); delete one first";

/// The list parameters a saved filter keeps (a cursor or page size is not a filter).
const KEPT: &[&str] = &["q", "status", "source", "owner", "mine", "sort"];

/// A filter to save.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct FilterIn {
    /// Its name (1 to 60 characters; saving under a name used already replaces that
    /// filter).
    pub name: String,
    /// The lead list's query string, as `GET /api/v1/leads` takes it
    /// (`status=new&mine=true&sort=-created`).
    pub query: String,
}

/// A saved filter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FilterOut {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The list's query string (add it to `/api/v1/leads?` or the page `/leads?`).
    pub query: String,
    /// When it was first saved.
    pub created_at: DateTime<Utc>,
}

impl From<crm_auth::SavedFilter> for FilterOut {
    fn from(f: crm_auth::SavedFilter) -> Self {
        Self {
            id: f.id,
            name: f.name,
            query: f.query,
            created_at: f.created_at,
        }
    }
}

/// `i` checked as the list would read it: its name, and its query with only the filters
/// kept, each once, in a fixed order.
pub fn checked(
    f: &mut Fields,
    i: &FilterIn,
    region: crm_core::PhoneRegion,
    caller: crm_core::EmployeeId,
) -> Option<(String, String)> {
    let name = i.name.trim();
    let name = match crm_core::Name::parse_field("name", name) {
        Ok(n) if n.as_str().chars().count() <= MAX_NAME => Some(n.to_string()),
        Ok(n) => f.take(
            "name",
            Err(crm_core::ValidationError::TooLong {
                field: "name",
                max: MAX_NAME,
                len: n.as_str().chars().count(),
            }),
        ),
        Err(e) => f.take::<String, _>("name", Err(e)),
    };
    let query = i.query.trim().trim_start_matches('?');
    let filter = format!("/leads?{query}")
        .parse::<Uri>()
        .ok()
        .and_then(|uri| axum::extract::Query::<LeadFilter>::try_from_uri(&uri).ok())
        .map(|q| q.0);
    let filter = f.take("query", filter.ok_or("is not a lead list's query"));
    // A cursor or page size is not a filter: dropped before the list reads the rest.
    let filter = filter.map(|q| LeadFilter {
        after: None,
        limit: None,
        ..q
    });
    let query = filter.and_then(|q| {
        let order = input::list_order(f, &q.sort);
        let parsed = input::lead_query_of(f, &q, region, Some(caller));
        parsed.zip(order)?;
        let value = |k: &str| match k {
            "q" => q.q.clone(),
            "status" => q.status.clone(),
            "source" => q.source.clone(),
            "owner" => q.owner.clone(),
            "mine" => q.mine.map(|m| m.to_string()),
            _ => q.sort.clone(),
        };
        let pairs: Vec<String> = (KEPT.iter())
            .filter_map(|k| {
                let v = value(k).filter(|v| !v.trim().is_empty())?;
                Some(format!("{k}={}", crate::web::urlencode(v.trim())))
            })
            .collect();
        Some(pairs.join("&"))
    });
    Some((name?, query?))
}

/// The caller's saved filters, by name.
#[utoipa::path(get, path = "/api/v1/me/filters", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = Vec<FilterOut>), Unauthenticated))]
pub async fn list_filters(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<FilterOut>>> {
    let list = s.auth.saved_filters(caller.employee).await?;
    Ok(Json(list.into_iter().map(FilterOut::from).collect()))
}

/// Saves a filter of the caller's (replacing the one of that name).
#[utoipa::path(post, path = "/api/v1/me/filters", tag = "leads", request_body = FilterIn,
    security(("bearer" = [])),
    responses((status = 201, body = FilterOut), OwnInput))]
pub async fn save_filter(
    State(s): State<AppState>,
    caller: Caller,
    Body(i): Body<FilterIn>,
) -> ApiResult<Response> {
    let saved = save(&s, caller.employee, &i).await?;
    Ok((StatusCode::CREATED, Json(FilterOut::from(saved))).into_response())
}

/// Checks and saves `i` as `employee`'s: the one way the API and the page save a filter.
pub async fn save(
    s: &AppState,
    employee: crm_core::EmployeeId,
    i: &FilterIn,
) -> Result<crm_auth::SavedFilter, Problem> {
    let mut f = Fields::default();
    let checked = checked(&mut f, i, s.config.region, employee);
    let (name, query) = f.done(checked)?;
    s.auth
        .save_filter(employee, &name, &query)
        .await?
        .ok_or_else(|| Problem::invalid(vec![crate::problem::FieldError::new("name", FULL)]))
}

/// Deletes one of the caller's saved filters.
#[utoipa::path(delete, path = "/api/v1/me/filters/{id}", tag = "leads",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), OwnLookup))]
pub async fn delete_filter(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if s.auth.delete_filter(caller.employee, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found(format!("filter {id} not found")))
    }
}
