//! Importing lead files in crm-server, in process on SQLite and PostgreSQL: `POST
//! /api/v1/import` (a dry run writes nothing, an import creates and reports every row, a
//! read-only employee is refused with nothing written, an unreadable file is 422 naming
//! the problem) and the import page (multipart upload, preview, confirm, failed rows as
//! CSV, CSRF required).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use server_support::browser::Browser;
use server_support::{Harness, OTHER, Resp, SALES};

on_every_backend!(
    the_api_previews_then_imports,
    the_api_refuses_read_only_employees_and_bad_files,
    the_page_previews_confirms_and_lists_failures,
    the_page_needs_the_csrf_token_and_the_right_to_import,
    a_large_preview_keeps_a_bounded_report,
);

/// Three leads, the third refused (a bad email), the second a duplicate of the first's
/// phone written in Arabic-Indic digits.
const FILE: &str = "الاسم,البريد الإلكتروني,الجوال\r\n\
    هدى,huda@example.com,0551112222\r\n\
    Huda again,,٠٥٥١١١٢٢٢٢\r\n\
    Bad,not-an-email,\r\n";

fn upload(h: &Harness, query: &str, token: &str, media: &str, body: &[u8]) -> Request<Body> {
    let _ = h;
    Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/import{query}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", media)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

async fn the_api_previews_then_imports(h: Harness) {
    let r = h
        .send(upload(
            &h,
            "?dry_run=true",
            &h.sales,
            "text/csv",
            FILE.as_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(
        (&v["created"], &v["skipped"], &v["failed"]),
        (&1.into(), &1.into(), &1.into()),
        "{v}"
    );
    let results: Vec<_> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results, [(2, "created"), (3, "skipped"), (4, "failed")]);
    assert!(
        v["rows"][0]["lead"].is_null(),
        "a dry run names no new lead"
    );
    assert_eq!(v["rows"][1]["reason"], "duplicate");
    assert!(
        v["rows"][2]["reason"].as_str().unwrap().contains("email"),
        "{v}"
    );
    assert_eq!(h.lead_count().await, 0, "a dry run writes nothing");

    let r = h
        .send(upload(
            &h,
            "?on_duplicate=skip",
            &h.sales,
            "text/csv; charset=utf-8",
            FILE.as_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["created"], 1, "{v}");
    let id = v["rows"][0]["lead"].as_str().unwrap().to_owned();
    assert_eq!(h.lead_json(&id, &h.sales).await["name"], "هدى");
    assert_eq!(
        v["rows"][1]["lead"],
        id.as_str(),
        "the skipped row names its match"
    );
    assert_eq!(h.lead_count().await, 1);

    // The same file again: the rows it wrote are left alone.
    let r = h
        .send(upload(
            &h,
            "?on_duplicate=create",
            &h.sales,
            "text/csv",
            FILE.as_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["rows"][0]["reason"],
        "already_imported",
        "{}",
        r.text
    );
    assert_eq!(r.json()["created"], 1, "the duplicate row, created anyway");
    assert_eq!(h.lead_count().await, 2);
}

async fn the_api_refuses_read_only_employees_and_bad_files(h: Harness) {
    for dry_run in ["true", "false"] {
        let r = h
            .send(upload(
                &h,
                &format!("?dry_run={dry_run}"),
                &h.other,
                "text/csv",
                FILE.as_bytes(),
            ))
            .await;
        r.refused(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(h.lead_count().await, 0);

    // No name column.
    let r = h
        .send(upload(
            &h,
            "",
            &h.sales,
            "text/csv",
            b"email,phone\r\na@b.com,0551112222\r\n",
        ))
        .await;
    assert_eq!(r.fields(), ["file"]);
    assert!(
        r.json()["detail"].as_str().unwrap().contains("name"),
        "{}",
        r.text
    );
    // A workbook that is not one.
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let r = h
        .send(upload(&h, "", &h.sales, xlsx, b"PK\x03\x04broken"))
        .await;
    assert_eq!(r.fields(), ["file"]);
    // An empty body; a policy that is none.
    let r = h.send(upload(&h, "", &h.sales, "text/csv", b"")).await;
    assert_eq!(r.fields(), ["file"]);
    let r = h
        .send(upload(
            &h,
            "?on_duplicate=merge",
            &h.sales,
            "text/csv",
            FILE.as_bytes(),
        ))
        .await;
    assert_eq!(r.fields(), ["on_duplicate"]);
    // Not a lead file's media type.
    let r = h
        .send(upload(
            &h,
            "",
            &h.sales,
            "application/json",
            FILE.as_bytes(),
        ))
        .await;
    r.refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // No token.
    let mut req = upload(&h, "", &h.sales, "text/csv", FILE.as_bytes());
    req.headers_mut().remove("authorization");
    assert_eq!(h.send(req).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.lead_count().await, 0);
}

fn hidden(html: &str, name: &str) -> String {
    let mark = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&mark)
        .unwrap_or_else(|| panic!("no {name}: {html}"))
        + mark.len();
    html[at..at + 64].to_owned()
}

const BOUNDARY: &str = "----crm-test-boundary";

/// Posts the upload form as a browser does: multipart, the file last.
async fn upload_page(b: &mut Browser<'_>, fields: &[(&str, &str)], file: &[u8]) -> Resp {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .into_bytes(),
        );
    }
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"leads.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").into_bytes());
    let media = format!("multipart/form-data; boundary={BOUNDARY}");
    b.send(Method::POST, "/import/preview", Some((&media, body)))
        .await
}

async fn the_page_previews_confirms_and_lists_failures(h: Harness) {
    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    let page = b.request(Method::GET, "/import", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("href=\"/import\""),
        "the navigation links the page"
    );
    assert!(page.text.contains("enctype=\"multipart/form-data\""));
    let csrf = hidden(&page.text, "csrf");

    let preview = upload_page(
        &mut b,
        &[("csrf", &csrf), ("on_duplicate", "skip")],
        FILE.as_bytes(),
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(h.lead_count().await, 0, "the preview writes nothing");
    assert!(preview.text.contains("سيُنشأ"), "{}", preview.text);
    // Each row's outcome in the page's language: the duplicate and the refused e-mail.
    assert!(
        preview.text.contains("يطابق عميلًا مفتوحًا"),
        "{}",
        preview.text
    );
    assert!(
        preview
            .text
            .contains("البريد الإلكتروني «not-an-email» غير صحيح: لا يحوي @"),
        "{}",
        preview.text
    );
    assert!(!preview.text.contains("invalid email"), "{}", preview.text);
    let key = hidden(&preview.text, "key");

    let done = b
        .post("/import/confirm", &[("csrf", &csrf), ("key", &key)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("id=\"import-result\""), "{}", done.text);
    assert_eq!(h.lead_count().await, 1);

    // The refused row, downloadable.
    let at = done.text.find("/import/errors/").expect("a download link");
    let link = done.text[at..at + 15 + 64].to_owned();
    let csv = b.request(Method::GET, &link, None).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<_> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[0].starts_with("الصف,التفاصيل,الاسم"), "{}", csv.text);
    assert!(lines[1].starts_with("4,") && lines[1].contains("«not-an-email» غير صحيح"));

    // The upload was used once; nobody else may fetch another's failures.
    let again = b
        .post("/import/confirm", &[("csrf", &csrf), ("key", &key)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    assert_eq!(h.lead_count().await, 1);
    let (mut other, _) = Browser::signed_in(&h, OTHER).await;
    let r = other.request(Method::GET, &link, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A file that cannot be read: the form again, its choices kept, the problem named at
    // the file.
    let r = upload_page(
        &mut b,
        &[
            ("csrf", &csrf),
            ("on_duplicate", "update"),
            ("encoding", "windows-1256"),
        ],
        b"email,phone\r\na@b.com,0551112222\r\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("لا عمود لـالاسم"), "{}", r.text);
    assert!(r.text.contains("id=\"import-file-error\""), "{}", r.text);
    assert!(r.text.contains("value=\"update\" selected"), "{}", r.text);
    assert!(
        r.text.contains("value=\"windows-1256\" selected"),
        "{}",
        r.text
    );
}

async fn the_page_needs_the_csrf_token_and_the_right_to_import(h: Harness) {
    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    let page = b.request(Method::GET, "/import", None).await;
    let csrf = hidden(&page.text, "csrf");
    let r = upload_page(&mut b, &[("on_duplicate", "skip")], FILE.as_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = upload_page(&mut b, &[("csrf", &"0".repeat(64))], FILE.as_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A real preview, then a confirmation without the token.
    let preview = upload_page(&mut b, &[("csrf", &csrf)], FILE.as_bytes()).await;
    let key = hidden(&preview.text, "key");
    let r = b.post("/import/confirm", &[("key", &key)]).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let r = b
        .post(
            "/import/confirm",
            &[("csrf", &"0".repeat(64)), ("key", &key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(h.lead_count().await, 0);

    // An employee who may only read is refused the preview and the import.
    let (mut other, _) = Browser::signed_in(&h, OTHER).await;
    let page = other.request(Method::GET, "/import", None).await;
    let csrf = hidden(&page.text, "csrf");
    let r = upload_page(&mut other, &[("csrf", &csrf)], FILE.as_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(h.lead_count().await, 0);
}

/// A preview of 2,500 rows keeps the first 1,000 and every failed row, and counts them all:
/// the report (and the page) stays the same size however long the file.
async fn a_large_preview_keeps_a_bounded_report(h: Harness) {
    let mut file = String::from("name,email\r\n");
    for i in 0..2500 {
        if i % 500 == 499 {
            file.push_str(&format!("Bad {i},not-an-email\r\n"));
        } else {
            file.push_str(&format!("Lead {i},lead{i}@example.com\r\n"));
        }
    }
    let r = h
        .send(upload(
            &h,
            "?dry_run=true",
            &h.sales,
            "text/csv",
            file.as_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(
        (&v["created"], &v["failed"]),
        (&2495.into(), &5.into()),
        "{}",
        v["failed"]
    );
    let rows = v["rows"].as_array().unwrap();
    let failed_after: Vec<u64> = rows
        .iter()
        .skip(1000)
        .map(|r| {
            assert_eq!(r["result"], "failed");
            r["row"].as_u64().unwrap()
        })
        .collect();
    // The file's line 2 is its first row: row i is on line i + 2.
    assert_eq!(failed_after, [1501, 2001, 2501]);
}
