//! The REST API, in process, on SQLite and PostgreSQL: every endpoint's success, each error
//! status it documents, and that refused requests change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use server_support::{Harness, MANAGER, MAX_FAILURES, OTHER, PASSWORD, SALES};

on_every_backend!(
    tokens_are_issued_checked_and_revoked,
    failed_sign_ins_lock_the_employee,
    every_api_route_needs_a_token,
    leads_are_created_listed_and_paged,
    bad_input_names_each_field_and_writes_nothing,
    updates_need_the_current_version,
    status_moves_follow_the_library,
    assignment_follows_the_library,
    interactions_and_opportunities,
    report_sweep_dispatch_and_events,
    employees_and_passwords,
    teams_list_members_and_leads,
    the_sweep_preview_sends_and_marks_nothing,
    follow_up_times_are_set_cleared_and_reminded,
    a_number_in_any_spelling_is_searched_by_its_key,
);

async fn tokens_are_issued_checked_and_revoked(h: Harness) {
    let me = h.get("/api/v1/tokens", &h.sales).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json().as_array().unwrap().len(), 1);

    // A second token, revoked by id; the first keeps working.
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD, "label": "script"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let second = r.json();
    let (id, token) = (
        second["id"].as_str().unwrap(),
        second["token"].as_str().unwrap(),
    );
    assert_eq!(h.get("/api/v1/leads", token).await.status, StatusCode::OK);
    let r = h.delete(&format!("/api/v1/tokens/{id}"), &h.sales).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h.get("/api/v1/leads", token).await;
    r.refused(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Someone else's token cannot be revoked (404, and it keeps working).
    let manager_tokens = h.get("/api/v1/tokens", &h.manager).await.json();
    let manager_id = manager_tokens[0]["id"].as_str().unwrap();
    let r = h
        .delete(&format!("/api/v1/tokens/{manager_id}"), &h.sales)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.get("/api/v1/leads", &h.manager).await.status,
        StatusCode::OK
    );
    // The current token, revoked by itself.
    let r = h.delete("/api/v1/tokens/current", &h.sales).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.get("/api/v1/leads", &h.sales).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Garbage and malformed headers.
    assert_eq!(
        h.get("/api/v1/leads", "crm_nothing").await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = h
        .call(
            Method::GET,
            "/api/v1/leads",
            None,
            None,
            &[("authorization", "Basic x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Tokens expire.
    h.clock.advance(h.state.auth.policy().token_ttl);
    assert_eq!(
        h.get("/api/v1/leads", &h.manager).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn failed_sign_ins_lock_the_employee(h: Harness) {
    let attempt = |password: &str| h.issue(json!({"employee_id": SALES, "password": password}));
    for _ in 0..MAX_FAILURES {
        let r = attempt("wrong password").await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // Locked: even the right password is refused, and says until when.
    let r = attempt(PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.problem(), "locked");
    assert!(r.json()["locked_until"].is_string());
    // Another employee is not locked.
    h.token(MANAGER).await;
    // Unknown employees and employees without a password get the same answer.
    let r = h
        .issue(json!({"employee_id": 99, "password": PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h
        .issue(json!({"employee_id": 0, "password": PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "employee_id");
    // The lock ends.
    h.clock.advance(chrono::TimeDelta::minutes(16));
    assert_eq!(attempt(PASSWORD).await.status, StatusCode::CREATED);
}

/// Every route of the document refuses a request without a token, except issuing one and
/// the web forms a website's visitors send (public by design, and documented as taking no
/// credentials).
async fn every_api_route_needs_a_token(h: Harness) {
    let doc = serde_json::to_value(crm_server::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if path == "/api/v1/tokens" && method == "post" {
                continue;
            }
            if path.starts_with("/api/v1/forms/") {
                assert!(op.get("security").is_none(), "{method} {path} is public");
                let uri = path.replace("{name}", "none");
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let r = h.call(m, &uri, None, Some(json!({})), &[]).await;
                assert_eq!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "{method} {path}: {}",
                    r.text
                );
                continue;
            }
            let uri = path
                .replace("{id}", "01a212a7-6a79-7b52-8a65-8bc7e2a7dac6")
                .replace(
                    "/employees/01a212a7-6a79-7b52-8a65-8bc7e2a7dac6",
                    "/employees/1",
                );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = h.call(m, &uri, None, Some(json!({})), &[]).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                r.text
            );
            assert_eq!(r.problem(), "unauthenticated");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} routes checked");
}

async fn leads_are_created_listed_and_paged(h: Harness) {
    let r = h
        .post(
            "/api/v1/leads",
            &h.sales,
            json!({"name": "  أحمد   علي ", "phone": "٠٥٠١٢٣٤٥٦٧", "company": "شركة النور", "source": "web"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.etag(), "\"1\"");
    let lead = r.json();
    assert_eq!(lead["name"], "أحمد علي");
    assert_eq!(lead["phone"], "+966501234567");
    assert_eq!(lead["owner"], SALES);
    assert_eq!(lead["status"], "new");
    let id = lead["id"].as_str().unwrap();

    let r = h.get(&format!("/api/v1/leads/{id}"), &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.etag(), "\"1\"");
    assert_eq!(r.json()["company"], "شركة النور");
    let r = h.get(&format!("/api/v1/leads/{id}/detail"), &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["history"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["lead"]["id"], id);
    // Unknown and malformed ids.
    let r = h
        .get(
            "/api/v1/leads/01a212a7-6a79-7b52-8a65-8bc7e2a7dac6",
            &h.sales,
        )
        .await;
    r.refused(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        h.get("/api/v1/leads/nope", &h.sales).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get("/api/v1/leads/nope/detail", &h.sales).await.status,
        StatusCode::NOT_FOUND
    );
    // A duplicate phone (in another form) is a conflict, and allowed when asked.
    let dup = json!({"name": "Ahmed", "phone": "+966 50 123 4567"});
    let r = h.post("/api/v1/leads", &h.manager, dup.clone()).await;
    r.refused(StatusCode::CONFLICT, "duplicate");
    assert_eq!(h.lead_count().await, 1);
    let mut allowed = dup;
    allowed["allow_duplicate"] = json!(true);
    assert_eq!(
        h.post("/api/v1/leads", &h.manager, allowed).await.status,
        StatusCode::CREATED
    );
    // Whoever may only read cannot create.
    let r = h
        .post(
            "/api/v1/leads",
            &h.other,
            json!({"name": "x", "email": "x@example.com"}),
        )
        .await;
    r.refused(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(h.lead_count().await, 2);

    for i in 0..3 {
        h.clock.advance(chrono::TimeDelta::seconds(1));
        h.lead(
            &h.manager,
            json!({"name": format!("Lead {i}"), "email": format!("l{i}@example.com"), "source": "event"}),
        )
        .await;
    }
    // Filters and search.
    let r = h.get("/api/v1/leads?source=event", &h.sales).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);
    let r = h
        .get("/api/v1/leads?q=%D8%A7%D9%84%D9%86%D9%88%D8%B1", &h.sales)
        .await; // النور
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = h.get("/api/v1/leads?owner=2&status=new", &h.sales).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    // Keyset pages: newest first, no lead twice, all of them.
    let first = h.get("/api/v1/leads?limit=2", &h.sales).await.json();
    assert_eq!(first["items"][0]["name"], "Lead 2");
    let next = first["next"].as_str().unwrap();
    let second = h
        .get(&format!("/api/v1/leads?limit=2&after={next}"), &h.sales)
        .await
        .json();
    let third = h
        .get(
            &format!(
                "/api/v1/leads?limit=2&after={}",
                second["next"].as_str().unwrap()
            ),
            &h.sales,
        )
        .await
        .json();
    assert!(third["next"].is_null());
    let mut names: Vec<_> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5);
    // Bad filters name their parameter.
    let r = h
        .get("/api/v1/leads?status=won&limit=5000&after=x", &h.sales)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["status", "after", "limit"]);
    let r = h.get("/api/v1/leads?limit=abc", &h.sales).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
}

async fn bad_input_names_each_field_and_writes_nothing(h: Harness) {
    let r = h
        .post(
            "/api/v1/leads",
            &h.sales,
            json!({"name": "", "email": "not-an-email", "phone": "12", "source": "a b", "owner": -1}),
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(r.fields(), ["name", "email", "phone", "source", "owner"]);
    // Not JSON, or the wrong JSON types.
    let r = h
        .call(
            Method::POST,
            "/api/v1/leads",
            Some(&h.sales),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h.post("/api/v1/leads", &h.sales, json!({"name": 5})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "body");
    // A lead needs a way to reach it: the library's rule, reported as a field.
    let r = h
        .post("/api/v1/leads", &h.sales, json!({"name": "Nadia"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "email");
    assert_eq!(h.lead_count().await, 0);
    // Unknown API paths are problems too.
    let r = h.get("/api/v1/nothing", &h.sales).await;
    r.refused(StatusCode::NOT_FOUND, "not_found");
}

async fn updates_need_the_current_version(h: Harness) {
    let id = h
        .lead(
            &h.sales,
            json!({"name": "Fatima", "email": "f@example.com"}),
        )
        .await;
    let uri = format!("/api/v1/leads/{id}");
    let patch = json!({"company": "مؤسسة الأمل"});
    // No If-Match: 428, nothing written.
    let r = h
        .call(
            Method::PATCH,
            &uri,
            Some(&h.sales),
            Some(patch.clone()),
            &[],
        )
        .await;
    r.refused(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    // A stale or meaningless one: 412, nothing written.
    for stale in ["\"7\"", "\"abc\""] {
        let r = h.patch(&uri, &h.sales, patch.clone(), stale).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    }
    let now = h.get(&uri, &h.sales).await;
    assert_eq!(now.etag(), "\"1\"");
    assert!(now.json()["company"].is_null());
    // Refused by the library's rules: nothing written.
    let r = h.patch(&uri, &h.other, patch.clone(), "\"1\"").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Bad fields: 422, nothing written.
    let r = h
        .patch(&uri, &h.sales, json!({"email": "bad", "name": ""}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 2);
    assert_eq!(h.get(&uri, &h.sales).await.etag(), "\"1\"");
    // The current version: written, new ETag.
    let r = h.patch(&uri, &h.sales, patch, "\"1\"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(r.json()["company"], "مؤسسة الأمل");
    // "" clears an optional field.
    let r = h
        .patch(&uri, &h.sales, json!({"company": ""}), "\"2\"")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["company"].is_null());
}

async fn status_moves_follow_the_library(h: Harness) {
    let id = h
        .lead(&h.sales, json!({"name": "Huda", "email": "h@example.com"}))
        .await;
    let uri = format!("/api/v1/leads/{id}/status");
    let mv = |body: serde_json::Value, version: &'static str| {
        h.versioned(Method::POST, &uri, &h.sales, body, version)
    };
    let r = mv(json!({"status": "converted"}), "\"1\"").await;
    r.refused(StatusCode::CONFLICT, "invalid_transition");
    let r = mv(json!({"status": "lost"}), "\"1\"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "lost_reason");
    let r = mv(
        json!({"status": "contacted", "lost_reason": "price"}),
        "\"1\"",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A lost reason is a code from the host's list; a detail needs a code.
    let r = mv(json!({"status": "lost", "lost_reason": "weather"}), "\"1\"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "lost_reason");
    let r = mv(
        json!({"status": "lost", "lost_reason_detail": "too pricey"}),
        "\"1\"",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "lost_reason_detail");
    let r = mv(json!({"status": "maybe"}), "\"1\"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "status");
    let r = h
        .call(
            Method::POST,
            &uri,
            Some(&h.sales),
            Some(json!({"status": "contacted"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = h
        .versioned(
            Method::POST,
            &uri,
            &h.other,
            json!({"status": "contacted"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get(&format!("/api/v1/leads/{id}"), &h.sales).await.json()["status"],
        "new"
    );
    let lost = h
        .lead(
            &h.sales,
            json!({"name": "Lina", "email": "lina@example.com"}),
        )
        .await;
    let r = h
        .versioned(
            Method::POST,
            &format!("/api/v1/leads/{lost}/status"),
            &h.sales,
            json!({"status": "lost", "lost_reason": "competitor", "lost_reason_detail": "اختار المنافس"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!(body["lead"]["lost_reason"], "competitor");
    assert_eq!(body["lead"]["lost_reason_detail"], "اختار المنافس");
    let r = mv(json!({"status": "interested"}), "\"1\"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"2\"");
    let r = mv(json!({"status": "converted"}), "\"2\"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!(body["lead"]["status"], "converted");
    assert!(body["client_id"].is_string(), "{body}");
    // Converted is read-only.
    let r = h
        .patch(
            &format!("/api/v1/leads/{id}"),
            &h.sales,
            json!({"name": "x"}),
            "\"3\"",
        )
        .await;
    r.refused(StatusCode::CONFLICT, "read_only");
}

async fn assignment_follows_the_library(h: Harness) {
    let id = h
        .lead(
            &h.manager,
            json!({"name": "Layla", "email": "l@example.com"}),
        )
        .await;
    let uri = format!("/api/v1/leads/{id}/assign");
    let call = |token: &str, to: i64, v: &'static str| {
        h.versioned(Method::POST, &uri, token, json!({"to": to}), v)
    };
    // Sales may not take over someone else's lead.
    let r = call(&h.sales, SALES, "\"1\"").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nobody can own a lead who is not sales or management.
    let r = call(&h.manager, OTHER, "\"1\"").await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_assignee");
    let r = call(&h.manager, 0, "\"1\"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "to");
    assert_eq!(
        h.get(&format!("/api/v1/leads/{id}"), &h.sales).await.json()["owner"],
        MANAGER
    );
    let r = call(&h.manager, SALES, "\"1\"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["owner"], SALES);
    assert_eq!(r.etag(), "\"2\"");
}

async fn interactions_and_opportunities(h: Harness) {
    let id = h
        .lead(
            &h.sales,
            json!({"name": "Yousef", "email": "y@example.com"}),
        )
        .await;
    let r = h
        .post(
            &format!("/api/v1/leads/{id}/interactions"),
            &h.sales,
            json!({"kind": "call", "notes": "اتصل وطلب عرض سعر"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["notes"], "اتصل وطلب عرض سعر");
    let r = h
        .post(
            &format!("/api/v1/leads/{id}/interactions"),
            &h.sales,
            json!({"kind": "telepathy", "occurred_at": "yesterday"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 2);
    let r = h
        .post(
            "/api/v1/leads/01a212a7-6a79-7b52-8a65-8bc7e2a7dac6/interactions",
            &h.sales,
            json!({"kind": "call"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .post(
            &format!("/api/v1/leads/{id}/interactions"),
            &h.other,
            json!({"kind": "call"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let detail = h
        .get(&format!("/api/v1/leads/{id}/detail"), &h.sales)
        .await
        .json();
    assert_eq!(detail["interactions"].as_array().unwrap().len(), 1);

    let uri = format!("/api/v1/leads/{id}/opportunities");
    let r = h
        .post(
            &uri,
            &h.sales,
            json!({"title": "توريد", "value": "1.2345", "currency": "XXY", "expected_close": "31/12/2026"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["currency", "expected_close"]);
    let r = h
        .post(
            &uri,
            &h.sales,
            json!({"title": "توريد", "value": "١٬٢٥٠٫٥٠٠", "currency": "KWD", "expected_close": "2026-12-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let o = r.json();
    assert_eq!(o["value"], "1250.500");
    assert_eq!(o["value_minor"], 1_250_500);
    let oid = o["id"].as_str().unwrap();
    let ouri = format!("/api/v1/opportunities/{oid}");
    assert_eq!(h.get(&ouri, &h.other).await.etag(), "\"1\"");
    let r = h
        .call(
            Method::PATCH,
            &ouri,
            Some(&h.sales),
            Some(json!({"stage": "won"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = h
        .patch(&ouri, &h.sales, json!({"stage": "won"}), "\"5\"")
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = h
        .patch(&ouri, &h.sales, json!({"stage": "sold"}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h.get(&ouri, &h.sales).await.json()["stage"], "open");
    let r = h
        .patch(
            &ouri,
            &h.sales,
            json!({"stage": "won", "value": "2000"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["value"], "2000.000");
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(
        h.get("/api/v1/opportunities/nope", &h.sales).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn report_sweep_dispatch_and_events(h: Harness) {
    h.lead(
        &h.sales,
        json!({"name": "A", "email": "a@example.com", "source": "web"}),
    )
    .await;
    h.lead(
        &h.sales,
        json!({"name": "B", "email": "b@example.com", "source": "web"}),
    )
    .await;
    let r = h.get("/api/v1/report?source=web", &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    let rep = r.json();
    assert_eq!(rep["total"], 2);
    assert_eq!(rep["by_status"]["new"], 2);
    let r = h
        .get("/api/v1/report?from=tomorrow&owner=x", &h.other)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 2);

    for uri in ["/api/v1/sweep", "/api/v1/dispatch"] {
        let r = h.post(uri, &h.sales, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        let r = h.post(uri, &h.manager, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    }
    // Leads untouched for longer than the follow-up period are swept.
    h.clock.advance(chrono::TimeDelta::days(8));
    let r = h.post("/api/v1/sweep", &h.manager, json!({})).await;
    assert_eq!(
        r.json()["notified"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );

    let r = h.get("/api/v1/events?limit=100", &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    let events = r.json();
    let last = events.as_array().unwrap().last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(events[0]["kind"]["type"], "lead_created", "{events}");
    let r = h
        .post("/api/v1/events/ack", &h.sales, json!({"up_to": last}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get("/api/v1/events", &h.sales)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        events.as_array().unwrap().len()
    );
    let r = h
        .post("/api/v1/events/ack", &h.manager, json!({"up_to": last}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["acknowledged"].as_u64().unwrap() >= 2);
    assert!(
        h.get("/api/v1/events", &h.sales)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = h
        .post("/api/v1/events/ack", &h.manager, json!({"up_to": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn employees_and_passwords(h: Harness) {
    let r = h.get("/api/v1/employees", &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 3);
    let r = h.get("/api/v1/employees/1", &h.other).await;
    assert_eq!(r.json()["name"], "سارة القحطاني");
    assert_eq!(
        h.get("/api/v1/employees/77", &h.other).await.status,
        StatusCode::NOT_FOUND
    );
    let new = json!({"name": "Mona", "role": "sales"});
    let r = h.put("/api/v1/employees/4", &h.sales, new.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get("/api/v1/employees/4", &h.sales).await.status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .put(
            "/api/v1/employees/4",
            &h.manager,
            json!({"name": "", "role": "boss"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 2);
    let r = h.put("/api/v1/employees/4", &h.manager, new).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The last manager cannot be demoted (the library's rule).
    let r = h
        .put(
            "/api/v1/employees/1",
            &h.manager,
            json!({"name": "Sara", "role": "sales"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // An employee's own needs their current one too; management's for others does not.
    let set = |token: &str, id: i64, password: &str| {
        h.put(
            &format!("/api/v1/employees/{id}/password"),
            token,
            json!({"password": password, "current_password": PASSWORD}),
        )
    };
    // Sales may set their own password, not another's.
    assert_eq!(
        set(&h.sales, OTHER, "another long one").await.status,
        StatusCode::FORBIDDEN
    );
    let r = set(&h.sales, SALES, "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "password");
    assert_eq!(
        set(&h.sales, SALES, "a new long password").await.status,
        StatusCode::NO_CONTENT
    );
    // The manager sets the new employee's.
    assert_eq!(
        set(&h.manager, 4, "welcome to the team").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        set(&h.manager, 99, "welcome to the team").await.status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .issue(json!({"employee_id": 4, "password": "welcome to the team"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = h
        .issue(json!({"employee_id": SALES, "password": PASSWORD}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
}

async fn teams_list_members_and_leads(h: Harness) {
    assert_eq!(h.get("/api/v1/teams", &h.other).await.json(), json!([]));
    let r = h
        .put(
            "/api/v1/employees/1",
            &h.manager,
            json!({"name": "سارة القحطاني", "role": "manager", "manages": ["فريق الرياض"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h
        .put(
            "/api/v1/employees/2",
            &h.manager,
            json!({"name": "علي", "role": "sales", "team": "فريق  الرياض"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Sales may not move themself to another team (the library's rule): nothing changes.
    let r = h
        .put(
            "/api/v1/employees/2",
            &h.sales,
            json!({"name": "علي", "role": "sales", "team": "جدة"}),
        )
        .await;
    r.refused(StatusCode::FORBIDDEN, "forbidden");
    let r = h.get("/api/v1/teams", &h.other).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!([{"team": "فريق الرياض", "members": [SALES], "managers": [MANAGER]}])
    );
}

async fn the_sweep_preview_sends_and_marks_nothing(h: Harness) {
    for (name, email) in [("A", "a@example.com"), ("B", "b@example.com")] {
        h.lead(&h.sales, json!({"name": name, "email": email}))
            .await;
    }
    let preview = "/api/v1/sweep/preview";
    h.get(preview, &h.sales)
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");
    let r = h.get(preview, &h.manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!([]));
    h.clock.advance(chrono::TimeDelta::days(8));
    let first = h.get(preview, &h.manager).await.json();
    assert_eq!(first.as_array().unwrap().len(), 2, "{first}");
    assert_eq!(first[0]["kind"]["type"], "first_contact");
    assert_eq!(first[0]["recipient"], SALES);
    // A dry run twice shows the same, and the real sweep then sends them all.
    assert_eq!(h.get(preview, &h.manager).await.json(), first);
    let r = h.get(&format!("{preview}?limit=1"), &h.manager).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let later = (crm_core::Clock::now(h.clock.as_ref()) + chrono::TimeDelta::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let r = h.get(&format!("{preview}?at={later}"), &h.manager).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = h
        .get(&format!("{preview}?at=yesterday&limit=0"), &h.manager)
        .await;
    assert_eq!(r.fields(), ["at", "limit"]);
    let r = h.post("/api/v1/sweep", &h.manager, json!({})).await;
    assert_eq!(
        r.json()["notified"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    assert_eq!(h.get(preview, &h.manager).await.json(), json!([]));
}

async fn follow_up_times_are_set_cleared_and_reminded(h: Harness) {
    let id = h
        .lead(
            &h.sales,
            json!({"name": "ريم", "email": "reem@example.com"}),
        )
        .await;
    let uri = format!("/api/v1/leads/{id}");
    let now = crm_core::Clock::now(h.clock.as_ref());
    let at = |d: chrono::TimeDelta| {
        chrono::DateTime::<chrono::Utc>::from_timestamp((now + d).timestamp(), 0).unwrap()
    };
    let tomorrow = at(chrono::TimeDelta::days(1));
    // A time without an offset, or in the past, is refused and nothing is written.
    for bad in ["2026-12-01", "2026-12-01T09:00"] {
        let r = h
            .patch(&uri, &h.sales, json!({"next_follow_up": bad}), "\"1\"")
            .await;
        assert_eq!(r.fields(), ["next_follow_up"]);
    }
    let past = at(-chrono::TimeDelta::hours(1)).to_rfc3339();
    let r = h
        .patch(&uri, &h.sales, json!({"next_follow_up": past}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Whoever may only read cannot plan a follow-up.
    let r = h
        .patch(
            &uri,
            &h.other,
            json!({"next_follow_up": tomorrow.to_rfc3339()}),
            "\"1\"",
        )
        .await;
    r.refused(StatusCode::FORBIDDEN, "forbidden");
    let lead = h.lead_json(&id, &h.sales).await;
    assert_eq!(lead["version"], 1);
    assert!(lead["next_follow_up"].is_null());

    // Set in Riyadh's offset, stored and returned in UTC.
    let riyadh = tomorrow
        .with_timezone(&chrono_tz::Asia::Riyadh)
        .to_rfc3339();
    let r = h
        .patch(&uri, &h.sales, json!({"next_follow_up": riyadh}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(r.json()["next_follow_up"].clone()).unwrap();
    assert_eq!(got, tomorrow);
    // "" clears it.
    let r = h
        .patch(&uri, &h.sales, json!({"next_follow_up": ""}), "\"2\"")
        .await;
    assert!(r.json()["next_follow_up"].is_null(), "{}", r.text);

    // Logging an interaction sets the next one; once it passes, the sweep reminds.
    let r = h
        .post(
            &format!("{uri}/interactions"),
            &h.sales,
            json!({"kind": "call", "next_follow_up": "tomorrow"}),
        )
        .await;
    assert_eq!(r.fields(), ["next_follow_up"]);
    let r = h
        .post(
            &format!("{uri}/interactions"),
            &h.sales,
            json!({"kind": "call", "notes": "يعاود الاتصال غدا", "next_follow_up": tomorrow.to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        h.lead_json(&id, &h.sales).await["next_follow_up"],
        json!(tomorrow)
    );
    h.clock.advance(chrono::TimeDelta::days(2));
    let r = h.post("/api/v1/sweep", &h.manager, json!({})).await;
    assert_eq!(r.json()["reminded"], json!([id]), "{}", r.text);
}

/// A search that reads as a phone number (local forms in the server's region) finds the
/// leads with that number however each was typed, in the API's listing and in the web
/// list's live search, as the duplicate check treats them as one number.
async fn a_number_in_any_spelling_is_searched_by_its_key(h: Harness) {
    let local = h
        .lead(&h.sales, json!({"name": "Local", "phone": "0501234567"}))
        .await;
    let intl = h
        .lead(
            &h.sales,
            json!({"name": "Intl", "phone": "+966501234567", "allow_duplicate": true}),
        )
        .await;
    h.lead(&h.sales, json!({"name": "Other", "phone": "0551234567"}))
        .await;
    let mut both = vec![local, intl];
    both.sort();
    for q in [
        "%2B966%2050%20123%204567",
        "050%20123%204567",
        "050-123-4567",
        "00966501234567",
    ] {
        let r = h.get(&format!("/api/v1/leads?q={q}"), &h.sales).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut found: Vec<String> = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, both, "q={q}");
        // The web list's live search asks the same page with the same parameter.
        let (mut b, _) = server_support::browser::Browser::signed_in(&h, SALES).await;
        let page = b.get(&format!("/leads?q={q}")).await;
        assert_eq!(page.status, StatusCode::OK);
        for id in &both {
            assert!(page.text.contains(id.as_str()), "q={q}");
        }
        assert!(page.text.contains("<bdi>Local</bdi>"), "q={q}");
        assert!(!page.text.contains("<bdi>Other</bdi>"), "q={q}");
    }
}
