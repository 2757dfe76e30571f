//! Lead scoring in crm-server, in process on SQLite and PostgreSQL: the score and its
//! reasons on `GET /api/v1/leads` (also `sort=score`), on one lead and on its detail, in the
//! language of `Accept-Language`; rule points from the one configuration; bad sorts refused
//! by name; and the score with its reasons on the lead list and the lead page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use server_support::Harness;
use server_support::browser::Browser;

on_every_backend!(
    settings = &[("score_points", "email_kind:free_mail=-10")];
    the_api_ranks_and_explains_leads,
    the_pages_show_the_score_and_why,
);

/// Moves lead `id` to `to` as the manager.
async fn status(h: &Harness, id: &str, to: &str) {
    let version = h.lead_json(id, &h.manager).await["version"].to_string();
    let mut body = json!({ "status": to });
    if to == "lost" {
        body["lost_reason"] = json!("price");
    }
    let uri = format!("/api/v1/leads/{id}/status");
    let r = h
        .versioned(
            Method::POST,
            &uri,
            &h.manager,
            body,
            &format!("\"{version}\""),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A history (events convert, web leads with free mail are lost) and two open leads: the
/// (hot, cold) ids.
async fn history(h: &Harness) -> (String, String) {
    for n in 0..5 {
        let id = h
            .lead(
                &h.sales,
                json!({"name": format!("عميل {n}"), "email": format!("{n}@acme.sa"), "source": "event"}),
            )
            .await;
        status(h, &id, "contacted").await;
        status(h, &id, if n < 4 { "converted" } else { "lost" }).await;
    }
    for n in 5..10 {
        let id = h
            .lead(
                &h.sales,
                json!({"name": format!("عميل {n}"), "email": format!("{n}@gmail.com"), "source": "web"}),
            )
            .await;
        status(h, &id, "lost").await;
    }
    let cold = h
        .lead(
            &h.sales,
            json!({"name": "بارد", "email": "cold@gmail.com", "source": "web"}),
        )
        .await;
    let hot = h
        .lead(
            &h.sales,
            json!({"name": "ساخن", "email": "hot@acme.sa", "source": "event"}),
        )
        .await;
    (hot, cold)
}

async fn the_api_ranks_and_explains_leads(h: Harness) {
    let (hot, cold) = history(&h).await;
    let r = h.get("/api/v1/leads?sort=score&limit=2", &h.sales).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(
        (items[0]["id"].as_str(), items[1]["id"].as_str()),
        (Some(hot.as_str()), Some(cold.as_str()))
    );
    assert!(r.json()["next"].is_null());
    let score = |v: &Value| v["score"]["value"].as_u64().unwrap();
    assert!(score(&items[0]) > score(&items[1]));
    // The configured rule is among the cold lead's reasons.
    let rules: Vec<&Value> = (items[1]["score"]["reasons"].as_array().unwrap().iter())
        .filter(|r| r["kind"] == "rule")
        .collect();
    assert_eq!(rules.len(), 1, "{items:?}");
    assert_eq!(rules[0]["points"], -10);
    assert_eq!(rules[0]["field"], "email_kind");

    // One lead and its detail, in Arabic when asked.
    let uri = format!("/api/v1/leads/{hot}");
    let r = h
        .call(
            Method::GET,
            &uri,
            Some(&h.sales),
            None,
            &[("accept-language", "ar-SA,ar;q=0.9")],
        )
        .await;
    let text = r.json()["score"]["reasons"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("المصدر"), "{text}");
    let detail = h.get(&format!("{uri}/detail"), &h.sales).await.json();
    assert_eq!(detail["lead"]["score"]["value"], score(&items[0]));
    assert!(
        (detail["lead"]["score"]["reasons"][0]["text"]
            .as_str()
            .unwrap())
        .contains("raised")
    );

    // Decided leads carry no score; the newest-first list scores the open ones.
    let all = h.get("/api/v1/leads?limit=50", &h.sales).await.json();
    for l in all["items"].as_array().unwrap() {
        let open = !["converted", "lost"].contains(&l["status"].as_str().unwrap());
        assert_eq!(l["score"].is_object(), open, "{l}");
    }

    // Bad sorts are refused by name.
    let r = h.get("/api/v1/leads?sort=best", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["sort"]);
    let r = h.get("/api/v1/leads?sort=score&after=x", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["after"]);
}

async fn the_pages_show_the_score_and_why(h: Harness) {
    let (hot, _) = history(&h).await;
    let (mut b, _) = Browser::signed_in(&h, server_support::SALES).await;
    let list = b.get("/leads?sort=score").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let first = list.text.find("ساخن").unwrap();
    let second = list.text.find("بارد").unwrap();
    assert!(first < second, "the hot lead is listed first");
    assert!(list.text.contains("<option value=\"score\" selected"));
    let page = b.get(&format!("/leads/{hot}")).await;
    assert!(page.text.contains("id=\"score\""), "{}", page.text);
    assert!(page.text.contains("class=\"why\""));
    // The signed-in employee's language is Arabic by default: the reasons are too.
    assert!(page.text.contains("المصدر"), "{}", page.text);
}
