//! `crm mail fetch`: the configured mailboxes read once, or on a schedule
//! ([`crm_mailbox::fetch`]; the rule is the library's capture).

use clap::{Args, Subcommand};
use crm_cli::output::{Table, parse_duration};
use crm_config::{Settings, sentence};
use crm_mailbox::{FetchError, FetchReport, fetch};
use serde_json::json;

use crate::app::{App, Failure, Out, invalid, usage};
use crm_cli::output::exit;

/// `crm mail ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum MailCmd {
    /// Read the mailboxes (`mailboxes` in crm.toml): each message from a new sender makes a
    /// lead for the mailbox's team, each from an open lead is logged on it; every message is
    /// taken once, however often this runs.
    Fetch(FetchArgs),
}

/// What `crm mail fetch` reads.
#[derive(Args, Debug)]
pub(crate) struct FetchArgs {
    /// Only this mailbox (its name in `mailboxes`).
    #[arg(long)]
    mailbox: Option<String>,
    /// Repeat on this schedule (e.g. 5m) until interrupted; a mailbox that fails is
    /// reported and tried again next time.
    #[arg(long)]
    every: Option<String>,
}

/// `crm mail`.
pub(crate) async fn run(app: &App, settings: &Settings, cmd: MailCmd) -> Out {
    let MailCmd::Fetch(args) = cmd;
    let every = (args.every.as_deref().map(parse_duration))
        .transpose()
        .map_err(invalid)?;
    let mailboxes: Vec<_> = (settings.mailboxes.iter())
        .filter(|m| args.mailbox.as_ref().is_none_or(|n| *n == m.name))
        .collect();
    if mailboxes.is_empty() {
        return Err(usage(match &args.mailbox {
            Some(n) => format!("no mailbox named {n:?} in `mailboxes`"),
            None => "no mailbox is configured: set `mailboxes` (crm config keys)".to_owned(),
        }));
    }
    loop {
        let mut failed = None;
        for m in &mailboxes {
            let ca = settings.mail_ca_file.as_deref();
            match fetch(&app.crm, m, &settings.mail_domains, ca).await {
                Ok(r) => print(app, &r),
                Err(e) => {
                    eprintln!("error: {}", sentence(&e));
                    failed = Some(e);
                }
            }
        }
        match (every, failed) {
            (Some(d), _) => tokio::time::sleep(d.to_std().unwrap_or_default()).await,
            (None, Some(e)) => return Err(failure(e)),
            (None, None) => return Ok(()),
        }
    }
}

fn print(app: &App, r: &FetchReport) {
    let unreadable: Vec<_> = (r.unreadable.iter())
        .map(|(uid, why)| json!({"uid": uid, "reason": why}))
        .collect();
    app.print(
        json!({"mailbox": r.mailbox, "created": r.created, "logged": r.logged,
               "taken": r.taken, "automatic": r.automatic, "internal": r.internal,
               "unreadable": unreadable}),
        || {
            let mut s = format!(
                "{}: {} new lead(s), {} logged on open leads, {} taken before, {} automatic, \
                 {} internal, {} unreadable\n",
                r.mailbox,
                r.created,
                r.logged,
                r.taken,
                r.automatic,
                r.internal,
                r.unreadable.len()
            );
            if !r.unreadable.is_empty() {
                let mut t = Table::new(["uid", "left in the mailbox because"]);
                for (uid, why) in &r.unreadable {
                    t.row([uid.to_string(), why.clone()]);
                }
                s.push_str(&t.render());
            }
            s
        },
    );
}

/// A run's failure as the CLI reports it: the library's own kind, or the mail server's.
fn failure(e: FetchError) -> Failure {
    match e {
        FetchError::Crm { source, .. } => source.into(),
        e @ FetchError::Imap { .. } => Failure {
            code: exit::STORAGE,
            kind: "mailbox",
            message: sentence(&e),
        },
    }
}
