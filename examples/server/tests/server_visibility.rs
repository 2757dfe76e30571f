//! crm-server under `visibility = "own"` (from the one configuration): a lead outside the
//! viewer's scope does not exist for them on any route, API or page, in data, counts and
//! error messages alike. Table-driven: a lead or opportunity route added to the API (read
//! from the OpenAPI document) or to the pages' router without a case here fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use crm_core::{Employee, EmployeeId, Name, Role};
use serde_json::{Value, json};
use server_support::browser::Browser;
use server_support::{Harness, MANAGER, PASSWORD, Resp, SALES};

/// A second salesperson, who sees only their own leads.
const SALES_B: i64 = 4;
/// A second manager, who leads no team: under `own`, only their own leads.
const MANAGER_B: i64 = 5;

/// What only SALES may see.
const HIDDEN_NAME: &str = "عميل سرّي";
const HIDDEN_PHONE: &str = "0501234567";
const HIDDEN_DEAL: &str = "صفقة سرية";
const HIDDEN_COMPANY: &str = "شركة الأمانة";

/// Every API route that names a lead or an opportunity: method, path, body. `{lead}` is
/// the hidden lead (or one that does not exist), `{opp}` its opportunity, `{mine}` a lead of
/// the viewer's own.
const API: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/leads/{lead}", ""),
    (
        "PATCH",
        "/api/v1/leads/{lead}",
        r#"{"company": "overwritten"}"#,
    ),
    ("GET", "/api/v1/leads/{lead}/detail", ""),
    ("POST", "/api/v1/leads/{lead}/assign", r#"{"to": 4}"#),
    (
        "POST",
        "/api/v1/leads/{lead}/status",
        r#"{"status": "contacted"}"#,
    ),
    (
        "POST",
        "/api/v1/leads/{lead}/interactions",
        r#"{"kind": "call", "notes": "not mine"}"#,
    ),
    (
        "POST",
        "/api/v1/leads/{lead}/opportunities",
        r#"{"title": "t", "value": "10.00", "currency": "SAR", "expected_close": "2027-01-31"}"#,
    ),
    (
        "POST",
        "/api/v1/leads/{lead}/merge",
        r#"{"other": "{mine}", "other_version": 1}"#,
    ),
    (
        "POST",
        "/api/v1/leads/{mine}/merge",
        r#"{"other": "{lead}", "other_version": 1}"#,
    ),
    ("GET", "/api/v1/opportunities/{opp}", ""),
    (
        "PATCH",
        "/api/v1/opportunities/{opp}",
        r#"{"stage": "qualified"}"#,
    ),
];

/// A page case: method, path, form fields.
type PageCase = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Every page route that names a lead or an opportunity: method, path, form fields (the
/// form token is added).
const PAGES: &[PageCase] = &[
    ("GET", "/leads/{lead}", &[]),
    ("GET", "/leads/{lead}/edit", &[]),
    (
        "POST",
        "/leads/{lead}/edit",
        &[("version", "1"), ("name", "overwritten")],
    ),
    (
        "POST",
        "/leads/{lead}/status",
        &[("version", "1"), ("status", "contacted")],
    ),
    // The steps a move asks first (a conversion's confirmation, a loss's reason) name the
    // lead: a hidden one is missing there too.
    (
        "POST",
        "/leads/{lead}/status",
        &[("version", "1"), ("status", "converted")],
    ),
    (
        "POST",
        "/leads/{lead}/status",
        &[("version", "1"), ("status", "lost")],
    ),
    (
        "POST",
        "/leads/{lead}/assign",
        &[("version", "1"), ("to", "4")],
    ),
    (
        "POST",
        "/leads/{lead}/interactions",
        &[("kind", "call"), ("notes", "not mine")],
    ),
    (
        "POST",
        "/leads/{lead}/opportunities",
        &[
            ("title", "t"),
            ("value", "10.00"),
            ("currency", "SAR"),
            ("expected_close", "2027-01-31"),
        ],
    ),
    (
        "POST",
        "/opportunities/{opp}/stage",
        &[("version", "1"), ("stage", "qualified")],
    ),
    // Its leads are in the form, not the path.
    (
        "POST",
        "/duplicates/merge",
        &[
            ("keep", "{mine}"),
            ("keep_version", "1"),
            ("other", "{lead}"),
            ("other_version", "1"),
        ],
    ),
];

/// Someone who does not see the hidden lead: their token and a lead of their own.
struct Viewer {
    id: i64,
    token: String,
    mine: String,
    /// Sales staff may not merge: both a hidden and a missing lead are refused with 403
    /// there, and the manager's cases show the 404.
    may_be_forbidden: bool,
}

/// The hidden lead, its opportunity, who does not see them, and ids of nothing.
struct World {
    b: String,
    viewers: Vec<Viewer>,
    lead: String,
    opp: String,
    no_lead: String,
    no_opp: String,
}

impl World {
    /// `template` with the hidden records, and with records that do not exist; `{mine}` is
    /// a lead of the viewer's own.
    fn both(&self, template: &str, mine: &str) -> (String, String) {
        let fill = |lead: &str, opp: &str| {
            template
                .replace("{lead}", lead)
                .replace("{opp}", opp)
                .replace("{mine}", mine)
        };
        (
            fill(&self.lead, &self.opp),
            fill(&self.no_lead, &self.no_opp),
        )
    }

    /// An answer with the ids it may echo blanked, to compare the hidden with the missing.
    fn blank(&self, r: &Resp) -> (StatusCode, String) {
        let text = [&self.lead, &self.opp, &self.no_lead, &self.no_opp]
            .iter()
            .fold(r.text.clone(), |t, id| t.replace(id.as_str(), "ID"));
        (r.status, text)
    }
}

async fn world(h: &Harness) -> World {
    let id = |n| EmployeeId::new(n).unwrap();
    for (n, name, role) in [
        (SALES_B, "سالم", Role::Sales),
        (MANAGER_B, "منى", Role::Manager),
    ] {
        h.state
            .crm
            .save_employee(
                id(MANAGER),
                Employee::new(id(n), Name::parse(name).unwrap(), role),
            )
            .await
            .unwrap();
        h.state
            .auth
            .set_password(id(n), PASSWORD, None)
            .await
            .unwrap();
    }
    let b = h.token(SALES_B).await;
    let m = h.token(MANAGER_B).await;
    let lead = h
        .lead(
            &h.sales,
            json!({"name": HIDDEN_NAME, "phone": HIDDEN_PHONE, "email": "secret@example.com",
                   "company": HIDDEN_COMPANY, "source": "web"}),
        )
        .await;
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/interactions"),
            &h.sales,
            json!({"kind": "call", "notes": "أول اتصال"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": HIDDEN_DEAL, "value": "1250.500", "currency": "KWD",
                       "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let opp = r.json()["id"].as_str().unwrap().to_owned();
    // The viewers' own leads share the hidden lead's email and phone (entered anyway), so a
    // duplicate group that ignored the view would show it to them.
    let mut viewers = Vec::new();
    for (id, token, may_be_forbidden) in [(SALES_B, &b, true), (MANAGER_B, &m, false)] {
        let mine = h
            .lead(
                token,
                json!({"name": "Own lead", "email": "secret@example.com", "phone": HIDDEN_PHONE,
                       "source": "web", "allow_duplicate": true}),
            )
            .await;
        viewers.push(Viewer {
            id,
            token: token.clone(),
            mine,
            may_be_forbidden,
        });
    }
    World {
        b,
        viewers,
        lead,
        opp,
        no_lead: uuid::Uuid::now_v7().to_string(),
        no_opp: uuid::Uuid::now_v7().to_string(),
    }
}

/// The hidden lead as its owner sees it: what must not change.
async fn snapshot(h: &Harness, w: &World) -> Value {
    h.lead_json(&w.lead, &h.sales).await;
    let r = h
        .get(&format!("/api/v1/leads/{}/detail", w.lead), &h.sales)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

async fn api_routes_treat_a_hidden_lead_as_missing(h: Harness) {
    let w = world(&h).await;
    let before = snapshot(&h, &w).await;
    for v in &w.viewers {
        for (method, path, body) in API {
            let method: Method = method.parse().unwrap();
            let ((path_h, body_h), (path_m, body_m)) = {
                let (ph, pm) = w.both(path, &v.mine);
                let (bh, bm) = w.both(body, &v.mine);
                ((ph, bh), (pm, bm))
            };
            let send = |path: String, body: String| {
                let body =
                    (!body.is_empty()).then(|| serde_json::from_str::<Value>(&body).unwrap());
                let headers: &[(&str, &str)] = if method == Method::GET {
                    &[]
                } else {
                    &[("if-match", "\"1\"")]
                };
                h.call(method.clone(), &path, Some(&v.token), body, headers)
            };
            let hidden = send(path_h, body_h).await;
            let missing = send(path_m, body_m).await;
            let forbidden = v.may_be_forbidden && hidden.status == StatusCode::FORBIDDEN;
            assert!(
                forbidden || hidden.status == StatusCode::NOT_FOUND,
                "{method} {path} as {}: {} {}",
                v.id,
                hidden.status,
                hidden.text
            );
            assert_eq!(
                w.blank(&hidden),
                w.blank(&missing),
                "{method} {path}: a hidden lead answers unlike a missing one"
            );
            // The owner is not refused: the case exercises the route, not a typo.
            let (own_path, _) = w.both(path, &v.mine);
            if method == Method::GET {
                let r = h.get(&own_path, &h.sales).await;
                assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.text);
            }
        }
    }
    assert_eq!(
        snapshot(&h, &w).await,
        before,
        "a refused write changed the lead"
    );
}

/// Every route of the OpenAPI document that takes a lead or opportunity id has a case.
#[test]
fn every_api_lead_route_has_a_visibility_case() {
    let doc = serde_json::to_value(crm_server::openapi()).unwrap();
    let covered: Vec<(String, String)> = API
        .iter()
        .map(|(m, p, _)| {
            (
                m.to_ascii_lowercase(),
                p.replace("{lead}", "{id}")
                    .replace("{mine}", "{id}")
                    .replace("{opp}", "{id}"),
            )
        })
        .collect();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let scoped = path.contains("{id}")
            && (path.starts_with("/api/v1/leads/") || path.starts_with("/api/v1/opportunities/"));
        if !scoped {
            continue;
        }
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_some() {
                seen += 1;
                assert!(
                    covered.contains(&(method.to_owned(), path.clone())),
                    "{method} {path} has no visibility case in server_visibility.rs"
                );
            }
        }
    }
    assert!(seen >= 10, "only {seen} lead routes found in the document");
}

/// Every page route that takes a lead or opportunity id has a case: read from the web
/// router's own source, which declares every route in one place.
#[test]
fn every_page_lead_route_has_a_visibility_case() {
    let source = include_str!("../src/web/mod.rs");
    let mut seen = 0;
    for chunk in source.split(".route(").skip(1) {
        let Some(path) = chunk.split('"').nth(1) else {
            continue;
        };
        if !(path.contains("{id}")
            && (path.starts_with("/leads/") || path.starts_with("/opportunities/")))
        {
            continue;
        }
        let handlers = chunk.split(".route(").next().unwrap_or_default();
        for (method, call) in [("GET", "get("), ("POST", "post(")] {
            if handlers.contains(call) {
                seen += 1;
                let path = path.replace(
                    "{id}",
                    if path.starts_with("/leads/") {
                        "{lead}"
                    } else {
                        "{opp}"
                    },
                );
                assert!(
                    PAGES.iter().any(|(m, p, _)| *m == method && *p == path),
                    "{method} {path} has no visibility case in server_visibility.rs"
                );
            }
        }
    }
    assert!(seen >= 8, "only {seen} lead pages found in the router");
}

/// Sends a page request as a browser does: a form for a POST, nothing for a GET.
async fn submit(
    b: &mut Browser<'_>,
    method: Method,
    path: &str,
    form: &[(String, String)],
) -> Resp {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = (method == Method::POST).then_some(fields.as_slice());
    b.request(method, path, body).await
}

async fn pages_treat_a_hidden_lead_as_missing(h: Harness) {
    let w = world(&h).await;
    let before = snapshot(&h, &w).await;
    for v in &w.viewers {
        let (mut b, csrf) = Browser::signed_in(&h, v.id).await;
        for (method, path, fields) in PAGES {
            let (hidden_path, missing_path) = w.both(path, &v.mine);
            let form = |hidden: bool| {
                let mut form: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, val)| {
                        let (h, m) = w.both(val, &v.mine);
                        ((*k).to_owned(), if hidden { h } else { m })
                    })
                    .collect();
                form.push(("csrf".to_owned(), csrf.clone()));
                form
            };
            let method: Method = method.parse().unwrap();
            let hidden = submit(&mut b, method.clone(), &hidden_path, &form(true)).await;
            let missing = submit(&mut b, method.clone(), &missing_path, &form(false)).await;
            let forbidden = v.may_be_forbidden && hidden.status == StatusCode::FORBIDDEN;
            assert!(
                forbidden || hidden.status == StatusCode::NOT_FOUND,
                "{method} {path} as {}: {} {}",
                v.id,
                hidden.status,
                hidden.text
            );
            assert_eq!(
                w.blank(&hidden),
                w.blank(&missing),
                "{method} {path}: a hidden lead answers unlike a missing one"
            );
        }
    }
    let (mut b, _) = Browser::signed_in(&h, SALES_B).await;
    assert_eq!(
        snapshot(&h, &w).await,
        before,
        "a refused form changed the lead"
    );
    // Lists, searches, counts and downloads leave the lead out.
    for uri in [
        "/leads".to_owned(),
        format!("/leads?q={}", crm_server::web::urlencode(HIDDEN_NAME)),
        format!("/leads?q={HIDDEN_PHONE}"),
        "/report".to_owned(),
        "/report?format=csv".to_owned(),
        "/pipeline".to_owned(),
        "/duplicates".to_owned(),
        "/board".to_owned(),
        "/board/deals".to_owned(),
        "/report/lost-reasons".to_owned(),
        "/report/time-in-status".to_owned(),
    ] {
        let r = b.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
        // A search page shows what was searched for in its search box, and nothing else.
        let name = if uri.contains("q=") {
            HIDDEN_COMPANY
        } else {
            HIDDEN_NAME
        };
        for secret in [name, HIDDEN_COMPANY, HIDDEN_DEAL, &w.lead, &w.opp, "KWD"] {
            assert!(!r.text.contains(secret), "{uri} shows {secret}");
        }
    }
    // The owner's own view of the same list does show it: the checks above can fail.
    let (mut owner, _) = Browser::signed_in(&h, SALES).await;
    assert!(owner.get("/leads").await.text.contains(HIDDEN_NAME));
    assert!(owner.get("/board").await.text.contains(HIDDEN_NAME));
    assert!(owner.get("/board/deals").await.text.contains(HIDDEN_DEAL));
}

async fn lists_counts_and_events_leave_a_hidden_lead_out(h: Harness) {
    let w = world(&h).await;
    let secrets = [
        HIDDEN_NAME,
        HIDDEN_DEAL,
        w.lead.as_str(),
        w.opp.as_str(),
        "KWD",
    ];
    let name = crm_server::web::urlencode(HIDDEN_NAME);
    for uri in [
        "/api/v1/leads?limit=1000".to_owned(),
        format!("/api/v1/leads?q={name}"),
        format!("/api/v1/leads?q={HIDDEN_PHONE}"),
        "/api/v1/leads/duplicates".to_owned(),
        "/api/v1/report".to_owned(),
        "/api/v1/pipeline".to_owned(),
        "/api/v1/boards/leads".to_owned(),
        "/api/v1/boards/deals".to_owned(),
        "/api/v1/events".to_owned(),
    ] {
        let r = h.get(&uri, &w.b).await;
        assert!(
            matches!(r.status, StatusCode::OK | StatusCode::FORBIDDEN),
            "{uri}: {}",
            r.text
        );
        for secret in secrets {
            assert!(!r.text.contains(secret), "{uri} shows {secret}: {}", r.text);
        }
    }
    // A manager's sweep preview names only the leads the manager sees, though the sweep
    // itself runs over every lead.
    let due = h
        .lead(
            &h.sales,
            json!({"name": "لم يتصل به أحد", "email": "due@example.com", "source": "web"}),
        )
        .await;
    // Five working days in Riyadh's calendar (a Friday-Saturday weekend) have passed
    // whatever the weekday the test starts on: a week and a day.
    h.clock.advance(chrono::TimeDelta::days(8));
    let m = &w.viewers[1];
    let r = h.get("/api/v1/sweep/preview", &m.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains(&m.mine),
        "the manager's own due lead: {}",
        r.text
    );
    assert!(
        !r.text.contains(&due),
        "the preview names a hidden lead: {}",
        r.text
    );
    let r = h.post("/api/v1/sweep", &m.token, json!({})).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert!(
        !r.text.contains(&due),
        "the sweep names a hidden lead: {}",
        r.text
    );
    let report = h.get("/api/v1/report", &w.b).await.json();
    assert_eq!(
        report["total"], 1,
        "the report counts a hidden lead: {report}"
    );
    // The owner sees it in the same list and the same count.
    let r = h.get("/api/v1/leads?limit=1000", &h.sales).await;
    assert!(r.text.contains(&w.lead));
    // Refusing a duplicate of a hidden lead is right; naming the lead is not.
    let r = h
        .post(
            "/api/v1/leads",
            &w.b,
            json!({"name": "Someone", "phone": "050 123 4567", "source": "web"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    for secret in secrets {
        assert!(
            !r.text.contains(secret),
            "the refusal names {secret}: {}",
            r.text
        );
    }
}

on_every_backend!(settings = &[("visibility", "own")];
    api_routes_treat_a_hidden_lead_as_missing,
    pages_treat_a_hidden_lead_as_missing,
    lists_counts_and_events_leave_a_hidden_lead_out,
);
