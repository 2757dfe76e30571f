//! Every page of crm-server in Arabic says nothing in English: each page a manager and a
//! salesperson open (with leads in every status, an interaction, an opportunity, a lost
//! reason, a converted lead and its client), the pages a refusal or a confirmation shows
//! (the lost reason's page, the import preview, a bulk change, the error page) and the
//! sign-in page. The visible text and the texts people hear or see on hover (`aria-label`,
//! `placeholder`, `title`, `alt`) are read from the HTML; a Latin word there that is not
//! the data typed or a name kept on purpose (file formats, currency codes, the time zone's
//! IANA name, the link to the English interface) fails the test, naming the page. On SQLite
//! and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use server_support::browser::Browser;
use server_support::{Harness, MANAGER, SALES};

on_every_backend!(every_page_reads_in_arabic);

/// Latin words an Arabic page may show: names of formats, products and standards, the
/// time zone's IANA name, the switch to English, and the data this test typed.
const KEPT: &[&str] = &[
    // Formats, products, standards.
    "CSV", "XLSX", "PDF", "Excel", "UTF", "Windows", "WhatsApp", "API", "OpenAPI", "JSON", "ISO",
    "E", "ID", "YYYY", "MM", "DD", "HH", "IANA", "htmx",
    // The zone's name (Asia/Riyadh) and the link to the other language.
    "Asia", "Riyadh", "English",
    // The data typed below, the harness's third employee and its tokens' label, and the
    // client ids the harness's clients system gives (`client-...`).
    "example", "sa", "Omar", "api", "client",
];

/// Replaces the entities askama writes with what they stand for.
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// What a person reads or hears of `html`: the text outside tags (scripts and styles left
/// out), and the values of the attributes a browser shows or speaks.
fn said(html: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = html;
    let mut text = String::new();
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let after = &rest[open..];
        // A script's or style's body is not read, nor a text area's (what is typed there,
        // or the HTML a manager copies from the web forms page, is data).
        let skip_to = ["script", "style", "textarea"].iter().find_map(|t| {
            after[1..]
                .starts_with(t)
                .then(|| after.find(&format!("</{t}>")).map(|e| e + t.len() + 3))
                .flatten()
        });
        if let Some(end) = skip_to {
            rest = &after[end..];
            continue;
        }
        let Some(close) = after.find('>') else { break };
        let tag = &after[..close];
        // `data-label` is shown on a phone, where a table row becomes a card.
        for attr in [
            " aria-label=\"",
            " placeholder=\"",
            " title=\"",
            " alt=\"",
            " data-label=\"",
        ] {
            if let Some(at) = tag.find(attr) {
                let value = &tag[at + attr.len()..];
                texts.push(unescape(value.split('"').next().unwrap_or_default()));
            }
        }
        text.push(' ');
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    texts.push(unescape(&text));
    texts
}

/// The currency codes a page may show beside an amount.
const CURRENCIES: &[&str] = &[
    "SAR", "KWD", "AED", "EGP", "BHD", "QAR", "OMR", "USD", "UTC",
];

/// The Latin words of `html` a person would read, each with a little of the text around
/// it, but for those [`KEPT`] and the [`CURRENCIES`]; ids (UUIDs) are data.
fn english(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in said(html) {
        let text = without_ids(&text);
        // Each run of Latin letters, with where it starts.
        let mut runs: Vec<(usize, &str)> = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            match (c.is_ascii_alphabetic(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    runs.push((s, &text[s..i]));
                    start = None;
                }
                _ => {}
            }
        }
        for (at, word) in runs {
            if word.len() < 2 || CURRENCIES.contains(&word) || KEPT.contains(&word) {
                continue;
            }
            if found.iter().any(|f| f.split(' ').next() == Some(word)) {
                continue;
            }
            let from = text.floor_char_boundary(at.saturating_sub(40));
            let to = text.ceil_char_boundary((at + word.len() + 40).min(text.len()));
            let around = text[from..to]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            found.push(format!("{word} «{around}»"));
        }
    }
    found
}

/// `text` without its UUIDs (lead and event ids are data, not words).
fn without_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let id = rest.len() >= 36
            && rest.is_char_boundary(36)
            && rest[..36].chars().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if id {
            out.push_str("ID");
            rest = &rest[36..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

async fn every_page_reads_in_arabic(h: Harness) {
    let lead = |name: &str, n: u32, source: &str| json!({"name": name, "email": format!("c{n}@example.sa"), "phone": format!("05012345{n:02}"), "source": source, "company": "مؤسسة الرواد"});
    let mut ids = Vec::new();
    for (n, source) in [
        (1, "web"),
        (2, "referral"),
        (3, "معرض"),
        (4, "phone"),
        (5, "event"),
    ] {
        ids.push(
            h.lead(&h.sales, lead(&format!("عميل {n}"), n, source))
                .await,
        );
    }
    let status = |id: &str, body: serde_json::Value, version: &str| {
        h.versioned(
            Method::POST,
            &format!("/api/v1/leads/{id}/status"),
            &h.sales,
            body,
            version,
        )
    };
    let r = status(
        &ids[0],
        json!({"status": "lost", "lost_reason": "price"}),
        "\"1\"",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for (id, to, version) in [
        (&ids[1], "contacted", "\"1\""),
        (&ids[1], "interested", "\"2\""),
        (&ids[2], "contacted", "\"1\""),
        (&ids[2], "interested", "\"2\""),
        (&ids[2], "converted", "\"3\""),
    ] {
        let r = status(id, json!({"status": to}), version).await;
        assert_eq!(r.status, StatusCode::OK, "{to}: {}", r.text);
    }
    let r = h
        .post(
            &format!("/api/v1/leads/{}/interactions", ids[1]),
            &h.sales,
            json!({"kind": "call", "notes": "اتصل وطلب عرض سعر", "next_follow_up": "2020-01-01T09:00:00Z"}),
        )
        .await;
    assert!(r.status.is_success() || r.status == StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .post(
            &format!("/api/v1/leads/{}/interactions", ids[1]),
            &h.sales,
            json!({"kind": "meeting", "notes": "اجتماع في الرياض"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h
        .post(
            &format!("/api/v1/leads/{}/opportunities", ids[1]),
            &h.sales,
            json!({"title": "توريد أجهزة", "value": "1250.500", "currency": "KWD", "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A duplicate for the duplicates page.
    let mut dup = lead("عميل مكرر", 9, "web");
    dup["phone"] = json!("0501234501");
    dup["allow_duplicate"] = json!(true);
    let r = h.post("/api/v1/leads", &h.sales, dup).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let mut pages = server_support::every_page(&ids[1]);
    pages.push("/leads/no-such-lead".to_owned());
    for id in ids.iter().filter(|id| **id != ids[1]) {
        pages.push(format!("/leads/{id}"));
    }

    let mut leaks = Vec::new();
    let mut check = |page: &str, html: &str| {
        let words = english(html);
        if !words.is_empty() {
            leaks.push(format!("{page}: {words:?}"));
        }
    };
    for who in [MANAGER, SALES] {
        let (mut b, csrf) = Browser::signed_in(&h, who).await;
        for page in &pages {
            let r = b.get(page).await;
            assert!(
                r.status == StatusCode::OK || page.contains("no-such"),
                "{page}: {}",
                r.status
            );
            check(page, &r.text);
        }
        // The pages a choice leads to: the lost reason asked for, a conversion confirmed.
        for to in ["lost", "converted"] {
            let r = b
                .post(
                    &format!("/leads/{}/status", ids[3]),
                    &[("csrf", &csrf), ("version", "1"), ("status", to)],
                )
                .await;
            check(&format!("move to {to}"), &r.text);
        }
        // A bulk change's result, one lead refused.
        let r = b
            .post(
                "/leads/bulk",
                &[
                    ("csrf", &csrf),
                    ("lead", &format!("{}:9", ids[4])),
                    ("status", "contacted"),
                ],
            )
            .await;
        check("bulk", &r.text);
    }
    let r = Browser::new(&h).get("/sign-in").await;
    check("/sign-in", &r.text);
    assert!(
        leaks.is_empty(),
        "English on Arabic pages:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_reader_finds_english_in_text_and_spoken_attributes_only() {
    let html = "<html><head><style>body{color:red}</style><script>let x = 1;</script></head>\
        <body><p>عميل <b>new</b></p><input aria-label=\"Search\" value=\"typed\">\
        <a href=\"/x?format=csv&#38;sort=newest\">CSV</a> SAR NEW</body></html>";
    let words: Vec<_> = (english(html).iter())
        .map(|w| w.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(words, ["Search", "new", "NEW"]);
    assert!(english("<p>01a24e3a-90bd-7f81-8046-04587ebac4cc</p>").is_empty());
}
