//! `crm events`: the pending events for a sales system, and their acknowledgement.

use clap::Args;
use crm_cli::output::Table;
use serde_json::json;

use crate::app::{App, Out, who};

/// What `crm events` reads.
#[derive(Args, Debug)]
pub(crate) struct EventsArgs {
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Acknowledge the events shown.
    #[arg(long)]
    ack: bool,
}

/// `crm events`.
pub(crate) async fn run(app: &App, args: EventsArgs) -> Out {
    let EventsArgs { after, limit, ack } = args;
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
