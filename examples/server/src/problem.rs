//! Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` per
//! library error kind (the `kind`s of the `crm` tool's `--json` errors), the HTTP status
//! it maps to, and for bad input the fields at fault.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crm_core::{CrmError, ErrorKind, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AuthError;
use crm_config::sentence;

/// The prefix of every problem `type`; the kind follows it.
pub const TYPE_BASE: &str = "https://crm.example/problems/";

/// One field at fault in a request.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The request field (JSON member or query parameter).
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
    /// The library's error it says, when it is one: what a page says in its language
    /// ([`crate::say`]). Not sent.
    #[serde(skip)]
    #[schema(ignore)]
    pub cause: Option<ValidationError>,
}

impl FieldError {
    /// `field` at fault for the server's own reason `detail`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
            cause: None,
        }
    }
}

/// An RFC 9457 problem detail.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, stable across versions.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// This occurrence, in words.
    pub detail: String,
    /// The fields at fault (bad input only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// When a sign-in lock ends (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Seconds to wait before retrying, sent as `Retry-After` (429 and 503 answers).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{TYPE_BASE}{kind}"),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            locked_until: None,
            retry_after: None,
        }
    }

    /// Bad input: 422 naming each field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
        }
    }

    /// The kind without the prefix.
    pub fn kind_name(&self) -> &str {
        self.kind.strip_prefix(TYPE_BASE).unwrap_or(&self.kind)
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 401 with no or bad credentials.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send a live token as `Authorization: Bearer <token>` (POST /api/v1/tokens issues one)",
        )
    }

    /// 428: an update without `If-Match`.
    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send the version you read as `If-Match` (the ETag of the record)",
        )
    }

    /// 404 for an unknown route or id.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
}

/// The HTTP status of a library error: from its [`CrmError::kind`], as the `crm` tool's
/// exit code is.
pub fn status_of(e: &CrmError) -> StatusCode {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::InvalidAssignee => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::InvalidTransition
        | ErrorKind::Duplicate
        | ErrorKind::ReadOnly
        | ErrorKind::MergeRefused
        | ErrorKind::AlreadyBootstrapped => StatusCode::CONFLICT,
        ErrorKind::Forbidden | ErrorKind::UnknownActor => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        // Only an update with a version makes a conflict: the If-Match was stale.
        ErrorKind::Conflict => StatusCode::PRECONDITION_FAILED,
        ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::HostSystem => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CrmError> for Problem {
    fn from(e: CrmError) -> Self {
        let status = status_of(&e);
        let kind = e.kind().as_str();
        if status.is_server_error() {
            tracing::error!(error = %sentence(&e), "request failed");
        }
        let mut p = Problem::new(status, kind, sentence(&e));
        if let CrmError::Validation(v) = &e {
            p.errors = vec![FieldError {
                field: validation_field(v).to_owned(),
                detail: v.to_string(),
                cause: Some(v.clone()),
            }];
        }
        p
    }
}

impl From<ValidationError> for Problem {
    fn from(e: ValidationError) -> Self {
        CrmError::from(e).into()
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::WeakPassword => Problem::invalid(vec![FieldError {
                field: "password".into(),
                detail: e.to_string(),
                cause: None,
            }]),
            AuthError::BadCredentials | AuthError::Unauthenticated => {
                Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            AuthError::Locked { until, retry_after } => Problem {
                locked_until: Some(until.to_rfc3339()),
                retry_after: Some(retry_after),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "locked", e.to_string())
            },
            AuthError::Store(s) => CrmError::from(s).into(),
            AuthError::Hash => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
            }
        }
    }
}

/// The field a validation error from the library names (the library's own field names are
/// the API's).
pub fn validation_field(e: &ValidationError) -> &'static str {
    match e {
        ValidationError::Empty { field }
        | ValidationError::TooLong { field, .. }
        | ValidationError::ForbiddenCharacter { field, .. }
        | ValidationError::InFuture { field, .. }
        | ValidationError::InvalidRange { field }
        | ValidationError::OutOfRange { field, .. } => field,
        // The library names the follow-up time in words; the request calls it
        // `next_follow_up`.
        ValidationError::InPast { field, .. } => crate::say::form_field(field),
        ValidationError::InvalidEmail { .. } => "email",
        ValidationError::InvalidPhone { .. } | ValidationError::UnknownRegion { .. } => "phone",
        ValidationError::MissingContact => "email",
        ValidationError::InvalidSource { .. } | ValidationError::UnlistedSource { .. } => "source",
        ValidationError::UnknownCurrency { .. } | ValidationError::UnlistedCurrency { .. } => {
            "currency"
        }
        ValidationError::InvalidAmount { .. } => "value",
        ValidationError::LostReasonRequired
        | ValidationError::ReasonWithoutLost
        | ValidationError::UnknownLostReason { .. } => "lost_reason",
        ValidationError::InvalidLimit(_) => "limit",
        // The library's stage names (a stage to parse, or one whose probability is fixed)
        // are the API's `stage` field.
        ValidationError::UnknownName {
            kind: "opportunity stage" | "stage with a configurable probability",
            ..
        } => "stage",
        ValidationError::UnknownName { kind, .. } | ValidationError::InvalidId { kind, .. } => kind,
        _ => "body",
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after;
        let mut r = (status, Json(self)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}
