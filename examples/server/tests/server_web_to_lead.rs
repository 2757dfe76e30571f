//! Web-to-lead over HTTP, in process on SQLite and PostgreSQL: a form of the one
//! configuration published at `/forms/contact` and `/api/v1/forms/contact`. A submission
//! makes a lead with its source, campaign and consent; a repeat is an interaction on it; the
//! honeypot and a too-fast submission store nothing and look like success; a burst from one
//! address is cut with 429; a wrong `Origin` is refused; refused fields come back typed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::TimeDelta;
use crm_core::{Change, Clock, EmployeeId, LeadQuery, Name, Role, Source, Team};
use serde_json::json;
use server_support::{Harness, MANAGER, Resp, SALES};

const FORMS: &str = r#"{"contact": {"assign": "round-robin:east",
    "fields": ["name", "email", "phone", "company", "message"],
    "origins": ["https://www.example.sa"],
    "title": "اطلب عرض سعر",
    "consent": "أوافق على أن تتواصل معي الشركة بخصوص طلبي",
    "thanks": "شكرًا لك، سنتصل بك خلال يوم عمل"}}"#;

on_every_backend!(
    settings = &[("forms", super::FORMS)];
    a_submission_becomes_a_lead_with_its_campaign_and_a_repeat_an_interaction,
    spam_is_thanked_and_dropped_and_a_burst_is_cut,
    refused_fields_come_back_as_typed,
    the_json_endpoint_takes_a_submission_with_its_signed_time,
);

/// Ali (sales) in team `east`, the form's team.
async fn east(h: &Harness) {
    let id = |n| EmployeeId::new(n).unwrap();
    let ali = crm_core::Employee::new(id(SALES), Name::parse("علي").unwrap(), Role::Sales)
        .in_team(Team::parse("east").unwrap());
    h.state.crm.save_employee(id(MANAGER), ali).await.unwrap();
}

/// `value="..."` of the input named `name` in `html`.
fn input(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].replace("&#38;", "&"))
}

/// The form's page (as from `referer`), and its signed time.
async fn page(h: &Harness, query: &str, referer: &str) -> (Resp, String) {
    let r = h
        .call(
            Method::GET,
            &format!("/forms/contact{query}"),
            None,
            None,
            &[("referer", referer)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = input(&r.text, "t").unwrap();
    (r, t)
}

/// Posts the form from `address`, with `headers`.
async fn post(
    h: &Harness,
    address: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/forms/contact")
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::from(body)).unwrap();
    let addr: SocketAddr = format!("{address}:50000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    h.send(req).await
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn leads(h: &Harness) -> Vec<crm_core::Lead> {
    let all = LeadQuery::default().limit(100).unwrap();
    let manager = EmployeeId::new(MANAGER).unwrap();
    h.state.crm.list_leads(manager, &all).await.unwrap().items
}

async fn a_submission_becomes_a_lead_with_its_campaign_and_a_repeat_an_interaction(h: Harness) {
    east(&h).await;
    let (r, t) = page(
        &h,
        "?utm_campaign=%D8%B1%D9%85%D8%B6%D8%A7%D9%86",
        "https://www.example.sa/offers?utm_source=google&utm_medium=cpc",
    )
    .await;
    assert!(r.text.contains("dir=\"rtl\"") && r.text.contains("اطلب عرض سعر"));
    assert!(!r.text.contains("<script"), "works without JavaScript");
    let referrer = input(&r.text, "referrer").unwrap();
    h.clock.advance(TimeDelta::seconds(5));
    let fields = [
        ("t", t.as_str()),
        ("lang", "ar"),
        ("utm_campaign", "رمضان"),
        ("referrer", referrer.as_str()),
        ("name", "منى الحربي"),
        ("email", "mona@example.sa"),
        ("phone", "٠٥٠ ١٢٣ ٤٥٦٧"),
        ("company", "شركة الندى"),
        ("message", "نريد عرض سعر لـ ٣٠ جهازًا"),
        ("consent", "on"),
    ];
    let origin = [("origin", "https://www.example.sa")];
    let first = post(&h, "10.0.0.1", &fields, &origin).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.text.contains("شكرًا لك، سنتصل بك خلال يوم عمل"));

    let all = leads(&h).await;
    assert_eq!(all.len(), 1);
    let lead = &all[0];
    assert_eq!(lead.source(), &Source::web());
    assert_eq!(lead.owner().get(), SALES, "the form's team rule");
    assert_eq!(lead.phone().map(|p| p.as_str()), Some("+966501234567"));
    let manager = EmployeeId::new(MANAGER).unwrap();
    let d = h.state.crm.lead_detail(manager, lead.id()).await.unwrap();
    let details = d
        .history
        .iter()
        .find_map(|e| match &e.change {
            Change::Captured { by, details, .. } => {
                assert_eq!(by.as_str(), "form.contact");
                Some(details.as_ref().clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(details.utm_campaign.as_deref(), Some("رمضان"));
    assert_eq!(
        details.utm_source.as_deref(),
        Some("google"),
        "from the referring page"
    );
    assert_eq!(details.utm_medium.as_deref(), Some("cpc"));
    assert_eq!(details.referrer.as_deref(), Some(referrer.as_str()));
    assert_eq!(details.language.as_deref(), Some("ar"));
    let consent = details.consent.unwrap();
    assert!(consent.text.starts_with("أوافق"));
    assert_eq!(consent.at, h.clock.now());
    assert!(d.interactions[0].notes.as_str().contains("٣٠ جهازًا"));
    // The campaign is the lead's, and the report counts by it.
    let shown = h.lead_json(&lead.id().to_string(), &h.manager).await;
    assert_eq!(shown["campaign"], "رمضان");
    let by = |c: &str| format!("/api/v1/report?campaign={}", urlencode(c));
    let report = h.get(&by("رمضان"), &h.manager).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.json()["total"], 1);
    assert_eq!(h.get(&by("summer"), &h.manager).await.json()["total"], 0);
    // The lead's page says which form took it in, its campaign and the consent given.
    let (mut b, _) = server_support::browser::Browser::signed_in(&h, MANAGER).await;
    let lead_page = b.get(&format!("/leads/{}", lead.id())).await;
    let ar = crm_server::i18n::Lang::Ar.strings();
    let taken = format!(
        "{} {} contact · {}: رمضان",
        ar.ev_captured, ar.by_form, ar.campaign
    );
    assert!(lead_page.text.contains(&taken), "{}", lead_page.text);
    assert!(lead_page.text.contains(ar.consent_given));
    assert!(lead_page.text.contains("أوافق على أن تتواصل"));
    assert!(d.interactions[0].notes.as_str().contains("شركة الندى"));

    // The same person again: an interaction on the lead, and the same answer.
    let (_, t2) = page(&h, "", "").await;
    h.clock.advance(TimeDelta::seconds(5));
    let mut again = fields;
    again[0] = ("t", t2.as_str());
    again[8] = ("message", "هل من جديد بخصوص العرض؟");
    let second = post(&h, "10.0.0.1", &again, &origin).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.text, first.text, "nothing reveals the lead");
    assert_eq!(leads(&h).await.len(), 1);
    let d = h.state.crm.lead_detail(manager, lead.id()).await.unwrap();
    assert_eq!(d.interactions.len(), 2);
    // Its owner hears of both at the next sweep.
    let report = h.state.crm.sweep_now(manager).await.unwrap();
    assert_eq!(report.captured, vec![lead.id(), lead.id()]);
}

async fn spam_is_thanked_and_dropped_and_a_burst_is_cut(h: Harness) {
    east(&h).await;
    let person = |t: &'static str| {
        vec![
            ("t", t),
            ("name", "Bot"),
            ("email", "bot@example.sa"),
            ("consent", "on"),
        ]
    };
    let (_, t) = page(&h, "", "").await;
    let t: &'static str = Box::leak(t.into_boxed_str());
    // Too fast: thanked, nothing kept.
    let r = post(&h, "10.0.0.2", &person(t), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("شكرًا لك"));
    h.clock.advance(TimeDelta::seconds(5));
    // The honeypot filled: thanked, nothing kept.
    let mut bot = person(t);
    bot.push(("website", "https://spam.example"));
    let r = post(&h, "10.0.0.2", &bot, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("شكرًا لك"));
    // No signed time (a pasted snippet): the form again, filled in, to confirm.
    let r = post(&h, "10.0.0.2", &person("")[1..], &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("لتأكيد طلبك") && r.text.contains("bot@example.sa"));
    assert!(input(&r.text, "t").is_some_and(|t| !t.is_empty()));
    // The person sends the filled-in page at once: taken (what they typed was typed before).
    let confirmed = input(&r.text, "t").unwrap();
    let person2 = [
        ("t", confirmed.as_str()),
        ("name", "Nora"),
        ("email", "nora@example.sa"),
        ("consent", "on"),
    ];
    let r = post(&h, "10.0.0.2", &person2, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        leads(&h).await.len(),
        1,
        "a confirmation sent at once is taken"
    );
    // Another website: refused.
    let r = post(
        &h,
        "10.0.0.2",
        &person(t),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(leads(&h).await.len(), 1, "nothing else was kept");

    // 30 posts in a burst from one address: cut to the limit.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let r = post(&h, "10.9.9.9", &bot, &[]).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=600).contains(&wait));
        }
        statuses.push(r.status);
    }
    let cut = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(cut, 30 - crm_server::forms::PER_ADDRESS as usize);
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::OK));
    // Another address is not held up.
    let r = post(&h, "10.9.9.10", &bot, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(leads(&h).await.len(), 1);
}

async fn refused_fields_come_back_as_typed(h: Harness) {
    east(&h).await;
    let (_, t) = page(&h, "", "").await;
    h.clock.advance(TimeDelta::seconds(5));
    let long = "ن".repeat(crm_core::Note::MAX + 1);
    let r = post(
        &h,
        "10.0.0.3",
        &[
            ("t", &t),
            ("name", "سلمى"),
            ("email", "salma@example.sa"),
            ("message", &long),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let t_ar = crm_server::i18n::Lang::Ar.strings();
    assert!(r.text.contains(t_ar.form_no_consent), "{}", r.text);
    assert!(r.text.contains(t_ar.form_too_long));
    assert!(r.text.contains("value=\"سلمى\""), "kept as typed");
    assert!(r.text.contains(&long), "the long text is not cut or lost");
    assert!(leads(&h).await.is_empty());
    // Neither an e-mail nor a phone: no one to contact.
    let r = post(
        &h,
        "10.0.0.3",
        &[("t", &t), ("name", "سلمى"), ("consent", "on")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(t_ar.form_no_contact));
}

async fn the_json_endpoint_takes_a_submission_with_its_signed_time(h: Harness) {
    east(&h).await;
    let origin = [("origin", "https://www.example.sa")];
    let form = h
        .call(Method::GET, "/api/v1/forms/contact", None, None, &origin)
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert_eq!(
        form.header("access-control-allow-origin"),
        Some("https://www.example.sa")
    );
    let form = form.json();
    assert_eq!(form["fields"][0], json!({"name": "name", "required": true}));
    let t = form["t"].as_str().unwrap().to_owned();
    h.clock.advance(TimeDelta::seconds(4));
    let body = json!({"t": t, "name": "Layla", "email": "layla@example.sa", "consent": "yes",
                      "utm_campaign": "spring", "lang": "en"});
    let uri = "/api/v1/forms/contact/submissions";
    let r = h
        .call(Method::POST, uri, None, Some(body.clone()), &origin)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json()["status"], "received");
    assert_eq!(leads(&h).await.len(), 1);
    let mut no_t = body.clone();
    no_t["t"] = json!(null);
    let r = h.call(Method::POST, uri, None, Some(no_t), &origin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.fields().contains(&"t".to_owned()), "{}", r.text);
    let evil = [("origin", "https://evil.example")];
    let r = h.call(Method::POST, uri, None, Some(body), &evil).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = h
        .call(Method::GET, "/api/v1/forms/none", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A browser on the form's website asks first, and may post JSON; another may not.
    let pre = [
        ("origin", "https://www.example.sa"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    let r = h.call(Method::OPTIONS, uri, None, None, &pre).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://www.example.sa")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
    let r = h
        .call(
            Method::OPTIONS,
            uri,
            None,
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
    // The body is bounded as the page's is.
    let big = json!({"name": "x".repeat(crm_server::forms::MAX_BODY)});
    let r = h.call(Method::POST, uri, None, Some(big), &origin).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);

    // Staff see the form with the snippet to paste.
    let (mut b, _) = server_support::browser::Browser::signed_in(&h, MANAGER).await;
    let page = b.get("/forms").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/forms/contact"));
    assert!(
        page.text.contains("name=&#34;website&#34;")
            || page.text.contains("name=&quot;website&quot;")
    );
}
