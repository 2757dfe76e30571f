//! Web forms for a website's own code ([`crate::forms`]): `GET /api/v1/forms/{name}` (the
//! form's fields and a signed time to send back) and `POST /api/v1/forms/{name}/submissions`
//! (JSON). No sign-in: the form's `origins` (checked against `Origin`), its rate limits, the
//! honeypot and the signed time protect them. A browser on one of the form's websites may
//! call them (CORS, for those origins only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Body;
use crate::AppState;
use crate::forms::{Outcome, Submission, field_errors};
use crate::problem::{FieldError, Problem};

/// One field of a form.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FormFieldOut {
    /// `name`, `email`, `phone`, `company` or `message`.
    pub name: String,
    /// Whether a submission must fill it.
    pub required: bool,
}

/// A form, and a signed time to send back with its submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FormOut {
    /// Its name.
    pub name: String,
    /// Its fields, in order.
    pub fields: Vec<FormFieldOut>,
    /// The consent text a submission must agree to (`consent: "yes"`), if any.
    pub consent: Option<String>,
    /// The signed time the form was served at: send it back as `t`, no sooner than three
    /// seconds and no later than a day after.
    pub t: String,
}

/// What a submission answers: the same for every one taken in or dropped as spam.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceivedOut {
    /// Always `received`.
    pub status: String,
    /// The form's thank-you text, if it has one.
    pub thanks: Option<String>,
}

/// CORS for the form's own websites: a browser there may read the answer.
fn cors(s: &AppState, name: &str, headers: &HeaderMap, mut r: Response) -> Response {
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if let (Some(o), Some(form)) = (origin, s.forms.get(name))
        && form.allows_origin(o)
        && let Ok(v) = HeaderValue::from_str(o)
    {
        let h = r.headers_mut();
        h.insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(axum::http::header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

/// The answer to a browser's CORS preflight for a submission from one of the form's
/// websites: it may `POST` JSON. Any other origin gets no permission.
pub async fn preflight(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let allowed = (headers.get(axum::http::header::ORIGIN))
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| s.forms.get(&name).is_some_and(|f| f.allows_origin(o)));
    if allowed {
        let h = r.headers_mut();
        h.insert(
            axum::http::header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            axum::http::header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            axum::http::header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    cors(&s, &name, &headers, r)
}

/// A form's fields and a signed time for its submission.
#[utoipa::path(get, path = "/api/v1/forms/{name}", tag = "forms",
    params(("name" = String, Path, description = "The form's name")),
    responses((status = 200, body = FormOut), (status = 404, body = Problem)))]
pub async fn get_form(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(form) = s.forms.get(&name) else {
        return Problem::not_found(format!("no form {name:?}")).into_response();
    };
    let out = FormOut {
        name: form.name.clone(),
        fields: (form.fields.iter())
            .map(|f| FormFieldOut {
                name: f.kind.as_str().to_owned(),
                required: f.required,
            })
            .collect(),
        consent: form.consent.clone(),
        t: s.forms.token(&form.name, s.clock.now()),
    };
    cors(&s, &name, &headers, Json(out).into_response())
}

/// Sends a submission of a form: a new lead for the form's team, or an interaction on the
/// open lead with its e-mail or phone; 202 either way (and for a submission dropped as
/// spam), revealing no lead. 403 from a website the form does not name, 429 past the rate
/// limits (`Retry-After`), 422 for a field refused or a missing or stale `t`.
#[utoipa::path(post, path = "/api/v1/forms/{name}/submissions", tag = "forms",
    params(("name" = String, Path, description = "The form's name")),
    request_body = Submission,
    responses((status = 202, body = ReceivedOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn submit(
    State(s): State<AppState>,
    Path(name): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    Body(sub): Body<Submission>,
) -> Response {
    let address = crate::forms::address(&extensions);
    let thanks = s.forms.get(&name).and_then(|f| f.thanks.clone());
    let r = match crate::forms::receive(&s, &name, &headers, &address, sub).await {
        Outcome::Thanks => (
            StatusCode::ACCEPTED,
            Json(ReceivedOut {
                status: "received".into(),
                thanks,
            }),
        )
            .into_response(),
        Outcome::Unknown => Problem::not_found(format!("no form {name:?}")).into_response(),
        Outcome::OtherSite => Problem::new(
            StatusCode::FORBIDDEN,
            "other_site",
            "this form does not take submissions from this origin",
        )
        .into_response(),
        Outcome::TooMany(wait) => Problem {
            retry_after: Some(wait),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many",
                "too many submissions from this address; try again later",
            )
        }
        .into_response(),
        Outcome::Confirm => Problem::invalid(vec![FieldError::new(
            "t",
            format!("missing or stale: get a fresh one from GET /api/v1/forms/{name}"),
        )])
        .into_response(),
        Outcome::Refused(errors) => Problem::invalid(field_errors(&errors)).into_response(),
        Outcome::Failed(e) => Problem::from(e).into_response(),
    };
    cors(&s, &name, &headers, r)
}
