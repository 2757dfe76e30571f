//! crm-server's sign-in, sessions and HTTP hardening, on SQLite and PostgreSQL: the lockout
//! holds against parallel attempts (through two servers on one database), a changed
//! password and a deactivation end sessions and tokens, locks say when to retry, every page
//! is served under a content policy with no inline script, forms from other sites are
//! refused, and malformed requests get a clear refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crm_core::{EmployeeId, SystemClock};
use crm_server::auth::{AuthError, AuthStore};
use serde_json::json;
use server_support::browser::{Browser, location};
use server_support::{Harness, MANAGER, MAX_FAILURES, OTHER, PASSWORD, Resp, SALES};

on_every_backend!(
    parallel_sign_ins_verify_at_most_the_limit,
    the_right_password_sent_among_wrong_ones_gets_no_token_once_locked,
    a_changed_password_ends_the_other_sessions_and_tokens,
    changing_ones_own_password_needs_the_current_one,
    a_deactivated_employee_is_signed_out_and_refused,
    a_deactivation_by_the_cli_ends_sessions_and_tokens,
    locks_say_when_to_retry,
    every_page_has_a_content_policy_and_no_inline_script,
    forms_from_other_sites_are_refused,
    a_json_body_over_the_limit_is_413,
    a_weak_if_match_is_412,
    a_form_without_its_csrf_field_is_403,
    a_405_explains_itself,
    unknown_list_parameters_are_refused,
);

const NEW_PASSWORD: &str = "a-new-password-2026";

fn id(n: i64) -> EmployeeId {
    EmployeeId::new(n).unwrap()
}

/// The answers of many sign-ins at once: how many were verified (a wrong password, 401,
/// or the right one, 201) and how many refused unverified (429).
#[derive(Debug, Default)]
struct Tally {
    wrong: usize,
    right: usize,
    locked: usize,
}

impl Tally {
    fn count(&mut self, r: &Resp) {
        match r.status {
            StatusCode::UNAUTHORIZED => self.wrong += 1,
            StatusCode::CREATED => self.right += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.header("retry-after").is_some(), "{r:?}");
                self.locked += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
}

/// Wrong passwords sent all at once, half to the server and half to a second server process
/// over the same database (its own pool): at most `MAX_FAILURES` are verified, the rest are
/// refused unverified, and then the right password is refused too until the lock ends.
async fn parallel_sign_ins_verify_at_most_the_limit(h: Harness) {
    let second = AuthStore::open(&h.url, Arc::new(SystemClock), server_support::policy())
        .await
        .unwrap();
    let attempts = 40;
    let mut http = Vec::new();
    let mut direct = Vec::new();
    for n in 0..attempts {
        if n % 2 == 0 {
            http.push(tokio::spawn(h.issue(
                json!({"employee_id": SALES, "password": format!("wrong {n}")}),
            )));
        } else {
            let second = second.clone();
            direct.push(tokio::spawn(async move {
                second
                    .check_password(id(SALES), &format!("wrong {n}"))
                    .await
            }));
        }
    }
    let mut tally = Tally::default();
    for t in http {
        tally.count(&t.await.unwrap());
    }
    for t in direct {
        match t.await.unwrap() {
            Err(AuthError::BadCredentials) => tally.wrong += 1,
            Err(AuthError::Locked { retry_after, .. }) => {
                assert!(retry_after > 0);
                tally.locked += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        tally.wrong <= MAX_FAILURES as usize,
        "{tally:?}: more wrong passwords were verified than the lock allows"
    );
    assert_eq!(tally.wrong + tally.locked, attempts);
    // Locked: the right password is refused, through either server.
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    r.refused(StatusCode::TOO_MANY_REQUESTS, "locked");
    assert!(matches!(
        second.check_password(id(SALES), PASSWORD).await,
        Err(AuthError::Locked { .. })
    ));
    // The lock ends.
    h.clock.advance(chrono::TimeDelta::minutes(16));
    assert_eq!(
        h.issue(json!({"employee_id": SALES, "password": PASSWORD}))
            .await
            .status,
        StatusCode::CREATED
    );
}

/// The issue's case: 59 wrong passwords and the right one at once. The right one may get a
/// token only before the lock is reached; either way few passwords are verified.
async fn the_right_password_sent_among_wrong_ones_gets_no_token_once_locked(h: Harness) {
    let mut tasks = Vec::new();
    for n in 0..60 {
        let password = if n == 30 {
            PASSWORD.to_owned()
        } else {
            format!("wrong {n}")
        };
        tasks.push(tokio::spawn(
            h.issue(json!({"employee_id": SALES, "password": password})),
        ));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.count(&t.await.unwrap());
    }
    let max = MAX_FAILURES as usize;
    if tally.right == 0 {
        assert!(tally.wrong <= max, "{tally:?}");
    } else {
        // The right one came before the lock and cleared the count: the count starts again
        // from it, and at most `max - 1` wrong ones came before it.
        assert!(tally.wrong < 2 * max, "{tally:?}");
    }
    assert!(tally.locked >= 60 - 2 * max, "{tally:?}");
    // Once locked, the right password alone gets no token either.
    for n in 0..MAX_FAILURES {
        h.issue(json!({"employee_id": SALES, "password": format!("again {n}")}))
            .await;
    }
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    r.refused(StatusCode::TOO_MANY_REQUESTS, "locked");
}

/// Signs `who` in twice on the web and issues two more tokens: four live credentials.
async fn four_credentials(h: &Harness, who: i64) -> (Browser<'_>, Browser<'_>, String, String) {
    let (b1, _) = Browser::signed_in(h, who).await;
    let (b2, _) = Browser::signed_in(h, who).await;
    (b1, b2, h.token(who).await, h.token(who).await)
}

async fn signed_out(b: &mut Browser<'_>) -> bool {
    let r = b.get("/leads").await;
    r.status == StatusCode::SEE_OTHER && location(&r) == "/sign-in"
}

async fn a_changed_password_ends_the_other_sessions_and_tokens(h: Harness) {
    // A manager resets sales's password: every session and token of sales ends.
    let (mut b1, mut b2, t1, t2) = four_credentials(&h, SALES).await;
    assert_eq!(h.get("/api/v1/leads", &t1).await.status, StatusCode::OK);
    let r = h
        .put(
            &format!("/api/v1/employees/{SALES}/password"),
            &h.manager,
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for t in [&t1, &t2, &h.sales] {
        assert_eq!(
            h.get("/api/v1/leads", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(signed_out(&mut b1).await && signed_out(&mut b2).await);
    // The manager's own credentials are untouched, and the new password signs in.
    assert_eq!(
        h.get("/api/v1/leads", &h.manager).await.status,
        StatusCode::OK
    );
    let r = h
        .issue(json!({"employee_id": SALES, "password": NEW_PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // An employee changes their own over the API: the token used stays, the rest end.
    let (mut b1, mut b2, t1, t2) = four_credentials(&h, OTHER).await;
    let r = h
        .put(
            &format!("/api/v1/employees/{OTHER}/password"),
            &t1,
            json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get("/api/v1/leads", &t1).await.status, StatusCode::OK);
    for t in [&t2, &h.other] {
        assert_eq!(
            h.get("/api/v1/leads", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(signed_out(&mut b1).await && signed_out(&mut b2).await);

    // A manager changes their own on the web: this session stays, the others end.
    let (mut web, csrf) = Browser::signed_in(&h, MANAGER).await;
    let (mut other_session, _) = Browser::signed_in(&h, MANAGER).await;
    let token = h.token(MANAGER).await;
    let r = web
        .post(
            &format!("/employees/{MANAGER}/password"),
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(web.get("/leads").await.status, StatusCode::OK);
    assert!(signed_out(&mut other_session).await);
    for t in [&token, &h.manager] {
        assert_eq!(
            h.get("/api/v1/leads", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn changing_ones_own_password_needs_the_current_one(h: Harness) {
    let uri = format!("/api/v1/employees/{SALES}/password");
    // Without the current password: 422 naming it; with a wrong one: 403. Nothing changes.
    let r = h
        .put(&uri, &h.sales, json!({"password": NEW_PASSWORD}))
        .await;
    assert_eq!(r.fields(), ["current_password"]);
    let r = h
        .put(
            &uri,
            &h.sales,
            json!({"password": NEW_PASSWORD, "current_password": "not my password"}),
        )
        .await;
    r.refused(StatusCode::FORBIDDEN, "wrong_password");
    assert_eq!(
        h.get("/api/v1/leads", &h.sales).await.status,
        StatusCode::OK
    );
    h.token(SALES).await;
    // Wrong current passwords count towards the sign-in lock (a stolen token must not be a
    // way to guess the password).
    for _ in 0..MAX_FAILURES {
        h.put(
            &uri,
            &h.sales,
            json!({"password": NEW_PASSWORD, "current_password": "still not it"}),
        )
        .await;
    }
    let r = h
        .put(
            &uri,
            &h.sales,
            json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
        )
        .await;
    r.refused(StatusCode::TOO_MANY_REQUESTS, "locked");
    assert!(r.header("retry-after").is_some());
    h.clock.advance(chrono::TimeDelta::minutes(16));
    // The web form of one's own password needs it too.
    let (mut web, csrf) = Browser::signed_in(&h, MANAGER).await;
    let r = web
        .post(
            &format!("/employees/{MANAGER}/password"),
            &[("csrf", &csrf), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("كلمة المرور الحالية"), "{}", r.text);
    let page = web.get("/employees").await;
    assert!(page.text.contains("name=\"current_password\""));
    // With it, their own password changes.
    let r = h
        .put(
            &uri,
            &h.sales,
            json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .issue(json!({"employee_id": SALES, "password": NEW_PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn a_deactivated_employee_is_signed_out_and_refused(h: Harness) {
    // Through the API.
    let (mut b1, mut b2, t1, t2) = four_credentials(&h, SALES).await;
    let r = h
        .put(
            &format!("/api/v1/employees/{SALES}"),
            &h.manager,
            json!({"name": "علي", "role": "sales", "active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for t in [&t1, &t2, &h.sales] {
        assert_eq!(
            h.get("/api/v1/leads", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(signed_out(&mut b1).await && signed_out(&mut b2).await);
    // No new token, no new session, with the right password.
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    r.refused(StatusCode::FORBIDDEN, "inactive");
    let mut b = Browser::new(&h);
    let r = b.sign_in(&SALES.to_string(), PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(!b.cookies.iter().any(|(k, _)| k == "crm_session"));
    // Active again: they sign in anew (the ended credentials stay ended).
    let r = h
        .put(
            &format!("/api/v1/employees/{SALES}"),
            &h.manager,
            json!({"name": "علي", "role": "sales", "active": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        h.get("/api/v1/leads", &t1).await.status,
        StatusCode::UNAUTHORIZED
    );
    h.token(SALES).await;

    // Through the web form.
    let other = h.token(OTHER).await;
    let (mut web, csrf) = Browser::signed_in(&h, MANAGER).await;
    let r = web
        .post(
            "/employees",
            &[
                ("csrf", &csrf),
                ("id", &OTHER.to_string()),
                ("name", "Omar"),
                ("role", "other"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        h.get("/api/v1/leads", &other).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A session whose employee was deactivated by another host of the library is refused.
    let (mut sales_web, _) = Browser::signed_in(&h, SALES).await;
    h.state
        .crm
        .deactivate_employee(id(MANAGER), id(SALES))
        .await
        .unwrap();
    assert!(signed_out(&mut sales_web).await);
}

async fn a_deactivation_by_the_cli_ends_sessions_and_tokens(h: Harness) {
    let (mut b1, _, t1, _) = four_credentials(&h, SALES).await;
    let out = assert_cmd::Command::cargo_bin("crm")
        .unwrap()
        .env_clear()
        .args(["--db", &h.url, "--as", &MANAGER.to_string()])
        .args(["employee", "deactivate", &SALES.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in [&t1, &h.sales] {
        assert_eq!(
            h.get("/api/v1/leads", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(signed_out(&mut b1).await);
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    r.refused(StatusCode::FORBIDDEN, "inactive");
}

async fn locks_say_when_to_retry(h: Harness) {
    for _ in 0..MAX_FAILURES {
        h.issue(json!({"employee_id": SALES, "password": "wrong password"}))
            .await;
    }
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    r.refused(StatusCode::TOO_MANY_REQUESTS, "locked");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((890..=900).contains(&secs), "{secs}");
    // Later, less.
    h.clock.advance(chrono::TimeDelta::minutes(10));
    let mut b = Browser::new(&h);
    let r = b.sign_in(&SALES.to_string(), PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((290..=300).contains(&secs), "{secs}");
    // The token form of the web (it checks the password too).
    for _ in 0..MAX_FAILURES {
        h.issue(json!({"employee_id": MANAGER, "password": "wrong password"}))
            .await;
    }
    h.clock.advance(chrono::TimeDelta::minutes(6));
    let (mut web, csrf) = Browser::signed_in(&h, SALES).await;
    for _ in 0..MAX_FAILURES {
        web.post(
            "/tokens",
            &[("csrf", &csrf), ("password", "wrong password")],
        )
        .await;
    }
    let r = web
        .post("/tokens", &[("csrf", &csrf), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.header("retry-after").is_some());
}

fn assert_policy(r: &Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
}

/// Whether an HTML text has an inline script, an inline event handler or a script URL.
fn inline_script(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        let tag_end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        let tag = &rest[at..tag_end];
        if !tag.contains(" src=") {
            return Some(tag.to_owned());
        }
        rest = &rest[tag_end..];
    }
    for needle in ["javascript:", "hx-on", "hx-vals=\"js:", "hx-vars"] {
        if lower.contains(needle) {
            return Some(needle.to_owned());
        }
    }
    // ` onclick=`, ` onchange=`, ...: an attribute that starts with "on" right after a space.
    lower
        .split(|c: char| c.is_whitespace())
        .find(|w| {
            w.starts_with("on")
                && w.split_once('=').is_some_and(|(name, _)| {
                    name.len() > 2 && name.chars().all(|c| c.is_ascii_lowercase())
                })
        })
        .map(str::to_owned)
}

async fn every_page_has_a_content_policy_and_no_inline_script(h: Harness) {
    let mut anonymous = Browser::new(&h);
    for uri in ["/sign-in", "/nowhere", "/assets/app.js", "/api/docs/"] {
        let r = anonymous.get(uri).await;
        assert_policy(&r, uri);
    }
    assert_policy(&h.get("/api/v1/leads", &h.manager).await, "the API");
    let lead = h
        .lead(&h.sales, json!({"name": "Huda", "email": "h@example.com"}))
        .await;
    let (mut web, _) = Browser::signed_in(&h, MANAGER).await;
    let mut pages = server_support::every_page(&lead);
    pages.push("/leads/nothing".to_owned());
    for uri in &pages {
        let r = web.get(uri).await;
        assert_policy(&r, uri);
        if let Some(found) = inline_script(&r.text) {
            panic!("{uri} has inline script {found:?}, which the policy blocks");
        }
    }
    // The script the pages need is served from the site.
    let r = web.get("/assets/app.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(r.text.contains("data-submit"));
    // Every template, including the parts no page above showed.
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            if let Some(found) = inline_script(&text) {
                panic!("{} has inline script {found:?}", path.display());
            }
        }
    }
    assert!(seen >= 14, "only {seen} templates found");
}

/// A form post with the browser's cookies and these extra headers.
async fn post_with(b: &Browser<'_>, uri: &str, form: &str, headers: &[(&str, &str)]) -> Resp {
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", "crm.example")
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    b.h.send(req.body(Body::from(form.to_owned())).unwrap())
        .await
}

async fn forms_from_other_sites_are_refused(h: Harness) {
    let (web, csrf) = Browser::signed_in(&h, SALES).await;
    let mut n = 0;
    let mut form = || {
        n += 1;
        format!("csrf={csrf}&name=Huda&email=h{n}%40example.com")
    };
    // Even with the right token (leaked), another site's form writes nothing.
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
    ] {
        let r = post_with(&web, "/leads", &form(), headers).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}: {}", r.text);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
    assert_eq!(h.lead_count().await, 0);
    // The sign-in form too.
    let r = post_with(
        &web,
        "/sign-in",
        "csrf=x&employee_id=2&password=x",
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // This site's own forms, as browsers send them, and clients that send neither header.
    for headers in [
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://crm.example"),
        ][..],
        &[("origin", "http://crm.example")],
        &[
            ("origin", "https://crm.example.com"),
            ("x-forwarded-host", "crm.example.com"),
        ],
        &[],
    ] {
        let r = post_with(&web, "/leads", &form(), headers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{headers:?}: {}", r.text);
    }
    assert_eq!(h.lead_count().await, 4);
    // The API takes bearer tokens, which no other site's page holds: not its business.
    let r = h
        .call(
            Method::POST,
            "/api/v1/leads",
            Some(&h.sales),
            Some(json!({"name": "Huda", "email": "h2@example.com"})),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn a_json_body_over_the_limit_is_413(h: Harness) {
    let big = "x".repeat(10 * 1024 * 1024);
    let r = h
        .post(
            "/api/v1/leads",
            &h.sales,
            json!({"name": "Huda", "email": "h@example.com", "notes": big}),
        )
        .await;
    r.refused(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(h.lead_count().await, 0);
}

async fn a_weak_if_match_is_412(h: Harness) {
    let lead = h
        .lead(&h.sales, json!({"name": "Huda", "email": "h@example.com"}))
        .await;
    let uri = format!("/api/v1/leads/{lead}");
    // If-Match compares strongly: a weak tag matches no version, even the current one.
    let r = h
        .patch(&uri, &h.sales, json!({"company": "الأمل"}), "W/\"1\"")
        .await;
    r.refused(StatusCode::PRECONDITION_FAILED, "conflict");
    let now = h.get(&uri, &h.sales).await;
    assert_eq!(now.etag(), "\"1\"");
    assert!(now.json()["company"].is_null());
    let r = h
        .patch(&uri, &h.sales, json!({"company": "الأمل"}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn a_form_without_its_csrf_field_is_403(h: Harness) {
    let (mut web, csrf) = Browser::signed_in(&h, MANAGER).await;
    for (uri, form) in [
        (
            "/leads",
            &[("name", "Huda"), ("email", "h@example.com")][..],
        ),
        (
            &format!("/employees/{SALES}/password") as &str,
            &[("password", NEW_PASSWORD)],
        ),
        ("/sign-out", &[]),
        ("/tokens", &[("password", PASSWORD)]),
    ] {
        let r = web.post(uri, form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text);
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{uri}"
        );
    }
    assert_eq!(h.lead_count().await, 0);
    assert_eq!(web.get("/leads").await.status, StatusCode::OK);
    // The sign-in form too.
    let mut anonymous = Browser::new(&h);
    anonymous.get("/sign-in").await;
    let r = anonymous
        .post("/sign-in", &[("employee_id", "2"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A form with its token but a field missing is bad input, shown as a page.
    let r = web.post("/leads/x/status", &[("csrf", &csrf)]).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

async fn a_405_explains_itself(h: Harness) {
    let r = h.delete("/api/v1/report", &h.manager).await;
    r.refused(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(r.header("allow").unwrap().contains("GET"), "{r:?}");
    let mut web = Browser::new(&h);
    let r = web.request(Method::DELETE, "/sign-in", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text.contains("405"), "{}", r.text);
    assert!(r.header("allow").unwrap().contains("POST"), "{r:?}");
}

async fn unknown_list_parameters_are_refused(h: Harness) {
    for n in 0..3 {
        h.lead(
            &h.sales,
            json!({"name": format!("Lead {n}"), "email": format!("l{n}@example.com")}),
        )
        .await;
    }
    // `cursor=` for `after=`: the list would start over on every page.
    let r = h
        .get("/api/v1/leads?limit=2&cursor=garbage", &h.sales)
        .await;
    assert_eq!(r.fields(), ["query"]);
    assert!(r.text.contains("cursor"), "{}", r.text);
    let (mut web, _) = Browser::signed_in(&h, SALES).await;
    let r = web.get("/leads?cursor=garbage").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = h.get("/api/v1/leads?limit=2&after=garbage", &h.sales).await;
    assert_eq!(r.fields(), ["after"]);
    // The real cursor pages on.
    let first = h.get("/api/v1/leads?limit=2", &h.sales).await.json();
    let next = first["next"].as_str().unwrap();
    let r = h
        .get(&format!("/api/v1/leads?limit=2&after={next}"), &h.sales)
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
}
