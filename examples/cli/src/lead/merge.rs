//! `crm lead duplicates` and `crm lead merge KEEP OTHER`: the groups of open leads sharing
//! an email, a phone or (with `--fuzzy`) a name within a company, and the merge of one lead
//! into another ([`crm_core::merge`]).

use crm_cli::output::Table;
use crm_core::{DuplicateGroup, LeadId};
use serde_json::json;

use super::{current_version, lead_row};
use crate::app::{App, Out};

/// `crm lead duplicates [--fuzzy]`.
pub(crate) async fn duplicates(app: &App, fuzzy: bool) -> Out {
    let groups = app.crm.duplicates(app.actor()?, fuzzy).await?;
    let names = app
        .names(
            groups
                .iter()
                .flat_map(|g| g.leads.iter().map(|l| l.owner())),
        )
        .await;
    app.print(json!({ "groups": groups }), || {
        if groups.is_empty() {
            return "no duplicate leads\n".to_owned();
        }
        let mut s = String::new();
        for (n, g) in groups.iter().enumerate() {
            s.push_str(&format!(
                "group {} ({} {}): {} leads; keep the first with: crm lead merge {} OTHER\n",
                n + 1,
                g.kind,
                shown_key(g),
                g.leads.len(),
                g.leads
                    .first()
                    .map(|l| l.id().to_string())
                    .unwrap_or_default(),
            ));
            let mut t = Table::new([
                "id", "name", "status", "source", "owner", "contact", "company",
            ]);
            for l in &g.leads {
                t.row(lead_row(l, &names));
            }
            s.push_str(&t.render());
            s.push('\n');
        }
        s
    });
    Ok(())
}

/// The shared value as people read it: the name key's two lines on one.
fn shown_key(g: &DuplicateGroup) -> String {
    g.key.replace('\n', " / ")
}

/// `crm lead merge KEEP OTHER`.
pub(crate) async fn merge(
    app: &App,
    keep: &str,
    other: &str,
    keep_version: Option<u64>,
    other_version: Option<u64>,
) -> Out {
    let keep: LeadId = keep.parse()?;
    let other: LeadId = other.parse()?;
    let kv = current_version(app, keep, keep_version).await?;
    let ov = current_version(app, other, other_version).await?;
    let out = app
        .crm
        .merge_leads(app.actor()?, keep, kv, other, ov)
        .await?;
    app.print(json!(out), || {
        format!(
            "lead {} merged into lead {} (now at version {})\n",
            out.merged.id(),
            out.kept.id(),
            out.kept.version()
        )
    });
    Ok(())
}
