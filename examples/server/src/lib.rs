//! `crm-server`: the REST API (`/api/v1/`, documented at `/api/openapi.json`) and the web
//! application a sales team works in, over the library's [`Crm`] service. Every request
//! acts as the signed-in employee through the library's own rules.
//!
//! To add a use case: one handler in its resource's module of `api/` (with its
//! `#[utoipa::path]`) and one line in [`api::router`]; for the web, one handler in its
//! resource's module of `web/`, one line in [`web::router`], and one template in its
//! resource's folder of `examples/server/templates/`.

// Handlers return `Result<_, Problem>` / `Result<_, Response>` as axum's own extractors do:
// the error is built once per refused request and moved into the response, so boxing it
// would add an allocation and buy nothing.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod chart;
pub mod compress;
pub mod forms;
pub use crm_auth as auth;
pub mod i18n;
pub mod import;
pub mod input;
pub mod problem;
pub mod say;
pub mod timeline;
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
    /// The web forms leads arrive by, and their spam protection's state.
    pub forms: Arc<forms::Forms>,
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

/// The policy every response is served under: scripts, styles and fonts from this site only
/// (no inline script or event handler, so markup injected into a page runs nothing), no
/// plugins, forms posted to this site only, and no framing by any site.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Refuses a form posted to a page from another site, before any handler sees it: the
/// browser says where a request comes from in `Sec-Fetch-Site`, or failing that in `Origin`
/// (compared with `Host`). The CSRF token of every form still decides too; this holds when
/// a token leaks. The API is left out: it takes bearer tokens, which no other site's page
/// can attach.
pub async fn same_site_forms(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let safe = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    // A web form's page is posted from the websites it names: its handler checks `Origin`
    // against them (`forms`), and it changes nothing of a signed-in employee's.
    let public_form = req.uri().path().starts_with("/forms/");
    if safe || public_form || req.uri().path().starts_with("/api/") || !cross_site(req.headers()) {
        return next.run(req).await;
    }
    let lang = i18n::Lang::from_code(web::cookie(req.headers(), web::LANG_COOKIE));
    web::error_page(
        lang,
        Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf",
            "the form came from another site",
        ),
    )
}

/// Whether a browser says the request comes from another site.
fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        // `none`: the person typed the address or used a bookmark.
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text("origin") else {
        return false;
    };
    // Behind a proxy the browser's host may arrive as X-Forwarded-Host; no other site's
    // form can set either header, so a match with either is this site.
    let authority = origin.split_once("://").map(|(_, a)| a);
    !["host", "x-forwarded-host"]
        .into_iter()
        .filter_map(text)
        .any(|host| authority.is_some_and(|a| a.eq_ignore_ascii_case(host)))
}

/// Gives a 405 (a route that exists, with another method) the body every other refusal
/// has: a problem on the API, a page elsewhere; the `Allow` header stays.
pub async fn explain_405(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let lang = i18n::Lang::from_code(web::cookie(req.headers(), web::LANG_COOKIE));
    let method = req.method().clone();
    let r = next.run(req).await;
    if r.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return r;
    }
    let p = Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here"),
    );
    let mut answer = if api {
        p.into_response()
    } else {
        web::error_page(lang, p)
    };
    if let Some(allow) = r.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// Adds the headers every response carries: the content policy, no sniffing, no framing by
/// other sites.
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
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
        .map_err(|e| crm_config::sentence(&e))?
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let auth = AuthStore::open(&settings.db, clock.clone(), policy)
        .await
        .map_err(|e| crm_config::sentence(&e))?;
    Ok(AppState {
        crm,
        auth,
        clock,
        config: Arc::new(Config {
            region: settings.region,
            time_zone: settings.time_zone,
            secure_cookies: settings.secure_cookies,
        }),
        forms: Arc::new(forms::Forms::new(settings.forms.clone())),
    })
}

/// The application with the headers every response carries, forms from other sites
/// refused, 405s explained, and text gzipped for clients that take it.
pub fn service(state: AppState) -> Router {
    app(state)
        .layer(axum::middleware::from_fn(same_site_forms))
        .layer(axum::middleware::from_fn(explain_405))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(compress::compress))
}
