//! The web application in process: sign-in with CSRF and lockout, sessions in the database,
//! the Arabic-first pages, every core form without JavaScript, and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server_support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use server_support::browser::{Browser, hidden_csrf, location};
use server_support::{Harness, MAX_FAILURES, PASSWORD, SALES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_is_worked_from_creation_to_conversion_in_arabic() {
    works_a_lead(server_support::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn a_lead_is_worked_from_creation_to_conversion_in_arabic_on_postgres() {
    works_a_lead(server_support::postgres().await).await;
}

async fn works_a_lead(h: Harness) {
    let mut b = Browser::new(&h);
    let r = b.get("/leads").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/sign-in");

    let page = b.get("/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<html lang=\"ar\" dir=\"rtl\">"));
    let pre = page.header("set-cookie").unwrap();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Lax"),
        "{pre}"
    );
    // A sign-in posted without the form's token (another site's form) signs no one in.
    let r = b
        .post(
            "/sign-in",
            &[
                ("csrf", &"0".repeat(64)),
                ("employee_id", "2"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&r), "/sign-in");
    assert!(!b.cookies.iter().any(|(k, _)| k == "crm_session"));

    let r = b.sign_in("2", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), "/", "my day is the start page");
    let session = r.header("set-cookie").unwrap();
    assert!(
        session.starts_with("crm_session=")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Lax"),
        "{session}"
    );
    let list = b.get("/leads").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("العملاء المحتملون"));
    let csrf = hidden_csrf(&list.text);

    // A form without the session's token changes nothing.
    let r = b
        .post("/leads", &[("name", "أحمد"), ("email", "a@example.com")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.lead_count().await, 0);
    // Bad input: the form again, with what was typed and each field at fault.
    let r = b
        .post(
            "/leads",
            &[
                ("csrf", &csrf),
                ("name", "أحمد الزهراني"),
                ("email", "not-an-email"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("value=\"أحمد الزهراني\""));
    // The message stands at its field, once, in Arabic: no raw field name, no English.
    assert!(r.text.contains("id=\"email-error\""), "{}", r.text);
    assert!(r.text.contains("aria-describedby=\"email-error\""));
    assert!(
        r.text.contains("البريد الإلكتروني «not-an-email» غير صحيح"),
        "{}",
        r.text
    );
    assert_eq!(r.text.matches("«not-an-email»").count(), 1, "said once");
    assert!(!r.text.contains("invalid email"), "{}", r.text);
    assert_eq!(h.lead_count().await, 0);

    let r = b
        .post(
            "/leads",
            &[
                ("csrf", &csrf),
                ("name", "أحمد الزهراني"),
                ("email", ""),
                ("phone", "٠٥٠١٢٣٤٥٦٧"),
                ("company", "شركة النور"),
                ("source", "web"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let lead_uri = location(&r).to_owned();
    let page = b.get(&lead_uri).await;
    assert!(page.text.contains("أحمد الزهراني"));
    assert!(page.text.contains("<bdi dir=\"ltr\">٠٥٠١٢٣٤٥٦٧</bdi>"));

    let r = b
        .post(
            &format!("{lead_uri}/interactions"),
            &[("csrf", &csrf), ("kind", "call"), ("notes", "طلب عرض سعر")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(b.get(&lead_uri).await.text.contains("طلب عرض سعر"));

    let r = b
        .post(
            &format!("{lead_uri}/opportunities"),
            &[
                ("csrf", &csrf),
                ("title", "توريد أجهزة"),
                ("value", "١٢٬٥٠٠"),
                ("currency", "SAR"),
                ("expected_close", "2026-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    let r = b
        .post(
            &format!("{lead_uri}/status"),
            &[("csrf", &csrf), ("version", "1"), ("status", "interested")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // Converting asks first, and changes nothing until confirmed.
    let convert = [
        ("csrf", csrf.as_str()),
        ("version", "2"),
        ("status", "converted"),
    ];
    let r = b.post(&format!("{lead_uri}/status"), &convert).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-to=\"converted\""), "{}", r.text);
    assert!(r.text.contains("name=\"confirm\" value=\"yes\""));
    assert!(
        b.get(&lead_uri)
            .await
            .text
            .contains("data-status=\"interested\"")
    );
    // A loss asks for its reason the same way.
    let lose = [
        ("csrf", csrf.as_str()),
        ("version", "2"),
        ("status", "lost"),
    ];
    let r = b.post(&format!("{lead_uri}/status"), &lose).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-to=\"lost\""), "{}", r.text);
    assert!(r.text.contains("id=\"lost-reason-select\""));
    let confirmed = [&convert[..], &[("confirm", "yes"), ("back", "/board")]].concat();
    let r = b.post(&format!("{lead_uri}/status"), &confirmed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // A conversion shows the lead with its client, wherever it was made from.
    assert_eq!(location(&r), lead_uri);
    let page = b.get(&lead_uri).await;
    assert!(page.text.contains("data-status=\"converted\""));
    assert!(page.text.contains("محوَّل وللقراءة فقط"));
    // A form filled from an older version is refused, and says so.
    let r = b
        .post(
            &format!("{lead_uri}/status"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("status", "lost"),
                ("lost_reason", "price"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    let csv = b.get("/report?format=csv&source=web").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    // The page is Arabic, so is the file: headings and the source's label.
    assert!(csv.text.contains("المصدر"), "{}", csv.text);
    assert!(csv.text.contains("الموقع,0,0,0,1,0,1"), "{}", csv.text);
    // The same report as Excel and PDF, written by the library's exporters.
    let xlsx = b.get("/report?format=xlsx&source=web").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(
        xlsx.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert!(xlsx.text.starts_with("PK"), "an XLSX is a zip archive");
    let pdf = b.get("/report?format=pdf&source=web").await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"));
    assert_eq!(
        b.get("/report?format=docx").await.status,
        StatusCode::NOT_FOUND
    );
    let report = b.get("/report").await;
    assert!(report.text.contains("id=\"report\""));
    assert!(report.text.contains("format=xlsx") && report.text.contains("format=pdf"));

    // Dates in the employee's chosen zone (Riyadh by default: UTC+3, no daylight saving).
    let created = crm_core::Clock::now(h.clock.as_ref());
    let riyadh = (created + chrono::TimeDelta::hours(3))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let utc = created.format("%Y-%m-%d %H:%M").to_string();
    assert!(b.get(&lead_uri).await.text.contains(&riyadh));
    let r = b.get(&format!("/tz?zone=UTC&back={lead_uri}")).await;
    assert_eq!(location(&r), lead_uri);
    assert!(b.get(&lead_uri).await.text.contains(&utc));
    assert_eq!(
        b.get("/tz?zone=Mars/Olympus").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // English, and back to where we were; never to another site.
    let r = b.get("/lang/en?back=/report").await;
    assert_eq!(location(&r), "/report");
    let page = b.get("/report").await;
    assert!(page.text.contains("<html lang=\"en\" dir=\"ltr\">"));
    assert!(page.text.contains("Download CSV"));
    let r = b.get("/lang/ar?back=//evil.example/x").await;
    assert_eq!(location(&r), "/");

    // Signing out ends the session in the database, not just in this browser.
    let old = b.cookies.clone();
    let r = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(location(&r), "/sign-in");
    b.cookies = old;
    assert_eq!(b.get("/leads").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_locked_and_managers_administer_employees() {
    let h = server_support::sqlite().await;
    let mut b = Browser::new(&h);
    for _ in 0..MAX_FAILURES {
        let r = b.sign_in("2", "wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.text.contains("id=\"problem\""));
    }
    let r = b.sign_in("2", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = b.sign_in("abc", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Sales may see the employees but not change them: the library refuses.
    let mut sales = Browser::new(&h);
    h.clock.advance(chrono::TimeDelta::minutes(16));
    assert_eq!(
        sales.sign_in("2", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = sales.get("/employees").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("action=\"/employees\""));
    let csrf = hidden_csrf(&page.text);
    let r = sales
        .post(
            "/employees",
            &[
                ("csrf", &csrf),
                ("id", "9"),
                ("name", "x"),
                ("role", "manager"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.state
            .crm
            .employees(crm_core::EmployeeId::new(SALES).unwrap())
            .await
            .unwrap()
            .len(),
        3
    );

    let mut manager = Browser::new(&h);
    assert_eq!(
        manager.sign_in("1", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = manager.get("/employees").await;
    assert!(page.text.contains("action=\"/employees\""));
    let csrf = hidden_csrf(&page.text);
    let r = manager
        .post(
            "/employees",
            &[
                ("csrf", &csrf),
                ("id", "9"),
                ("name", "منى"),
                ("role", "sales"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = manager
        .post(
            "/employees/9/password",
            &[("csrf", &csrf), ("password", "مرحبا بك في الفريق")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let mut mona = Browser::new(&h);
    assert_eq!(
        mona.sign_in("9", "مرحبا بك في الفريق").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn assets_and_the_api_explorer_are_served_from_the_binary() {
    let h = server_support::sqlite().await;
    let get = |uri: &str| h.send(Request::builder().uri(uri).body(Body::empty()).unwrap());
    let font = get("/assets/crm-naskh-regular.woff2").await;
    assert_eq!(font.header("content-type"), Some("font/woff2"));
    assert!(font.bytes.starts_with(b"wOF2"), "a WOFF2 file");
    let htmx = get("/assets/htmx.min.js").await;
    assert!(htmx.text.contains("htmx"));
    let css = get("/assets/app.css").await;
    assert!(css.text.contains("CRM Naskh"));
    let docs = get("/api/docs/").await;
    assert_eq!(docs.status, StatusCode::OK);
    let doc = get("/api/openapi.json").await;
    assert_eq!(doc.json()["openapi"], "3.1.0");
    assert_eq!(get("/nothing-here").await.status, StatusCode::NOT_FOUND);
}

/// A first visit (the sign-in page, its style sheet, scripts and both fonts) is under 300 KB
/// on the wire for a browser (which takes Brotli); pages and text assets are Brotli- or
/// gzip-compressed as the client weighs them, fonts are WOFF2 (compressed already), and a
/// client that takes neither gets the page as it is.
#[tokio::test]
async fn a_first_visit_weighs_under_300_kb() {
    let h = server_support::sqlite().await;
    let get = |uri: &str, accept: Option<&str>| {
        let mut b = Request::builder().uri(uri);
        if let Some(accept) = accept {
            b = b.header("accept-encoding", accept);
        }
        h.send(b.body(Body::empty()).unwrap())
    };
    // What Chromium sends.
    let browser = Some("gzip, deflate, br, zstd");
    let page = get("/sign-in", browser).await;
    assert_eq!(page.header("content-encoding"), Some("br"));
    assert_eq!(page.header("vary"), Some("accept-encoding"));
    let mut html = String::new();
    std::io::Read::read_to_string(
        &mut brotli::Decompressor::new(page.bytes.as_slice(), 4096),
        &mut html,
    )
    .unwrap();
    let zipped = get("/sign-in", Some("gzip, deflate")).await;
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(zipped.bytes.as_slice()),
        &mut unzipped,
    )
    .unwrap();
    assert!(
        page.bytes.len() < zipped.bytes.len(),
        "br {} < gzip {}",
        page.bytes.len(),
        zipped.bytes.len()
    );
    let plain = get("/sign-in", None).await;
    assert_eq!(plain.header("content-encoding"), None);
    // The same page every way, but for its form token.
    let token = |page: &str| {
        let mark = "name=\"csrf\" value=\"";
        let at = page.find(mark).unwrap() + mark.len();
        format!("{}{}", &page[..at], &page[at + 64..])
    };
    assert_eq!(token(&html), token(&plain.text), "the same page either way");
    assert_eq!(
        token(&unzipped),
        token(&plain.text),
        "the same page either way"
    );
    let mut total = page.bytes.len();
    for asset in [
        "/assets/app.css",
        "/assets/htmx.min.js",
        "/assets/app.js",
        "/assets/crm-naskh-regular.woff2",
        "/assets/crm-naskh-bold.woff2",
    ] {
        let r = get(asset, browser).await;
        assert_eq!(r.status, StatusCode::OK, "{asset}");
        total += r.bytes.len();
    }
    assert!(
        html.contains("/assets/app.css") && html.contains("/assets/htmx.min.js"),
        "the page loads what is counted"
    );
    eprintln!("a first visit: {total} bytes on the wire");
    assert!(total < 300 * 1024, "first visit {total} bytes");
    // JSON is compressed too, when it is large enough to gain.
    let doc = get("/api/openapi.json", browser).await;
    assert_eq!(doc.header("content-encoding"), Some("br"));
}

/// The document lists every route of the API (the routes and the document come from the
/// same `routes!` calls; this pins the list so a use case cannot silently drop out).
#[test]
fn the_openapi_document_lists_every_route() {
    let doc = serde_json::to_value(crm_server::openapi()).unwrap();
    let mut listed: Vec<String> = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            listed.push(format!("{} {path}", method.to_uppercase()));
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            // Issuing a token and the web forms take no credentials.
            let public = path.starts_with("/api/v1/forms/");
            if !public && (path != "/api/v1/tokens" || method != "post") {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
        }
    }
    listed.sort();
    let mut expected = vec![
        "GET /api/v1/leads",
        "POST /api/v1/leads",
        "GET /api/v1/leads/{id}",
        "PATCH /api/v1/leads/{id}",
        "GET /api/v1/leads/{id}/detail",
        "GET /api/v1/me/day",
        "GET /api/v1/boards/leads",
        "GET /api/v1/boards/deals",
        "GET /api/v1/me/filters",
        "POST /api/v1/me/filters",
        "DELETE /api/v1/me/filters/{id}",
        "POST /api/v1/leads/{id}/assign",
        "POST /api/v1/leads/{id}/status",
        "POST /api/v1/leads/{id}/interactions",
        "POST /api/v1/leads/{id}/opportunities",
        "GET /api/v1/leads/duplicates",
        "POST /api/v1/leads/{id}/merge",
        "POST /api/v1/import",
        "GET /api/v1/opportunities/{id}",
        "PATCH /api/v1/opportunities/{id}",
        "GET /api/v1/report",
        "GET /api/v1/pipeline",
        "GET /api/v1/pipeline/stages",
        "PUT /api/v1/pipeline/stages/{stage}",
        "GET /api/v1/pipeline/stages/history",
        "POST /api/v1/sweep",
        "GET /api/v1/sweep/preview",
        "GET /api/v1/teams",
        "POST /api/v1/dispatch",
        "GET /api/v1/events",
        "POST /api/v1/events/ack",
        "GET /api/v1/employees",
        "GET /api/v1/employees/{id}",
        "PUT /api/v1/employees/{id}",
        "PUT /api/v1/employees/{id}/password",
        "POST /api/v1/tokens",
        "GET /api/v1/tokens",
        "DELETE /api/v1/tokens/current",
        "DELETE /api/v1/tokens/{id}",
        "GET /api/v1/forms/{name}",
        "POST /api/v1/forms/{name}/submissions",
    ];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// `crm employee set-password` writes the credentials crm-server reads: yourself or, as a
/// manager, anyone; refused otherwise, with nothing stored.
#[tokio::test]
async fn the_cli_sets_passwords_the_server_accepts() {
    use crm_server::auth::{AuthError, AuthStore};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db").to_string_lossy().into_owned();
    let crm = |args: &[&str], stdin: &str| {
        assert_cmd::Command::cargo_bin("crm")
            .unwrap()
            .arg("--db")
            .arg(&db)
            .args(args)
            .write_stdin(stdin)
            .assert()
    };
    crm(
        &[
            "employee", "add", "--id", "1", "--name", "سارة", "--role", "manager",
        ],
        "",
    )
    .success();
    crm(
        &[
            "--as", "1", "employee", "add", "--id", "2", "--name", "Ali", "--role", "sales",
        ],
        "",
    )
    .success();
    crm(
        &["--as", "2", "employee", "set-password", "1"],
        "a long enough password\n",
    )
    .code(4);
    crm(&["--as", "1", "employee", "set-password", "2"], "short\n").code(3);
    crm(
        &["--as", "1", "employee", "set-password", "9"],
        "a long enough password\n",
    )
    .code(5);
    crm(
        &["--as", "1", "employee", "set-password", "2"],
        "كلمة مرور طويلة\n",
    )
    .success();
    crm(
        &["--as", "2", "employee", "set-password", "2"],
        "my own new password\r\n",
    )
    .success();
    let store = AuthStore::open(
        &db,
        std::sync::Arc::new(crm_core::SystemClock),
        server_support::policy(),
    )
    .await
    .unwrap();
    let id = |n| crm_core::EmployeeId::new(n).unwrap();
    store
        .check_password(id(2), "my own new password")
        .await
        .unwrap();
    assert!(matches!(
        store.check_password(id(1), "a long enough password").await,
        Err(AuthError::BadCredentials)
    ));
}

/// A conversion whose client the clients system did not create converts the lead, and the
/// lead page says the client is not there yet and how it is retried (the dispatch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_whose_client_failed_says_so_on_the_lead_page() {
    let h = server_support::sqlite().await;
    let id = h
        .lead(
            &h.sales,
            serde_json::json!({"name": "عميل", "email": "c@example.com"}),
        )
        .await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let status = |version: &'static str, to: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("version", version.into()),
            ("status", to.into()),
            ("confirm", "yes".into()),
        ]
    };
    let move_to = async |b: &mut Browser<'_>, version, to| {
        let form = status(version, to);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post(&format!("/leads/{id}/status"), &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    };
    move_to(&mut b, "1", "contacted").await;
    let store = crm_store_sqlx::SqliteStore::connect(&h.url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER clients_down BEFORE INSERT ON clients \
         BEGIN SELECT RAISE(ABORT, 'clients system down'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    move_to(&mut b, "2", "converted").await;
    let page = b.get(&format!("/leads/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("data-status=\"converted\""),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("id=\"client-pending\"")
            && page.text.contains("لم يُنشئ نظام العملاء العميل بعد")
            && page.text.contains("إعادة محاولة إنشاء العملاء المعلّقين"),
        "{}",
        page.text
    );
}

/// Phones and e-mails are links where they are used: a number typed with Arabic-Indic
/// digits and spaces in local form calls its E.164 number and opens its WhatsApp chat, an
/// e-mail opens the mail program, on the list and on the lead's page.
#[tokio::test]
async fn phones_and_emails_are_links_at_the_point_of_use() {
    let h = server_support::sqlite().await;
    let id = h
        .lead(
            &h.sales,
            serde_json::json!({"name": "نورة", "phone": "٠٥٠ ١٢٣ ٤٥٦٧", "email": "noura@example.sa"}),
        )
        .await;
    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    for page in [b.get("/leads").await, b.get(&format!("/leads/{id}")).await] {
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(
            page.text.contains("href=\"tel:+966501234567\""),
            "{}",
            page.text
        );
        assert!(page.text.contains("href=\"https://wa.me/966501234567\""));
        assert!(page.text.contains("href=\"mailto:noura@example.sa\""));
        assert!(page.text.contains("rel=\"noopener\""));
    }
}

/// "Only mine" on the lead list sticks (a cookie) until switched off, the API takes `mine`
/// too, and the list as filtered downloads as CSV: every lead it matches.
#[tokio::test]
async fn only_mine_sticks_and_the_filtered_list_downloads() {
    let h = server_support::sqlite().await;
    h.lead(
        &h.sales,
        serde_json::json!({"name": "عميل علي", "email": "mine@example.sa"}),
    )
    .await;
    h.lead(
        &h.manager,
        serde_json::json!({"name": "عميل المدير", "email": "boss@example.sa"}),
    )
    .await;
    let (mut b, _) = Browser::signed_in(&h, SALES).await;
    let all = b.get("/leads").await.text;
    assert!(all.contains("عميل علي") && all.contains("عميل المدير"));
    let mine = b.get("/leads?mine=true").await;
    assert!(mine.header("set-cookie").unwrap().starts_with("crm_mine=1"));
    assert!(mine.text.contains("عميل علي") && !mine.text.contains("عميل المدير"));
    let again = b.get("/leads").await.text;
    assert!(
        !again.contains("عميل المدير"),
        "remembered on the next visit"
    );
    assert!(again.contains("<option value=\"true\" selected"));
    let csv = b.get("/leads/export?format=csv&mine=true").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text.contains("عميل علي") && !csv.text.contains("عميل المدير"));
    assert!(
        again.contains("/leads/export?format=xlsx&#38;mine=true"),
        "the page links it: {again}"
    );
    let off = b.get("/leads?mine=false").await.text;
    assert!(off.contains("عميل المدير"), "switched off");
    // The API: mine, and not with an owner.
    let r = h.get("/api/v1/leads?mine=true", &h.sales).await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let r = h.get("/api/v1/leads?mine=true&owner=1", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["mine"]);
}
