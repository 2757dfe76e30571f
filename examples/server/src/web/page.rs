//! What every page shares: the cookies, the signed-in viewer and the page context, the
//! CSRF-checked form extractor, rendering, and the error page every failure is shown on.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_core::{CrmError, Employee};

use super::{For, NAV, NavLink};
use crate::AppState;
use crate::auth::same_secret;
use crate::i18n::{Lang, Strings};
use crate::problem::Problem;

/// The session cookie.
pub const SESSION_COOKIE: &str = "crm_session";
/// The cookie that carries the sign-in form's CSRF token (before there is a session).
pub const PRE_CSRF_COOKIE: &str = "crm_presession";
/// The language cookie.
pub const LANG_COOKIE: &str = "crm_lang";
/// The time zone cookie (an IANA name; the server's `--time-zone` when absent).
pub const TZ_COOKIE: &str = "crm_tz";
/// The digits cookie: `arab` for Arabic-Indic digits in numbers, else Latin.
pub const DIGITS_COOKIE: &str = "crm_digits";

/// The zones the page offers; any IANA name works through `/tz?zone=`.
pub const ZONES: &[&str] = &[
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Kuwait",
    "Asia/Qatar",
    "Asia/Bahrain",
    "Asia/Muscat",
    "Africa/Cairo",
    "Asia/Amman",
    "Europe/London",
    "UTC",
];

/// A 303 to a local path.
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, the whole site, Secure when configured.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Path=/"))
}

/// Adds `Retry-After: secs` to a response (a 429).
pub fn with_retry_after(mut r: Response, secs: u64) -> Response {
    r.headers_mut()
        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// Adds a cookie to a response.
pub fn with_cookie(mut r: Response, cookie: HeaderValue) -> Response {
    r.headers_mut().append(SET_COOKIE, cookie);
    r
}

/// What every page shows about who is looking, and how.
pub struct Ctx {
    /// The labels.
    pub t: &'static Strings,
    /// The language.
    pub lang: Lang,
    /// The signed-in employee (none on the sign-in page).
    pub me: Option<Employee>,
    /// The form token.
    pub csrf: String,
    /// Whether the employee may manage employees (shows the admin link; the library still
    /// decides every request).
    pub manager: bool,
    /// The time zone dates are shown in.
    pub tz: chrono_tz::Tz,
    /// The path, for the language switch to come back to.
    pub path: String,
    /// Whether numbers are written in Arabic-Indic digits (the viewer's choice).
    pub arabic_digits: bool,
}

impl Ctx {
    /// The language's code.
    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
    /// The writing direction.
    pub fn dir(&self) -> &'static str {
        self.lang.dir()
    }
    /// The link that switches language and comes back here.
    pub fn switch_href(&self) -> String {
        format!(
            "/lang/{}?back={}",
            self.lang.other().code(),
            urlencode(&self.path)
        )
    }
    /// A time in the configured zone.
    pub fn time(&self, t: &DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
    /// The zone's IANA name.
    pub fn zone(&self) -> &'static str {
        self.tz.name()
    }
    /// Whether the zone is one of [`ZONES`].
    pub fn zone_listed(&self) -> bool {
        ZONES.contains(&self.zone())
    }
    /// The zones to choose from.
    pub fn zones(&self) -> &'static [&'static str] {
        ZONES
    }
    /// The navigation links this viewer sees, the current page marked.
    pub fn nav(&self) -> Vec<NavLink> {
        let here = self.path.split('?').next().unwrap_or_default();
        NAV.iter()
            .filter(|(_, _, who)| *who == For::Everyone || self.manager)
            .map(|(href, label, _)| NavLink {
                href,
                label: label(self.t),
                current: here == *href,
            })
            .collect()
    }
    /// A number or an amount as this viewer reads it: a plain number or decimal amount
    /// grouped by thousands (`482,000.500`), then, when they chose Arabic-Indic digits,
    /// written in them with the Arabic separators (`٤٨٢٬٠٠٠٫٥٠٠`, which the amount parser
    /// takes back). Anything else keeps its text, its digits converted alike.
    pub fn num(&self, value: impl std::fmt::Display) -> String {
        let text = value.to_string();
        let plain = !text.is_empty()
            && text.chars().all(|ch| ch.is_ascii_digit() || ch == '.')
            && text.matches('.').count() <= 1;
        let text = if plain {
            crate::i18n::grouped(&text)
        } else {
            text
        };
        if self.arabic_digits {
            crate::i18n::arabic_digits(&text)
        } else {
            text
        }
    }
    /// The link that switches digits and comes back here.
    pub fn digits_href(&self) -> String {
        let other = if self.arabic_digits { "latn" } else { "arab" };
        format!("/digits/{other}?back={}", urlencode(&self.path))
    }
    /// The employee's name, or empty.
    pub fn my_name(&self) -> String {
        self.me
            .as_ref()
            .map_or(String::new(), |e| e.name.to_string())
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn lang_of(parts: &Parts) -> Lang {
    Lang::from_code(cookie(&parts.headers, LANG_COOKIE))
}

/// The signed-in employee of a page request; without a live session the browser is sent to
/// the sign-in page.
pub struct Viewer {
    /// The page context.
    pub ctx: Ctx,
    /// The employee.
    pub employee: crm_core::EmployeeId,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let lang = lang_of(parts);
        let Some(session_cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(redirect("/sign-in"));
        };
        let session = match s.auth.session(session_cookie).await {
            Ok(s) => s,
            Err(_) => return Err(redirect("/sign-in")),
        };
        let me = match s.crm.employee(session.employee, session.employee).await {
            Ok(e) => e,
            Err(CrmError::UnknownActor(_)) => return Err(redirect("/sign-in")),
            Err(e) => return Err(error_page(lang, Problem::from(e))),
        };
        // A deactivated employee's sessions end with the deactivation; this refuses one
        // deactivated by another host of the library too.
        if me.as_ref().is_some_and(|e| !e.active) {
            return Err(redirect("/sign-in"));
        }
        let manager = me.as_ref().is_some_and(|e| {
            crm_core::permissions::authorize(e, crm_core::Action::ManageEmployees, None).is_ok()
        });
        let path = parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        Ok(Viewer {
            employee: session.employee,
            ctx: Ctx {
                t: lang.strings(),
                lang,
                me,
                csrf: session.csrf,
                manager,
                tz: cookie(&parts.headers, TZ_COOKIE)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(s.config.time_zone),
                path,
                arabic_digits: cookie(&parts.headers, DIGITS_COOKIE) == Some("arab"),
            },
        })
    }
}

impl Viewer {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), Response> {
        if same_secret(given, &self.ctx.csrf) {
            Ok(())
        } else {
            Err(error_page(self.ctx.lang, csrf_refusal()))
        }
    }
}

/// A posted form. One that does not parse is answered with a page: without its `csrf`
/// field as a forged form (403, as a wrong token is), else as bad input with axum's status.
pub struct Form<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Form<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let lang = Lang::from_code(cookie(req.headers(), LANG_COOKIE));
        let (parts, body) = req.into_parts();
        let again =
            |body: axum::body::Body| axum::extract::Request::from_parts(parts.clone(), body);
        // Read once (within the body limit, 413 past it), parsed twice on failure only.
        let bytes = axum::body::Bytes::from_request(again(body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let e = match axum::Form::<T>::from_request(again(bytes.clone().into()), state).await {
            Ok(axum::Form(v)) => return Ok(Self(v)),
            Err(e) => e,
        };
        let fields = axum::Form::<Vec<(String, String)>>::from_request(again(bytes.into()), state)
            .await
            .map(|f| f.0)
            .unwrap_or_default();
        Err(if fields.iter().any(|(k, _)| k == "csrf") {
            error_page(
                lang,
                Problem::new(e.status(), "invalid_input", e.body_text()),
            )
        } else {
            error_page(lang, csrf_refusal())
        })
    }
}

/// The refusal of a form without this session's CSRF token.
fn csrf_refusal() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "the form is stale or came from another site; reload the page and retry",
    )
}

/// Renders a template, or a 500 page if it fails.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Labels and direction (no session needed).
    pub t: &'static Strings,
    /// The language.
    pub lang: Lang,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
    /// The fields at fault: each field's name and what is wrong with it, in the page's
    /// language.
    pub errors: Vec<(String, String)>,
}

/// The problem as a page with its status.
pub fn error_page(lang: Lang, p: Problem) -> Response {
    let p = crate::say::problem(lang, p);
    let status = p.status_code();
    let retry_after = p.retry_after;
    let page = ErrorPage {
        t: lang.strings(),
        lang,
        status: p.status,
        detail: p.detail,
        errors: (p.errors.iter())
            .map(|e| (crate::say::field(lang, &e.field), e.detail.clone()))
            .collect(),
    };
    let r = (status, render(&page)).into_response();
    match retry_after {
        Some(secs) => with_retry_after(r, secs),
        None => r,
    }
}

/// The 404 page.
pub fn not_found_page() -> Response {
    error_page(Lang::Ar, Problem::not_found(Lang::Ar.strings().not_found))
}

/// What a page handler answers: the page, or the error page in its place.
pub(crate) type WebResult = Result<Response, Response>;

/// The error page for a failure, in the viewer's language.
pub(crate) fn fail(ctx: &Ctx) -> impl Fn(CrmError) -> Response + '_ {
    move |e| error_page(ctx.lang, crate::say::error(ctx.lang, e))
}

/// The error page for a problem, in the viewer's language.
pub(crate) fn problem(ctx: &Ctx, p: Problem) -> Response {
    error_page(ctx.lang, p)
}

/// An id in a path; one that does not parse is a 404 page.
pub(crate) fn id<T: std::str::FromStr>(ctx: &Ctx, s: &str) -> Result<T, Response> {
    s.parse()
        .map_err(|_| problem(ctx, Problem::not_found(ctx.t.not_found)))
}

/// Employees' names by id, for showing owners and actors.
pub(crate) async fn names(s: &AppState, v: &Viewer) -> BTreeMap<i64, String> {
    match s.crm.employees(v.employee).await {
        Ok(list) => list
            .into_iter()
            .map(|e| (e.id.get(), e.name.to_string()))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// An employee as a page shows them: name and id, or the id alone when the name is unknown.
pub(crate) fn who(names: &BTreeMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .map_or_else(|| id.to_string(), |n| format!("{n} ({id})"))
}
