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

/// Opens the database of `settings` for the library (migrating it, with every policy of the
/// one configuration: crm-config builds the [`Crm`] as it does for the `crm` tool) and for
/// the server's own tables, and builds the shared state.
pub async fn open(
    settings: &crm_config::Settings,
    clock: Arc<dyn Clock>,
    policy: auth::Policy,
) -> Result<AppState, String> {
    let crm = settings
        .connect()
        .await
        .map_err(|e| crate::sentence(&e))?
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let auth = AuthStore::open(&settings.db, clock.clone(), policy)
        .await
        .map_err(|e| crate::sentence(&e))?;
    Ok(AppState {
        crm,
        auth,
        clock,
        config: Arc::new(Config {
            region: settings.region,
            time_zone: settings.time_zone,
            secure_cookies: settings.secure_cookies,
        }),
    })
}

/// The application with the headers every response carries, forms from other sites
/// refused, and 405s explained.
pub fn service(state: AppState) -> Router {
    app(state)
        .layer(axum::middleware::from_fn(same_site_forms))
        .layer(axum::middleware::from_fn(explain_405))
        .layer(axum::middleware::from_fn(security_headers))
}
