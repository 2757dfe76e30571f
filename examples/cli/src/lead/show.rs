//! `crm lead show ID`: a lead with its history, time in each status, interactions and
//! opportunities.

use std::collections::BTreeMap;

use chrono::Utc;
use crm_cli::output::Table;
use crm_core::LeadStatus;
use serde_json::json;

use crate::app::{App, Names, Out, duration, who};

/// `crm lead show ID`.
pub(super) async fn run(app: &App, id: &str) -> Out {
    let d = app.crm.lead_detail(app.actor()?, id.parse()?).await?;
    let score = app.crm.lead_score(app.actor()?, d.lead.id()).await?;
    let locale = crate::score::locale();
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
        if let Some(s) = &score {
            o.insert("score".into(), crate::score::json(s, locale));
        }
    }
    app.print(value, || show(&d, &spent, &names, score.as_ref(), locale));
    Ok(())
}

fn show(
    d: &crm_core::LeadDetail,
    spent: &BTreeMap<LeadStatus, chrono::TimeDelta>,
    names: &Names,
    score: Option<&crm_core::scoring::Score>,
    locale: crm_core::export::Locale,
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
    if let Some(sc) = score {
        kv.row([
            "score".to_owned(),
            format!("{} (predicted {})", sc.value, sc.predicted),
        ]);
        kv.row(["why".to_owned(), crate::score::why(sc, locale)]);
    }
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
            crm_core::Change::Captured { by, key, .. } => format!("taken in by {by} ({key})"),
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
            // A captured interaction is the channel's doing, not its owner's.
            i.captured_by
                .as_ref()
                .map_or_else(|| who(names, i.logged_by), |c| c.to_string()),
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
