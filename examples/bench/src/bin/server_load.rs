//! A bounded load test of crm-server on 127.0.0.1: starts the server in this process on a
//! fresh SQLite file, seeds leads, then drives mixed traffic (80% reads: lead lists, searches
//! and lead details; 20% writes: new leads and interactions) from concurrent clients for a
//! fixed time (at most 60 s), and prints requests per second, latency percentiles and
//! errors. Exits non-zero on any error.
//!
//! ```text
//! cargo run --profile perf -p crm-bench --bin server_load -- --seconds 30 --clients 32
//! ```
//!
//! Target on the 2-core reference machine: >= 2,000 requests/s, p99 < 50 ms, no errors.
//! Measure on an otherwise idle machine: client and server share its cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use chrono::Utc;
use clap::Parser;
use crm_core::{Employee, EmployeeId, Name, Role, SystemClock};
use crm_server::{self as server, auth::Policy};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
struct Args {
    /// How long to run, 1 to 60 seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Leads seeded before the run.
    #[arg(long, default_value_t = 2000)]
    seed: usize,
}

type Http = Client<HttpConnector, Body>;

struct Target {
    http: Http,
    base: String,
    token: String,
}

impl Target {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        match self.http.request(req.body(body).unwrap()).await {
            Ok(r) => {
                let status = r.status().as_u16();
                let bytes = r.into_body().collect().await.map(|b| b.to_bytes());
                let v = bytes
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                (status, v)
            }
            Err(_) => (0, Value::Null),
        }
    }
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db").to_string_lossy().into_owned();
    let config = crm_config::Config::from_pairs(&[
        ("db", &db),
        ("region", "SA"),
        ("time_zone", "Asia/Riyadh"),
    ])
    .unwrap();
    let state = server::open(config.settings(), Arc::new(SystemClock), Policy::default())
        .await
        .unwrap();
    let manager = EmployeeId::new(1).unwrap();
    state
        .crm
        .bootstrap_manager(Employee::new(
            manager,
            Name::parse("سارة").unwrap(),
            Role::Manager,
        ))
        .await
        .unwrap();
    state
        .auth
        .set_password(manager, "load test password", None)
        .await
        .unwrap();
    let token = state.auth.issue_token(manager, "load").await.unwrap().token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server::service(state)).await });
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.clients)
        .build_http();
    let target = Arc::new(Target { http, base, token });

    let mut ids = Vec::with_capacity(args.seed);
    for i in 0..args.seed {
        let (status, v) = target
            .call(
                "POST",
                "/api/v1/leads",
                Some(json!({"name": format!("عميل {i}"), "email": format!("seed{i}@example.com"), "source": "web"})),
            )
            .await;
        assert_eq!(status, 201, "seeding failed: {v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let ids = Arc::new(ids);
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.clients {
        let (target, ids, errors) = (target.clone(), ids.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n: u64 = w as u64 * 7919;
            while Instant::now() < stop {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let pick = (n >> 33) % 100;
                let lead = &ids[((n >> 17) as usize) % ids.len()];
                let t = Instant::now();
                let (status, expect) = match pick {
                    0..=39 => (target.call("GET", &format!("/api/v1/leads/{lead}"), None).await.0, 200),
                    40..=59 => (target.call("GET", "/api/v1/leads?limit=50", None).await.0, 200),
                    60..=69 => (target.call("GET", &format!("/api/v1/leads/{lead}/detail"), None).await.0, 200),
                    70..=79 => (target.call("GET", "/api/v1/leads?q=%D8%B9%D9%85%D9%8A%D9%84%201&limit=20", None).await.0, 200),
                    80..=89 => (
                        target
                            .call(
                                "POST",
                                &format!("/api/v1/leads/{lead}/interactions"),
                                Some(json!({"kind": "call", "notes": "متابعة"})),
                            )
                            .await
                            .0,
                        201,
                    ),
                    _ => (
                        target
                            .call(
                                "POST",
                                "/api/v1/leads",
                                Some(json!({"name": "عميل جديد", "email": format!("w{w}-{n}@example.com")})),
                            )
                            .await
                            .0,
                        201,
                    ),
                };
                latencies.push(t.elapsed());
                if status != expect {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let errors = errors.load(Ordering::Relaxed);
    println!(
        "{} requests in {elapsed:.1} s with {} clients at {}: {:.0} req/s; latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {errors} errors",
        all.len(),
        args.clients,
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0),
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
