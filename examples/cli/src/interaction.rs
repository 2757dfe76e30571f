//! `crm interaction`: interactions logged with a lead.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use crm_config::parse_instant;
use crm_core::{InteractionKind, NewInteraction, Note};
use serde_json::json;

use crate::app::{App, Out, invalid};

/// `crm interaction` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum InteractionCmd {
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

/// `crm interaction`.
pub(crate) async fn run(app: &App, c: InteractionCmd) -> Out {
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
