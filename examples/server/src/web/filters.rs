//! Saved filters on the lead list: "save this filter as ..." and each saved filter's link
//! and delete button, through the same check and store as the API
//! ([`crate::api::filters`]).

use axum::extract::{Path, State};
use serde::Deserialize;

use super::{Form, Viewer, WebResult, problem, redirect};
use crate::AppState;
use crate::api::filters::{FilterIn, save};
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct SaveForm {
    csrf: String,
    #[serde(default)]
    name: String,
    /// The list's query string as the page shows it.
    #[serde(default)]
    query: String,
}

/// Saves the list's filters under a name, and opens the list with them.
pub async fn save_filter(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<SaveForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let i = FilterIn {
        name: form.name,
        query: form.query,
    };
    let saved = save(&s, v.employee, &i)
        .await
        .map_err(|p| problem(&v.ctx, p))?;
    Ok(redirect(&format!("/leads?{}", saved.query)))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

/// Deletes one of the viewer's saved filters and shows the list.
pub async fn delete_filter(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let gone =
        (s.auth.delete_filter(v.employee, &id).await).map_err(|e| problem(c, Problem::from(e)))?;
    if !gone {
        return Err(problem(c, Problem::not_found(c.t.not_found)));
    }
    Ok(redirect("/leads"))
}
