//! `crm pipeline`: what the pipeline is worth per currency; `crm pipeline stages`: the
//! probability of each open opportunity stage (stored by management, else the host's
//! `--stage-probabilities`, else the documented defaults), and `crm pipeline stages set
//! STAGE PCT` to change one.

use clap::{Args, Subcommand};
use crm_cli::output::Table;
use crm_core::{Currency, Money, OpportunityStage, PipelineFilter, PipelineReport, Probability};
use serde_json::json;

use crate::app::{App, Out, invalid, who};
use crate::export;

/// What `crm pipeline` reads: the report's filters, or a subcommand.
#[derive(Args, Debug)]
pub(crate) struct PipelineArgs {
    #[command(subcommand)]
    command: Option<PipelineCmd>,
    /// Only opportunities on this employee's leads.
    #[arg(long)]
    owner: Option<String>,
    /// Expected to close on or after (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Expected to close on or before (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
}

/// `crm pipeline` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum PipelineCmd {
    /// The probability of each open stage: stored by management, else the configured
    /// default (won counts 100 % and lost 0 %, always).
    Stages {
        #[command(subcommand)]
        command: Option<StagesCmd>,
        /// Also list the stored changes, newest first (at most this many).
        #[arg(long, value_name = "N")]
        history: Option<u32>,
    },
}

/// `crm pipeline stages` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum StagesCmd {
    /// Store a stage's probability (management): open, qualified, proposal or negotiation,
    /// and a whole percentage (`60`, `60%`, `٦٠٪`).
    Set {
        /// The stage.
        stage: String,
        /// The probability in percent.
        percent: String,
    },
}

/// `crm pipeline`: the report, or a subcommand.
pub(crate) async fn run(app: &App, args: PipelineArgs) -> Out {
    match args.command {
        Some(c) => stages(app, c).await,
        None => {
            let filter = export::pipeline_filter(args.owner, args.from, args.to)?;
            report(app, &filter).await
        }
    }
}

async fn stages(app: &App, cmd: PipelineCmd) -> Out {
    let PipelineCmd::Stages { command, history } = cmd;
    match command {
        Some(StagesCmd::Set { stage, percent }) => set(app, &stage, &percent).await,
        None => list(app, history).await,
    }
}

async fn set(app: &App, stage: &str, percent: &str) -> Out {
    let stage: OpportunityStage = stage.parse().map_err(|e| invalid(format!("{e}")))?;
    let p: Probability = percent.parse().map_err(|e| invalid(format!("{e}")))?;
    let c = app
        .crm
        .set_stage_probability(app.actor()?, stage, p)
        .await?;
    app.print(json!(c), || {
        format!(
            "stage {} now counts {} (set by {})\n",
            c.stage, c.probability, c.changed_by
        )
    });
    Ok(())
}

async fn list(app: &App, history: Option<u32>) -> Out {
    let actor = app.actor()?;
    let stages = app.crm.pipeline_stages(actor).await?;
    let changes = match history {
        Some(n) => app.crm.stage_probability_history(actor, n).await?,
        None => Vec::new(),
    };
    let names = app
        .names(
            stages
                .iter()
                .filter_map(|s| s.set.as_ref().map(|c| c.changed_by))
                .chain(changes.iter().map(|c| c.changed_by)),
        )
        .await;
    let value = if history.is_some() {
        json!({"stages": stages, "history": changes})
    } else {
        json!(stages)
    };
    app.print(value, || {
        let mut t = Table::new(["stage", "probability", "default", "set by", "set at"]);
        for s in &stages {
            let (by, at) = match &s.set {
                Some(c) => (who(&names, c.changed_by), c.changed_at.to_rfc3339()),
                None => ("-".to_owned(), "-".to_owned()),
            };
            t.row([
                s.stage.to_string(),
                s.probability.to_string(),
                s.default.to_string(),
                by,
                at,
            ]);
        }
        t.row(["won", "100%", "100%", "-", "-"]);
        t.row(["lost", "0%", "0%", "-", "-"]);
        let mut out = t.render();
        if history.is_some() {
            let mut h = Table::new(["at", "stage", "probability", "by"]);
            for c in &changes {
                h.row([
                    c.changed_at.to_rfc3339(),
                    c.stage.to_string(),
                    c.probability.to_string(),
                    who(&names, c.changed_by),
                ]);
            }
            out.push_str("\nchanges, newest first\n");
            out.push_str(&h.render());
        }
        out
    });
    Ok(())
}

/// An amount in minor units of `currency`, for people (`1,250.500 KWD` style via `Money`).
fn amount(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency)
        .map_or_else(|_| format!("{minor} (minor units)"), |m| m.to_string())
}

async fn report(app: &App, filter: &PipelineFilter) -> Out {
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
