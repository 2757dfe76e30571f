//! `crm report`: lead counts by status and source, lost leads by reason, and the average
//! time in each status.

use clap::Args;
use crm_cli::output::Table;
use crm_core::export::{ExportOptions, Format, write_lost_reasons, write_time_in_status};
use crm_core::{LeadStatus, ReportFilter};
use serde_json::json;

use crate::app::{App, Out, duration, usage, who};
use crate::export;

/// What `crm report` reads.
#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// What to report: status, lost-reason or time-in-status.
    #[arg(long, default_value = "status")]
    by: String,
    #[command(flatten)]
    filter: export::ReportFilterArgs,
    /// CSV for spreadsheets (UTF-8 with BOM).
    #[arg(long)]
    csv: bool,
}

/// `crm report`.
pub(crate) async fn run(app: &App, args: ReportArgs) -> Out {
    let ReportArgs { by, filter, csv } = args;
    let filter = filter.parse()?;
    match by.trim() {
        "status" => {}
        // As CSV on stdout, written by the library's exporter as the actor.
        "lost-reason" | "lost_reason" if csv => {
            let (actor, opts) = (app.actor()?, ExportOptions::default());
            let out = std::io::stdout();
            return Ok(
                write_lost_reasons(&app.crm, actor, &filter, Format::Csv, &opts, out).await?,
            );
        }
        "lost-reason" | "lost_reason" => return lost_reason_report(app, &filter).await,
        "time-in-status" | "time_in_status" if csv => {
            let (actor, opts) = (app.actor()?, ExportOptions::default());
            let out = std::io::stdout();
            return Ok(
                write_time_in_status(&app.crm, actor, &filter, Format::Csv, &opts, out).await?,
            );
        }
        "time-in-status" | "time_in_status" => {
            return time_in_status_report(app, &filter).await;
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
                format!("{}%", r.share_percent(row.count)),
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
