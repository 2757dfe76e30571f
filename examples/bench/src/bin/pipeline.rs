//! The `pipeline-v1` benchmark (workload: `shared/bench/pipeline-v1.md`), on the memory
//! store, SQLite or PostgreSQL. Prints one JSON line per phase and a checksum line.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, ValueEnum};
use crm_core::{
    Crm, Currency, Email, Employee, EmployeeId, EventKind, FollowUpNotice, FollowUpRule,
    InteractionKind, LeadId, LeadStatus, LeadStore, ManualClock, Money, Name, NewInteraction,
    NewLead, NewOpportunity, Notifier, Phone, PortError, ReportFilter, Role, Source, SystemActor,
};
use crm_store_memory::{MemoryClients, MemoryEmployees, MemoryStore};
use serde_json::json;

const WORKLOAD: &str = "pipeline-v1";
const SOURCES: [&str; 6] = ["web", "referral", "phone", "email", "event", "other"];
const KINDS: [InteractionKind; 4] = [
    InteractionKind::Call,
    InteractionKind::Visit,
    InteractionKind::FollowUp,
    InteractionKind::Email,
];

#[derive(Copy, Clone, Debug, ValueEnum)]
enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

impl StoreKind {
    fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// Runs the pipeline-v1 workload.
#[derive(Parser, Debug)]
#[command(name = "pipeline")]
struct Args {
    /// Which store to measure.
    #[arg(long, value_enum)]
    store: StoreKind,
    /// Number of leads.
    #[arg(long, default_value_t = 20_000)]
    n: usize,
    /// SQLite file or PostgreSQL URL (default: a fresh temp file / a fresh schema at
    /// CRM_POSTGRES_URL).
    #[arg(long)]
    db: Option<String>,
    /// Turn lead scoring's `score_changed` events on (off by default, as in a host), to
    /// measure what they cost each interaction, opportunity and edit.
    #[arg(long)]
    score_events: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct CountingNotifier(AtomicU64);

#[async_trait]
impl Notifier for CountingNotifier {
    async fn notify(&self, _: &FollowUpNotice) -> Result<(), PortError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_769_817_600, 0).unwrap_or_default() // 2026-01-31T00:00:00Z
}

fn emp(i: usize) -> Result<EmployeeId, BoxError> {
    Ok(EmployeeId::new(i64::try_from(i)?)?)
}

struct Progress {
    on: bool,
    phase: &'static str,
    total: usize,
}

impl Progress {
    fn new(phase: &'static str, total: usize) -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            phase,
            total,
        }
    }
    fn tick(&self, done: usize) {
        if self.on && (done.is_multiple_of(500) || done == self.total) {
            let width = 30;
            let filled = done * width / self.total.max(1);
            eprint!(
                "\r{:<12} [{}{}] {done}/{}",
                self.phase,
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
            if done == self.total {
                eprintln!();
            }
        }
    }
}

struct Bench {
    store_name: &'static str,
    n: usize,
}

impl Bench {
    fn phase(&self, phase: &str, ops: u64, started: Instant) {
        println!(
            "{}",
            json!({"workload": WORKLOAD, "store": self.store_name, "phase": phase, "n": self.n, "ops": ops, "seconds": started.elapsed().as_secs_f64()})
        );
    }
}

async fn open_store(
    args: &Args,
    _keep: &mut Vec<tempfile::TempDir>,
) -> Result<Arc<dyn LeadStore>, BoxError> {
    Ok(match args.store {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Sqlite => {
            let path = match &args.db {
                Some(p) => p.clone(),
                None => {
                    let dir = tempfile::tempdir()?;
                    let p = dir
                        .path()
                        .join("pipeline.db")
                        .to_string_lossy()
                        .into_owned();
                    _keep.push(dir);
                    p
                }
            };
            crm_store_sqlx::connect(&path).await?.store
        }
        StoreKind::Postgres => {
            let url = match &args.db {
                Some(u) => u.clone(),
                None => {
                    let base = std::env::var("CRM_POSTGRES_URL")
                        .map_err(|_| "set CRM_POSTGRES_URL or pass --db postgres://...")?;
                    crm_store_sqlx::postgres_fresh_schema(&base, "pipeline").await?
                }
            };
            crm_store_sqlx::connect(&url).await?.store
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let n = args.n;
    let mut keep = Vec::new();
    let store = open_store(&args, &mut keep).await?;
    let bench = Bench {
        store_name: args.store.name(),
        n,
    };

    let employees = (1..=50)
        .map(|i| {
            Ok(Employee::new(
                emp(i)?,
                Name::parse(&format!("Employee {i}"))?,
                match i {
                    1..=40 => Role::Sales,
                    41..=45 => Role::Manager,
                    _ => Role::Other,
                },
            ))
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let clock = Arc::new(ManualClock::new(t0()));
    let clients = Arc::new(MemoryClients::new());
    let notifier = Arc::new(CountingNotifier::default());
    let sweeper = SystemActor::parse("pipeline")?;
    let crm = Crm::builder()
        .store(store.clone())
        .employees(Arc::new(MemoryEmployees::new(employees)))
        .clients(clients.clone())
        .notifier(notifier.clone())
        .clock(clock.clone())
        .follow_up(FollowUpRule::calendar_days(5)?)
        .system_actor(sweeper.clone())
        .score_events(args.score_events)
        .build()?;
    let sources = SOURCES.map(|s| Source::parse(s).unwrap_or_else(|_| Source::other()));
    let usd = Currency::parse("USD")?;
    let owner = |i: usize| emp(i % 37 + 1);
    let created = |i: usize| t0() - TimeDelta::days((i % 30) as i64);

    // 1. ingest
    let mut ids: Vec<LeadId> = Vec::with_capacity(n);
    let mut versions: Vec<u64> = Vec::with_capacity(n);
    let progress = Progress::new("ingest", n);
    // The phone metadata loads on first use (about 0.6 billion instructions, once per
    // process): load it before the clock starts, so ingest measures the calls.
    Phone::parse("+15550000000")?;
    let started = Instant::now();
    for i in 0..n {
        clock.set(created(i));
        let input = NewLead::new(Name::parse(&format!("Lead {i}"))?, sources[i % 6].clone())
            .email(Email::parse(&format!("lead{i}@example.com"))?)
            .phone(Phone::parse(&format!("+1555{i:07}"))?)
            .company(Name::parse(&format!("Company {}", i % 1000))?)
            .owner(owner(i)?);
        let lead = crm.create_lead(owner(i)?, input).await?;
        ids.push(lead.id());
        versions.push(lead.version());
        progress.tick(i + 1);
    }
    bench.phase("ingest", n as u64, started);
    clock.set(t0());

    // 2. interact
    let total: usize = (0..n).map(|i| i % 4).sum();
    let progress = Progress::new("interact", total);
    let started = Instant::now();
    let mut ops = 0;
    for (i, id) in ids.iter().enumerate() {
        for (j, kind) in KINDS.iter().enumerate().take(i % 4) {
            let at = (created(i) + TimeDelta::days(j as i64 + 1)).min(t0());
            crm.log_interaction(owner(i)?, *id, NewInteraction::new(*kind).at(at))
                .await?;
            ops += 1;
            progress.tick(ops);
        }
    }
    bench.phase("interact", ops as u64, started);

    // 3. opportunity
    let started = Instant::now();
    let mut ops = 0u64;
    for i in (0..n).filter(|i| matches!(i % 10, 5..=7)) {
        let input = NewOpportunity {
            title: Name::parse(&format!("Deal {i}"))?,
            value: Money::from_minor(((i % 100 + 1) * 1000) as i64, usd)?,
            expected_close: (t0() + TimeDelta::days((i % 90) as i64)).date_naive(),
            probability: None,
        };
        crm.add_opportunity(owner(i)?, ids[i], input).await?;
        ops += 1;
    }
    bench.phase("opportunity", ops, started);

    // 4. transition
    use LeadStatus::*;
    let progress = Progress::new("transition", n);
    let started = Instant::now();
    let mut ops = 0u64;
    let no_budget = crm_core::LostReason::new(crm_core::LostReasonCode::parse("no-budget")?);
    for i in 0..n {
        let path: &[LeadStatus] = match i % 10 {
            3 | 4 => &[Contacted],
            5 | 6 => &[Contacted, Interested],
            7 => &[Contacted, Interested, Converted],
            8 => &[Lost],
            9 => &[Contacted, Lost],
            _ => &[],
        };
        for to in path {
            let reason = (*to == Lost).then(|| no_budget.clone());
            let c = crm
                .change_status(owner(i)?, ids[i], versions[i], *to, reason)
                .await?;
            versions[i] = c.lead.version();
            ops += 1;
        }
        progress.tick(i + 1);
    }
    bench.phase("transition", ops, started);

    // 5. sweep
    let started = Instant::now();
    clock.set(t0());
    let first = crm.sweep(sweeper.clone(), t0()).await?;
    let second = crm.sweep(sweeper.clone(), t0()).await?;
    if !first.failed.is_empty() {
        return Err("a follow-up notification failed".into());
    }
    bench.phase("sweep", first.notified.len() as u64, started);

    // 6. report
    let all = ReportFilter::default();
    let seven = ReportFilter {
        owner: Some(emp(7)?),
        ..Default::default()
    };
    let reader = emp(46)?;
    let started = Instant::now();
    let (mut report, mut report7) = (None, None);
    for _ in 0..20 {
        report = Some(crm.report(reader, &all).await?);
        report7 = Some(crm.report(reader, &seven).await?);
    }
    bench.phase("report", 40, started);

    // 7. detail
    let started = Instant::now();
    for k in 0..1000usize {
        let d = crm.lead_detail(reader, ids[(k * 7919) % n]).await?;
        std::hint::black_box(d);
    }
    bench.phase("detail", 1000, started);

    // Checksums, read back from the store's event log (untimed).
    let (mut interactions, mut status_changes, mut opportunities, mut value) =
        (0u64, 0u64, 0u64, 0i64);
    let mut after = 0;
    loop {
        let events = store.pending_events(after, 10_000).await?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        for e in &events {
            match &e.event.kind {
                EventKind::InteractionLogged { .. } => interactions += 1,
                EventKind::StatusChanged { .. } => status_changes += 1,
                EventKind::OpportunityCreated { value: v, .. } => {
                    opportunities += 1;
                    value += v.minor();
                }
                _ => {}
            }
        }
    }
    let by_status = |r: &Option<crm_core::Report>| {
        let mut m = serde_json::Map::new();
        for s in LeadStatus::ALL {
            let c = r
                .as_ref()
                .and_then(|r| r.by_status.get(&s).copied())
                .unwrap_or(0);
            m.insert(s.to_string(), json!(c));
        }
        serde_json::Value::Object(m)
    };
    println!(
        "{}",
        json!({
            "workload": WORKLOAD, "store": bench.store_name, "phase": "checksum", "n": n,
            "leads": report.as_ref().map_or(0, |r| r.total),
            "interactions": interactions,
            "status_changes": status_changes,
            "opportunities": opportunities,
            "opportunity_value_minor": value,
            "clients": clients.clients().len(),
            "stale": first.notified.len(),
            "stale_second_sweep": second.notified.len(),
            "report": by_status(&report),
            "report_employee_7": by_status(&report7),
        })
    );
    Ok(())
}
