//! The web application: server-rendered pages (askama templates in `examples/server/templates/`,
//! one folder per resource, checked at compile time), every form a plain HTML form that works
//! without JavaScript (htmx only boosts navigation and the live search). Sessions live in the
//! database; each form carries the session's CSRF token; cookies are HttpOnly and SameSite=Lax.
//!
//! [`router`] declares every page route; each resource's handlers and templates live in its
//! own module, and what every page shares (the viewer, the form extractor, the error page)
//! in `page`.

mod assets;
mod auth;
mod automation;
mod board;
mod day;
mod duplicates;
mod employees;
mod filters;
mod forms;
mod import;
mod kept;
mod leads;
mod page;
mod pickers;
mod pipeline;
mod reports;
mod teams;
mod tokens;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::i18n::Strings;

pub use page::*;

/// Who a navigation link is for. It only hides links: the library still decides every
/// request behind them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum For {
    /// Every signed-in employee.
    Everyone,
    /// Management.
    Managers,
}

/// A label of the interface, picked from a language's labels.
pub type Label = fn(&Strings) -> &'static str;

/// The navigation every page shows, in order: a page joins it with one line here.
pub const NAV: &[(&str, Label, For)] = &[
    ("/", |t| t.my_day, For::Everyone),
    ("/leads", |t| t.leads, For::Everyone),
    ("/board", |t| t.board, For::Everyone),
    ("/leads/new", |t| t.new_lead, For::Everyone),
    ("/report", |t| t.report, For::Everyone),
    ("/pipeline", |t| t.pipeline, For::Everyone),
    ("/duplicates", |t| t.nav_duplicates, For::Everyone),
    ("/import", |t| t.nav_import, For::Everyone),
    ("/teams", |t| t.teams, For::Everyone),
    ("/employees", |t| t.employees, For::Everyone),
    ("/automation", |t| t.automation, For::Managers),
    ("/forms", |t| t.nav_forms, For::Managers),
    ("/tokens", |t| t.tokens, For::Everyone),
];

/// A link of the navigation, as the page shows it.
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// Its label.
    pub label: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The web routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(day::page))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/lang/{code}", get(auth::switch_lang))
        .route("/tz", get(auth::switch_zone))
        .route("/digits/{which}", get(auth::switch_digits))
        .route("/leads", get(leads::leads).post(leads::create_lead))
        .route("/board", get(board::leads))
        .route("/board/deals", get(board::deals))
        .route("/leads/new", get(leads::new_lead))
        .route("/leads/export", get(leads::export))
        .route("/leads/bulk", post(leads::bulk))
        .route("/filters", post(filters::save_filter))
        .route("/filters/{id}/delete", post(filters::delete_filter))
        .route("/leads/{id}", get(leads::lead))
        .route(
            "/leads/{id}/edit",
            get(leads::edit_lead_page).post(leads::edit_lead),
        )
        .route("/leads/{id}/status", post(leads::change_status))
        .route("/leads/{id}/assign", post(leads::assign))
        .route("/leads/{id}/interactions", post(leads::log_interaction))
        .route("/leads/{id}/opportunities", post(leads::add_opportunity))
        .route("/opportunities/{id}/stage", post(leads::update_opportunity))
        .route("/report", get(reports::report))
        .route("/report/lost-reasons", get(reports::lost_reasons))
        .route("/report/time-in-status", get(reports::time_in_status))
        .route("/pipeline", get(pipeline::page))
        .route("/pipeline/stages", post(pipeline::set_stage))
        .route("/duplicates", get(duplicates::page))
        .route("/duplicates/merge", post(duplicates::merge))
        .route("/import", get(import::form))
        .route(
            "/import/preview",
            // The multipart overhead on top of the largest file accepted.
            post(import::preview).layer(axum::extract::DefaultBodyLimit::max(
                crate::import::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/import/confirm", post(import::confirm))
        .route("/import/errors/{key}", get(import::errors))
        .route(
            "/employees",
            get(employees::employees).post(employees::save_employee),
        )
        .route("/employees/{id}/password", post(employees::set_password))
        .route("/teams", get(teams::teams))
        .route("/teams/members", post(teams::set_team))
        .route("/automation", get(automation::automation))
        .route("/automation/sweep", post(automation::sweep))
        .route("/automation/dispatch", post(automation::dispatch))
        .route("/automation/ack", post(automation::ack))
        .route("/tokens", get(tokens::tokens).post(tokens::create))
        .route("/forms", get(forms::list))
        .route(
            "/forms/{name}",
            get(forms::page)
                .post(forms::submit)
                .layer(axum::extract::DefaultBodyLimit::max(crate::forms::MAX_BODY)),
        )
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/assets/htmx.min.js", get(assets::htmx))
        .route("/assets/app.js", get(assets::js))
        .route("/assets/app.css", get(assets::css))
        .route(
            "/assets/crm-naskh-regular.woff2",
            get(assets::naskh_regular),
        )
        .route("/assets/crm-naskh-bold.woff2", get(assets::naskh_bold))
}
