//! `crm`: lead management for a small sales team, on an embedded SQLite file by default.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crm_cli::output::{ERROR_KINDS, exit};
use crm_core::EmployeeId;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use app::{App, Failure, Out, usage};

mod app;
mod config;
mod dispatch;
mod employee;
mod events;
mod export;
mod import;
mod interaction;
mod lead;
mod mail;
mod opportunity;
mod pipeline;
mod report;
mod score;
mod sweep;
mod team;

const EXIT_CODES: &str = "\
EXIT CODES:
  0  success
  2  usage error (bad command line, or a setting of the configuration that does not parse)
  3  invalid input (malformed value, refused status move, invalid assignee)
  4  forbidden (the acting employee may not do this, or the lead is converted and read-only)
  5  not found
  6  conflict (someone else changed the record; or an open lead has this email/phone)
  7  storage or host system failure
  8  a bulk change or reassign-all refused some leads (the output lists which, and why)";

/// The exit codes, and the JSON error shape with every stable `kind`.
fn after_help() -> String {
    let mut s = format!(
        "{EXIT_CODES}\n\nERRORS WITH --json (one object on stderr):\n  \
         {{\"error\": {{\"kind\": \"not_found\", \"message\": \"...\", \"exit_code\": 5}}}}\n"
    );
    for (kind, code, what) in ERROR_KINDS {
        s.push_str(&format!("  {kind:<19}{code}  {what}\n"));
    }
    s
}

/// Lead management: leads, interactions, opportunities, the status pipeline, reports.
#[derive(Parser, Debug)]
#[command(name = "crm", version, after_help = after_help())]
struct Cli {
    /// The configuration file (TOML; `crm config keys` lists its keys). Its settings are
    /// overridden by CRM_* environment variables, and those by flags.
    #[arg(long, env = "CRM_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    /// Database: a SQLite file path or URL (created if missing), or postgres://...
    /// [default: crm.db]
    #[arg(long, global = true)]
    db: Option<String>,
    /// The acting employee's id.
    #[arg(long = "as", env = "CRM_AS", global = true)]
    actor: Option<String>,
    /// Machine-readable JSON output (stable field names).
    #[arg(long, global = true)]
    json: bool,
    /// The region phone numbers typed in local form belong to: an ISO 3166 code (SA reads
    /// 0501234567 as +966501234567). Numbers with + or 00 and a country code need none.
    /// [default: SA]
    #[arg(long, global = true)]
    region: Option<String>,
    /// The lost-reason codes, comma-separated (default: price, competitor, no-budget,
    /// no-response, not-interested, timing, duplicate, other).
    #[arg(long, global = true)]
    lost_reasons: Option<String>,
    /// The lead sources offered, comma-separated, e.g. web,referral,معرض (default: web,
    /// referral, phone, email, event, other).
    #[arg(long, global = true)]
    sources: Option<String>,
    /// Who may record a lead under a source not in --sources: everyone, management or
    /// nobody. [default: everyone]
    #[arg(long, global = true)]
    new_sources: Option<String>,
    /// The currencies opportunities may be valued in, comma-separated, e.g. SAR,AED,EGP,KWD
    /// (default: any ISO 4217 currency).
    #[arg(long, global = true)]
    currencies: Option<String>,
    /// Probabilities of the open opportunity stages, e.g. open=10,qualified=25,proposal=50,
    /// negotiation=75 (the defaults; won counts 100 and lost 0).
    #[arg(long, global = true)]
    stage_probabilities: Option<String>,
    /// Who sees which leads: all (everyone sees every lead), team (the team's leads; a
    /// manager the teams they lead), own (one's own leads; a manager the teams they lead).
    /// [default: all]
    #[arg(long, global = true)]
    visibility: Option<String>,
    /// An assignment rule for leads added without --owner: STRATEGY:TEAM, or
    /// SOURCE=STRATEGY:TEAM for one source; STRATEGY is round-robin or least-open. Repeat
    /// for several sources (in CRM_ASSIGN, separate rules with `;`).
    #[arg(long = "assign", global = true)]
    assign: Vec<String>,
    /// Lead scoring's rule points, FIELD:VALUE=POINTS, comma-separated, e.g.
    /// source:event=20,email_kind:free_mail=-5.
    #[arg(long, global = true)]
    score_points: Option<String>,
    /// Lead scoring: points taken per full week without an interaction. [default: 0]
    #[arg(long, global = true)]
    score_decay: Option<String>,
    /// Lead scoring: append a score_changed event when a write moves a score by 10 points
    /// or more (true or false). [default: false]
    #[arg(long, global = true)]
    score_events: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The embedded employee directory.
    #[command(subcommand)]
    Employee(employee::EmployeeCmd),
    /// Leads.
    #[command(subcommand)]
    Lead(lead::LeadCmd),
    /// Teams of the embedded employee directory.
    #[command(subcommand)]
    Team(team::TeamCmd),
    /// Interactions with a lead.
    #[command(subcommand)]
    Interaction(interaction::InteractionCmd),
    /// Sales opportunities.
    #[command(subcommand)]
    Opportunity(opportunity::OpportunityCmd),
    /// Lead reports: counts by status x source (default), lost leads by reason, or the
    /// average time in each status per owner and source.
    Report(report::ReportArgs),
    /// What the pipeline is worth per currency: open, weighted, won and lost totals, by
    /// owner, stage and expected-close month; `crm pipeline stages` for the stage
    /// probabilities.
    #[command(args_conflicts_with_subcommands = true)]
    Pipeline(pipeline::PipelineArgs),
    /// The follow-up rule: notify owners of new leads nobody followed up, remind them of
    /// overdue follow-up times, and escalate leads left without follow-up to their manager.
    Sweep(sweep::SweepArgs),
    /// Retry creating clients for converted leads whose clients system call failed.
    Dispatch,
    /// Lead scoring: `crm score train`.
    #[command(subcommand)]
    Score(score::ScoreCmd),
    /// Write leads or the report to a CSV, XLSX or PDF file.
    #[command(subcommand)]
    Export(export::ExportCmd),
    /// Read a CSV or XLSX file of leads and report what each row would be (--dry-run).
    Import(import::ImportArgs),
    /// The configuration in force: `crm config check` shows each setting and where its
    /// value came from; `crm config keys` lists the settings.
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// Pending events for a sales system.
    Events(events::EventsArgs),
    /// Leads from the mailboxes: `crm mail fetch`.
    #[command(subcommand)]
    Mail(mail::MailCmd),
}

/// The log filter: `RUST_LOG` when set (`target=level,...`), else info for the crm's own
/// messages (the follow-up warnings) and nothing from sqlx, whose PostgreSQL notices and
/// statement logs (with their SQL) are no business of a CLI user.
fn log_filter() -> Targets {
    let default = || {
        Targets::new()
            .with_default(LevelFilter::INFO)
            .with_target("sqlx", LevelFilter::OFF)
    };
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v.parse().unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG ({e})");
            default()
        }),
        _ => default(),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() && std::env::args_os().any(|a| a == "--json") => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            usage(first.strip_prefix("error: ").unwrap_or(first)).report(true);
            return ExitCode::from(exit::USAGE);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .finish()
        .with(log_filter())
        .init();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            Failure {
                code: exit::STORAGE,
                kind: "storage",
                message: format!("cannot start the runtime: {e}"),
            }
            .report(json);
            return ExitCode::from(exit::STORAGE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            f.report(json);
            ExitCode::from(f.code)
        }
    }
}

/// The SQLite file `db` names, when it does not exist yet (so connecting creates it).
fn new_sqlite_file(db: &str) -> Option<std::path::PathBuf> {
    let db = db.trim();
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return None;
    }
    let path = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(db);
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || db.contains("mode=memory") {
        return None;
    }
    let path = std::path::PathBuf::from(path);
    (!path.exists()).then_some(path)
}

async fn run(cli: Cli) -> Out {
    let actor = cli
        .actor
        .as_deref()
        .map(str::parse::<EmployeeId>)
        .transpose()?;
    let config = config::load(&cli)?;
    if let Command::Config(c) = &cli.command {
        return config::run(&config, c, cli.json);
    }
    let settings = config.settings();
    let region = Some(settings.region);
    let created = new_sqlite_file(&settings.db);
    let builder = settings.connect().await?;
    if let Some(path) = created.filter(|p| p.exists()) {
        eprintln!("created a new database at {}", path.display());
    }
    let crm = builder.build().map_err(|e| usage(e.to_string()))?;
    let app = App {
        crm,
        actor,
        json: cli.json,
        region,
        time_zone: settings.time_zone,
    };
    match cli.command {
        // Answered above, before the database is opened.
        Command::Config(_) => Ok(()),
        Command::Employee(c) => employee::run(&app, &settings.db, c).await,
        Command::Lead(c) => lead::run(&app, c).await,
        Command::Team(c) => team::run(&app, c).await,
        Command::Interaction(c) => interaction::run(&app, c).await,
        Command::Opportunity(c) => opportunity::run(&app, c).await,
        Command::Export(c) => export::run(&app, c).await,
        Command::Import(a) => import::run(&app, a).await,
        Command::Report(a) => report::run(&app, a).await,
        Command::Pipeline(a) => pipeline::run(&app, a).await,
        Command::Sweep(a) => sweep::run(&app, a).await,
        Command::Dispatch => dispatch::run(&app).await,
        Command::Score(c) => score::run(&app, c).await,
        Command::Events(a) => events::run(&app, a).await,
        Command::Mail(c) => mail::run(&app, settings, c).await,
    }
}
