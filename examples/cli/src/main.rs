//! `crm`: lead management for a small sales team, on an embedded SQLite file by default.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use crm_cli::output::{ERROR_KINDS, Table, error_kind, exit, exit_code, parse_duration};
use crm_config::{parse_date, parse_instant, sentence};
use crm_core::{
    BulkChange, BulkOutcome, BulkTarget, Crm, CrmError, Currency, Email, Employee, EmployeeId,
    InteractionKind, LeadId, LeadPatch, LeadQuery, LeadStatus, Money, Name, NewInteraction,
    NewLead, NewOpportunity, Note, OpportunityId, OpportunityPatch, OpportunityStage, Phone,
    PhoneRegion, ReportFilter, Role, Source, Strategy, SystemClock, Team,
};
use crm_core::{LostReason, LostReasonCode, PipelineFilter, PipelineReport};
use serde_json::json;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod config;
mod export;
mod import;
mod merge;
mod stages;

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The embedded employee directory.
    #[command(subcommand)]
    Employee(EmployeeCmd),
    /// Leads.
    #[command(subcommand)]
    Lead(LeadCmd),
    /// Teams of the embedded employee directory.
    #[command(subcommand)]
    Team(TeamCmd),
    /// Interactions with a lead.
    #[command(subcommand)]
    Interaction(InteractionCmd),
    /// Sales opportunities.
    #[command(subcommand)]
    Opportunity(OpportunityCmd),
    /// Lead reports: counts by status x source (default), lost leads by reason, or the
    /// average time in each status per owner and source.
    Report {
        /// What to report: status, lost-reason or time-in-status.
        #[arg(long, default_value = "status")]
        by: String,
        /// Only this responsible employee's leads.
        #[arg(long)]
        owner: Option<String>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Created on or after (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Created before (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// CSV for spreadsheets (UTF-8 with BOM).
        #[arg(long)]
        csv: bool,
    },
    /// What the pipeline is worth per currency: open, weighted, won and lost totals, by
    /// owner, stage and expected-close month; `crm pipeline stages` for the stage
    /// probabilities.
    #[command(args_conflicts_with_subcommands = true)]
    Pipeline {
        #[command(subcommand)]
        command: Option<stages::PipelineCmd>,
        /// Only opportunities on this employee's leads.
        #[arg(long)]
        owner: Option<String>,
        /// Expected to close on or after (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Expected to close on or before (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
    },
    /// The follow-up rule: notify owners of new leads nobody followed up, remind them of
    /// overdue follow-up times, and escalate leads left without follow-up to their manager.
    Sweep {
        /// The time to sweep at (default: now).
        #[arg(long)]
        now: Option<String>,
        /// Repeat on this schedule (e.g. 1h) until interrupted.
        #[arg(long)]
        every: Option<String>,
        /// Follow-up period in days (working days when a calendar option is given).
        /// [default: 5]
        #[arg(long)]
        days: Option<String>,
        #[command(flatten)]
        calendar: CalendarArgs,
        /// Escalate to the owner's manager a lead still without follow-up this many working
        /// days after its owner was notified.
        #[arg(long)]
        escalate_after: Option<String>,
        /// Show what would be notified, and notify and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Retry creating clients for converted leads whose clients system call failed.
    Dispatch,
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
    Events {
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Acknowledge the events shown.
        #[arg(long)]
        ack: bool,
    },
}

#[derive(Subcommand, Debug)]
enum EmployeeCmd {
    /// Add or update an employee.
    Add {
        /// Employee id (a positive integer).
        #[arg(long)]
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// sales, manager or other.
        #[arg(long)]
        role: String,
        /// Mark inactive (read only).
        #[arg(long)]
        inactive: bool,
        /// The team they belong to.
        #[arg(long)]
        team: Option<String>,
        /// A team a manager leads (repeat for several).
        #[arg(long = "leads-team")]
        leads_team: Vec<String>,
        /// Their manager's employee id (who hears of their leads left without follow-up).
        #[arg(long)]
        manager: Option<String>,
    },
    /// Deactivate an employee (says how many open leads they still own).
    Deactivate {
        /// Employee id.
        id: String,
    },
    /// List employees.
    List,
    /// Set an employee's password for crm-server, read from stdin (one line). Yourself, or
    /// anyone as a manager.
    SetPassword {
        /// Employee id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum TeamCmd {
    /// List teams with their members and managers.
    List,
}

/// Which leads a bulk change takes: a file of ids, or a filter.
#[derive(Args, Debug)]
struct BulkLeads {
    /// A file with one lead id per line, optionally `,VERSION` after it (the version you
    /// read); `-` reads standard input. Blank lines and lines starting with # are skipped.
    #[arg(long, conflicts_with = "filter", required_unless_present = "filter")]
    ids: Option<std::path::PathBuf>,
    /// Every lead you see that matches KEY=VALUE (status, source, owner, search); repeat to
    /// combine.
    #[arg(long)]
    filter: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum BulkCmd {
    /// Give each lead to an employee.
    Assign {
        /// New responsible employee.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        leads: BulkLeads,
    },
    /// Move each lead to a status.
    Status {
        /// new, contacted, interested, converted or lost.
        status: String,
        /// Why the leads were lost: a code from the lost-reason list (required for lost,
        /// see --lost-reasons).
        #[arg(long)]
        reason: Option<String>,
        /// Free-text detail of the lost reason.
        #[arg(long)]
        detail: Option<String>,
        #[command(flatten)]
        leads: BulkLeads,
    },
}

/// The working calendar of the follow-up rule. Without any of these the rule counts plain
/// calendar days in UTC.
#[derive(Args, Debug)]
struct CalendarArgs {
    /// The host's IANA time zone, e.g. Asia/Riyadh (default: $TZ when it names one, else UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// Daily working hours in local time, HH:MM-HH:MM (default 00:00-24:00).
    #[arg(long)]
    working_hours: Option<String>,
    /// Weekend days, e.g. fri,sat, or none (default: fri,sat for Arabic locales, else
    /// sat,sun).
    #[arg(long)]
    weekend: Option<String>,
    /// The locale whose weekend is the default (default: $LANG).
    #[arg(long)]
    locale: Option<String>,
    /// Holidays, YYYY-MM-DD separated by commas.
    #[arg(long)]
    holidays: Option<String>,
    /// A file of holidays, one YYYY-MM-DD per line (# starts a comment).
    #[arg(long)]
    holidays_file: Option<String>,
}

impl CalendarArgs {
    /// The calendar options given, as configuration flags.
    fn flags(&self, flags: &mut Vec<(String, String, String)>) {
        for (key, flag, value) in [
            ("time_zone", "--time-zone", &self.time_zone),
            ("working_hours", "--working-hours", &self.working_hours),
            ("weekend", "--weekend", &self.weekend),
            ("locale", "--locale", &self.locale),
            ("holidays", "--holidays", &self.holidays),
            ("holidays_file", "--holidays-file", &self.holidays_file),
        ] {
            if let Some(v) = value {
                flags.push((key.to_owned(), flag.to_owned(), v.clone()));
            }
        }
    }
}

#[derive(Args, Debug)]
struct ContactArgs {
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Phone number: local (read in --region) or international, ASCII or Arabic-Indic
    /// digits, optionally with an extension (x116).
    #[arg(long)]
    phone: Option<String>,
    /// Company.
    #[arg(long)]
    company: Option<String>,
    /// Source: web, referral, phone, email, event, other, or your own slug.
    #[arg(long)]
    source: Option<String>,
    /// Accept an email or phone that an open lead already has.
    #[arg(long)]
    allow_duplicate: bool,
}

#[derive(Subcommand, Debug)]
enum LeadCmd {
    /// Create a lead.
    Add {
        /// The person's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        contact: ContactArgs,
        /// Responsible employee (default: you).
        #[arg(long)]
        owner: Option<String>,
    },
    /// List leads, newest first.
    List {
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this responsible employee.
        #[arg(long)]
        owner: Option<String>,
        /// Search name, email, phone and company.
        #[arg(long)]
        search: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after this cursor (printed with the previous page).
        #[arg(long)]
        after: Option<String>,
        /// CSV for spreadsheets (UTF-8 with BOM).
        #[arg(long)]
        csv: bool,
    },
    /// Show a lead with its history, interactions and opportunities.
    Show {
        /// Lead id.
        id: String,
    },
    /// Edit a lead's contact data.
    Edit {
        /// Lead id.
        id: String,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        contact: ContactArgs,
        /// Next follow-up time (RFC 3339, e.g. 2026-03-01T09:00:00+03:00); "" clears it.
        #[arg(long)]
        follow_up: Option<String>,
    },
    /// Give a lead to another responsible employee.
    Assign {
        /// Lead id.
        id: String,
        /// New responsible employee.
        #[arg(long)]
        to: String,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
    /// Give all open leads of an employee to the rest of their team (management).
    ReassignAll {
        /// The employee whose open leads move.
        #[arg(long)]
        from: String,
        /// round-robin or least-open.
        #[arg(long)]
        rule: String,
        /// The team to give them to (default: the employee's own team).
        #[arg(long)]
        team: Option<String>,
    },
    /// Change many leads at once; each succeeds or fails on its own.
    #[command(subcommand)]
    Bulk(BulkCmd),
    /// Groups of open leads sharing an email or a phone (you see only the leads you may).
    Duplicates {
        /// Also group leads whose names are equal after Arabic folding (أحمد = احمد, علی =
        /// علي) within the same company.
        #[arg(long)]
        fuzzy: bool,
    },
    /// Merge lead OTHER into lead KEEP (management): OTHER's interactions and opportunities
    /// move to KEEP, KEEP takes OTHER's contact data where its own is empty, and OTHER
    /// becomes read-only.
    Merge {
        /// The lead to keep.
        keep: String,
        /// The lead to merge away.
        other: String,
        /// The version of KEEP you read (default: the current one).
        #[arg(long = "expect-keep-version")]
        keep_version: Option<u64>,
        /// The version of OTHER you read (default: the current one).
        #[arg(long = "expect-other-version")]
        other_version: Option<u64>,
    },
    /// Move a lead through the pipeline.
    Status {
        /// Lead id.
        id: String,
        /// new, contacted, interested, converted or lost.
        status: String,
        /// Why the lead was lost: a code from the lost-reason list (required for lost,
        /// refused for any other status).
        #[arg(long)]
        reason: Option<String>,
        /// Free-text detail of the lost reason.
        #[arg(long)]
        detail: Option<String>,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
enum InteractionCmd {
    /// Log an interaction.
    Add {
        /// Lead id.
        lead: String,
        /// call, visit, follow_up, email, meeting or note.
        #[arg(long)]
        kind: String,
        /// When it happened (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
        /// Set the lead's next follow-up time (RFC 3339, e.g. 2026-03-01T09:00:00+03:00).
        #[arg(long)]
        follow_up: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum OpportunityCmd {
    /// Add an opportunity to a lead.
    Add {
        /// Lead id.
        lead: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Value, e.g. 1250.500 or ١٬٢٥٠٫٥٠٠: `.` or `٫` before decimals, `,` or `٬`
        /// only between thousands.
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        /// ISO 4217 currency, e.g. SAR, AED, EGP, KWD.
        #[arg(long)]
        currency: String,
        /// Expected close date (YYYY-MM-DD).
        #[arg(long)]
        close: String,
        /// Chance of winning in percent, overriding the stage's (e.g. 40).
        #[arg(long)]
        probability: Option<String>,
    },
    /// Change an opportunity's stage, value or close date.
    Update {
        /// Opportunity id.
        id: String,
        /// open, qualified, proposal, negotiation, won or lost.
        #[arg(long)]
        stage: Option<String>,
        /// Chance of winning in percent, overriding the stage's; "" goes back to the stage's.
        #[arg(long)]
        probability: Option<String>,
        /// New value (in the opportunity's currency).
        #[arg(long, allow_hyphen_values = true)]
        value: Option<String>,
        /// New expected close date.
        #[arg(long)]
        close: Option<String>,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
}

/// A failure with its exit code and its stable `kind` for `--json`.
struct Failure {
    code: u8,
    kind: &'static str,
    message: String,
}

impl From<CrmError> for Failure {
    fn from(e: CrmError) -> Self {
        let mut message = sentence(&e);
        if matches!(e, CrmError::Duplicate { .. }) {
            message.push_str(" (pass --allow-duplicate to do so)");
        }
        Self {
            code: exit_code(&e),
            kind: error_kind(&e),
            message,
        }
    }
}

impl Failure {
    /// Writes the failure to stderr: `error: ...`, or one JSON object with `--json`.
    fn report(&self, json: bool) {
        if json {
            eprintln!(
                "{}",
                json!({"error": {"kind": self.kind, "message": self.message, "exit_code": self.code}})
            );
        } else {
            eprintln!("error: {}", self.message);
        }
    }
}

impl From<crm_core::ValidationError> for Failure {
    fn from(e: crm_core::ValidationError) -> Self {
        CrmError::from(e).into()
    }
}

impl From<crm_core::StoreError> for Failure {
    fn from(e: crm_core::StoreError) -> Self {
        CrmError::from(e).into()
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        kind: "usage",
        message: message.into(),
    }
}

fn invalid(message: String) -> Failure {
    Failure {
        code: exit::VALIDATION,
        kind: "invalid_input",
        message,
    }
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

type Out = Result<(), Failure>;

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

/// Display labels of employees, by id.
type Names = BTreeMap<EmployeeId, String>;

/// An employee's label: the name and id when known, else the id.
fn who(names: &Names, id: EmployeeId) -> String {
    names.get(&id).cloned().unwrap_or_else(|| id.to_string())
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

struct App {
    crm: Crm,
    actor: Option<EmployeeId>,
    json: bool,
    /// Only the commands that read phones need it (loading the phone metadata costs time).
    region: Option<PhoneRegion>,
}

impl App {
    fn actor(&self) -> Result<EmployeeId, Failure> {
        self.actor.ok_or_else(|| {
            usage("this command needs the acting employee: pass --as ID or set CRM_AS")
        })
    }

    /// Employees' names for the human tables, looked up once per distinct id: `سارة (7)`,
    /// or the bare id when the directory does not know them. Empty with `--json`.
    async fn names(&self, ids: impl IntoIterator<Item = EmployeeId>) -> Names {
        let mut names = Names::new();
        if self.json {
            return names;
        }
        let Some(actor) = self.actor else {
            return names;
        };
        for id in ids {
            if names.contains_key(&id) {
                continue;
            }
            let label = match self.crm.employee(actor, id).await {
                Ok(Some(e)) => format!("{} ({id})", e.name),
                _ => id.to_string(),
            };
            names.insert(id, label);
        }
        names
    }

    /// Reads a phone as typed, local forms in the configured region.
    fn phone(&self, typed: &str) -> Result<Phone, crm_core::ValidationError> {
        match self.region {
            Some(region) => Phone::parse_in(typed, region),
            None => Phone::parse(typed),
        }
    }

    fn print(&self, value: serde_json::Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            print!("{}", human());
        }
    }
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
    };
    match cli.command {
        // Answered above, before the database is opened.
        Command::Config(_) => Ok(()),
        Command::Employee(EmployeeCmd::SetPassword { id }) => {
            set_password(&app, &settings.db, &id).await
        }
        Command::Employee(c) => employee(&app, &settings.db, c).await,
        Command::Lead(c) => lead(&app, c).await,
        Command::Team(TeamCmd::List) => teams(&app).await,
        Command::Interaction(c) => interaction(&app, c).await,
        Command::Opportunity(c) => opportunity(&app, c).await,
        Command::Export(c) => export::run(&app, c).await,
        Command::Import(a) => import::run(&app, a).await,
        Command::Report {
            by,
            owner,
            source,
            from,
            to,
            csv,
        } => {
            let filter = export::report_filter(owner, source, from, to)?;
            match by.trim() {
                "status" => {}
                "lost-reason" | "lost_reason" if !csv => {
                    return lost_reason_report(&app, &filter).await;
                }
                "time-in-status" | "time_in_status" if !csv => {
                    return time_in_status_report(&app, &filter).await;
                }
                "lost-reason" | "lost_reason" | "time-in-status" | "time_in_status" => {
                    return Err(usage("--csv is only available for --by status"));
                }
                other => {
                    return Err(usage(format!(
                        "--by {other:?}: expected status, lost-reason or time-in-status"
                    )));
                }
            }
            let r = app.crm.report(app.actor()?, &filter).await?;
            if csv {
                return export::print_report_csv(&r);
            }
            app.print(json!(r), || {
                if r.total == 0 {
                    return "no leads match\n".to_owned();
                }
                let mut header = vec!["source".to_owned()];
                header.extend(LeadStatus::ALL.iter().map(|s| s.to_string()));
                header.push("total".into());
                let mut t = Table::new(header);
                for (source, total) in &r.by_source {
                    let mut row = vec![source.to_string()];
                    row.extend(
                        LeadStatus::ALL
                            .iter()
                            .map(|s| r.count(*s, source).to_string()),
                    );
                    row.push(total.to_string());
                    t.row(row);
                }
                let mut row = vec!["total".to_owned()];
                row.extend(
                    LeadStatus::ALL
                        .iter()
                        .map(|s| r.by_status.get(s).copied().unwrap_or(0).to_string()),
                );
                row.push(r.total.to_string());
                t.row(row);
                t.render()
            });
            Ok(())
        }
        Command::Pipeline {
            command: Some(c), ..
        } => stages::run(&app, c).await,
        Command::Pipeline {
            command: None,
            owner,
            from,
            to,
        } => {
            let filter = export::pipeline_filter(owner, from, to)?;
            pipeline(&app, &filter).await
        }
        Command::Sweep {
            now,
            every,
            dry_run,
            ..
        } => {
            let every = every
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(invalid)?;
            let at = now
                .as_deref()
                .map(parse_instant)
                .transpose()
                .map_err(invalid)?;
            if dry_run {
                let when = at.unwrap_or_else(Utc::now);
                let notices = app.crm.sweep_preview(app.actor()?, when, 10_000).await?;
                let names = app
                    .names(
                        notices
                            .iter()
                            .flat_map(|n| [Some(n.owner), n.recipient()])
                            .flatten(),
                    )
                    .await;
                app.print(
                    json!({"at": when, "dry_run": true, "would_notify": notices}),
                    || {
                        if notices.is_empty() {
                            return format!("{}: nothing to notify\n", when.to_rfc3339());
                        }
                        let mut t = Table::new(["kind", "lead", "name", "owner", "to"]);
                        for n in &notices {
                            t.row([
                                n.kind.name().to_owned(),
                                n.lead_id.to_string(),
                                n.lead_name.to_string(),
                                who(&names, n.owner),
                                n.recipient()
                                    .map_or("(no manager set)".to_owned(), |r| who(&names, r)),
                            ]);
                        }
                        format!(
                            "{}: would notify {} (dry run, nothing sent)\n{}",
                            when.to_rfc3339(),
                            notices.len(),
                            t.render()
                        )
                    },
                );
                return Ok(());
            }
            loop {
                let when = at.unwrap_or_else(Utc::now);
                let r = app.crm.sweep(app.actor()?, when).await?;
                let failed: Vec<_> = r
                    .failed
                    .iter()
                    .map(|(l, e)| json!({"lead_id": l, "error": sentence(e)}))
                    .collect();
                app.print(
                    json!({"at": when, "notified": r.notified, "reminded": r.reminded,
                           "escalated": r.escalated, "failed": failed}),
                    || {
                        format!(
                            "{}: notified {} lead(s), reminded {} of overdue follow-ups, \
                             escalated {}, {} failed\n",
                            when.to_rfc3339(),
                            r.notified.len(),
                            r.reminded.len(),
                            r.escalated.len(),
                            r.failed.len()
                        )
                    },
                );
                match every {
                    Some(d) => tokio::time::sleep(d.to_std().unwrap_or_default()).await,
                    None => return Ok(()),
                }
            }
        }
        Command::Dispatch => {
            let r = app.crm.dispatch_pending(app.actor()?).await?;
            let created: Vec<_> = r
                .created
                .iter()
                .map(|(l, c)| json!({"lead_id": l, "client_id": c}))
                .collect();
            let failed: Vec<_> = r
                .failed
                .iter()
                .map(|(l, e)| json!({"lead_id": l, "error": sentence(e)}))
                .collect();
            app.print(json!({"created": created, "failed": failed}), || {
                format!(
                    "created {} client(s), {} failed\n",
                    r.created.len(),
                    r.failed.len()
                )
            });
            Ok(())
        }
        Command::Events { after, limit, ack } => {
            let events = app.crm.pending_events(app.actor()?, after, limit).await?;
            let acked = match (ack, events.last()) {
                (true, Some(last)) => app.crm.ack_events(app.actor()?, last.seq).await?,
                _ => 0,
            };
            let names = app.names(events.iter().filter_map(|e| e.event.actor)).await;
            app.print(json!({"events": events, "acknowledged": acked}), || {
                if events.is_empty() {
                    return "no pending events\n".to_owned();
                }
                let mut t = Table::new(["seq", "at", "type", "lead", "actor"]);
                for e in &events {
                    t.row([
                        e.seq.to_string(),
                        e.event.at.to_rfc3339(),
                        e.event.kind.name().to_owned(),
                        e.event.lead_id.to_string(),
                        e.event.actor.map_or("-".into(), |a| who(&names, a)),
                    ]);
                }
                let mut s = t.render();
                if ack {
                    s.push_str(&format!("acknowledged {acked}\n"));
                }
                s
            });
            Ok(())
        }
    }
}

async fn employee(app: &App, db: &str, c: EmployeeCmd) -> Out {
    match c {
        EmployeeCmd::Add {
            id,
            name,
            role,
            inactive,
            manager,
            team,
            leads_team,
        } => {
            let mut e = Employee::new(id.parse()?, Name::parse(&name)?, role.parse::<Role>()?);
            e.active = !inactive;
            e.team = team.as_deref().map(Team::parse).transpose()?;
            e.manages = leads_team
                .iter()
                .map(|t| Team::parse(t))
                .collect::<Result<_, _>>()?;
            e.manager = manager.as_deref().map(str::parse).transpose()?;
            // The first employee of a new database needs no one acting (there is no one
            // yet) and must be an active manager; every later one is a manager's to add.
            let e = match app.actor {
                Some(actor) => app.crm.save_employee(actor, e).await?,
                None => app
                    .crm
                    .bootstrap_manager(e)
                    .await
                    .map_err(|err| match err {
                        CrmError::AlreadyBootstrapped => {
                            usage("employees exist already: add employees as a manager (--as ID)")
                        }
                        err => err.into(),
                    })?,
            };
            // An inactive employee who still owns open leads: say so (nobody works them).
            let open = match app.actor {
                Some(actor) if !e.active => app.crm.open_lead_count(actor, e.id).await?,
                _ => 0,
            };
            if !e.active {
                end_server_credentials(db, e.id).await?;
            }
            app.print(json!(e), || format!("employee {} saved\n", e.id));
            eprint!("{}", still_owns(e.id, open));
        }
        EmployeeCmd::Deactivate { id } => {
            let d = app
                .crm
                .deactivate_employee(app.actor()?, id.parse()?)
                .await?;
            let id = d.employee.id;
            end_server_credentials(db, id).await?;
            app.print(
                json!({"employee": d.employee, "open_leads": d.open_leads}),
                || {
                    format!(
                        "employee {id} deactivated\n{}",
                        still_owns(id, d.open_leads)
                    )
                },
            );
        }
        // `run` sends it to `set_password`, which needs the database URL.
        EmployeeCmd::SetPassword { .. } => {
            return Err(usage("set-password is run by its own handler"));
        }
        EmployeeCmd::List => {
            let list = app.crm.employees(app.actor()?).await?;
            app.print(json!(list), || {
                if list.is_empty() {
                    return "no employees yet; add one with `crm employee add`\n".to_owned();
                }
                let mut t = Table::new([
                    "id",
                    "name",
                    "role",
                    "active",
                    "team",
                    "leads teams",
                    "manager",
                ]);
                for e in &list {
                    t.row([
                        e.id.to_string(),
                        e.name.to_string(),
                        e.role.to_string(),
                        e.active.to_string(),
                        e.team.as_ref().map_or("-".into(), Team::to_string),
                        join(e.manages.iter()),
                        e.manager.map_or("-".to_owned(), |m| m.to_string()),
                    ]);
                }
                t.render()
            });
        }
    }
    Ok(())
}

/// Ends crm-server's sessions and tokens of an employee who has left, in the server's own
/// tables of the same database (made if missing, as crm-server makes them): whoever holds
/// them must not go on reading as the employee.
async fn end_server_credentials(db: &str, id: EmployeeId) -> Result<(), Failure> {
    use crm_auth::{AuthStore, Policy};
    let storage = |e: crm_auth::AuthError| Failure {
        code: exit::STORAGE,
        kind: "storage",
        message: sentence(&e),
    };
    let store = AuthStore::open(db, Arc::new(SystemClock), Policy::default())
        .await
        .map_err(storage)?;
    store.end_credentials(id, None).await.map_err(storage)
}

/// `crm employee set-password ID`: the password from stdin, stored for crm-server; the
/// employee's sessions and tokens end.
async fn set_password(app: &App, db: &str, id: &str) -> Out {
    use crm_auth::{self as auth, AuthError, AuthStore, Policy, SetPasswordError};
    let target: EmployeeId = id.parse()?;
    let actor = app.actor()?;
    if std::io::stdin().is_terminal() {
        eprint!("new password for employee {target} (shown as typed): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']);
    let store = AuthStore::open(db, Arc::new(SystemClock), Policy::default())
        .await
        .map_err(|e| Failure {
            code: exit::STORAGE,
            kind: "storage",
            message: sentence(&e),
        })?;
    // Whoever runs the tool on the database could change any table: no current password.
    let proof = auth::Proof::Database;
    auth::set_password_as(&app.crm, &store, actor, target, password, proof, None)
        .await
        .map_err(|e| match e {
            SetPasswordError::Crm(e) => e.into(),
            SetPasswordError::Auth(AuthError::WeakPassword) => invalid(e.to_string()),
            e @ SetPasswordError::Forbidden { .. } => Failure {
                code: exit::FORBIDDEN,
                kind: "forbidden",
                message: e.to_string(),
            },
            e @ SetPasswordError::NotFound(_) => Failure {
                code: exit::NOT_FOUND,
                kind: "not_found",
                message: e.to_string(),
            },
            // The tool proves who it is by the database itself.
            e @ (SetPasswordError::CurrentPasswordRequired
            | SetPasswordError::WrongCurrentPassword) => Failure {
                code: exit::FORBIDDEN,
                kind: "forbidden",
                message: e.to_string(),
            },
            e @ SetPasswordError::Auth(_) => Failure {
                code: exit::STORAGE,
                kind: "storage",
                message: sentence(&e),
            },
        })?;
    app.print(json!({"employee_id": target, "password_set": true}), || {
        format!("password of employee {target} set\n")
    });
    Ok(())
}

/// The warning for an inactive employee who still owns open leads (empty when none).
fn still_owns(id: EmployeeId, open: u64) -> String {
    if open == 0 {
        return String::new();
    }
    format!(
        "warning: employee {id} still owns {open} open lead(s); give them to others with \
         `crm lead reassign-all --from {id} --rule round-robin`\n"
    )
}

/// Items joined with `, `, or `-` when there are none.
fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.map(|t| t.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

async fn teams(app: &App) -> Out {
    let teams = app.crm.teams(app.actor()?).await?;
    let names = app
        .names(
            teams
                .iter()
                .flat_map(|t| t.members.iter().chain(&t.managers).copied()),
        )
        .await;
    app.print(json!(teams), || {
        if teams.is_empty() {
            return "no teams yet; give employees one with `crm employee add --team NAME`\n"
                .to_owned();
        }
        let mut t = Table::new(["team", "members", "managers"]);
        for team in &teams {
            t.row([
                team.team.to_string(),
                join(team.members.iter().map(|m| who(&names, *m))),
                join(team.managers.iter().map(|m| who(&names, *m))),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// The leads a bulk change names in a file: one id per line, optionally `,VERSION`.
/// The lost reason of `--reason CODE` and `--detail TEXT` (a detail needs a code).
fn lost_reason(reason: Option<&str>, detail: Option<&str>) -> Result<Option<LostReason>, Failure> {
    let detail = opt(detail, |s| Name::parse_field("detail", s))?;
    match (opt(reason, LostReasonCode::parse)?, detail) {
        (Some(code), detail) => Ok(Some(LostReason { code, detail })),
        (None, Some(_)) => Err(usage("--detail goes with --reason CODE (for lost)")),
        (None, None) => Ok(None),
    }
}

fn read_targets(path: &std::path::Path) -> Result<Vec<BulkTarget>, Failure> {
    let text = if path == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| usage(format!("--ids {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{FEFF}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| invalid(format!("--ids {} line {}: {e}", path.display(), n + 1));
        let (id, version) = match line.split_once(',') {
            Some((id, v)) => {
                let v: u64 = crm_core::text::ascii_digits(v.trim())
                    .parse()
                    .map_err(|_| at(format!("invalid version {:?}", v.trim())))?;
                (id, Some(v))
            }
            None => (line, None),
        };
        let id: LeadId = id
            .trim()
            .parse()
            .map_err(|e: crm_core::ValidationError| at(e.to_string()))?;
        out.push(BulkTarget { id, version });
    }
    Ok(out)
}

/// The leads a bulk change takes by filter: every lead the actor sees that matches, with
/// the version read now.
async fn filtered_targets(app: &App, filters: &[String]) -> Result<Vec<BulkTarget>, Failure> {
    let mut q = LeadQuery::default().limit(1000)?;
    let mut seen = std::collections::BTreeSet::new();
    for f in filters {
        let (key, value) = f
            .split_once('=')
            .ok_or_else(|| usage(format!("--filter {f:?}: expected KEY=VALUE")))?;
        let key = key.trim();
        if !seen.insert(key.to_owned()) {
            return Err(usage(format!("--filter {key} given twice")));
        }
        q = match key {
            "status" => q.status(value.parse()?),
            "source" => q.source(Source::parse(value)?),
            "owner" => q.owner(value.parse()?),
            "search" => q.search_in(value, app.region),
            _ => {
                return Err(usage(format!(
                    "--filter {key:?}: expected status, source, owner or search"
                )));
            }
        };
    }
    let mut out = Vec::new();
    loop {
        let page = app.crm.list_leads(app.actor()?, &q).await?;
        out.extend(page.items.iter().map(|l| BulkTarget {
            id: l.id(),
            version: Some(l.version()),
        }));
        match page.next {
            Some(c) => q = q.after(c),
            None => return Ok(out),
        }
    }
}

/// Prints what a bulk change did; fails with exit code 8 when some leads were refused.
async fn bulk_report(app: &App, what: &str, o: &BulkOutcome) -> Out {
    let names = app.names(o.done.iter().map(|l| l.owner())).await;
    let failed: Vec<_> = o
        .failed
        .iter()
        .map(|(id, e)| {
            json!({"lead_id": id, "error": {"kind": error_kind(e), "message": sentence(e)}})
        })
        .collect();
    app.print(json!({"done": o.done, "failed": failed}), || {
        let mut s = format!(
            "{what}: {} lead(s) changed, {} refused\n",
            o.done.len(),
            o.failed.len()
        );
        if !o.done.is_empty() {
            let mut t = Table::new([
                "id", "name", "status", "source", "owner", "contact", "company",
            ]);
            for l in &o.done {
                t.row(lead_row(l, &names));
            }
            s.push_str(&t.render());
        }
        if !o.failed.is_empty() {
            let mut t = Table::new(["lead", "refused because"]);
            for (id, e) in &o.failed {
                t.row([id.to_string(), sentence(e)]);
            }
            s.push_str(&t.render());
        }
        s
    });
    if o.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: exit::PARTIAL,
            kind: "partial",
            message: format!("{} of the leads were refused", o.failed.len()),
        })
    }
}

fn opt<T>(
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crm_core::ValidationError>,
) -> Result<Option<T>, Failure> {
    Ok(v.map(parse).transpose()?)
}

/// `--email ""` clears an optional field in an edit.
fn clearable<T>(
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crm_core::ValidationError>,
) -> Result<Option<Option<T>>, Failure> {
    Ok(match v {
        None => None,
        Some(s) if s.trim().is_empty() => Some(None),
        Some(s) => Some(Some(parse(s)?)),
    })
}

async fn current_version(app: &App, id: LeadId, given: Option<u64>) -> Result<u64, Failure> {
    match given {
        Some(v) => Ok(v),
        None => Ok(app.crm.lead(app.actor()?, id).await?.version()),
    }
}

fn lead_row(l: &crm_core::Lead, names: &Names) -> [String; 7] {
    [
        l.id().to_string(),
        l.name().to_string(),
        l.status().to_string(),
        l.source().to_string(),
        who(names, l.owner()),
        l.email().map_or_else(
            || l.phone().map_or(String::new(), |p| p.to_string()),
            |e| e.to_string(),
        ),
        l.company().map_or(String::new(), |c| c.to_string()),
    ]
}

async fn lead(app: &App, c: LeadCmd) -> Out {
    match c {
        LeadCmd::Add {
            name,
            contact,
            owner,
        } => {
            let mut input = NewLead::new(
                Name::parse(&name)?,
                contact
                    .source
                    .as_deref()
                    .map_or(Ok(Source::other()), Source::parse)?,
            );
            input.email = opt(contact.email.as_deref(), Email::parse)?;
            input.phone = opt(contact.phone.as_deref(), |s| app.phone(s))?;
            input.company = opt(contact.company.as_deref(), |s| {
                Name::parse_field("company", s)
            })?;
            input.owner = owner.as_deref().map(str::parse).transpose()?;
            input.allow_duplicate = contact.allow_duplicate;
            let l = app.crm.create_lead(app.actor()?, input).await?;
            app.print(json!(l), || format!("lead {} created\n", l.id()));
        }
        LeadCmd::List {
            status,
            source,
            owner,
            search,
            limit,
            after,
            csv,
        } => {
            let mut q = export::lead_query(
                LeadQuery::default().limit(limit)?,
                status,
                source,
                owner,
                search,
                app.region,
            )?;
            if let Some(a) = after {
                q = q.after(a.parse()?);
            }
            let page = app.crm.list_leads(app.actor()?, &q).await?;
            if csv {
                return export::print_leads_csv(app, &page.items).await;
            }
            let next = page.next.map(|c| c.to_string());
            let names = app.names(page.items.iter().map(|l| l.owner())).await;
            app.print(json!({"items": page.items, "next": next}), || {
                if page.items.is_empty() {
                    return "no leads match\n".to_owned();
                }
                let mut t = Table::new([
                    "id", "name", "status", "source", "owner", "contact", "company",
                ]);
                for l in &page.items {
                    t.row(lead_row(l, &names));
                }
                let mut s = t.render();
                if let Some(n) = &next {
                    s.push_str(&format!("more: --after {n}\n"));
                }
                s
            });
        }
        LeadCmd::Show { id } => {
            let d = app.crm.lead_detail(app.actor()?, id.parse()?).await?;
            let spent = d.time_in_status(Utc::now());
            let mut ids = vec![d.lead.owner()];
            for e in &d.history {
                ids.push(e.actor);
                if let crm_core::Change::Reassigned { from, to } = &e.change {
                    ids.extend([*from, *to]);
                }
            }
            ids.extend(d.interactions.iter().map(|i| i.logged_by));
            let names = app.names(ids).await;
            let mut value = json!(d);
            if let Some(o) = value.as_object_mut() {
                let secs: BTreeMap<String, i64> = spent
                    .iter()
                    .map(|(s, t)| (s.to_string(), t.num_seconds()))
                    .collect();
                o.insert("time_in_status_seconds".into(), json!(secs));
            }
            app.print(value, || show(&d, &spent, &names));
        }
        LeadCmd::Edit {
            id,
            version,
            name,
            contact,
            follow_up,
        } => {
            let id: LeadId = id.parse()?;
            let patch = LeadPatch {
                name: opt(name.as_deref(), Name::parse)?,
                email: clearable(contact.email.as_deref(), Email::parse)?,
                phone: clearable(contact.phone.as_deref(), |s| app.phone(s))?,
                company: clearable(contact.company.as_deref(), |s| {
                    Name::parse_field("company", s)
                })?,
                source: opt(contact.source.as_deref(), Source::parse)?,
                allow_duplicate: contact.allow_duplicate,
                next_follow_up: match follow_up.as_deref() {
                    None => None,
                    Some(t) if t.trim().is_empty() => Some(None),
                    Some(t) => Some(Some(parse_instant(t).map_err(invalid)?)),
                },
            };
            let v = current_version(app, id, version).await?;
            let l = app.crm.edit_lead(app.actor()?, id, v, patch).await?;
            app.print(json!(l), || {
                format!("lead {} is at version {}\n", l.id(), l.version())
            });
        }
        LeadCmd::Assign { id, to, version } => {
            let id: LeadId = id.parse()?;
            let v = current_version(app, id, version).await?;
            let l = app
                .crm
                .assign_lead(app.actor()?, id, v, to.parse()?)
                .await?;
            app.print(json!(l), || {
                format!("lead {} now belongs to {}\n", l.id(), l.owner())
            });
        }
        LeadCmd::ReassignAll { from, rule, team } => {
            let rule: Strategy = rule.parse()?;
            let team = team.as_deref().map(Team::parse).transpose()?;
            let o = app
                .crm
                .reassign_all(app.actor()?, from.parse()?, rule, team)
                .await?;
            return bulk_report(app, "reassign-all", &o).await;
        }
        LeadCmd::Duplicates { fuzzy } => return merge::duplicates(app, fuzzy).await,
        LeadCmd::Merge {
            keep,
            other,
            keep_version,
            other_version,
        } => return merge::merge(app, &keep, &other, keep_version, other_version).await,
        LeadCmd::Bulk(cmd) => {
            let (change, leads) = match cmd {
                BulkCmd::Assign { to, leads } => (BulkChange::Assign { to: to.parse()? }, leads),
                BulkCmd::Status {
                    status,
                    reason,
                    detail,
                    leads,
                } => (
                    BulkChange::Status {
                        to: status.parse()?,
                        reason: lost_reason(reason.as_deref(), detail.as_deref())?,
                    },
                    leads,
                ),
            };
            let targets = match &leads.ids {
                Some(path) => read_targets(path)?,
                None => filtered_targets(app, &leads.filter).await?,
            };
            if targets.is_empty() {
                app.print(json!({"done": [], "failed": []}), || {
                    "no leads match; nothing changed\n".to_owned()
                });
                return Ok(());
            }
            let o = app.crm.bulk(app.actor()?, &targets, &change).await?;
            return bulk_report(app, "bulk", &o).await;
        }
        LeadCmd::Status {
            id,
            status,
            reason,
            detail,
            version,
        } => {
            let id: LeadId = id.parse()?;
            let to: LeadStatus = status.parse()?;
            let reason = lost_reason(reason.as_deref(), detail.as_deref())?;
            let v = current_version(app, id, version).await?;
            let c = app
                .crm
                .change_status(app.actor()?, id, v, to, reason)
                .await?;
            let (client, deferred) = match &c.conversion {
                Some(crm_core::ConversionOutcome::ClientCreated(cl)) => {
                    (Some(cl.to_string()), None)
                }
                Some(crm_core::ConversionOutcome::Deferred(e)) => (None, Some(sentence(e))),
                None => (None, None),
            };
            app.print(
                json!({"lead": c.lead, "client_id": client, "client_deferred": deferred}),
                || {
                    let mut s = format!("lead {} is {}\n", c.lead.id(), c.lead.status());
                    if let Some(cl) = &client {
                        s.push_str(&format!("client {cl} created\n"));
                    }
                    s
                },
            );
            // The lead is converted (exit 0: converting again would be refused), but the
            // missing client must not go unnoticed, with --json too.
            if let Some(e) = &deferred {
                let message = format!(
                    "lead {} is converted, but its client was not created ({e}); the dispatch \
                     retries it: run `crm dispatch` (management)",
                    c.lead.id()
                );
                if app.json {
                    eprintln!(
                        "{}",
                        json!({"warning": {"kind": "client_deferred", "message": message}})
                    );
                } else {
                    eprintln!("warning: {message}");
                }
            }
        }
    }
    Ok(())
}

fn show(
    d: &crm_core::LeadDetail,
    spent: &BTreeMap<LeadStatus, chrono::TimeDelta>,
    names: &Names,
) -> String {
    let l = &d.lead;
    let mut s = String::new();
    let mut kv = Table::new(["field", "value"]);
    kv.row(["id".to_owned(), l.id().to_string()]);
    kv.row(["name".to_owned(), l.name().to_string()]);
    kv.row([
        "email".to_owned(),
        l.email().map_or("-".into(), |e| e.to_string()),
    ]);
    kv.row([
        "phone".to_owned(),
        // As typed, and the number it was read as when that looks different.
        l.phone().map_or("-".into(), |p| {
            if p.display() == p.key() {
                p.key().to_owned()
            } else {
                format!("{} ({})", p.display(), p.key())
            }
        }),
    ]);
    kv.row([
        "company".to_owned(),
        l.company().map_or("-".into(), |c| c.to_string()),
    ]);
    kv.row(["source".to_owned(), l.source().to_string()]);
    kv.row(["status".to_owned(), l.status().to_string()]);
    if let Some(into) = l.merged_into() {
        kv.row([
            "merged into".to_owned(),
            format!("{into} (read-only: see that lead)"),
        ]);
    }
    kv.row(["owner".to_owned(), who(names, l.owner())]);
    kv.row(["version".to_owned(), l.version().to_string()]);
    kv.row(["created".to_owned(), l.created_at().to_rfc3339()]);
    if let Some(r) = l.lost() {
        kv.row(["lost reason".to_owned(), r.to_string()]);
    }
    if let Some(t) = l.next_follow_up_at() {
        kv.row(["next follow-up".to_owned(), t.to_rfc3339()]);
    }
    if let Some(c) = l.client_id() {
        kv.row(["client".to_owned(), c.to_string()]);
    }
    if d.pending_client.is_some() {
        kv.row([
            "client".to_owned(),
            "pending (run `crm dispatch`)".to_owned(),
        ]);
    }
    s.push_str(&kv.render());
    s.push_str("\nhistory:\n");
    let mut h = Table::new(["at", "by", "change"]);
    for e in &d.history {
        let what = match &e.change {
            crm_core::Change::Created { .. } => "created".to_owned(),
            crm_core::Change::StatusChanged {
                from,
                to,
                lost_reason,
                lost_reason_code,
            } => match (lost_reason_code, lost_reason) {
                (Some(c), Some(r)) => format!("{from} -> {to} ({c}: {r})"),
                (None, Some(r)) => format!("{from} -> {to} ({r})"),
                (Some(c), None) => format!("{from} -> {to} ({c})"),
                (None, None) => format!("{from} -> {to}"),
            },
            crm_core::Change::Reassigned { from, to } => {
                format!("owner {} -> {}", who(names, *from), who(names, *to))
            }
            crm_core::Change::Edited { field, old, new } => format!(
                "{field}: {} -> {}",
                old.as_deref().unwrap_or("-"),
                new.as_deref().unwrap_or("-")
            ),
            crm_core::Change::MergedFrom {
                from,
                interactions,
                opportunities,
            } => format!(
                "lead {from} merged into this one ({} interactions, {} opportunities moved)",
                interactions.len(),
                opportunities.len()
            ),
            crm_core::Change::MergedInto { into } => format!("merged into lead {into}"),
        };
        // The history of a lead merged into this one says which lead it is about.
        let what = if e.lead_id == l.id() {
            what
        } else {
            format!("[lead {}] {what}", e.lead_id)
        };
        h.row([e.at.to_rfc3339(), who(names, e.actor), what]);
    }
    s.push_str(&h.render());
    s.push_str("\ntime in status:\n");
    for (st, d) in spent {
        s.push_str(&format!("  {st}: {}\n", duration(*d)));
    }
    s.push_str("\ninteractions:\n");
    let mut it = Table::new(["at", "kind", "by", "notes"]);
    for i in &d.interactions {
        it.row([
            i.occurred_at.to_rfc3339(),
            i.kind.to_string(),
            who(names, i.logged_by),
            i.notes.to_string().replace('\n', " / "),
        ]);
    }
    s.push_str(&it.render());
    s.push_str("\nopportunities:\n");
    let mut ot = Table::new([
        "id",
        "title",
        "value",
        "close",
        "stage",
        "probability",
        "version",
    ]);
    for o in &d.opportunities {
        ot.row([
            o.id.to_string(),
            o.title.to_string(),
            o.value.to_string(),
            o.expected_close.to_string(),
            o.stage.to_string(),
            o.probability.map_or("-".to_owned(), |p| p.to_string()),
            o.version.to_string(),
        ]);
    }
    s.push_str(&ot.render());
    s
}

async fn interaction(app: &App, c: InteractionCmd) -> Out {
    let InteractionCmd::Add {
        lead,
        kind,
        at,
        notes,
        follow_up,
    } = c;
    let at: Option<DateTime<Utc>> = at
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(invalid)?;
    let mut input =
        NewInteraction::new(kind.parse::<InteractionKind>()?).notes(Note::parse(&notes)?);
    input.occurred_at = at;
    input.next_follow_up = follow_up
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(invalid)?;
    let i = app
        .crm
        .log_interaction(app.actor()?, lead.parse()?, input)
        .await?;
    app.print(json!(i), || format!("interaction {} logged\n", i.id));
    Ok(())
}

async fn opportunity(app: &App, c: OpportunityCmd) -> Out {
    match c {
        OpportunityCmd::Add {
            lead,
            title,
            value,
            currency,
            close,
            probability,
        } => {
            let input = NewOpportunity {
                title: Name::parse_field("title", &title)?,
                value: Money::parse(&value, Currency::parse(&currency)?)?,
                expected_close: parse_date(&close).map_err(invalid)?,
                probability: opt(probability.as_deref(), str::parse)?,
            };
            let o = app
                .crm
                .add_opportunity(app.actor()?, lead.parse()?, input)
                .await?;
            app.print(json!(o), || {
                format!("opportunity {} added ({})\n", o.id, o.value)
            });
        }
        OpportunityCmd::Update {
            id,
            stage,
            probability,
            value,
            close,
            version,
        } => {
            let id: OpportunityId = id.parse()?;
            let current = app.crm.opportunity(app.actor()?, id).await?;
            let patch = OpportunityPatch {
                title: None,
                value: value
                    .as_deref()
                    .map(|v| Money::parse(v, current.value.currency()))
                    .transpose()?,
                expected_close: close
                    .as_deref()
                    .map(parse_date)
                    .transpose()
                    .map_err(invalid)?,
                stage: stage
                    .as_deref()
                    .map(str::parse::<OpportunityStage>)
                    .transpose()?,
                probability: clearable(probability.as_deref(), str::parse)?,
            };
            let o = app
                .crm
                .update_opportunity(app.actor()?, id, version.unwrap_or(current.version), patch)
                .await?;
            app.print(json!(o), || {
                format!("opportunity {} is at version {}\n", o.id, o.version)
            });
        }
    }
    Ok(())
}

/// A duration for people: `3d 4h`, `5h 20m`, `12m`, `40s`.
fn duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// An amount in minor units of `currency`, for people (`1,250.500 KWD` style via `Money`).
fn amount(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency)
        .map_or_else(|_| format!("{minor} (minor units)"), |m| m.to_string())
}

async fn pipeline(app: &App, filter: &PipelineFilter) -> Out {
    let r: PipelineReport = app.crm.pipeline(app.actor()?, filter).await?;
    let stages = app.crm.pipeline_stages(app.actor()?).await?;
    let names = app
        .names(
            r.currencies
                .iter()
                .flat_map(|c| c.by_owner.iter().map(|(o, _)| *o)),
        )
        .await;
    app.print(json!(r), || {
        if r.currencies.is_empty() {
            return "no opportunities match\n".to_owned();
        }
        let mut s = String::new();
        for c in &r.currencies {
            let cur = c.currency;
            let row = |key: String, t: &crm_core::PipelineTotals| {
                [
                    key,
                    t.open_count.to_string(),
                    amount(t.open_minor, cur),
                    amount(t.weighted_minor, cur),
                    t.won_count.to_string(),
                    amount(t.won_minor, cur),
                    t.lost_count.to_string(),
                    amount(t.lost_minor, cur),
                ]
            };
            let header = |first: &str| {
                Table::new([
                    first,
                    "open",
                    "open value",
                    "weighted",
                    "won",
                    "won value",
                    "lost",
                    "lost value",
                ])
            };
            s.push_str(&format!("{cur}\n"));
            let mut t = header("");
            t.row(row("total".into(), &c.totals));
            s.push_str(&t.render());
            let mut t = header("owner");
            for (o, tot) in &c.by_owner {
                t.row(row(who(&names, *o), tot));
            }
            s.push_str(&t.render());
            let mut t = header("stage");
            for (st, tot) in &c.by_stage {
                let p = stages
                    .iter()
                    .find(|s| s.stage == *st)
                    .map_or_else(|| app.crm.stage_probabilities().of(*st), |s| s.probability);
                t.row(row(format!("{st} ({p})"), tot));
            }
            s.push_str(&t.render());
            let mut t = header("close month");
            for (m, tot) in &c.by_month {
                t.row(row(m.format("%Y-%m").to_string(), tot));
            }
            s.push_str(&t.render());
            s.push('\n');
        }
        s
    });
    Ok(())
}

async fn lost_reason_report(app: &App, filter: &ReportFilter) -> Out {
    let r = app.crm.lost_reason_report(app.actor()?, filter).await?;
    app.print(json!(r), || {
        if r.total == 0 {
            return "no lost leads match\n".to_owned();
        }
        let mut t = Table::new(["lost reason", "leads", "share"]);
        for row in &r.rows {
            t.row([
                row.code.to_string(),
                row.count.to_string(),
                format!("{}%", (row.count * 100 + r.total / 2) / r.total),
            ]);
        }
        t.row(["total".to_owned(), r.total.to_string(), "100%".to_owned()]);
        t.render()
    });
    Ok(())
}

async fn time_in_status_report(app: &App, filter: &ReportFilter) -> Out {
    let r = app.crm.time_in_status_report(app.actor()?, filter).await?;
    let names = app.names(r.rows.iter().map(|a| a.owner)).await;
    app.print(json!(r), || {
        if r.rows.is_empty() {
            return "no leads match\n".to_owned();
        }
        let mut t = Table::new(["owner", "source", "status", "leads", "average"]);
        for a in &r.rows {
            t.row([
                who(&names, a.owner),
                a.source.to_string(),
                a.status.to_string(),
                a.leads.to_string(),
                duration(a.average()),
            ]);
        }
        for (st, n, avg) in &r.overall {
            t.row([
                "all".to_owned(),
                "all".to_owned(),
                st.to_string(),
                n.to_string(),
                duration(chrono::TimeDelta::microseconds(*avg)),
            ]);
        }
        t.render()
    });
    Ok(())
}
