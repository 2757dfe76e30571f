//! The lead report over many leads on PostgreSQL, through the store: loads `--n` leads
//! (default 1,000,000) into a fresh schema with one `INSERT ... SELECT FROM generate_series`
//! (the lead-count triggers run for every row, as for any write), then times the report
//! (`LeadStore::report_in`) unfiltered, for one owner, and scoped to a team of owners, and
//! checks each against `GROUP BY` over the leads themselves (also timed: what the report
//! costs without kept counts). Prints one JSON line per measurement.
//!
//!     CRM_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!         target/perf/report_scale --n 1000000   # cargo build --profile perf -p crm-bench --bin report_scale
//!
//! The schema is dropped at the end unless `--keep` is given.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use clap::Parser;
use crm_core::{EmployeeId, LeadStatus, LeadStore, Report, ReportFilter, Scope, Source};
use serde_json::json;

/// Times the report over many leads on PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "report_scale")]
struct Args {
    /// Number of leads.
    #[arg(long, default_value_t = 1_000_000)]
    n: u64,
    /// Timed runs of each report (the median and the fastest are printed).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Keep the schema (its name is printed) instead of dropping it.
    #[arg(long)]
    keep: bool,
}

/// The leads of `pipeline-v1` (shared/bench/pipeline-v1.md) at scale: source `i % 6`,
/// owner `i % 37 + 1`, created `i % 30` days before T0, statuses in the workload's end
/// proportions (r = i % 10: 0-2 new, 3-4 contacted, 5-6 interested, 7 converted, 8-9 lost).
const LOAD: &str = "INSERT INTO leads (id, name, email, phone, company, source, status, owner, \
     created_by, created_at, updated_at, version, search_text, phone_display) \
     SELECT gen_random_uuid(), 'Lead ' || i, 'lead' || i || '@example.com', \
       '+1555' || lpad(i::text, 7, '0'), 'Company ' || (i % 1000), \
       (ARRAY['web','referral','phone','email','event','other'])[i % 6 + 1], \
       (ARRAY['new','new','new','contacted','contacted','interested','interested', \
              'converted','lost','lost'])[i % 10 + 1], \
       i % 37 + 1, i % 37 + 1, \
       TIMESTAMPTZ '2026-01-31 00:00:00+00' - (i % 30) * INTERVAL '1 day', \
       TIMESTAMPTZ '2026-01-31 00:00:00+00', 1, \
       lower('Lead ' || i || ' lead' || i || '@example.com'), '+1555' || lpad(i::text, 7, '0') \
     FROM generate_series(0, $1 - 1) AS s (i)";

const GROUP_BY: &str = "SELECT status, source, COUNT(*) FROM leads WHERE 1 = 1";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let base = std::env::var("CRM_POSTGRES_URL").map_err(|_| "set CRM_POSTGRES_URL")?;
    let url = crm_store_sqlx::postgres_fresh_schema(&base, "report_scale").await?;
    let store = crm_store_sqlx::PostgresStore::connect(&url).await?;
    let pool = store.pool().clone();
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&pool)
        .await?;
    eprintln!("schema {schema}: loading {} leads", args.n);

    let t = Instant::now();
    sqlx::query(LOAD)
        .bind(i64::try_from(args.n)?)
        .execute(&pool)
        .await?;
    let load = t.elapsed();
    sqlx::query("ANALYZE").execute(&pool).await?;
    let buckets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lead_counts WHERE n > 0")
        .fetch_one(&pool)
        .await?;
    println!(
        "{}",
        json!({"measure": "load", "n": args.n, "seconds": load.as_secs_f64(),
               "count_rows": buckets})
    );

    let team: BTreeSet<EmployeeId> = (1..=8).map(EmployeeId::new).collect::<Result<_, _>>()?;
    let cases = [
        ("all", ReportFilter::default(), Scope::All),
        (
            "owner_7",
            ReportFilter {
                owner: Some(EmployeeId::new(7)?),
                ..ReportFilter::default()
            },
            Scope::All,
        ),
        (
            "team_of_8",
            ReportFilter::default(),
            Scope::Owners(team.clone()),
        ),
    ];
    // First as the load left the counts (every lead's trigger updated its count row, so the
    // table holds as many dead row versions as autovacuum has not yet cleared), then after
    // `VACUUM`, the steady state autovacuum keeps.
    for state in ["after_load", "vacuumed"] {
        if state == "vacuumed" {
            sqlx::query("VACUUM ANALYZE lead_counts")
                .execute(&pool)
                .await?;
        }
        for (name, filter, scope) in &cases {
            let mut times = Vec::with_capacity(args.runs);
            let mut report = None;
            for _ in 0..args.runs.max(1) {
                let t = Instant::now();
                report = Some(store.report_in(filter, scope).await?);
                times.push(t.elapsed());
            }
            let ours = report.ok_or("no run")?;
            // The same report grouped over the leads themselves, once, timed too.
            let mut sql = String::from(GROUP_BY);
            if let Some(o) = filter.owner {
                sql.push_str(&format!(" AND owner = {}", o.get()));
            }
            if let Scope::Owners(o) = scope {
                let ids: Vec<String> = o.iter().map(|e| e.get().to_string()).collect();
                sql.push_str(&format!(" AND owner IN ({})", ids.join(", ")));
            }
            sql.push_str(" GROUP BY status, source");
            let t = Instant::now();
            let rows: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await?;
            let grouped_time = t.elapsed();
            let grouped = Report::from_counts(
                rows.into_iter()
                    .map(|(st, so, n)| -> Result<_, Box<dyn std::error::Error>> {
                        Ok((
                            st.parse::<LeadStatus>()?,
                            Source::parse(&so)?,
                            u64::try_from(n)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            );
            if grouped != ours {
                return Err(format!("report {name} differs from GROUP BY over the leads").into());
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{}",
                json!({"measure": "report", "case": name, "n": args.n, "counts": state,
                   "median_ms": ms(times[times.len() / 2]), "min_ms": ms(times[0]),
                   "group_by_leads_ms": ms(grouped_time), "agrees": true})
            );
        }
    }
    if args.keep {
        eprintln!("kept schema {schema}");
    } else {
        pool.close().await;
        // A pool on the base URL, not migrated: the schema name is `report_scale_` and a
        // UUID's hex digits (see `postgres_fresh_schema`), safe to splice.
        let admin = crm_store_sqlx::postgres::pool(&base).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await?;
    }
    Ok(())
}
