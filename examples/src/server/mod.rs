//! `crm-server`: the REST API (`/api/v1/`, documented at `/api/openapi.json`) and the web
//! application a sales team works in, over the library's [`Crm`] service. Every request
//! acts as the signed-in employee through the library's own rules.
//!
//! To add a use case: one handler in `api/` (with its `#[utoipa::path]`) and one line in
//! [`api::router`]; for the web, one handler in `web/` and one template in
//! `examples/templates/`.

// Handlers return `Result<_, Problem>` / `Result<_, Response>` as axum's own extractors do:
// the error is built once per refused request and moved into the response, so boxing it
// would add an allocation and buy nothing.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
pub mod i18n;
pub mod import;
pub mod input;
pub mod problem;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use crm_core::{Clock, Crm, PhoneRegion};
use utoipa_swagger_ui::SwaggerUi;

use auth::AuthStore;
use problem::Problem;

/// How the server presents itself.
#[derive(Clone, Debug)]
pub struct Config {
    /// The region phone numbers typed in local form belong to.
    pub region: PhoneRegion,
    /// The time zone dates are shown in.
    pub time_zone: chrono_tz::Tz,
    /// Mark cookies `Secure` (the server is reached over https).
    pub secure_cookies: bool,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The library.
    pub crm: Crm,
    /// Passwords, tokens and sessions.
    pub auth: AuthStore,
    /// The clock (the same one the library uses).
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<Config>,
}

/// The whole application: API, its document and explorer, the web UI and its assets.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api::router().split_for_parts();
    let doc = api::document(doc);
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .merge(web::router())
        .fallback(fallback)
        .with_state(state)
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::document(api::router().into_openapi())
}

async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        Problem::not_found(format!("no route {}", uri.path())).into_response()
    } else {
        web::not_found_page().into_response()
    }
}

/// Adds the headers every response carries: no sniffing, no framing by other sites.
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// Opens the database at `db` for the library (migrating it) and for the server's own
/// tables, and builds the shared state.
pub async fn open(
    db: &str,
    clock: Arc<dyn Clock>,
    policy: auth::Policy,
    config: Config,
) -> Result<AppState, String> {
    let crm_store_sqlx::Connected {
        store,
        employees,
        clients,
    } = crm_store_sqlx::connect(db)
        .await
        .map_err(|e| crate::sentence(&e))?;
    let crm = Crm::builder()
        .store(store)
        .employee_admin(employees)
        .clients(clients)
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let auth = AuthStore::open(db, clock.clone(), policy)
        .await
        .map_err(|e| crate::sentence(&e))?;
    Ok(AppState {
        crm,
        auth,
        clock,
        config: Arc::new(config),
    })
}

/// The application with the headers every response carries.
pub fn service(state: AppState) -> Router {
    app(state).layer(axum::middleware::from_fn(security_headers))
}
