//! The harness of the crm-server tests: a server over a fresh database (a SQLite file, or a
//! PostgreSQL schema of its own) with three employees, called in-process through
//! `tower::ServiceExt::oneshot`.
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::expect_used)]

/// Stamps out one test per body for each backend (SQLite, and PostgreSQL: ignored with a
/// reason when `CRM_POSTGRES_URL` is not set). Reach it with `#[macro_use] mod server_support;`.
macro_rules! on_every_backend {
    // With settings of the one configuration (key, value pairs as in crm.toml).
    (settings = $settings:expr; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::server_support::sqlite_with($settings).await).await
            }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
            async fn $name() {
                super::$name(super::server_support::postgres_with($settings).await).await
            }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::server_support::sqlite().await).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
            async fn $name() { super::$name(super::server_support::postgres().await).await }
            )*
        }
    };
}

pub mod browser;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{TimeDelta, Utc};
use crm_core::{Employee, EmployeeId, ManualClock, Name, Role};
use crm_server::auth::Policy;
use crm_server::{self as server, AppState};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The manager.
pub const MANAGER: i64 = 1;
/// Sales staff.
pub const SALES: i64 = 2;
/// An employee who may only read.
pub const OTHER: i64 = 3;
/// Everyone's password in the tests.
pub const PASSWORD: &str = "كلمة-سر-طويلة-2026";

/// Failed sign-ins that lock an employee in the tests.
pub const MAX_FAILURES: u32 = 3;

pub struct Harness {
    /// The database, as `crm --db` and `server::open` take it.
    pub url: String,
    pub state: AppState,
    pub app: Router,
    pub clock: Arc<ManualClock>,
    pub manager: String,
    pub sales: String,
    pub other: String,
    _dir: Option<tempfile::TempDir>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as sent (compressed when the response says so).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The problem's kind, checking the media type.
    pub fn problem(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let t = self.json()["type"].as_str().unwrap().to_owned();
        t.rsplit('/').next().unwrap().to_owned()
    }
    /// The fields a 422 names, in order.
    pub fn fields(&self) -> Vec<String> {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            self.text
        );
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
    /// Asserts a refusal: its status and its problem `type`.
    pub fn refused(&self, status: StatusCode, kind: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.problem(), kind, "{}", self.text);
    }
    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag").to_owned()
    }
}

pub fn policy() -> Policy {
    Policy {
        max_failures: MAX_FAILURES,
        lock_for: TimeDelta::minutes(15),
        delay_step: Duration::ZERO,
        ..Policy::default()
    }
}

/// A harness over a new SQLite file.
pub async fn sqlite() -> Harness {
    sqlite_with(&[]).await
}

/// A harness over a new PostgreSQL schema.
pub async fn postgres() -> Harness {
    postgres_with(&[]).await
}

/// A harness over a new SQLite file, with these settings of the one configuration (key,
/// value, as in crm.toml) over the defaults.
pub async fn sqlite_with(settings: &[(&str, &str)]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("crm.db").to_string_lossy().into_owned();
    build(&url, Some(dir), settings).await
}

/// A harness over a new PostgreSQL schema, with these settings.
pub async fn postgres_with(settings: &[(&str, &str)]) -> Harness {
    let url = crm_tests::postgres::fresh_schema("crm_server").await;
    build(&url, None, settings).await
}

async fn build(url: &str, dir: Option<tempfile::TempDir>, settings: &[(&str, &str)]) -> Harness {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut pairs = vec![("db", url), ("region", "SA"), ("time_zone", "Asia/Riyadh")];
    pairs.extend_from_slice(settings);
    let config = crm_config::Config::from_pairs(&pairs).unwrap();
    let state = server::open(config.settings(), clock.clone(), policy())
        .await
        .unwrap();
    let id = |n| EmployeeId::new(n).unwrap();
    let emp = |n, name: &str, role| Employee::new(id(n), Name::parse(name).unwrap(), role);
    state
        .crm
        .bootstrap_manager(emp(MANAGER, "سارة القحطاني", Role::Manager))
        .await
        .unwrap();
    for e in [
        emp(SALES, "علي", Role::Sales),
        emp(OTHER, "Omar", Role::Other),
    ] {
        state.crm.save_employee(id(MANAGER), e).await.unwrap();
    }
    for n in [MANAGER, SALES, OTHER] {
        state
            .auth
            .set_password(id(n), PASSWORD, None)
            .await
            .unwrap();
    }
    let mut h = Harness {
        url: url.to_owned(),
        app: server::service(state.clone()),
        state,
        clock,
        manager: String::new(),
        sales: String::new(),
        other: String::new(),
        _dir: dir,
    };
    h.manager = h.token(MANAGER).await;
    h.sales = h.token(SALES).await;
    h.other = h.token(OTHER).await;
    h
}

impl Harness {
    pub async fn token(&self, employee: i64) -> String {
        let r = self
            .issue(serde_json::json!({"employee_id": employee, "password": PASSWORD}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    /// Sends a request; `token` as bearer, `body` as JSON. The request is built at once, so
    /// the future borrows nothing.
    pub fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> impl Future<Output = Resp> + use<> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap();
        self.send(req)
    }

    pub fn send(&self, req: Request<Body>) -> impl Future<Output = Resp> + use<> {
        let app = self.app.clone();
        async move { Self::respond(app, req).await }
    }

    async fn respond(app: Router, req: Request<Body>) -> Resp {
        let r = app.oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    /// `POST /api/v1/tokens` with these credentials.
    pub fn issue(&self, credentials: Value) -> impl Future<Output = Resp> + use<> {
        self.call(Method::POST, "/api/v1/tokens", None, Some(credentials), &[])
    }

    pub fn delete(&self, uri: &str, token: &str) -> impl Future<Output = Resp> + use<> {
        self.call(Method::DELETE, uri, Some(token), None, &[])
    }

    /// An update carrying `If-Match: version`.
    pub fn versioned(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: Value,
        version: &str,
    ) -> impl Future<Output = Resp> + use<> {
        self.call(
            method,
            uri,
            Some(token),
            Some(body),
            &[("if-match", version)],
        )
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::GET, uri, Some(token), None, &[]).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, uri, Some(token), Some(body), &[])
            .await
    }

    pub fn put(&self, uri: &str, token: &str, body: Value) -> impl Future<Output = Resp> + use<> {
        self.call(Method::PUT, uri, Some(token), Some(body), &[])
    }

    /// A PATCH carrying `If-Match: version`.
    pub fn patch(
        &self,
        uri: &str,
        token: &str,
        body: Value,
        version: &str,
    ) -> impl Future<Output = Resp> + use<> {
        self.versioned(Method::PATCH, uri, token, body, version)
    }

    /// A lead as `token` sees it.
    pub async fn lead_json(&self, id: &str, token: &str) -> Value {
        let r = self.get(&format!("/api/v1/leads/{id}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()
    }

    /// Creates a lead as `token`; returns its id.
    pub async fn lead(&self, token: &str, body: Value) -> String {
        let r = self.post("/api/v1/leads", token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// The number of leads the manager sees.
    pub async fn lead_count(&self) -> usize {
        let r = self.get("/api/v1/leads?limit=1000", &self.manager).await;
        r.json()["items"].as_array().unwrap().len()
    }
}

/// Every page a manager opens, with `lead`'s own pages.
pub fn every_page(lead: &str) -> Vec<String> {
    let mut pages: Vec<String> = [
        "/",
        "/board",
        "/board/deals",
        "/leads",
        "/leads?sort=score",
        "/leads/new",
    ]
    .map(str::to_owned)
    .to_vec();
    pages.extend([format!("/leads/{lead}"), format!("/leads/{lead}/edit")]);
    pages.extend(
        [
            "/report",
            "/report/lost-reasons",
            "/report/time-in-status",
            "/pipeline",
            "/duplicates",
            "/import",
            "/employees",
            "/teams",
            "/automation",
            "/tokens",
            "/forms",
        ]
        .map(str::to_owned),
    );
    pages
}
