//! Signing in and out, and the language and time zone switches.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_core::{CrmError, EmployeeId};
use serde::Deserialize;

use super::{
    Ctx, DIGITS_COOKIE, Form, LANG_COOKIE, PRE_CSRF_COOKIE, SESSION_COOKIE, TZ_COOKIE, Viewer,
    WebResult, cookie, error_page, problem, redirect, render, set_cookie, with_cookie,
    with_retry_after,
};
use crate::AppState;
use crate::auth::{AuthError, same_secret};
use crate::i18n::Lang;
use crate::problem::{FieldError, Problem};

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
struct SignInPage {
    c: Ctx,
    error: Option<String>,
    employee_id: String,
}

pub(super) fn anonymous(s: &AppState, lang: Lang, csrf: String, path: &str) -> Ctx {
    Ctx {
        t: lang.strings(),
        lang,
        me: None,
        csrf,
        manager: false,
        tz: s.config.time_zone,
        path: path.to_owned(),
        arabic_digits: false,
    }
}

/// The sign-in form. Before there is a session its CSRF token travels in a cookie of its
/// own (double submit), so no other site can sign a browser in.
pub async fn sign_in_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_code(cookie(&headers, LANG_COOKIE));
    let token = match cookie(&headers, PRE_CSRF_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => t.to_owned(),
        _ => crate::auth::new_secret(),
    };
    let page = SignInPage {
        c: anonymous(&s, lang, token.clone(), "/sign-in"),
        error: None,
        employee_id: String::new(),
    };
    with_cookie(
        render(&page),
        set_cookie(PRE_CSRF_COOKIE, &token, None, s.config.secure_cookies),
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    employee_id: String,
    password: String,
}

/// Signs in: checks the password (slowed down and locked after repeated failures), starts
/// a session in the database and sets its cookie.
pub async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let lang = Lang::from_code(cookie(&headers, LANG_COOKIE));
    let t = lang.strings();
    let pre = cookie(&headers, PRE_CSRF_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let again = |status: StatusCode, error: String| {
        let page = SignInPage {
            c: anonymous(&s, lang, pre.clone(), "/sign-in"),
            error: Some(error),
            employee_id: f.employee_id.clone(),
        };
        (status, render(&page)).into_response()
    };
    if pre.is_empty() || !same_secret(&f.csrf, &pre) {
        return redirect("/sign-in");
    }
    let Ok(id) = f.employee_id.trim().parse::<EmployeeId>() else {
        return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
    };
    match s.auth.check_password(id, &f.password).await {
        Ok(()) => {}
        Err(AuthError::Locked { until, retry_after }) => {
            let when = until.with_timezone(&s.config.time_zone).format("%H:%M");
            return with_retry_after(
                again(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("{} {when}", t.locked),
                ),
                retry_after,
            );
        }
        Err(AuthError::BadCredentials) => {
            return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
        }
        Err(e) => return error_page(lang, e.into()),
    }
    match s.crm.employee(id, id).await {
        Ok(Some(e)) if e.active => {}
        // Someone who has left signs in no more (the library would let them read).
        Ok(_) => return again(StatusCode::FORBIDDEN, t.account_inactive.to_owned()),
        Err(CrmError::UnknownActor(_)) => {
            return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
        }
        Err(e) => return error_page(lang, e.into()),
    }
    match s.auth.start_session(id).await {
        Ok((cookie_value, _)) => {
            let age = s.auth.policy().session_ttl.num_seconds();
            with_cookie(
                redirect("/"),
                set_cookie(
                    SESSION_COOKIE,
                    &cookie_value,
                    Some(age),
                    s.config.secure_cookies,
                ),
            )
        }
        Err(e) => error_page(lang, e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Signs out: ends the session in the database and clears the cookie.
pub async fn sign_out(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> WebResult {
    v.check_csrf(&f.csrf)?;
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        s.auth
            .end_session(c)
            .await
            .map_err(|e| problem(&v.ctx, e.into()))?;
    }
    Ok(with_cookie(
        redirect("/sign-in"),
        set_cookie(SESSION_COOKIE, "", Some(0), s.config.secure_cookies),
    ))
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// Switches the interface language and goes back to the page (a local path only).
pub async fn switch_lang(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(b): Query<Back>,
) -> Response {
    let lang = Lang::from_code(Some(&code));
    let back = local_path(b.back);
    with_cookie(
        redirect(&back),
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(365 * 86400),
            s.config.secure_cookies,
        ),
    )
}

/// Writes numbers in Arabic-Indic (`arab`) or Latin digits (anything else) and goes back
/// to the page.
pub async fn switch_digits(
    State(s): State<AppState>,
    Path(which): Path<String>,
    Query(b): Query<Back>,
) -> Response {
    let value = if which == "arab" { "arab" } else { "latn" };
    with_cookie(
        redirect(&local_path(b.back)),
        set_cookie(
            DIGITS_COOKIE,
            value,
            Some(365 * 86400),
            s.config.secure_cookies,
        ),
    )
}

#[derive(Deserialize)]
pub struct ZoneChoice {
    zone: String,
    back: Option<String>,
}

/// Shows dates in another time zone (an IANA name) and goes back to the page.
pub async fn switch_zone(State(s): State<AppState>, Query(q): Query<ZoneChoice>) -> Response {
    let back = local_path(q.back);
    match q.zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => with_cookie(
            redirect(&back),
            set_cookie(
                TZ_COOKIE,
                tz.name(),
                Some(365 * 86400),
                s.config.secure_cookies,
            ),
        ),
        Err(_) => error_page(
            Lang::Ar,
            Problem::invalid(vec![FieldError {
                field: "zone".into(),
                detail: format!("unknown time zone {:?}", q.zone),
                cause: None,
            }]),
        ),
    }
}

/// A path on this site to go back to; anything else goes to the start page. A browser
/// drops tabs and line breaks from a URL and reads `\\` as `/`, so a value with any of
/// them (or any other control or space character) could name another site once cleaned
/// (`/\t/evil.example`): refused, as is a second `/` or `\\` at the start.
pub(crate) fn local_path(back: Option<String>) -> String {
    back.filter(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains('\\')
            && !p.chars().any(|c| c.is_control() || c.is_whitespace())
    })
    .unwrap_or_else(|| "/".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_path_on_this_site_is_gone_back_to() {
        let back = |p: &str| super::local_path(Some(p.to_owned()));
        assert_eq!(back("/leads?status=new"), "/leads?status=new");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "evil",
            "/ /x",
        ] {
            assert_eq!(back(bad), "/", "{bad:?}");
        }
    }
}
