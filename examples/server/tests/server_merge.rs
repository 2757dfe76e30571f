//! Duplicates and merge in crm-server, in process: the REST endpoints on SQLite and
//! PostgreSQL (success, each documented error, refusals change nothing), and the duplicates
//! page with its merge forms (management only, CSRF, no JavaScript).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use server_support::browser::{Browser, hidden_csrf};
use server_support::{Harness, MANAGER, SALES};

on_every_backend!(
    duplicates_and_merge_over_the_api,
    the_duplicates_page_merges
);

/// Two leads with one email, as sales staff: (keep, other).
async fn pair(h: &Harness) -> (String, String) {
    let keep = h
        .lead(
            &h.sales,
            json!({"name": "Huda", "email": "huda@example.com"}),
        )
        .await;
    // Created a second later: the groups list the older lead first.
    h.clock.advance(chrono::TimeDelta::seconds(1));
    let other = h
        .lead(
            &h.sales,
            json!({"name": "هدى", "email": "huda@example.com", "phone": "0551112222",
                   "company": "Acme", "allow_duplicate": true}),
        )
        .await;
    (keep, other)
}

async fn duplicates_and_merge_over_the_api(h: Harness) {
    let (keep, other) = pair(&h).await;
    let r = h.get("/api/v1/leads/duplicates", &h.manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let groups = r.json()["groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["kind"], "email");
    assert_eq!(groups[0]["leads"][0]["id"], keep.as_str());
    assert_eq!(groups[0]["leads"][1]["id"], other.as_str());
    let r = h
        .get("/api/v1/leads/duplicates?fuzzy=maybe", &h.manager)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let uri = format!("/api/v1/leads/{keep}/merge");
    let body = json!({"other": other, "other_version": 1});
    let before = h.get("/api/v1/leads?limit=1000", &h.manager).await.text;
    // Sales staff: 403. No If-Match: 428. Stale versions of either lead: 412. Into itself:
    // 409. A malformed other id: 422. Each changes nothing.
    let r = h
        .versioned(Method::POST, &uri, &h.sales, body.clone(), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h
        .call(
            Method::POST,
            &uri,
            Some(&h.manager),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = h
        .versioned(Method::POST, &uri, &h.manager, body.clone(), "\"5\"")
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let stale = json!({"other": other, "other_version": 9});
    let r = h
        .versioned(Method::POST, &uri, &h.manager, stale, "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let itself = json!({"other": keep, "other_version": 1});
    let r = h
        .versioned(Method::POST, &uri, &h.manager, itself, "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.problem(), "merge_refused");
    let bad = json!({"other": "nope", "other_version": 1});
    let r = h
        .versioned(Method::POST, &uri, &h.manager, bad, "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        h.get("/api/v1/leads?limit=1000", &h.manager).await.text,
        before
    );

    let r = h
        .versioned(Method::POST, &uri, &h.manager, body.clone(), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"2\"");
    let out = r.json();
    assert_eq!(out["kept"]["company"], "Acme");
    assert_eq!(out["merged"]["merged_into"], keep.as_str());
    assert_eq!(h.lead_count().await, 1);
    let gone = h.get(&format!("/api/v1/leads/{other}"), &h.manager).await;
    assert_eq!(gone.json()["merged_into"], keep.as_str());
    let r = h.get("/api/v1/leads/duplicates", &h.manager).await;
    assert!(r.json()["groups"].as_array().unwrap().is_empty());
    // Again: the other lead is merged already.
    let again = json!({"other": other, "other_version": 2});
    let r = h
        .versioned(Method::POST, &uri, &h.manager, again, "\"2\"")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

async fn the_duplicates_page_merges(h: Harness) {
    let (keep, other) = pair(&h).await;
    // Sales staff see the group but no merge form.
    let (mut sales, _) = Browser::signed_in(&h, SALES).await;
    let page = sales.request(Method::GET, "/duplicates", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(&keep) && page.text.contains(&other));
    assert!(page.text.contains("البريد نفسه"), "Arabic labels");
    assert!(!page.text.contains("action=\"/duplicates/merge\""));

    let (mut boss, _) = Browser::signed_in(&h, MANAGER).await;
    let page = boss.request(Method::GET, "/duplicates", None).await;
    assert!(
        page.text.contains("action=\"/duplicates/merge\""),
        "{}",
        page.text
    );
    let csrf = hidden_csrf(&page.text);
    let form = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("keep".to_owned(), keep.clone()),
            ("keep_version".to_owned(), "1".to_owned()),
            ("other".to_owned(), other.clone()),
            ("other_version".to_owned(), "1".to_owned()),
        ]
    };
    let as_refs = |f: &[(String, String)]| -> Vec<(String, String)> { f.to_vec() };
    // A forged form (another token) is refused and changes nothing.
    let forged = as_refs(&form(&"0".repeat(64)));
    let forged: Vec<(&str, &str)> = forged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = boss
        .request(Method::POST, "/duplicates/merge", Some(&forged))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.lead_count().await, 2);
    // Sales staff posting the form: refused by the library.
    let sales_csrf = hidden_csrf(&sales.request(Method::GET, "/duplicates", None).await.text);
    let f = form(&sales_csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = sales
        .request(Method::POST, "/duplicates/merge", Some(&f))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.lead_count().await, 2);

    let f = form(&csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = boss
        .request(Method::POST, "/duplicates/merge", Some(&f))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("/leads/{keep}").as_str())
    );
    assert_eq!(h.lead_count().await, 1);
    let gone = boss
        .request(Method::GET, &format!("/leads/{other}"), None)
        .await;
    assert!(gone.text.contains("id=\"merged-into\""), "{}", gone.text);
    assert!(gone.text.contains(&format!("/leads/{keep}")));
    let page = boss.request(Method::GET, "/duplicates", None).await;
    assert!(page.text.contains("id=\"no-duplicates\""));
}
