//! The pipeline and the stage probabilities in crm-server, in process on SQLite and
//! PostgreSQL: `GET /api/v1/pipeline`, the stages, their history and management's change of
//! one, the opportunity's own probability over the API and on the lead page, and the page
//! `/pipeline` with its downloads and form. Each success, each refusal, and that a refused
//! request changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use server_support::browser::{Browser, location};
use server_support::{Harness, MANAGER, OTHER, Resp, SALES};

on_every_backend!(
    the_api_sums_the_pipeline_per_currency,
    only_management_sets_a_stage_probability,
    the_api_sets_and_clears_an_opportunitys_probability,
    the_page_shows_the_pipeline_and_downloads_it,
    the_page_sets_a_stage_probability_for_management_only,
    the_lead_page_sets_and_clears_an_opportunitys_probability,
);

/// A lead of the sales employee with one opportunity; returns (lead id, opportunity id).
async fn deal(
    h: &Harness,
    name: &str,
    value: &str,
    currency: &str,
    close: &str,
) -> (String, String) {
    let lead = h
        .lead(
            &h.sales,
            json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())}),
        )
        .await;
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": "توريد", "value": value, "currency": currency, "expected_close": close}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (lead, r.json()["id"].as_str().unwrap().to_owned())
}

/// Moves an opportunity to `stage` as the sales employee.
async fn stage(h: &Harness, opp: &str, to: &str) {
    let uri = format!("/api/v1/opportunities/{opp}");
    let etag = h.get(&uri, &h.sales).await.etag();
    let r = h.patch(&uri, &h.sales, json!({"stage": to}), &etag).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn pipeline(h: &Harness, query: &str) -> Value {
    let r = h.get(&format!("/api/v1/pipeline{query}"), &h.manager).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// The currency `code`'s totals.
fn totals<'a>(p: &'a Value, code: &str) -> &'a Value {
    let c = p["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == code)
        .unwrap_or_else(|| panic!("no {code} in {p}"));
    &c["totals"]
}

/// The weighted total of the SAR pipeline.
async fn weighted(h: &Harness) -> Value {
    totals(&pipeline(h, "").await, "SAR")["weighted"].clone()
}

/// An opportunity's own probability.
async fn probability(h: &Harness, uri: &str) -> Value {
    h.get(uri, &h.sales).await.json()["probability"].clone()
}

async fn stages(h: &Harness) -> Value {
    let r = h.get("/api/v1/pipeline/stages", &h.other).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

async fn history(h: &Harness) -> Vec<Value> {
    let r = h.get("/api/v1/pipeline/stages/history", &h.sales).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json().as_array().unwrap().clone()
}

/// Posts the stage form of the pipeline page.
async fn set_stage(b: &mut Browser<'_>, csrf: &str, stage: &str, p: &str) -> Resp {
    b.post(
        "/pipeline/stages",
        &[("csrf", csrf), ("stage", stage), ("probability", p)],
    )
    .await
}

/// Posts an opportunity's form on the lead page.
async fn set_opportunity(
    b: &mut Browser<'_>,
    action: &str,
    csrf: &str,
    version: &str,
    stage: &str,
    p: &str,
) -> Resp {
    b.post(
        action,
        &[
            ("csrf", csrf),
            ("version", version),
            ("stage", stage),
            ("probability", p),
        ],
    )
    .await
}

async fn the_api_sums_the_pipeline_per_currency(h: Harness) {
    let empty = pipeline(&h, "").await;
    assert_eq!(empty["currencies"], json!([]));
    deal(&h, "Huda", "1250.500", "KWD", "2026-11-15").await;
    let (_, second) = deal(&h, "Sami", "١٬٠٠٠٫٢٥٠", "KWD", "2026-12-01").await;
    let (_, won) = deal(&h, "Nasser", "3000", "SAR", "2026-12-20").await;
    stage(&h, &second, "negotiation").await;
    stage(&h, &won, "won").await;

    let p = pipeline(&h, "").await;
    let codes: Vec<_> = p["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["currency"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["KWD", "SAR"],
        "one entry per currency, never summed"
    );
    let kwd = totals(&p, "KWD");
    assert_eq!(kwd["open_count"], 2);
    assert_eq!(kwd["open"], "2250.750", "KWD keeps three decimals");
    assert_eq!(kwd["open_minor"], 2_250_750);
    // 10 % of 1250.500 (open) + 75 % of 1000.250 (negotiation), each rounded half up.
    assert_eq!(kwd["weighted"], "875.238");
    let sar = totals(&p, "SAR");
    assert_eq!(
        (&sar["won_count"], &sar["won"]),
        (&json!(1), &json!("3000.00"))
    );
    assert_eq!(sar["open_count"], 0);
    let kwd_all = &p["currencies"][0];
    let by_stage: Vec<_> = kwd_all["by_stage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(by_stage, ["open", "negotiation"]);
    assert_eq!(kwd_all["by_owner"][0]["owner"], SALES);
    let months: Vec<_> = kwd_all["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-11", "2026-12"]);

    // Filters: the close dates (both inclusive) and the owner.
    let p = pipeline(&h, "?close_from=2026-12-01&close_to=2026-12-01").await;
    assert_eq!(totals(&p, "KWD")["open"], "1000.250");
    assert_eq!(p["currencies"].as_array().unwrap().len(), 1);
    let p = pipeline(&h, &format!("?owner={MANAGER}")).await;
    assert_eq!(p["currencies"], json!([]));
    // Any employee of the directory reads it.
    let r = h.get("/api/v1/pipeline", &h.other).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Bad filters: each named; a reversed range is the library's refusal.
    let r = h
        .get("/api/v1/pipeline?owner=x&close_from=15/11/2026", &h.manager)
        .await;
    assert_eq!(r.fields(), ["owner", "close_from"]);
    let r = h
        .get(
            "/api/v1/pipeline?close_from=2026-12-02&close_to=2026-12-01",
            &h.manager,
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(r.fields(), ["close_from/close_to"]);
    let r = h
        .call(Method::GET, "/api/v1/pipeline", None, None, &[])
        .await;
    r.refused(StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn only_management_sets_a_stage_probability(h: Harness) {
    let before = stages(&h).await;
    let listed: Vec<_> = before
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap(),
                s["probability"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("open", 10),
            ("qualified", 25),
            ("proposal", 50),
            ("negotiation", 75)
        ]
    );
    assert!(before[0]["set"].is_null());
    let (_, opp) = deal(&h, "Huda", "1000", "SAR", "2026-11-15").await;
    stage(&h, &opp, "proposal").await;
    assert_eq!(totals(&pipeline(&h, "").await, "SAR")["weighted"], "500.00");

    // Refused: sales and read-only employees (403), won and lost (422 naming the stage), an
    // unknown stage (404), a bad probability or body (422), no token (401). Nothing changes.
    let put = |token: &str, stage: &str, body: Value| {
        h.put(&format!("/api/v1/pipeline/stages/{stage}"), token, body)
    };
    put(&h.sales, "proposal", json!({"probability": 60}))
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");
    put(&h.other, "proposal", json!({"probability": 60}))
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");
    for fixed in ["won", "lost"] {
        let r = put(&h.manager, fixed, json!({"probability": 60})).await;
        r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
        assert_eq!(r.fields(), ["stage"], "{}", r.text);
    }
    put(&h.manager, "sold", json!({"probability": 60}))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    for bad in [json!({"probability": 101}), json!({"probability": -1})] {
        let r = put(&h.manager, "proposal", bad).await;
        assert_eq!(r.fields(), ["probability"], "{}", r.text);
    }
    let r = put(&h.manager, "proposal", json!({"probability": "sixty"})).await;
    assert_eq!(r.fields(), ["body"]);
    h.call(
        Method::PUT,
        "/api/v1/pipeline/stages/proposal",
        None,
        Some(json!({"probability": 60})),
        &[],
    )
    .await
    .refused(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(stages(&h).await, before, "a refusal changes nothing");
    assert!(history(&h).await.is_empty());
    assert_eq!(totals(&pipeline(&h, "").await, "SAR")["weighted"], "500.00");

    // Management sets it; the pipeline weighs by it from then on, and the history keeps it.
    let r = put(&h.manager, "proposal", json!({"probability": 60})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            &r.json()["stage"],
            &r.json()["probability"],
            &r.json()["changed_by"]
        ),
        (&json!("proposal"), &json!(60), &json!(MANAGER))
    );
    let after = stages(&h).await;
    assert_eq!(after[2]["probability"], 60);
    assert_eq!(after[2]["default"], 50);
    assert_eq!(after[2]["set"]["changed_by"], MANAGER);
    assert!(after[0]["set"].is_null());
    assert_eq!(totals(&pipeline(&h, "").await, "SAR")["weighted"], "600.00");
    h.clock.advance(chrono::TimeDelta::minutes(1));
    let r = put(&h.manager, "open", json!({"probability": 5})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changes = history(&h).await;
    let seen: Vec<_> = changes
        .iter()
        .map(|c| c["stage"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["open", "proposal"], "newest first");
    let r = h
        .get("/api/v1/pipeline/stages/history?limit=1", &h.other)
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = h
        .get("/api/v1/pipeline/stages/history?limit=0", &h.other)
        .await;
    assert_eq!(r.fields(), ["limit"]);
    for uri in ["/api/v1/pipeline/stages", "/api/v1/pipeline/stages/history"] {
        h.call(Method::GET, uri, None, None, &[])
            .await
            .refused(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

async fn the_api_sets_and_clears_an_opportunitys_probability(h: Harness) {
    let (lead, opp) = deal(&h, "Huda", "1000", "SAR", "2026-11-15").await;
    let uri = format!("/api/v1/opportunities/{opp}");
    let current = h.get(&uri, &h.sales).await;
    assert!(current.json()["probability"].is_null());
    assert_eq!(weighted(&h).await, "100.00");

    // Refusals change nothing: no If-Match (428), a stale one (412), a bad percentage
    // (422), a read-only employee (403), an unknown opportunity (404).
    let set = json!({"probability": "40"});
    let r = h
        .call(Method::PATCH, &uri, Some(&h.sales), Some(set.clone()), &[])
        .await;
    r.refused(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
    h.patch(&uri, &h.sales, set.clone(), "\"7\"")
        .await
        .refused(StatusCode::PRECONDITION_FAILED, "conflict");
    let r = h
        .patch(&uri, &h.sales, json!({"probability": "140"}), "\"1\"")
        .await;
    assert_eq!(r.fields(), ["probability"]);
    h.patch(&uri, &h.other, set.clone(), "\"1\"")
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");
    h.patch(
        "/api/v1/opportunities/01a212a7-6a79-7b52-8a65-8bc7e2a7dac6",
        &h.sales,
        set.clone(),
        "\"1\"",
    )
    .await
    .refused(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(h.get(&uri, &h.sales).await.text, current.text);
    assert_eq!(weighted(&h).await, "100.00");

    // Set (Arabic-Indic digits too), then cleared with "".
    let r = h
        .patch(&uri, &h.sales, json!({"probability": "٤٠٪"}), "\"1\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["probability"], 40);
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(weighted(&h).await, "400.00");
    let r = h
        .patch(&uri, &h.sales, json!({"probability": ""}), "\"2\"")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["probability"].is_null());
    assert_eq!(weighted(&h).await, "100.00");

    // A new opportunity may carry one; a bad one is named with the other bad fields.
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": "صيانة", "value": "500", "currency": "SAR", "expected_close": "2026-12-01", "probability": "90"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["probability"], 90);
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": "صيانة", "value": "500", "currency": "SAR", "expected_close": "x", "probability": "half"}),
        )
        .await;
    assert_eq!(r.fields(), ["expected_close", "probability"]);
}

async fn the_page_shows_the_pipeline_and_downloads_it(h: Harness) {
    deal(&h, "Huda", "1250.500", "KWD", "2026-11-15").await;
    deal(&h, "Sami", "2000", "SAR", "2026-12-01").await;
    let (mut b, _) = Browser::signed_in(&h, MANAGER).await;
    let page = b.get("/pipeline").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("dir=\"rtl\""));
    assert!(page.text.contains("قيمة خط المبيعات"));
    assert!(page.text.contains("id=\"pipeline-KWD\""));
    assert!(page.text.contains("id=\"pipeline-SAR\""));
    // Money in each currency's decimals, grouped by thousands and isolated left to right;
    // never a sum of the two.
    assert!(
        page.text.contains("<bdi dir=\"ltr\">1,250.500</bdi>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("<bdi dir=\"ltr\">125.050</bdi>"));
    assert!(page.text.contains("<bdi dir=\"ltr\">2,000.00</bdi>"));
    assert!(!page.text.contains("3250"));
    assert!(page.text.contains("مفتوحة"));
    assert!(page.text.contains("علي (2)"), "owners by name");
    assert!(page.text.contains("<bdi dir=\"ltr\">2026-11</bdi>"));
    assert!(page.text.contains("id=\"stages\""));
    assert!(page.text.contains("format=xlsx") && page.text.contains("format=pdf"));

    // In English, and filtered: the download links keep the filters.
    let filtered = b
        .get("/pipeline?close_from=2026-12-01&close_to=2026-12-31&owner=")
        .await;
    assert!(!filtered.text.contains("id=\"pipeline-KWD\""));
    assert!(
        filtered
            .text
            .contains("/pipeline?format=csv&#38;close_from=2026-12-01&#38;close_to=2026-12-31"),
        "{}",
        filtered.text
    );
    b.get("/lang/en?back=/pipeline").await;
    let en = b.get("/pipeline").await;
    assert!(en.text.contains("Weighted value") && en.text.contains("dir=\"ltr\""));

    // Downloads through the library's exporters, in the page's language.
    let csv = b.get("/pipeline?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"pipeline.csv\"")
    );
    assert!(
        csv.text.contains("Weighted value") && csv.text.contains("1250.500"),
        "{}",
        csv.text
    );
    b.get("/lang/ar?back=/pipeline").await;
    let csv = b.get("/pipeline?format=csv").await;
    assert!(csv.text.contains("القيمة المرجحة"), "{}", csv.text);
    let xlsx = b.get("/pipeline?format=xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.text.starts_with("PK"), "an XLSX is a zip archive");
    let pdf = b.get("/pipeline?format=pdf&close_from=2026-11-01").await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"));

    // Refusals: an unknown format (404), bad filters (422, named), no session (sign-in).
    assert_eq!(
        b.get("/pipeline?format=doc").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = b.get("/pipeline?close_from=tomorrow&owner=x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Each filter at fault named, and what is wrong, in the page's language.
    assert!(
        bad.text.contains("من") && bad.text.contains("المسؤول"),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("tomorrow") && !bad.text.contains("invalid"),
        "{}",
        bad.text
    );
    let reversed = b
        .get("/pipeline?close_from=2026-12-02&close_to=2026-12-01&format=csv")
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut anonymous = Browser::new(&h);
    let r = anonymous.get("/pipeline").await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, "/sign-in")
    );
    let r = anonymous.get("/pipeline?format=csv").await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, "/sign-in")
    );
}

async fn the_page_sets_a_stage_probability_for_management_only(h: Harness) {
    let before = stages(&h).await;
    // Sales staff see the probabilities but get no form; a posted one is refused (403) by
    // the library, and nothing changes.
    let (mut sales, sales_csrf) = Browser::signed_in(&h, SALES).await;
    let page = sales.get("/pipeline").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("action=\"/pipeline/stages\""));
    assert!(
        page.text
            .contains("<bdi dir=\"ltr\" class=\"probability\">50</bdi>")
    );
    let r = set_stage(&mut sales, &sales_csrf, "proposal", "60").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let (mut manager, csrf) = Browser::signed_in(&h, MANAGER).await;
    // Without this session's form token (403), with bad fields (422 naming them), for a
    // stage whose probability is fixed (422): nothing changes.
    let r = set_stage(&mut manager, &"0".repeat(64), "proposal", "60").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = set_stage(&mut manager, &csrf, "sold", "sixty").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Each field named and what is wrong said in the page's language.
    assert!(
        r.text.contains("المرحلة") && r.text.contains("الاحتمال"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("invalid"), "{}", r.text);
    let r = set_stage(&mut manager, &csrf, "won", "60").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = set_stage(&mut manager, &csrf, "open", "101").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stages(&h).await, before, "a refusal changes nothing");
    assert!(history(&h).await.is_empty());

    // Management: the form, then the new value, who set it, and the history.
    let page = manager.get("/pipeline").await;
    assert!(page.text.contains("action=\"/pipeline/stages\""));
    assert!(page.text.contains("لم يُغيَّر أي احتمال بعد"));
    let r = set_stage(&mut manager, &csrf, "proposal", "٦٠").await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, "/pipeline"),
        "{}",
        r.text
    );
    assert_eq!(stages(&h).await[2]["probability"], 60);
    let page = manager.get("/pipeline").await;
    assert!(page.text.contains("id=\"stage-history\""));
    assert!(page.text.contains("value=\"60\""));
    assert!(page.text.contains("سارة القحطاني (1)"));
    assert_eq!(history(&h).await.len(), 1);
}

async fn the_lead_page_sets_and_clears_an_opportunitys_probability(h: Harness) {
    let (lead, opp) = deal(&h, "Huda", "1000", "SAR", "2026-11-15").await;
    let opp_uri = format!("/api/v1/opportunities/{opp}");
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let page = b.get(&format!("/leads/{lead}")).await;
    assert!(page.text.contains("name=\"probability\" value=\"\""));
    assert!(page.text.contains("<option value=\"negotiation\""));
    let action = format!("/opportunities/{opp}/stage");
    // Refused: a stale version (412), a bad percentage (422), a read-only employee (403).
    let r = set_opportunity(&mut b, &action, &csrf, "9", "open", "40").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let r = set_opportunity(&mut b, &action, &csrf, "1", "open", "forty").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("probability"));
    let (mut other, other_csrf) = Browser::signed_in(&h, OTHER).await;
    let r = other
        .post(
            &action,
            &[
                ("csrf", &other_csrf),
                ("version", "1"),
                ("stage", "open"),
                ("probability", "40"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(probability(&h, &opp_uri).await, Value::Null);

    // Set with the stage, shown on the page, then cleared.
    let r = set_opportunity(&mut b, &action, &csrf, "1", "proposal", "35").await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, format!("/leads/{lead}").as_str())
    );
    assert_eq!(probability(&h, &opp_uri).await, 35);
    let page = b.get(&format!("/leads/{lead}")).await;
    assert!(page.text.contains("name=\"probability\" value=\"35\""));
    let r = set_opportunity(&mut b, &action, &csrf, "2", "proposal", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(probability(&h, &opp_uri).await, Value::Null);

    // On a converted (read-only) lead a stage move alone is still allowed: an override left
    // as shown is not sent.
    let r = set_opportunity(&mut b, &action, &csrf, "3", "proposal", "20").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for to in ["interested", "converted"] {
        let etag = h
            .get(&format!("/api/v1/leads/{lead}"), &h.sales)
            .await
            .etag();
        let r = h
            .versioned(
                Method::POST,
                &format!("/api/v1/leads/{lead}/status"),
                &h.sales,
                json!({"status": to}),
                &etag,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = set_opportunity(&mut b, &action, &csrf, "4", "won", "20").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let o = h.get(&opp_uri, &h.sales).await.json();
    assert_eq!(
        (&o["stage"], &o["probability"]),
        (&json!("won"), &json!(20))
    );
    // Changing the override there is refused by the library, and changes nothing.
    let r = set_opportunity(&mut b, &action, &csrf, "5", "won", "30").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(probability(&h, &opp_uri).await, 20);
}
