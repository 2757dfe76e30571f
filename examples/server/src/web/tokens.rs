//! The signed-in employee's API tokens: create one (its secret shown once, on the page the
//! form answers with), list the live ones, revoke one. Creating a token asks for the
//! password again, as `POST /api/v1/tokens` does: a browser left signed in must not mint a
//! credential that outlives its session.

use super::Form;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{Ctx, Viewer, redirect, render};
use super::{WebResult, problem};
use crate::AppState;
use crate::auth::{AuthError, TokenInfo};
use crate::problem::Problem;

/// A live token, without its secret.
pub struct TokenView {
    id: String,
    label: String,
    created: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "tokens/list.html")]
struct TokensPage {
    c: Ctx,
    list: Vec<TokenView>,
    /// The secret of the token just created (shown this once).
    created: Option<String>,
    /// Why the token was not created, said at the password field.
    error: Option<String>,
    /// The label as typed, when the form is sent back.
    label: String,
}

async fn page(
    s: &AppState,
    v: Viewer,
    created: Option<String>,
    error: Option<(String, String)>,
) -> WebResult {
    let c = &v.ctx;
    let list = s
        .auth
        .tokens(v.employee)
        .await
        .map_err(|e| problem(c, e.into()))?;
    let list = list
        .iter()
        .map(|t: &TokenInfo| TokenView {
            id: t.id.clone(),
            label: t.label.clone(),
            created: c.time(&t.created_at),
            expires: c.time(&t.expires_at),
        })
        .collect();
    let (error, label) = error.unzip();
    Ok(render(&TokensPage {
        list,
        created,
        error,
        label: label.unwrap_or_default(),
        c: v.ctx,
    }))
}

/// The viewer's live tokens and the form that creates one.
pub async fn tokens(State(s): State<AppState>, v: Viewer) -> WebResult {
    page(&s, v, None, None).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    csrf: String,
    password: String,
    #[serde(default)]
    label: String,
}

/// Creates a token for the viewer once their password checks out (failed attempts count
/// towards the same lock as sign-ins), and shows its secret once.
pub async fn create(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<NewTokenForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    match s.auth.check_password(v.employee, &form.password).await {
        Ok(()) => {}
        Err(AuthError::BadCredentials) => {
            let msg = v.ctx.t.bad_credentials.to_owned();
            return refused(&s, v, StatusCode::UNAUTHORIZED, (msg, form.label)).await;
        }
        Err(AuthError::Locked { until, retry_after }) => {
            let when = until.with_timezone(&v.ctx.tz).format("%H:%M");
            let msg = format!("{} {when}", v.ctx.t.locked);
            return refused(&s, v, StatusCode::TOO_MANY_REQUESTS, (msg, form.label))
                .await
                .map_err(|r| super::with_retry_after(r, retry_after));
        }
        Err(e) => return Err(problem(&v.ctx, e.into())),
    }
    let label = match form.label.trim() {
        "" => "web",
        l => l,
    };
    let t = s
        .auth
        .issue_token(v.employee, label)
        .await
        .map_err(|e| problem(&v.ctx, e.into()))?;
    // Shown once: the page answers the POST directly, and no later page can show it.
    let r = page(&s, v, Some(t.token), None).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], r).into_response())
}

/// The page again with why the token was not created and the label as typed, under
/// `status`.
async fn refused(
    s: &AppState,
    v: Viewer,
    status: StatusCode,
    why_and_label: (String, String),
) -> WebResult {
    let r = page(s, v, None, Some(why_and_label)).await;
    Err(match r {
        Ok(page) | Err(page) => (status, page).into_response(),
    })
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

/// Revokes one of the viewer's own tokens; anyone else's is not found.
pub async fn revoke(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let revoked = s
        .auth
        .revoke_token(v.employee, &id)
        .await
        .map_err(|e| problem(c, e.into()))?;
    if revoked {
        Ok(redirect("/tokens"))
    } else {
        Err(problem(c, Problem::not_found(c.t.not_found)))
    }
}
