//! Duplicates and merge: `GET /api/v1/leads/duplicates` (the groups of open leads sharing an
//! email or a phone, with `?fuzzy=true` a name within a company) and
//! `POST /api/v1/leads/{keep}/merge` (management; `If-Match` is the kept lead's version, the
//! body names the other lead and the version of it the caller read).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use crm_core::{DuplicateGroup, LeadId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, Body, Caller, Fields, LeadOut, Params, if_match, path_id, with_etag};
use crate::AppState;
use crate::problem::Problem;

/// `?fuzzy=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicatesQuery {
    /// Also group open leads whose names are equal after Arabic folding within the same
    /// company. Absent means false (the parameter is optional in the document too).
    pub fuzzy: Option<bool>,
}

/// Open leads that share one value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DuplicateGroupOut {
    /// email, phone, or name (the folded name within the folded company).
    pub kind: String,
    /// The shared value: the email, the phone in E.164, or the folded name and company
    /// joined by a line break.
    pub key: String,
    /// The leads, oldest first (the first is the natural one to keep).
    pub leads: Vec<LeadOut>,
}

impl From<&DuplicateGroup> for DuplicateGroupOut {
    fn from(g: &DuplicateGroup) -> Self {
        Self {
            kind: g.kind.to_string(),
            key: g.key.clone(),
            leads: g.leads.iter().map(LeadOut::from).collect(),
        }
    }
}

/// The groups, email groups first, then phone, then name.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DuplicatesOut {
    /// The groups.
    pub groups: Vec<DuplicateGroupOut>,
}

/// What to merge into the lead of the path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MergeIn {
    /// The lead to merge away.
    pub other: String,
    /// The version of that lead the caller read.
    pub other_version: u64,
}

/// The merge's outcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MergeOut {
    /// The lead kept, after the merge (its version is the ETag).
    pub kept: LeadOut,
    /// The lead merged away, now read-only with `merged_into` set.
    pub merged: LeadOut,
}

/// Groups of open leads the caller sees that share an email or a phone (and with
/// `fuzzy=true` a name within the same company, under Arabic folding).
#[utoipa::path(get, path = "/api/v1/leads/duplicates", tag = "leads",
    params(DuplicatesQuery), security(("bearer" = [])),
    responses((status = 200, body = DuplicatesOut),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn duplicates(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<DuplicatesQuery>,
) -> ApiResult<Json<DuplicatesOut>> {
    let groups = s
        .crm
        .duplicates(caller.employee, q.fuzzy.unwrap_or(false))
        .await?;
    Ok(Json(DuplicatesOut {
        groups: groups.iter().map(DuplicateGroupOut::from).collect(),
    }))
}

/// Merges `other` into the lead of the path (management). `If-Match` is the kept lead's
/// version and `other_version` the other's: a stale one is 412 and nothing changes. The
/// other lead's interactions and opportunities move, the kept lead takes its contact data
/// where its own is empty, and the other lead becomes read-only (`merged_into`). Merging a
/// lead into itself, a converted lead away, or a merged lead is 409.
#[utoipa::path(post, path = "/api/v1/leads/{id}/merge", tag = "leads", request_body = MergeIn,
    params(("id" = String, Path, description = "The lead to keep"), ("If-Match" = String, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = MergeOut, headers(("ETag" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem),
        (status = 428, body = Problem)))]
pub async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(i): Body<MergeIn>,
) -> ApiResult<Response> {
    let keep: LeadId = path_id("lead", &id)?;
    let mut f = Fields::default();
    let other = f.take("other", i.other.parse::<LeadId>());
    let other = f.done(other)?;
    let version = if_match(&headers)?;
    let out = s
        .crm
        .merge_leads(caller.employee, keep, version, other, i.other_version)
        .await?;
    Ok(with_etag(
        out.kept.version(),
        Json(MergeOut {
            kept: LeadOut::from(&out.kept),
            merged: LeadOut::from(&out.merged),
        }),
    ))
}
