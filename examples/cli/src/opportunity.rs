//! `crm opportunity`: sales opportunities on a lead.

use clap::Subcommand;
use crm_config::parse_date;
use crm_core::{
    Currency, Money, Name, NewOpportunity, OpportunityId, OpportunityPatch, OpportunityStage,
};
use serde_json::json;

use crate::app::{App, Out, clearable, invalid, opt};

/// `crm opportunity` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum OpportunityCmd {
    /// Add an opportunity to a lead.
    Add {
        /// Lead id.
        lead: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Value, e.g. 1250.500 or ١٬٢٥٠٫٥٠٠: `.` or `٫` before decimals, `,` or `٬`
        /// only between thousands.
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        /// ISO 4217 currency, e.g. SAR, AED, EGP, KWD.
        #[arg(long)]
        currency: String,
        /// Expected close date (YYYY-MM-DD).
        #[arg(long)]
        close: String,
        /// Chance of winning in percent, overriding the stage's (e.g. 40).
        #[arg(long)]
        probability: Option<String>,
    },
    /// Change an opportunity's stage, value or close date.
    Update {
        /// Opportunity id.
        id: String,
        /// open, qualified, proposal, negotiation, won or lost.
        #[arg(long)]
        stage: Option<String>,
        /// Chance of winning in percent, overriding the stage's; "" goes back to the stage's.
        #[arg(long)]
        probability: Option<String>,
        /// New value (in the opportunity's currency).
        #[arg(long, allow_hyphen_values = true)]
        value: Option<String>,
        /// New expected close date.
        #[arg(long)]
        close: Option<String>,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
}

/// `crm opportunity`.
pub(crate) async fn run(app: &App, c: OpportunityCmd) -> Out {
    match c {
        OpportunityCmd::Add {
            lead,
            title,
            value,
            currency,
            close,
            probability,
        } => {
            let input = NewOpportunity {
                title: Name::parse_field("title", &title)?,
                value: Money::parse(&value, Currency::parse(&currency)?)?,
                expected_close: parse_date(&close).map_err(invalid)?,
                probability: opt(probability.as_deref(), str::parse)?,
            };
            let o = app
                .crm
                .add_opportunity(app.actor()?, lead.parse()?, input)
                .await?;
            app.print(json!(o), || {
                format!("opportunity {} added ({})\n", o.id, o.value)
            });
        }
        OpportunityCmd::Update {
            id,
            stage,
            probability,
            value,
            close,
            version,
        } => {
            let id: OpportunityId = id.parse()?;
            let current = app.crm.opportunity(app.actor()?, id).await?;
            let patch = OpportunityPatch {
                title: None,
                value: value
                    .as_deref()
                    .map(|v| Money::parse(v, current.value.currency()))
                    .transpose()?,
                expected_close: close
                    .as_deref()
                    .map(parse_date)
                    .transpose()
                    .map_err(invalid)?,
                stage: stage
                    .as_deref()
                    .map(str::parse::<OpportunityStage>)
                    .transpose()?,
                probability: clearable(probability.as_deref(), str::parse)?,
            };
            let o = app
                .crm
                .update_opportunity(app.actor()?, id, version.unwrap_or(current.version), patch)
                .await?;
            app.print(json!(o), || {
                format!("opportunity {} is at version {}\n", o.id, o.version)
            });
        }
    }
    Ok(())
}
