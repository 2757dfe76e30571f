//! A lead's one timeline in crm-server, in process on SQLite and PostgreSQL: interactions,
//! status changes, edits, opportunities and the next follow-up in one list, newest first,
//! in the viewer's language and zone, on `GET /api/v1/leads/{id}/detail` and on the lead
//! page; in Arabic a change reads from right to left (`from ← to`), a follow-up time is in
//! the zone, not UTC, and field names are words, not keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use crm_core::Clock;
use crm_server::i18n::Lang;
use serde_json::json;
use server_support::Harness;
use server_support::browser::Browser;

on_every_backend!(one_timeline_newest_first_in_the_viewers_language);

async fn one_timeline_newest_first_in_the_viewers_language(h: Harness) {
    let id = h
        .lead(&h.sales, json!({"name": "ريم", "email": "reem@example.sa"}))
        .await;
    let uri = format!("/api/v1/leads/{id}");
    h.clock.advance(TimeDelta::minutes(5));
    let next = (h.clock.now() + TimeDelta::days(2)).to_rfc3339();
    let r = h
        .post(
            &format!("{uri}/interactions"),
            &h.sales,
            json!({"kind": "call", "notes": "طلبت عرض سعر", "next_follow_up": next}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    h.clock.advance(TimeDelta::minutes(5));
    let r = h
        .versioned(
            Method::POST,
            &format!("{uri}/status"),
            &h.sales,
            json!({"status": "contacted"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    h.clock.advance(TimeDelta::minutes(5));
    let r = h
        .patch(&uri, &h.sales, json!({"company": "شركة الندى"}), "\"2\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    h.clock.advance(TimeDelta::minutes(5));
    let r = h
        .post(
            &format!("{uri}/opportunities"),
            &h.sales,
            json!({"title": "عقد صيانة", "value": "12500", "currency": "SAR", "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let detail = h
        .call(
            Method::GET,
            &format!("{uri}/detail"),
            Some(&h.sales),
            None,
            &[("accept-language", "ar")],
        )
        .await
        .json();
    let timeline = detail["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "follow_up_due",
            "opportunity",
            "edited",
            "status",
            "interaction",
            "created"
        ]
    );
    let text = |k: &str| {
        let e = timeline.iter().find(|e| e["kind"] == k).unwrap();
        e["text"].as_str().unwrap().to_owned()
    };
    // The labels of each language (`Lang::strings`: the labels know their language by
    // address, so not a copy of the constant).
    let (ar, en) = (Lang::Ar.strings(), Lang::En.strings());
    let status = text("status");
    assert!(
        status.contains(&format!(
            "{} ← {}",
            ar.status_label("new"),
            ar.status_label("contacted")
        )),
        "{status}"
    );
    assert!(text("edited").contains(ar.company), "a word, not a key");
    assert!(text("interaction").contains("طلبت عرض سعر"));
    assert!(text("opportunity").contains("12,500.00") || text("opportunity").contains("12500"));
    assert!(!detail.to_string().contains(" UTC"), "times in the zone");

    let english = h.get(&format!("{uri}/detail"), &h.sales).await.json();
    let status = english["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "status")
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        status.contains(&format!(
            "{} → {}",
            en.status_label("new"),
            en.status_label("contacted")
        )),
        "{status}"
    );

    // The page shows the same list, newest first, in Arabic.
    let (mut b, _) = Browser::signed_in(&h, server_support::SALES).await;
    let page = b.get(&format!("/leads/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let at = |needle: &str| {
        page.text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}: {}", page.text))
    };
    assert!(page.text.contains("id=\"timeline\""));
    assert!(at("class=\"t-opportunity\"") < at("class=\"t-status\""));
    assert!(at("class=\"t-status\"") < at("class=\"t-created\""));
    assert!(
        !page.text.contains("id=\"history\""),
        "one list, not three tables"
    );
}
