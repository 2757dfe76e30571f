//! `crm-server`: the crm REST API and web application.
//!
//! ```text
//! cargo run -p crm-examples --bin crm-server -- --db crm.db --bind 127.0.0.1:8080
//! ```
//!
//! Sign in with an employee id and the password set by `crm employee set-password ID`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use crm_core::{PhoneRegion, SystemClock};
use crm_examples::server::{self, Config, auth::Policy};

/// The crm web application and REST API (`/api/v1/`, documented at `/api/openapi.json` and
/// browsable at `/api/docs/`).
#[derive(Parser, Debug)]
#[command(name = "crm-server", version)]
struct Args {
    /// Database: a SQLite file path or URL (created if missing), or postgres://...
    #[arg(long, env = "CRM_DB", default_value = "crm.db")]
    db: String,
    /// Address to listen on.
    #[arg(long, env = "CRM_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// The region phone numbers typed in local form belong to (ISO 3166 code).
    #[arg(long, env = "CRM_REGION", default_value = "SA")]
    region: String,
    /// The time zone dates are shown in (IANA name).
    #[arg(long, env = "CRM_TIME_ZONE", default_value = "Asia/Riyadh")]
    time_zone: String,
    /// Mark cookies Secure: set when users reach the server over https (e.g. behind a
    /// TLS-terminating proxy).
    #[arg(long, env = "CRM_SECURE_COOKIES")]
    secure_cookies: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let region = PhoneRegion::parse(&args.region).map_err(|e| format!("--region: {e}"))?;
    let time_zone: chrono_tz::Tz = args
        .time_zone
        .parse()
        .map_err(|_| format!("--time-zone: unknown time zone {:?}", args.time_zone))?;
    let state = server::open(
        &args.db,
        Arc::new(SystemClock),
        Policy::default(),
        Config {
            region,
            time_zone,
            secure_cookies: args.secure_cookies,
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    tracing::info!("crm-server listening on http://{}", args.bind);
    axum::serve(listener, server::service(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
