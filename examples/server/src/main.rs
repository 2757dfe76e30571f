//! `crm-server`: the crm REST API and web application.
//!
//! ```text
//! cargo run -p crm-server -- --db crm.db --bind 127.0.0.1:8080
//! ```
//!
//! Sign in with an employee id and the password set by `crm employee set-password ID`.
//! Settings come from the one configuration the `crm` tool reads too (crm-config): the
//! file named by `--config` or `$CRM_CONFIG`, then `CRM_*` variables, then these flags.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use crm_config::{Config, Sources};
use crm_core::SystemClock;
use crm_server::{self as server, auth::Policy};

/// The crm web application and REST API (`/api/v1/`, documented at `/api/openapi.json` and
/// browsable at `/api/docs/`). Every setting of `crm config keys` applies.
#[derive(Parser, Debug)]
#[command(name = "crm-server", version)]
struct Args {
    /// The configuration file (TOML; `crm config keys` lists its keys). Its settings are
    /// overridden by CRM_* environment variables, and those by flags.
    #[arg(long, env = "CRM_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Database: a SQLite file path or URL (created if missing), or postgres://...
    /// [default: crm.db]
    #[arg(long)]
    db: Option<String>,
    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long)]
    bind: Option<String>,
    /// The region phone numbers typed in local form belong to (ISO 3166 code). [default: SA]
    #[arg(long)]
    region: Option<String>,
    /// The time zone dates are shown in and the working calendar counts in (IANA name).
    /// [default: $TZ, else UTC]
    #[arg(long)]
    time_zone: Option<String>,
    /// Who sees which leads: all, team or own. [default: all]
    #[arg(long)]
    visibility: Option<String>,
    /// Mark cookies Secure: set when users reach the server over https (e.g. behind a
    /// TLS-terminating proxy).
    #[arg(long)]
    secure_cookies: bool,
    /// Print every setting in force and where its value came from, and exit.
    #[arg(long)]
    check_config: bool,
}

impl Args {
    fn config(&self) -> Result<Config, String> {
        let mut flags = Vec::new();
        for (key, flag, value) in [
            ("db", "--db", &self.db),
            ("bind", "--bind", &self.bind),
            ("region", "--region", &self.region),
            ("time_zone", "--time-zone", &self.time_zone),
            ("visibility", "--visibility", &self.visibility),
        ] {
            if let Some(v) = value {
                flags.push((key.to_owned(), flag.to_owned(), v.clone()));
            }
        }
        if self.secure_cookies {
            flags.push((
                "secure_cookies".into(),
                "--secure-cookies".into(),
                "true".into(),
            ));
        }
        let sources = Sources::process(self.config.clone(), flags).map_err(|e| e.to_string())?;
        Config::from_sources(sources).map_err(|e| e.to_string())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // Refused before anything is opened: a bad setting names its key and its source.
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        for r in config.rows() {
            println!("{:<20} {:<30} {}", r.key, r.value, r.origin);
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    let settings = config.settings();
    let state = server::open(settings, Arc::new(SystemClock), Policy::default()).await?;
    // The mailboxes, read as `crm mail fetch --every` reads them (crm-mailbox).
    if let Some(every) = settings
        .mail_every
        .filter(|_| !settings.mailboxes.is_empty())
    {
        tokio::spawn(crm_mailbox::fetch_every(
            state.crm.clone(),
            settings.clone(),
            every,
        ));
    }
    let listener = tokio::net::TcpListener::bind(&settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    tracing::info!(
        "crm-server listening on http://{} (leads visible: {})",
        settings.bind,
        settings.visibility
    );
    // The client's address reaches the handlers (the web forms' rate limit counts by it).
    let app = server::service(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
