//! What lead scoring costs on a real store (issue 24): a history of decided leads and many
//! open ones written through `Crm` on SQLite (or PostgreSQL with `--store postgres`), then
//! the time of one conversion (its counts change in its commit), of reading the kept
//! frequencies against rebuilding them from every lead (the rescan the kept counts save),
//! of scoring one page of 50 leads, and of sorting every open lead by score.
//!
//! ```sh
//! cargo run --profile perf -p crm-bench --bin scoring_store -- --decided 5000 --open 100000
//! ```

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use crm_core::scoring::ALL_TEAMS;
use crm_core::{
    BoxError, Crm, Email, Employee, EmployeeId, LeadQuery, LeadStatus, LeadStore, LostReason,
    LostReasonCode, Name, NewLead, Role, Source,
};
use crm_store_memory::{MemoryClients, MemoryEmployees};

#[derive(Parser)]
struct Args {
    /// Converted and lost leads in the history.
    #[arg(long, default_value_t = 5_000)]
    decided: usize,
    /// Open leads.
    #[arg(long, default_value_t = 100_000)]
    open: usize,
    /// sqlite (a file in a temporary folder) or postgres (a fresh schema under
    /// `CRM_POSTGRES_URL`).
    #[arg(long, default_value = "sqlite")]
    store: String,
}

const SOURCES: [&str; 6] = ["web", "referral", "phone", "email", "event", "other"];
const DOMAINS: [&str; 3] = ["acme.sa", "gmail.com", "hotmail.com"];

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A fresh schema under `CRM_POSTGRES_URL`.
#[cfg(feature = "postgres")]
async fn postgres_url() -> Result<String, BoxError> {
    let base = std::env::var("CRM_POSTGRES_URL").map_err(|_| "set CRM_POSTGRES_URL")?;
    Ok(crm_store_sqlx::postgres_fresh_schema(&base, "scoring").await?)
}

#[cfg(not(feature = "postgres"))]
async fn postgres_url() -> Result<String, BoxError> {
    Err("built without the postgres feature (cargo run --features postgres ...)".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = match args.store.as_str() {
        "postgres" => postgres_url().await?,
        _ => dir.path().join("scoring.db").to_string_lossy().into_owned(),
    };
    let store: Arc<dyn LeadStore> = crm_store_sqlx::connect(&url).await?.store;
    let me = EmployeeId::new(1)?;
    let crm = Crm::builder()
        .store(store.clone())
        .employees(Arc::new(MemoryEmployees::new([Employee::new(
            me,
            Name::parse("سارة")?,
            Role::Manager,
        )])))
        .clients(Arc::new(MemoryClients::new()))
        .build()?;
    let lead = |i: usize| -> Result<NewLead, BoxError> {
        let source = Source::parse(SOURCES[i % SOURCES.len()])?;
        let email = Email::parse(&format!("l{i}@{}", DOMAINS[i % DOMAINS.len()]))?;
        Ok(NewLead::new(Name::parse(&format!("عميل {i}"))?, source).email(email))
    };
    let price = LostReason::new(LostReasonCode::parse("price")?);

    let t = Instant::now();
    for i in 0..args.decided {
        let l = crm.create_lead(me, lead(i)?).await?;
        // Events and referrals convert more often.
        let won = (i % 6 == 4 || i % 6 == 1) && !i.is_multiple_of(3) || i.is_multiple_of(11);
        let l = if won {
            let l = crm
                .change_status(me, l.id(), 1, LeadStatus::Contacted, None)
                .await?
                .lead;
            crm.change_status(me, l.id(), l.version(), LeadStatus::Converted, None)
                .await?
        } else {
            crm.change_status(me, l.id(), 1, LeadStatus::Lost, Some(price.clone()))
                .await?
        };
        drop(l);
    }
    println!("history: {} decided leads in {:.0} ms", args.decided, ms(t));
    let t = Instant::now();
    let mut last = None;
    for i in 0..args.open {
        last = Some(crm.create_lead(me, lead(args.decided + i)?).await?);
    }
    println!("{} open leads created in {:.0} ms", args.open, ms(t));

    // One more conversion: its counts change in its own commit.
    let l = last.ok_or("no open lead")?;
    let t = Instant::now();
    let l = crm
        .change_status(me, l.id(), l.version(), LeadStatus::Contacted, None)
        .await?
        .lead;
    crm.change_status(me, l.id(), l.version(), LeadStatus::Converted, None)
        .await?;
    println!(
        "one conversion (contacted, then converted): {:.2} ms",
        ms(t)
    );

    let t = Instant::now();
    let kept = store.score_frequencies(ALL_TEAMS).await?;
    let read = ms(t);
    let t = Instant::now();
    let rebuilt = crm_core::ports::derived::score_frequencies(store.as_ref(), ALL_TEAMS).await?;
    let rescan = ms(t);
    println!(
        "frequencies after it: kept counts read in {read:.2} ms; rebuilt from all {} leads in {rescan:.0} ms; equal: {}",
        args.decided + args.open,
        kept.same_counts(&rebuilt)
    );

    let page = crm.list_leads(me, &LeadQuery::default().limit(50)?).await?;
    let t = Instant::now();
    let scores = crm.scores(me, &page.items).await?;
    println!("a page of {} leads scored in {:.2} ms", scores.len(), ms(t));
    let t = Instant::now();
    let best = crm
        .leads_by_score(me, &LeadQuery::default().limit(50)?)
        .await?;
    println!(
        "every open lead ({}) scored and the best {} kept in {:.0} ms (top score {})",
        args.open.saturating_sub(1),
        best.len(),
        ms(t),
        best.first().map_or(0, |(_, s)| s.value)
    );
    Ok(())
}
