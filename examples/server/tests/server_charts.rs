//! Reports people look at, in crm-server on SQLite and PostgreSQL: the status x source
//! report, lost reasons, time in status and the pipeline as pages with charts drawn on the
//! server as SVG (no chart library in the browser), right to left in Arabic and left to
//! right in English, each beside the table of the same numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use server_support::browser::Browser;
use server_support::{Harness, SALES};

on_every_backend!(report_pages_draw_their_charts);

/// The inline `<svg>` with `id` in `html`.
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg class=\"chart\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}: {html}"));
    let end = html[start..].find("</svg>").unwrap() + start;
    &html[start..end]
}

async fn report_pages_draw_their_charts(h: Harness) {
    let lead = |name: &str, n: u32, source: &str| json!({"name": name, "email": format!("{n}@example.sa"), "source": source});
    let mut ids = Vec::new();
    for (n, source) in [(1, "web"), (2, "web"), (3, "معرض"), (4, "معرض")] {
        ids.push(
            h.lead(&h.sales, lead(&format!("عميل {n}"), n, source))
                .await,
        );
    }
    for (id, reason) in [
        (&ids[0], "price"),
        (&ids[1], "price"),
        (&ids[2], "competitor"),
    ] {
        let r = h
            .versioned(
                Method::POST,
                &format!("/api/v1/leads/{id}/status"),
                &h.sales,
                json!({"status": "lost", "lost_reason": reason}),
                "\"1\"",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = h
        .post(
            &format!("/api/v1/leads/{}/opportunities", ids[3]),
            &h.sales,
            json!({"title": "توريد", "value": "1250.500", "currency": "KWD", "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    h.clock.advance(chrono::TimeDelta::hours(5));

    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    let page = b.get("/report").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let by_status = svg(&page.text, "chart-status");
    assert!(by_status.contains("direction=\"rtl\""), "{by_status}");
    assert!(
        by_status.contains(">مفقود<") && by_status.contains(">3<"),
        "{by_status}"
    );
    let by_source = svg(&page.text, "chart-source");
    assert!(by_source.contains(">الموقع الإلكتروني<") && by_source.contains(">معرض<"));
    // Drawn, not scripted: the page loads no chart library.
    assert!(!page.text.contains("chart.js") && !page.text.contains("<canvas"));

    let page = b.get("/report/lost-reasons").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("data-code=\"price\""));
    let lost = svg(&page.text, "chart-lost");
    assert!(
        lost.contains(">2 (67%)<") && lost.contains(">1 (33%)<"),
        "{lost}"
    );
    // Filtered by source: the counts follow, and so do its downloads.
    let page = b.get("/report/lost-reasons?source=web").await;
    assert!(svg(&page.text, "chart-lost").contains(">2 (100%)<"));
    assert!(
        page.text
            .contains("href=\"/report/lost-reasons?format=xlsx&#38;source=web\""),
        "{}",
        page.text
    );
    let csv = b.get("/report/lost-reasons?format=csv&source=web").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.text.contains("سبب الخسارة,الرمز,العملاء,النسبة (%)"),
        "{}",
        csv.text
    );
    assert!(csv.text.contains("الإجمالي,,2,100"), "{}", csv.text);
    let xlsx = b.get("/report/lost-reasons?format=xlsx").await;
    assert!(xlsx.text.starts_with("PK"), "an XLSX is a zip archive");

    let page = b.get("/report/time-in-status").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let time = svg(&page.text, "chart-time");
    assert!(time.contains(">مفقود<"), "{time}");
    assert!(page.text.contains("id=\"time-rows\""));
    assert!(
        page.text.contains("5 ساعات"),
        "durations in words: {}",
        page.text
    );
    let csv = b.get("/report/time-in-status?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(csv.text.contains("5 ساعات"), "{}", csv.text);
    assert!(csv.text.contains("المتوسط (بالدقائق)"), "{}", csv.text);
    let pdf = b.get("/report/time-in-status?format=pdf").await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"));

    let page = b.get("/pipeline").await;
    let kwd = svg(&page.text, "chart-KWD");
    assert!(kwd.contains(">1,250.500 KWD<"), "{kwd}");

    // Arabic-Indic digits, when the viewer picks them: amounts keep their grouping, in the
    // Arabic separators (which the amount parser reads back), and counts follow.
    let r = b.get("/digits/arab?back=/pipeline").await;
    assert_eq!(server_support::browser::location(&r), "/pipeline");
    let page = b.get("/pipeline").await;
    assert!(
        svg(&page.text, "chart-KWD").contains(">١٬٢٥٠٫٥٠٠ KWD<"),
        "{}",
        page.text
    );
    let page = b.get("/report/lost-reasons").await;
    assert!(svg(&page.text, "chart-lost").contains(">٢ (٦٧%)<"));
    b.get("/digits/latn?back=/").await;
    assert!(svg(&b.get("/pipeline").await.text, "chart-KWD").contains(">1,250.500 KWD<"));

    // In English, left to right.
    b.get("/lang/en?back=/report").await;
    let page = b.get("/report").await;
    let by_status = svg(&page.text, "chart-status");
    assert!(by_status.contains("direction=\"ltr\"") && by_status.contains(">Lost<"));
}
