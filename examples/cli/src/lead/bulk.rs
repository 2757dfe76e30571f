//! `crm lead bulk` and `crm lead reassign-all`'s report: many leads changed at once, each
//! succeeding or failing on its own.

use clap::{Args, Subcommand};
use crm_cli::output::{Table, error_kind, exit};
use crm_config::sentence;
use crm_core::{BulkChange, BulkOutcome, BulkTarget, LeadId, LeadQuery, Source};
use serde_json::json;

use super::{lead_row, lost_reason};
use crate::app::{App, Failure, Out, invalid, usage};

/// Which leads a bulk change takes: a file of ids, or a filter.
#[derive(Args, Debug)]
pub(crate) struct BulkLeads {
    /// A file with one lead id per line, optionally `,VERSION` after it (the version you
    /// read); `-` reads standard input. Blank lines and lines starting with # are skipped.
    #[arg(long, conflicts_with = "filter", required_unless_present = "filter")]
    ids: Option<std::path::PathBuf>,
    /// Every lead you see that matches KEY=VALUE (status, source, owner, search); repeat to
    /// combine.
    #[arg(long)]
    filter: Vec<String>,
}

/// `crm lead bulk` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum BulkCmd {
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

/// `crm lead bulk`.
pub(super) async fn run(app: &App, cmd: BulkCmd) -> Out {
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
    report(app, "bulk", &o).await
}

/// The leads a bulk change names in a file: one id per line, optionally `,VERSION`.
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
pub(super) async fn report(app: &App, what: &str, o: &BulkOutcome) -> Out {
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
