//! The lead list in crm-server, on SQLite and PostgreSQL: its total, its order by any
//! column (the API's `sort` and the page's column headings), and bulk assignment and
//! status moves of the leads ticked on the page, each lead on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use server_support::browser::Browser;
use server_support::{Harness, SALES};

on_every_backend!(
    the_list_counts_sorts_and_changes_in_bulk,
    filters_are_saved_per_employee,
    lead_page_forms_come_back_as_typed,
);

fn names(page: &Value) -> Vec<String> {
    (page["items"].as_array().unwrap().iter())
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_list_counts_sorts_and_changes_in_bulk(h: Harness) {
    let mut ids = Vec::new();
    for (n, name, company) in [(1, "ثامر", "ب"), (2, "أحمد", ""), (3, "باسم", "أ")] {
        h.clock.advance(chrono::TimeDelta::seconds(1));
        let mut body = json!({"name": name, "email": format!("{n}@example.sa"), "source": "web"});
        if !company.is_empty() {
            body["company"] = json!(company);
        }
        ids.push(h.lead(&h.sales, body).await);
    }
    // The API: a total over all pages, and any column's order.
    let page = h.get("/api/v1/leads?limit=1", &h.sales).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let page = page.json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let by_name = h.get("/api/v1/leads?sort=name", &h.sales).await.json();
    assert_eq!(names(&by_name), ["أحمد", "باسم", "ثامر"]);
    assert!(by_name["next"].is_null());
    let by_company = h.get("/api/v1/leads?sort=-company", &h.sales).await.json();
    assert_eq!(
        names(&by_company),
        ["ثامر", "باسم", "أحمد"],
        "no company last"
    );
    let r = h.get("/api/v1/leads?sort=colour", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["sort"]);
    let r = h.get("/api/v1/leads?sort=name&after=x", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page: the total, headings that sort, the order shown.
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let list = b.get("/leads").await;
    assert!(list.text.contains("id=\"total\""), "{}", list.text);
    assert!(
        list.text.contains("href=\"/leads?sort=name\""),
        "{}",
        list.text
    );
    let sorted = b.get("/leads?sort=name").await;
    assert!(sorted.text.contains("aria-sort=\"ascending\""));
    assert!(
        sorted.text.contains("href=\"/leads?sort=-name\""),
        "the other way next"
    );
    // Each name where its row shows it (the page's own words may hold one: «باسم»).
    let row = |name: &str| sorted.text.find(&format!("<bdi>{name}</bdi></a>")).unwrap();
    let (a, bb, t) = (row("أحمد"), row("باسم"), row("ثامر"));
    assert!(
        a < bb && bb < t,
        "in the alphabet's order: {a} {bb} {t}: {}",
        sorted.text
    );

    // Bulk: the two ticked leads move to contacted, each at the version the list showed.
    let tick = |id: &str| format!("{id}:1");
    let (t0, t1) = (tick(&ids[0]), tick(&ids[1]));
    let r = b
        .post(
            "/leads/bulk",
            &[
                ("csrf", &csrf),
                ("lead", &t0),
                ("lead", &t1),
                ("to", ""),
                ("status", "contacted"),
                ("back", "/leads"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"bulk-done\""));
    for id in &ids[..2] {
        assert_eq!(h.lead_json(id, &h.sales).await["status"], "contacted");
    }
    assert_eq!(h.lead_json(&ids[2], &h.sales).await["status"], "new");
    // A lead changed since the list was read is refused on its own, said in Arabic; the
    // other is assigned.
    let stale = tick(&ids[0]);
    let fresh = tick(&ids[2]);
    let r = b
        .post(
            "/leads/bulk",
            &[
                ("csrf", &csrf),
                ("lead", &stale),
                ("lead", &fresh),
                ("to", "1"),
                ("status", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"bulk-failed\""), "{}", r.text);
    assert!(r.text.contains("غيّر شخص آخر"), "{}", r.text);
    assert_eq!(h.lead_json(&ids[2], &h.manager).await["owner"], 1);
    // Nothing chosen, or two changes at once: refused, nothing changes.
    for form in [
        vec![
            ("csrf", csrf.as_str()),
            ("lead", fresh.as_str()),
            ("to", ""),
            ("status", ""),
        ],
        vec![
            ("csrf", csrf.as_str()),
            ("lead", fresh.as_str()),
            ("to", "2"),
            ("status", "lost"),
        ],
    ] {
        let r = b.post("/leads/bulk", &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let r = b
        .post(
            "/leads/bulk",
            &[("lead", fresh.as_str()), ("to", "2"), ("status", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no form token");
    // A conversion is not made in bulk: it asks for a confirmation, one lead at a time.
    let r = b
        .post(
            "/leads/bulk",
            &[
                ("csrf", &csrf),
                ("lead", &fresh),
                ("to", ""),
                ("status", "converted"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // The best by score lists open leads only, and its total counts them alone.
    let r = h
        .versioned(
            axum::http::Method::POST,
            &format!("/api/v1/leads/{}/status", ids[0]),
            &h.sales,
            json!({"status": "lost", "lost_reason": "price"}),
            "\"2\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let all = h.get("/api/v1/leads", &h.manager).await.json();
    assert_eq!(all["total"], 3);
    let best = h.get("/api/v1/leads?sort=score", &h.manager).await.json();
    assert_eq!(best["total"], 2, "{best}");
    assert_eq!(best["items"].as_array().unwrap().len(), 2);
}

/// Saved filters, per employee: saved through the API or the page (checked as the list
/// reads them, kept to the list's parameters), listed by name, replaced under the same
/// name, opened from the page, and deleted only by their owner.
async fn filters_are_saved_per_employee(h: Harness) {
    let r = h
        .post(
            "/api/v1/me/filters",
            &h.sales,
            json!({"name": "جدد هذا الأسبوع", "query": "?status=new&mine=true&sort=-created&after=x&limit=5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let saved = r.json();
    // Only the list's filters are kept, in one order (a cursor or page size is no filter).
    assert_eq!(saved["query"], "status=new&mine=true&sort=-created");
    let id = saved["id"].as_str().unwrap().to_owned();
    // A query the list would refuse is not saved; nor is a blank name.
    for (body, field) in [
        (json!({"name": "x", "query": "status=won"}), "status"),
        (json!({"name": "x", "query": "sort=colour"}), "sort"),
        (json!({"name": "x", "query": "colour=red"}), "query"),
        (json!({"name": " ", "query": "status=new"}), "name"),
        (json!({"name": "x".repeat(61), "query": ""}), "name"),
    ] {
        let r = h.post("/api/v1/me/filters", &h.sales, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.fields(), [field], "{body}");
    }
    // The same name replaces the query.
    let r = h
        .post(
            "/api/v1/me/filters",
            &h.sales,
            json!({"name": "جدد هذا الأسبوع", "query": "status=contacted"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mine = h.get("/api/v1/me/filters", &h.sales).await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["query"], "status=contacted");
    // Another employee neither sees nor deletes it.
    assert_eq!(
        h.get("/api/v1/me/filters", &h.manager).await.json(),
        json!([])
    );
    let r = h
        .delete(&format!("/api/v1/me/filters/{id}"), &h.manager)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The page: saved filters are links; the current filters are saved by name.
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let list = b.get("/leads?status=new").await;
    assert!(
        list.text.contains("href=\"/leads?status=contacted\""),
        "{}",
        list.text
    );
    assert!(
        list.text
            .contains("name=\"query\" value=\"mine=false&#38;sort=newest&#38;status=new\""),
        "{}",
        list.text
    );
    let r = b
        .post(
            "/filters",
            &[
                ("csrf", &csrf),
                ("name", "الجدد"),
                ("query", "mine=false&sort=newest&status=new"),
            ],
        )
        .await;
    assert_eq!(
        server_support::browser::location(&r),
        "/leads?status=new&mine=false&sort=newest"
    );
    let mine = h.get("/api/v1/me/filters", &h.sales).await.json();
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let r = b
        .post(&format!("/filters/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(server_support::browser::location(&r), "/leads");
    let r = b
        .post(&format!("/filters/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "gone");
    assert_eq!(
        h.get("/api/v1/me/filters", &h.sales)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // "Only mine" remembered gives way to a chosen owner in the filter saved, which the
    // list would otherwise refuse.
    b.get("/leads?mine=true").await;
    let list = b.get("/leads?owner=1").await;
    assert!(
        list.text
            .contains("value=\"mine=false&#38;sort=newest&#38;owner=1\""),
        "{}",
        list.text
    );
}

/// A refused interaction or opportunity on the lead page comes back as typed, each message
/// at its field in Arabic, and nothing is stored.
async fn lead_page_forms_come_back_as_typed(h: Harness) {
    let lead = h
        .lead(
            &h.sales,
            json!({"name": "هند", "email": "hind@example.sa", "source": "web"}),
        )
        .await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let notes = "اتصلت وطلبت عرض سعر مفصلًا";
    let r = b
        .post(
            &format!("/leads/{lead}/interactions"),
            &[
                ("csrf", &csrf),
                ("kind", "meeting"),
                ("notes", notes),
                ("next_follow_up", "2020-01-01T09:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains(notes), "the notes are kept: {}", r.text);
    assert!(r.text.contains("value=\"meeting\" selected"));
    assert!(
        r.text.contains("id=\"interaction-follow-up-error\""),
        "{}",
        r.text
    );
    assert!(r.text.contains("في الماضي"), "{}", r.text);
    let detail = h
        .get(&format!("/api/v1/leads/{lead}/detail"), &h.sales)
        .await
        .json();
    assert!(detail["interactions"].as_array().unwrap().is_empty());
    let r = b
        .post(
            &format!("/leads/{lead}/opportunities"),
            &[
                ("csrf", &csrf),
                ("title", "توريد أجهزة"),
                ("value", "1,25"),
                ("currency", "KWD"),
                ("expected_close", "2027-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"توريد أجهزة\""), "{}", r.text);
    assert!(r.text.contains("value=\"1,25\""));
    assert!(r.text.contains("id=\"opportunity-value-error\""));
    assert!(r.text.contains("المبلغ «1,25» غير صحيح"), "{}", r.text);
}
