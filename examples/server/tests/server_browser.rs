//! crm-server in a real browser: Debian's chromium, driven through chromedriver with
//! fantoccini. Signs in, adds a lead named in Arabic, logs an interaction, converts it,
//! downloads the report; checks the page reads right to left; saves a screenshot under the
//! target directory.
//!
//! Without chromium and chromium-driver the test is built ignored (`cfg(crm_no_browser)`,
//! see build.rs) unless `CRM_REQUIRE_BROWSER=1`, when it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server_support;

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use server_support::{PASSWORD, every_page};

/// chromedriver, stopped when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "the browser test needs `{name}`: install Debian's chromium and chromium-driver \
                 (apt-get install -y chromium chromium-driver), or unset CRM_REQUIRE_BROWSER to \
                 have the test reported as ignored"
            )
        })
}

async fn start_driver() -> (Driver, u16) {
    let driver = which("chromedriver");
    which("chromium");
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, port)
}

async fn browser(port: u16, profile: &Path, downloads: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": which("chromium"),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session")
}

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

async fn text(c: &Client, css: &str) -> String {
    wait_for(c, css).await.text().await.unwrap()
}

async fn attr(c: &Client, css: &str, name: &str) -> String {
    wait_for(c, css)
        .await
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Signs in as employee `id` from the sign-in page a protected page sends the browser to.
async fn sign_in(c: &Client, base: &str, id: &str) {
    c.goto(&format!("{base}/leads")).await.unwrap();
    wait_for(c, "#employee_id")
        .await
        .send_keys(id)
        .await
        .unwrap();
    wait_for(c, "#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    wait_for(c, "#sign-in").await.click().await.unwrap();
    wait_for(c, "#my-day").await;
}

/// The page's computed writing direction.
async fn direction(c: &Client) -> String {
    c.execute(
        "return getComputedStyle(document.documentElement).direction",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// The server on 127.0.0.1 (port chosen by the system) over `h`'s database; its base URL.
async fn serve(h: &server_support::Harness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = h.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A screenshot under the target directory.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join(name);
    std::fs::write(&shot, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    crm_no_browser,
    ignore = "chromium and chromium-driver are not installed"
)]
async fn a_sales_employee_works_a_lead_in_arabic_in_chromium() {
    let h = server_support::sqlite().await;
    let base = serve(&h).await;

    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;

    sign_in(&c, &base, "2").await;
    assert_eq!(direction(&c).await, "rtl");

    wait_for(&c, "a[href='/leads/new']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "#name")
        .await
        .send_keys("أحمد الزهراني")
        .await
        .unwrap();
    wait_for(&c, "#phone")
        .await
        .send_keys("٠٥٠١٢٣٤٥٦٧")
        .await
        .unwrap();
    wait_for(&c, "#company")
        .await
        .send_keys("شركة النور")
        .await
        .unwrap();
    wait_for(&c, "#source")
        .await
        .send_keys("web")
        .await
        .unwrap();
    wait_for(&c, "#save").await.click().await.unwrap();
    assert_eq!(text(&c, "#lead-name").await, "أحمد الزهراني");

    wait_for(&c, "#notes")
        .await
        .send_keys("اتصل وطلب عرض سعر")
        .await
        .unwrap();
    wait_for(&c, "#log").await.click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(
            "//ol[@id='timeline']//li[contains(., 'اتصل وطلب عرض سعر')]",
        ))
        .await
        .expect("the interaction is listed");

    // Plans the next follow-up on the edit form, in the viewer's zone (Riyadh by default).
    wait_for(&c, "a[href$='/edit']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "input#next-follow-up").await;
    let when = (crm_core::Clock::now(h.clock.as_ref()) + chrono::TimeDelta::days(1))
        .with_timezone(&chrono_tz::Asia::Riyadh)
        .format("%Y-%m-%dT10:30")
        .to_string();
    // What a datetime-local input takes as keys depends on the browser's locale; its
    // value does not.
    c.execute(
        "document.querySelector('input#next-follow-up').value = arguments[0]",
        vec![json!(when)],
    )
    .await
    .unwrap();
    wait_for(&c, "#save").await.click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(&format!(
            "//dd[@id='next-follow-up' and contains(., '{}')]",
            when.replace('T', " ")
        )))
        .await
        .expect("the follow-up time is shown in Riyadh time");

    // A move to lost asks for the reason first; cancelling it changes nothing.
    let lead_url = c.current_url().await.unwrap();
    wait_for(&c, "#status-select")
        .await
        .select_by_value("lost")
        .await
        .unwrap();
    wait_for(&c, "#move").await.click().await.unwrap();
    wait_for(&c, "#move-step[data-to='lost'] #lost-reason-select").await;
    wait_for(&c, "#cancel").await.click().await.unwrap();
    wait_for(&c, "#status-select").await;
    assert_eq!(attr(&c, "#lead-status", "data-status").await, "new");
    c.goto(lead_url.as_str()).await.unwrap();

    for status in ["interested", "converted"] {
        wait_for(&c, "#status-select")
            .await
            .select_by_value(status)
            .await
            .unwrap();
        wait_for(&c, "#move").await.click().await.unwrap();
        if status == "converted" {
            // Converting asks for confirmation.
            wait_for(&c, "#move-step[data-to='converted']").await;
            wait_for(&c, "#confirm").await.click().await.unwrap();
        }
        c.wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(&format!(
                "#lead-status[data-status='{status}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("not {status}: {e}"));
    }
    assert_eq!(attr(&c, "#lead-status", "data-status").await, "converted");

    // The screenshot of the converted lead, under the target directory.
    screenshot(&c, "crm-server-browser.png").await;

    wait_for(&c, "a[href='/report']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "#report").await;
    wait_for(&c, "#csv").await.click().await.unwrap();
    let file = downloads.join("report.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.is_file() {
        assert!(Instant::now() < deadline, "report.csv was not downloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let csv = std::fs::read_to_string(&file).unwrap();
    // An Arabic page downloads an Arabic report: the source's and the status's labels.
    assert!(csv.contains("الموقع"), "{csv}");
    assert!(csv.contains("تم التحويل"), "{csv}");

    // The teams page, from the navigation.
    wait_for(&c, "a[href='/teams']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "table#teams").await;
    assert_eq!(text(&c, "h1").await, "الفرق");

    c.close().await.unwrap();
}

/// Imports a CSV with an Arabic header and Arabic names through the import page: the
/// dry-run preview first (nothing written), then the import on confirmation; the leads are
/// on the lead list. The pipeline page reads right to left too.
/// Checks that the page is no wider than the window, and saves its screenshot as
/// `screenshot-{name}-{width}.png` under the target directory.
async fn fits_and_shoot(c: &Client, name: &str, w: u32) {
    let (scroll, inner) = widths(c).await;
    assert!(
        scroll <= inner,
        "{name} at {w} px is {scroll} px wide (window {inner})"
    );
    screenshot(c, &format!("screenshot-{name}-{w}.png")).await;
}

/// A salesperson's day, as the issue tells it: sign in to my day, log a call with the next
/// follow-up on an overdue lead, move a card on the board by keyboard and one by dragging,
/// convert a lead with the confirmation, find a lead by a phone typed with spaces and
/// Arabic-Indic digits; at 1366 x 900 and 390 x 844 my day and the board fit the window,
/// and their screenshots are saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    crm_no_browser,
    ignore = "chromium and chromium-driver are not installed"
)]
async fn a_salesperson_works_a_day_in_chromium() {
    let h = server_support::sqlite().await;
    let lead = |name: &str, phone: &str, company: &str| json!({"name": name, "phone": phone, "company": company, "source": "معرض"});
    let overdue = h
        .lead(&h.sales, lead("فهد القحطاني", "0501234567", "مؤسسة الرواد"))
        .await;
    let now = crm_core::Clock::now(h.clock.as_ref());
    let r = h
        .post(
            &format!("/api/v1/leads/{overdue}/interactions"),
            &h.sales,
            json!({"kind": "call", "next_follow_up": (now + chrono::TimeDelta::minutes(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    h.clock.advance(chrono::TimeDelta::minutes(5));
    let fresh = h
        .lead(
            &h.sales,
            lead("نورة السبيعي", "+966 55 765 4321", "شركة المدار"),
        )
        .await;
    h.clock.advance(chrono::TimeDelta::seconds(1));
    let hot = h
        .lead(&h.sales, lead("خالد العمري", "0569876543", "مصنع الخليج"))
        .await;
    let r = h
        .versioned(
            axum::http::Method::POST,
            &format!("/api/v1/leads/{hot}/status"),
            &h.sales,
            json!({"status": "interested"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = h
        .post(
            &format!("/api/v1/leads/{hot}/opportunities"),
            &h.sales,
            json!({"title": "خط إنتاج", "value": "482000.500", "currency": "KWD", "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);

    let base = serve(&h).await;
    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;
    c.set_window_size(1366, 900).await.unwrap();
    sign_in(&c, &base, "2").await;

    // My day: the overdue follow-up is there; log a call with the next one, tomorrow.
    assert!(text(&c, "#day-overdue").await.contains("فهد القحطاني"));
    assert!(text(&c, "#day-waiting").await.contains("نورة السبيعي"));
    fits_and_shoot(&c, "day", 1366).await;
    let tomorrow = (crm_core::Clock::now(h.clock.as_ref()) + chrono::TimeDelta::days(1))
        .with_timezone(&chrono_tz::Asia::Riyadh)
        .format("%Y-%m-%dT09:00")
        .to_string();
    c.execute(
        "document.querySelector('#day-overdue input[name=next_follow_up]').value = arguments[0]",
        vec![json!(tomorrow)],
    )
    .await
    .unwrap();
    wait_for(&c, "#day-overdue form.quick button")
        .await
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(
            "//section[@id='day-overdue' and not(contains(., 'فهد القحطاني'))]",
        ))
        .await
        .expect("the follow-up is no longer overdue");

    // The board: move the new lead to contacted by keyboard only (its list, then its button).
    wait_for(&c, "a[href='/board']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "#lead-board").await;
    fits_and_shoot(&c, "board", 1366).await;
    let select = wait_for(&c, &format!("#card-{fresh} select")).await;
    select.send_keys(&Key::Down).await.unwrap();
    let chosen = c
        .execute(
            "return document.querySelector(arguments[0]).value",
            vec![json!(format!("#card-{fresh} select"))],
        )
        .await
        .unwrap();
    assert_eq!(
        chosen, "contacted",
        "the first move is chosen by the arrow key"
    );
    select.send_keys(&Key::Tab).await.unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for(&c, &format!("#col-contacted #card-{fresh}")).await;

    // And drag it on to interested: the drop fills in the same form.
    c.execute(
        "const card = document.querySelector(arguments[0]);\
         const col = document.querySelector('#col-interested');\
         const dt = new DataTransfer();\
         const fire = (el, type) => el.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));\
         fire(card, 'dragstart'); fire(col, 'dragover'); fire(col, 'drop');",
        vec![json!(format!("#card-{fresh}"))],
    )
    .await
    .unwrap();
    wait_for(&c, &format!("#col-interested #card-{fresh}")).await;

    // Convert the interested lead from its card: the confirmation, then the lead and its
    // client.
    wait_for(&c, &format!("#card-{hot} select"))
        .await
        .select_by_value("converted")
        .await
        .unwrap();
    wait_for(&c, &format!("#card-{hot} button"))
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "#move-step[data-to='converted']").await;
    wait_for(&c, "#confirm").await.click().await.unwrap();
    wait_for(&c, "#lead-status[data-status='converted']").await;
    let client = h.lead_json(&hot, &h.sales).await["client_id"]
        .as_str()
        .expect("the conversion created a client")
        .to_owned();
    assert!(text(&c, "main").await.contains(&client));

    // Find a lead by its phone typed with spaces and Arabic-Indic digits.
    wait_for(&c, "a[href='/leads']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "input[name=q]")
        .await
        .send_keys("٠٥٠ ١٢٣ ٤٥ ٦٧")
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(
            "//*[@id='results' and contains(., 'فهد القحطاني') and not(contains(., 'نورة السبيعي'))]",
        ))
        .await
        .expect("the lead is found by its phone");

    // On a phone: my day and the board fit the screen.
    c.set_window_size(390, 844).await.unwrap();
    for (page, name) in [("/", "day"), ("/board", "board")] {
        c.goto(&format!("{base}{page}")).await.unwrap();
        wait_for(&c, "main").await;
        fits_and_shoot(&c, name, 390).await;
    }
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    crm_no_browser,
    ignore = "chromium and chromium-driver are not installed"
)]
async fn a_sales_employee_imports_leads_in_arabic_in_chromium() {
    let h = server_support::sqlite().await;
    let base = serve(&h).await;
    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let file = dirs.path().join("عملاء.csv");
    std::fs::write(
        &file,
        "الاسم,الجوال,الشركة\r\n\
         منى العتيبي,0551234567,شركة الأفق\r\n\
         خالد الدوسري,٠٥٥٩٨٧٦٥٤٣,\r\n",
    )
    .unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;
    sign_in(&c, &base, "2").await;

    wait_for(&c, "a[href='/import']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "form.import input[type='file']")
        .await
        .send_keys(&file.to_string_lossy())
        .await
        .unwrap();
    wait_for(&c, "form.import button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    // The preview: both rows would be created, and nothing is written yet.
    wait_for(&c, "form.confirm-import").await;
    let preview = text(&c, "table.import-rows").await;
    assert_eq!(preview.matches("سيُنشأ").count(), 2, "{preview}");
    assert_eq!(h.lead_count().await, 0, "a preview writes nothing");
    assert_eq!(direction(&c).await, "rtl");

    wait_for(&c, "form.confirm-import button")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "#import-result").await;
    assert_eq!(h.lead_count().await, 2);

    wait_for(&c, "a[href='/leads']")
        .await
        .click()
        .await
        .unwrap();
    let list = text(&c, "#results").await;
    assert!(list.contains("منى العتيبي"), "{list}");
    assert!(list.contains("خالد الدوسري"), "{list}");
    assert!(list.contains("شركة الأفق"), "{list}");

    wait_for(&c, "a[href='/pipeline']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "table#stages").await;
    assert_eq!(text(&c, "h1").await, "قيمة خط المبيعات");
    assert_eq!(direction(&c).await, "rtl");
    screenshot(&c, "crm-server-pipeline.png").await;

    c.close().await.unwrap();
}

/// The page's width against the window's, in CSS pixels: (scrollWidth, innerWidth).
async fn widths(c: &Client) -> (u64, u64) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
}

/// On a phone (390 x 844) and on a laptop (1366 x 900), no page is wider than the window:
/// every page a manager opens, with a lead that has a long Arabic name, a company, a phone,
/// an e-mail, an interaction with long notes and a KWD opportunity. On the phone the links
/// fold behind the menu switch, which opens them; the lead list shows cards. Screenshots of
/// both sizes are saved under the target directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    crm_no_browser,
    ignore = "chromium and chromium-driver are not installed"
)]
async fn no_page_is_wider_than_a_phone_in_chromium() {
    let h = server_support::sqlite().await;
    let lead = h
        .lead(
            &h.sales,
            json!({
                "name": "عبدالرحمن بن سلطان بن عبدالعزيز آل عبدالكريم الحربي",
                "company": "مؤسسة الخليج العربي للتجارة والمقاولات العامة المحدودة",
                "phone": "٠٥٠ ١٢٣ ٤٥٦٧",
                "email": "abdulrahman.alharbi.procurement@gulf-contracting-example.com.sa",
                "source": "referral",
            }),
        )
        .await;
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/interactions"),
            &h.sales,
            json!({"kind": "call", "notes": "اتصل العميل وطلب عرض سعر مفصل لتوريد المعدات الثقيلة للمشروع الجديد في المنطقة الشرقية مع جدول زمني للتسليم".repeat(3)}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": "توريد معدات", "value": "482000.500", "currency": "KWD", "expected_close": "2027-01-31"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let base = serve(&h).await;
    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;

    c.goto(&format!("{base}/sign-in")).await.unwrap();
    sign_in(&c, &base, "1").await;
    let pages = every_page(&lead);
    for (w, hgt) in [(390, 844), (1366, 900)] {
        c.set_window_size(w, hgt).await.unwrap();
        for page in &pages {
            c.goto(&format!("{base}{page}")).await.unwrap();
            wait_for(&c, "main").await;
            let (scroll, inner) = widths(&c).await;
            assert!(inner <= u64::from(w), "the window is {inner} wide");
            assert!(
                scroll <= inner,
                "{page} at {w} px is {scroll} px wide (window {inner})"
            );
        }
        c.goto(&format!("{base}/leads/{lead}")).await.unwrap();
        wait_for(&c, "#call").await;
        screenshot(&c, &format!("screenshot-lead-{w}.png")).await;
        c.goto(&format!("{base}/leads")).await.unwrap();
        wait_for(&c, "#results").await;
        screenshot(&c, &format!("screenshot-leads-{w}.png")).await;
        c.goto(&format!("{base}/pipeline")).await.unwrap();
        wait_for(&c, "svg.chart").await;
        screenshot(&c, &format!("screenshot-pipeline-chart-{w}.png")).await;
    }
    // On the phone the links are folded, and the menu switch opens them.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/leads")).await.unwrap();
    let nav = wait_for(&c, "header nav").await;
    assert!(!nav.is_displayed().await.unwrap(), "folded on a phone");
    wait_for(&c, "label[for='menu-toggle']")
        .await
        .click()
        .await
        .unwrap();
    assert!(
        nav.is_displayed().await.unwrap(),
        "opened by the menu switch"
    );
    let (scroll, inner) = widths(&c).await;
    assert!(scroll <= inner, "the open menu fits: {scroll} > {inner}");
}

/// axe-core's serious and critical violations on the page, as "rule: target" lines.
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations\
               .filter(v => v.impact === 'serious' || v.impact === 'critical')\
               .flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')))))\
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// An accessibility scan with axe-core (the npm package, injected into each page) finds no
/// serious or critical violation on any page, in Arabic and in English, on a laptop and on
/// a phone, signed in and not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(crm_no_browser, crm_no_axe),
    ignore = "chromium, chromium-driver or axe-core (CRM_AXE_JS) is not installed"
)]
async fn no_page_has_a_serious_accessibility_violation_in_chromium() {
    let axe_path = std::env::var("CRM_AXE_JS")
        .expect("CRM_AXE_JS names axe-core's axe.min.js (npm install axe-core)");
    let axe = std::fs::read_to_string(&axe_path).unwrap();
    let h = server_support::sqlite().await;
    let lead = h
        .lead(
            &h.sales,
            json!({"name": "منى العتيبي", "phone": "0551234567", "email": "mona@example.sa", "company": "شركة الأفق"}),
        )
        .await;
    let base = serve(&h).await;
    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;
    let mut found = Vec::new();
    c.goto(&format!("{base}/sign-in")).await.unwrap();
    wait_for(&c, "main").await;
    found.extend(
        axe_violations(&c, &axe)
            .await
            .into_iter()
            .map(|v| format!("/sign-in {v}")),
    );
    sign_in(&c, &base, "1").await;
    let pages = every_page(&lead);
    for (lang, w, hgt) in [("ar", 1280, 900), ("ar", 390, 844), ("en", 390, 844)] {
        c.set_window_size(w, hgt).await.unwrap();
        c.goto(&format!("{base}/lang/{lang}?back=/leads"))
            .await
            .unwrap();
        for page in &pages {
            c.goto(&format!("{base}{page}")).await.unwrap();
            wait_for(&c, "main").await;
            let v = axe_violations(&c, &axe).await;
            found.extend(v.into_iter().map(|v| format!("{lang} {w} px {page} {v}")));
        }
    }
    assert!(
        found.is_empty(),
        "serious or critical:\n{}",
        found.join("\n")
    );
}

/// A visitor fills a web form's public page in Arabic, in chromium: the page reads right to
/// left, has no serious accessibility violation, and its submission becomes a lead for the
/// form's team, with the campaign of the link that brought the visitor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(crm_no_browser, crm_no_axe),
    ignore = "chromium, chromium-driver or axe-core (CRM_AXE_JS) is not installed"
)]
async fn a_visitor_sends_the_web_form_in_arabic_in_chromium() {
    let axe_path = std::env::var("CRM_AXE_JS")
        .expect("CRM_AXE_JS names axe-core's axe.min.js (npm install axe-core)");
    let axe = std::fs::read_to_string(&axe_path).unwrap();
    let forms = r#"{"contact": {"assign": "round-robin:east",
        "fields": ["name", "phone*", "email", "message"],
        "consent": "أوافق على أن تتواصل معي الشركة"}}"#;
    let h = server_support::sqlite_with(&[("forms", forms)]).await;
    let id = |n| crm_core::EmployeeId::new(n).unwrap();
    let ali = crm_core::Employee::new(
        id(server_support::SALES),
        crm_core::Name::parse("علي").unwrap(),
        crm_core::Role::Sales,
    )
    .in_team(crm_core::Team::parse("east").unwrap());
    h.state
        .crm
        .save_employee(id(server_support::MANAGER), ali)
        .await
        .unwrap();
    let base = serve(&h).await;
    let dirs = tempfile::tempdir().unwrap();
    let (profile, downloads) = (dirs.path().join("profile"), dirs.path().join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, port) = start_driver().await;
    let c = browser(port, &profile, &downloads).await;
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/forms/contact?utm_campaign=spring"))
        .await
        .unwrap();
    wait_for(&c, "form").await;
    assert_eq!(direction(&c).await, "rtl");
    let violations = axe_violations(&c, &axe).await;
    assert!(violations.is_empty(), "{violations:?}");
    wait_for(&c, "#f-name")
        .await
        .send_keys("ريم الشهري")
        .await
        .unwrap();
    wait_for(&c, "#f-phone")
        .await
        .send_keys("٠٥٥ ١٢٣ ٤٥٦٧")
        .await
        .unwrap();
    wait_for(&c, "#f-message")
        .await
        .send_keys("أرغب في زيارة المعرض")
        .await
        .unwrap();
    wait_for(&c, "input[name='consent']")
        .await
        .click()
        .await
        .unwrap();
    // A person takes more than the form's minimum fill time (the server's clock is the
    // test's).
    h.clock.advance(chrono::TimeDelta::seconds(10));
    screenshot(&c, "crm-server-web-form.png").await;
    wait_for(&c, "form button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "شكرًا لك");
    assert_eq!(h.lead_count().await, 1);
    let all = crm_core::LeadQuery::default().limit(10).unwrap();
    let lead = h
        .state
        .crm
        .list_leads(id(server_support::MANAGER), &all)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(lead.name().as_str(), "ريم الشهري");
    assert_eq!(lead.owner(), id(server_support::SALES));
    let d = h
        .state
        .crm
        .lead_detail(id(server_support::MANAGER), lead.id())
        .await
        .unwrap();
    let campaign = d.history.iter().find_map(|e| match &e.change {
        crm_core::Change::Captured { details, .. } => details.utm_campaign.clone(),
        _ => None,
    });
    assert_eq!(campaign.as_deref(), Some("spring"));
    c.close().await.unwrap();
}
