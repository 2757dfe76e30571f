//! API tokens: issued for an employee id and password, sent as `Authorization: Bearer`,
//! revocable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_core::EmployeeId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{OwnLookup, SignIn, Unauthenticated};
use super::{ApiResult, Body, Caller, Fields};
use crate::AppState;
use crate::problem::Problem;

/// Issues a token for an employee's id and password. Failed attempts are slowed down, and
/// repeated ones lock the employee for a while (429 with `locked_until`).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenIn,
    responses((status = 201, body = TokenOut), SignIn))]
pub async fn issue_token(State(s): State<AppState>, Body(i): Body<TokenIn>) -> ApiResult<Response> {
    let mut f = Fields::default();
    let id = f.take("employee_id", EmployeeId::new(i.employee_id));
    let id = f.done(id)?;
    s.auth.check_password(id, &i.password).await?;
    // Someone who has left keeps their password row, and the library would still let them
    // read; the server, which owns sign-in, issues them nothing.
    match s.crm.employee(id, id).await? {
        Some(e) if e.active => {}
        _ => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "inactive",
                format!("employee {id} is deactivated"),
            ));
        }
    }
    let t = s
        .auth
        .issue_token(id, i.label.as_deref().unwrap_or("api"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenOut {
            id: t.id,
            token: t.token,
            expires_at: t.expires_at,
        }),
    )
        .into_response())
}

/// The caller's live tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenInfoOut>), Unauthenticated))]
pub async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<TokenInfoOut>>> {
    let list = s.auth.tokens(caller.employee).await?;
    Ok(Json(
        list.into_iter()
            .map(|t| TokenInfoOut {
                id: t.id,
                label: t.label,
                created_at: t.created_at,
                expires_at: t.expires_at,
            })
            .collect(),
    ))
}

/// Revokes the token this request carries.
#[utoipa::path(delete, path = "/api/v1/tokens/current", tag = "tokens",
    security(("bearer" = [])),
    responses((status = 204), Unauthenticated))]
pub async fn revoke_current(State(s): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    s.auth
        .revoke_token(caller.employee, &caller.token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the caller's own tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), OwnLookup))]
pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if s.auth.revoke_token(caller.employee, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found(format!("token {id} not found")))
    }
}

/// Credentials for a token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenIn {
    /// The employee's id.
    #[schema(minimum = 1)]
    pub employee_id: i64,
    /// Their password.
    pub password: String,
    /// What the token is for.
    pub label: Option<String>,
}

/// A token just issued; the secret is shown only now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    /// The token's id (to revoke it).
    pub id: String,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A live token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenInfoOut {
    /// Id.
    pub id: String,
    /// What it is for.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}
