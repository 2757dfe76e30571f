//! The REST API under `/api/v1/`: one handler per use case, each parsing its input into
//! domain values (every bad field named in one 422), calling the one `Crm` method, and
//! rendering the result. Permissions are the library's: the handler passes the caller's id.
//!
//! [`router`] declares every API route; each resource's handlers live in its own module,
//! beside the JSON shapes they take and return.

mod automation;
mod boards;
mod day;
mod employees;
pub mod filters;
mod forms;
mod import;
mod leads;
mod merge;
mod pipeline;
mod reports;
pub mod responses;
mod tokens;

use axum::extract::{FromRequest, FromRequestParts, Query};
use axum::http::header::{AUTHORIZATION, ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use crm_core::{EmployeeId, ValidationError};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use automation::{
    AckIn, AckOut, CreatedClient, DispatchOut, EventOut, EventParams, LeadFailure, NoticeOut,
    PreviewParams, SweepOut,
};
pub use boards::{BoardParams, DEFAULT_CARDS, board_filter};
pub use employees::{
    EmployeeIn, EmployeeOut, PasswordIn, TeamOut, end_if_inactive, set_password_as,
};
pub use import::{ImportOut, ImportRowOut};
pub use leads::{
    AssignIn, DetailOut, HistoryOut, InteractionIn, InteractionOut, LeadFilter, LeadOut, LeadPage,
    LeadPatchIn, NewLeadIn, OpportunityIn, OpportunityOut, OpportunityPatchIn, StatusIn, StatusOut,
};
pub(crate) use leads::{list_in_order, list_total};
pub use pipeline::{
    CurrencyPipelineOut, MonthTotalsOut, OwnerTotalsOut, PipelineOut, PipelineParams,
    PipelineTotalsOut, StageChangeOut, StageHistoryParams, StageOut, StageProbabilityIn,
    StageTotalsOut,
};
pub use reports::{ReportCellOut, ReportOut, ReportParams, SourceTotal};
pub use tokens::{TokenIn, TokenInfoOut, TokenOut};

use super::AppState;
use super::problem::{FieldError, Problem};

/// The OpenAPI document's frame; the paths come from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm",
        description = "Lead management: leads, interactions, opportunities, the status pipeline, \
                       reports and the automation around them. Errors are RFC 9457 problem \
                       details; versions travel as ETag / If-Match."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes with their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(leads::list_leads, leads::create_lead))
        .routes(routes!(forms::get_form))
        // A web form's submission: no larger than the web page's (32 KB), and a browser on
        // one of the form's websites asks first (CORS preflight).
        .merge(
            OpenApiRouter::new()
                .routes(routes!(forms::submit))
                .route(
                    "/api/v1/forms/{name}/submissions",
                    axum::routing::options(forms::preflight),
                )
                .layer(axum::extract::DefaultBodyLimit::max(crate::forms::MAX_BODY)),
        )
        .routes(routes!(leads::get_lead, leads::edit_lead))
        .routes(routes!(leads::lead_detail))
        .routes(routes!(day::my_day))
        .routes(routes!(boards::lead_board))
        .routes(routes!(boards::deal_board))
        .routes(routes!(filters::list_filters, filters::save_filter))
        .routes(routes!(filters::delete_filter))
        .routes(routes!(leads::assign_lead))
        .routes(routes!(leads::change_status))
        .routes(routes!(merge::duplicates))
        .routes(routes!(merge::merge))
        .routes(routes!(import::import))
        .routes(routes!(leads::log_interaction))
        .routes(routes!(leads::add_opportunity))
        .routes(routes!(leads::get_opportunity, leads::update_opportunity))
        .routes(routes!(reports::report))
        .routes(routes!(pipeline::pipeline))
        .routes(routes!(pipeline::stages))
        .routes(routes!(pipeline::stage_history))
        .routes(routes!(pipeline::set_stage))
        .routes(routes!(automation::sweep))
        .routes(routes!(automation::sweep_preview))
        .routes(routes!(automation::dispatch))
        .routes(routes!(automation::events))
        .routes(routes!(automation::ack_events))
        .routes(routes!(employees::list_employees))
        .routes(routes!(employees::list_teams))
        .routes(routes!(employees::get_employee, employees::save_employee))
        .routes(routes!(employees::set_password))
        .routes(routes!(tokens::issue_token, tokens::list_tokens))
        .routes(routes!(tokens::revoke_current))
        .routes(routes!(tokens::revoke_token))
}

/// The finished document: problem responses (every 4xx and 5xx) are sent as
/// `application/problem+json`, so the document says so.
pub fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                let utoipa::openapi::RefOr::T(response) = response else {
                    continue;
                };
                if (status.starts_with('4') || status.starts_with('5'))
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert("application/problem+json".to_owned(), content);
                }
            }
        }
    }
    doc
}

/// The employee a request acts as, from its bearer token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who.
    pub employee: EmployeeId,
    /// The token's id.
    pub token_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(Problem::unauthenticated)?;
        let (token_id, employee) = state.auth.token_owner(token).await.map_err(|e| match e {
            super::auth::AuthError::Unauthenticated => Problem::unauthenticated(),
            other => other.into(),
        })?;
        Ok(Self { employee, token_id })
    }
}

/// A JSON body; a body that does not parse is a 422 problem.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct Body<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        // A body over the limit is no bad field: 413, as the import and the forms answer.
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return Problem::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is over the size limit",
            );
        }
        Problem::invalid(vec![FieldError {
            field: "body".into(),
            detail: e.body_text(),
            cause: None,
        }])
    }
}

/// Query parameters; ones that do not parse are a 422 problem.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(Problem))]
pub struct Params<T>(pub T);

impl From<axum::extract::rejection::QueryRejection> for Problem {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        Problem::invalid(vec![FieldError {
            field: "query".into(),
            detail: e.body_text(),
            cause: None,
        }])
    }
}

/// Collects every bad field of a request before anything is done.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// The value, or records the error against `field`.
    pub fn take<T, E: std::fmt::Display + 'static>(
        &mut self,
        field: &str,
        r: Result<T, E>,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                // The library's own errors are kept, for a page to say in its language.
                let cause = (&e as &dyn std::any::Any)
                    .downcast_ref::<ValidationError>()
                    .cloned();
                self.0.push(FieldError {
                    field: field.to_owned(),
                    detail: e.to_string(),
                    cause,
                });
                None
            }
        }
    }

    /// An optional field: parsed when present.
    pub fn opt<T, E: std::fmt::Display + 'static>(
        &mut self,
        field: &str,
        v: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(s) => self.take(field, parse(s)).map(Some),
        }
    }

    /// Records a missing required field.
    pub fn missing(&mut self, field: &str) {
        self.0.push(FieldError {
            field: field.to_owned(),
            detail: "is required".into(),
            cause: None,
        });
    }

    /// The parsed value when every field parsed, else the 422 naming them all.
    pub fn done<T>(self, value: Option<T>) -> Result<T, Problem> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(Problem::invalid(self.0)),
        }
    }
}

/// The version an update expects, from `If-Match`: missing is 428; one that names no
/// version cannot match, 412. `If-Match` compares strongly (RFC 9110 §13.1.1), so a weak
/// tag (`W/"2"`) matches nothing either: 412.
pub fn if_match(headers: &HeaderMap) -> Result<u64, Problem> {
    let v = headers
        .get(IF_MATCH)
        .ok_or_else(Problem::precondition_required)?;
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.starts_with("W/"))
        .map(|s| s.trim_matches('"'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            Problem::new(
                axum::http::StatusCode::PRECONDITION_FAILED,
                "conflict",
                "If-Match names no version of this record",
            )
        })
}

/// A JSON response with the record's version as its ETag.
pub fn with_etag(version: u64, body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

/// `n`, when it lies in `min..=max`.
fn in_range(n: u64, min: u64, max: u64) -> Result<u64, String> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside {min}..={max}"))
    }
}

/// How many items a list returns: 1 to 10,000, 100 when not given.
fn page_size(f: &mut Fields, limit: Option<u32>) -> Option<u32> {
    f.take("limit", in_range(limit.unwrap_or(100).into(), 1, 10_000))
        .map(|n| u32::try_from(n).unwrap_or(10_000))
}

/// An id in a path; one that does not parse names nothing, so it is a 404.
pub fn path_id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, Problem> {
    s.parse()
        .map_err(|_| Problem::not_found(format!("{what} {s:?} not found")))
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, Problem>;
