//! Names, not numbers, in crm-server on SQLite and PostgreSQL, under the one configuration's
//! `sources = "web,معرض"`, `new_sources = "nobody"`, `currencies = "SAR,KWD"`: the forms
//! offer employees by name and the host's sources (in the page's language) and currencies
//! as lists; what the lists do not offer is refused by the library through the pages and
//! the API alike, the form shown again with what was typed; taking someone out of a team
//! asks first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::StatusCode;
use serde_json::json;
use server_support::browser::{Browser, location};
use server_support::{Harness, SALES};

on_every_backend!(settings = &[("sources", "web,معرض"), ("new_sources", "nobody"), ("currencies", "SAR,KWD")];
    forms_offer_names_and_the_hosts_lists,
    what_the_lists_do_not_offer_is_refused_everywhere,
);

/// The `<select>` named `name` in `html`, as text.
fn select<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("<select name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name}: {html}"));
    let end = html[start..].find("</select>").unwrap() + start;
    &html[start..end]
}

async fn forms_offer_names_and_the_hosts_lists(h: Harness) {
    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    let page = b.get("/leads/new").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // Sources: a list (nobody may add one), built-in ones in Arabic.
    let sources = select(&page.text, "source");
    assert!(sources.contains(">الموقع الإلكتروني<") && sources.contains("value=\"معرض\""));
    assert!(!sources.contains("referral"), "{sources}");
    // Owners by name: the manager and the salesperson, not who may only read.
    let owners = select(&page.text, "owner");
    assert!(
        owners.contains(">سارة القحطاني<") && owners.contains(">علي<"),
        "{owners}"
    );
    assert!(!owners.contains("Omar"), "{owners}");

    let lead = h
        .lead(
            &h.sales,
            json!({"name": "هند", "email": "hind@example.sa", "source": "web"}),
        )
        .await;
    let page = b.get(&format!("/leads/{lead}")).await;
    let to = select(&page.text, "to");
    assert!(
        to.contains("value=\"2\" selected>علي<"),
        "the owner is chosen: {to}"
    );
    let currencies = select(&page.text, "currency");
    assert!(currencies.contains("value=\"SAR\"") && currencies.contains("value=\"KWD\""));
    assert!(!currencies.contains("USD"));
    // Filters: anyone, then every employee by name; any source, then the host's.
    let list = b.get("/leads").await;
    assert!(select(&list.text, "owner").contains(">Omar<"));
    assert!(select(&list.text, "source").contains(">الكل<"));
    let pipeline = b.get("/pipeline?owner=2").await;
    assert!(select(&pipeline.text, "owner").contains("value=\"2\" selected"));

    // Teams: a manager picks the employee by name, and taking one out asks first.
    let (mut m, csrf) = Browser::signed_in(&h, server_support::MANAGER).await;
    let r = m
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "2"), ("team", "الرياض")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let teams = m.get("/teams").await;
    assert!(select(&teams.text, "employee").contains(">علي<"));
    assert!(
        teams.text.contains("<details class=\"confirm\">"),
        "{}",
        teams.text
    );
    assert!(
        teams.text.contains("<option value=\"الرياض\">"),
        "teams are suggested"
    );
    let employees = m.get("/employees").await;
    assert!(select(&employees.text, "manager").contains(">سارة القحطاني<"));
}

async fn what_the_lists_do_not_offer_is_refused_everywhere(h: Harness) {
    // The API: a source and a currency not listed, each named at its field.
    let r = h
        .post(
            "/api/v1/leads",
            &h.sales,
            json!({"name": "هند", "email": "hind@example.sa", "source": "referral"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["source"]);
    assert_eq!(h.lead_count().await, 0);
    let lead = h
        .lead(
            &h.sales,
            json!({"name": "هند", "email": "hind@example.sa", "source": "معرض"}),
        )
        .await;
    let deal = |currency: &str| json!({"title": "t", "value": "10.00", "currency": currency, "expected_close": "2027-01-31"});
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            deal("USD"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), ["currency"]);

    // The page: the form comes back with what was typed.
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let r = b
        .post(
            "/leads",
            &[
                ("csrf", &csrf),
                ("name", "ريم الشهري"),
                ("email", "reem@example.sa"),
                ("source", "referral"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"ريم الشهري\""), "the input is kept");
    assert!(r.text.contains("value=\"reem@example.sa\""));
    assert_eq!(h.lead_count().await, 1);
    // Chosen from the lists, with another owner: created and given to them.
    let r = b
        .post(
            "/leads",
            &[
                ("csrf", &csrf),
                ("name", "ريم الشهري"),
                ("email", "reem@example.sa"),
                ("source", "معرض"),
                ("owner", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let id = location(&r).trim_start_matches("/leads/").to_owned();
    let created = h.lead_json(&id, &h.manager).await;
    assert_eq!(created["owner"], 1);
    assert_eq!(created["source"], "معرض");
}
