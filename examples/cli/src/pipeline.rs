//! `crm pipeline stages`: the probability of each open opportunity stage (stored by
//! management, else the host's `--stage-probabilities`, else the documented defaults), and
//! `crm pipeline stages set STAGE PCT` to change one.

use clap::Subcommand;
use crm_cli::output::Table;
use crm_core::{OpportunityStage, Probability};
use serde_json::json;

use super::{App, Out, invalid, who};

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

pub(crate) async fn run(app: &App, cmd: PipelineCmd) -> Out {
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
