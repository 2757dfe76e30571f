//! The pipeline report and the stage probabilities it weighs opportunities by.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use crm_core::{
    CurrencyPipeline, OpportunityStage, PipelineReport, PipelineTotals, StageProbabilityChange,
    StageSetting,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::{GuardedInput, Save};
use super::{ApiResult, Body, Caller, Fields, Params, page_size, path_id};
use crate::AppState;
use crate::input;

/// What the pipeline is worth per currency (never added across currencies): open,
/// weighted, won and lost totals, by owner, stage and expected-close month, of the leads
/// the caller sees.
#[utoipa::path(get, path = "/api/v1/pipeline", tag = "report", params(PipelineParams),
    security(("bearer" = [])),
    responses((status = 200, body = PipelineOut), GuardedInput))]
pub async fn pipeline(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<PipelineParams>,
) -> ApiResult<Json<PipelineOut>> {
    let mut f = Fields::default();
    let filter = input::pipeline_filter(&mut f, &p);
    let filter = f.done(filter)?;
    let r = s.crm.pipeline(caller.employee, &filter).await?;
    Ok(Json((&r).into()))
}

/// The probability of each open stage: the one management set, else the server's default.
#[utoipa::path(get, path = "/api/v1/pipeline/stages", tag = "report",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<StageOut>), super::responses::Guarded))]
pub async fn stages(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<StageOut>>> {
    let stages = s.crm.pipeline_stages(caller.employee).await?;
    Ok(Json(stages.iter().map(Into::into).collect()))
}

/// Sets an open stage's probability (management; `won` and `lost` are fixed at 100 % and
/// 0 %, refused with 422). The pipeline weighs by it from then on.
#[utoipa::path(put, path = "/api/v1/pipeline/stages/{stage}", tag = "report",
    request_body = StageProbabilityIn,
    params(("stage" = String, Path, description = "open, qualified, proposal or negotiation")),
    security(("bearer" = [])),
    responses((status = 200, body = StageChangeOut), Save))]
pub async fn set_stage(
    State(s): State<AppState>,
    caller: Caller,
    Path(stage): Path<String>,
    Body(i): Body<StageProbabilityIn>,
) -> ApiResult<Json<StageChangeOut>> {
    let stage: OpportunityStage = path_id("stage", &stage)?;
    let mut f = Fields::default();
    let p = input::stage_probability(&mut f, &i);
    let p = f.done(p)?;
    let c = s
        .crm
        .set_stage_probability(caller.employee, stage, p)
        .await?;
    Ok(Json((&c).into()))
}

/// The stored stage probability changes, newest first.
#[utoipa::path(get, path = "/api/v1/pipeline/stages/history", tag = "report",
    params(StageHistoryParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<StageChangeOut>), GuardedInput))]
pub async fn stage_history(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<StageHistoryParams>,
) -> ApiResult<Json<Vec<StageChangeOut>>> {
    let mut f = Fields::default();
    let limit = page_size(&mut f, p.limit);
    let limit = f.done(limit)?;
    let changes = s
        .crm
        .stage_probability_history(caller.employee, limit)
        .await?;
    Ok(Json(changes.iter().map(Into::into).collect()))
}

/// Pipeline filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PipelineParams {
    /// Only opportunities on this responsible employee's leads.
    pub owner: Option<String>,
    /// Expected to close on or after (YYYY-MM-DD).
    pub close_from: Option<String>,
    /// Expected to close on or before (YYYY-MM-DD).
    pub close_to: Option<String>,
}

/// Totals of a set of opportunities in one currency: amounts as decimal strings in the
/// currency's minor digits (KWD three) and in minor units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineTotalsOut {
    /// Open opportunities (any stage but won and lost).
    pub open_count: u64,
    /// Their value.
    pub open: String,
    /// Their value in minor units.
    pub open_minor: i64,
    /// Their weighted value (each value times its probability, rounded half up).
    pub weighted: String,
    /// The weighted value in minor units.
    pub weighted_minor: i64,
    /// Won opportunities.
    pub won_count: u64,
    /// Their value.
    pub won: String,
    /// Their value in minor units.
    pub won_minor: i64,
    /// Lost opportunities.
    pub lost_count: u64,
    /// Their value.
    pub lost: String,
    /// Their value in minor units.
    pub lost_minor: i64,
}

impl PipelineTotalsOut {
    /// The totals of `c`'s currency.
    pub fn new(c: &CurrencyPipeline, t: &PipelineTotals) -> Self {
        let amount = |minor: i64| {
            c.money(minor)
                .map_or_else(|| minor.to_string(), |m| m.format_amount())
        };
        Self {
            open_count: t.open_count,
            open: amount(t.open_minor),
            open_minor: t.open_minor,
            weighted: amount(t.weighted_minor),
            weighted_minor: t.weighted_minor,
            won_count: t.won_count,
            won: amount(t.won_minor),
            won_minor: t.won_minor,
            lost_count: t.lost_count,
            lost: amount(t.lost_minor),
            lost_minor: t.lost_minor,
        }
    }
}

/// One owner's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerTotalsOut {
    /// The leads' owner.
    pub owner: i64,
    /// Their totals.
    pub totals: PipelineTotalsOut,
}

/// One stage's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageTotalsOut {
    /// The stage.
    pub stage: String,
    /// Its totals.
    pub totals: PipelineTotalsOut,
}

/// One expected-close month's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MonthTotalsOut {
    /// The month, YYYY-MM.
    pub month: String,
    /// Its totals.
    pub totals: PipelineTotalsOut,
}

/// The pipeline of one currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CurrencyPipelineOut {
    /// ISO 4217 currency; every amount below is in it.
    pub currency: String,
    /// All its opportunities.
    pub totals: PipelineTotalsOut,
    /// By the leads' owner, by id.
    pub by_owner: Vec<OwnerTotalsOut>,
    /// By stage, in pipeline order.
    pub by_stage: Vec<StageTotalsOut>,
    /// By expected-close month, oldest first.
    pub by_month: Vec<MonthTotalsOut>,
}

/// What the pipeline is worth, per currency (amounts are never added across currencies).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineOut {
    /// One entry per currency, by code.
    pub currencies: Vec<CurrencyPipelineOut>,
}

impl From<&PipelineReport> for PipelineOut {
    fn from(r: &PipelineReport) -> Self {
        Self {
            currencies: r
                .currencies
                .iter()
                .map(|c| CurrencyPipelineOut {
                    currency: c.currency.code().to_owned(),
                    totals: PipelineTotalsOut::new(c, &c.totals),
                    by_owner: c
                        .by_owner
                        .iter()
                        .map(|(o, t)| OwnerTotalsOut {
                            owner: o.get(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                    by_stage: c
                        .by_stage
                        .iter()
                        .map(|(s, t)| StageTotalsOut {
                            stage: s.to_string(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                    by_month: c
                        .by_month
                        .iter()
                        .map(|(m, t)| MonthTotalsOut {
                            month: m.format("%Y-%m").to_string(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// An open stage's probability as it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageOut {
    /// open, qualified, proposal or negotiation (won counts 100 % and lost 0 %, always).
    pub stage: String,
    /// The probability in force, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: u8,
    /// The server's configured value, in force when management set none.
    #[schema(minimum = 0, maximum = 100)]
    pub default: u8,
    /// The change in force, if management set one.
    pub set: Option<StageChangeOut>,
}

impl From<&StageSetting> for StageOut {
    fn from(s: &StageSetting) -> Self {
        Self {
            stage: s.stage.to_string(),
            probability: s.probability.percent(),
            default: s.default.percent(),
            set: s.set.as_ref().map(Into::into),
        }
    }
}

/// One stored change of a stage's probability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageChangeOut {
    /// The stage.
    pub stage: String,
    /// Its probability from then on, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: u8,
    /// Who changed it.
    pub changed_by: i64,
    /// When.
    pub changed_at: DateTime<Utc>,
}

impl From<&StageProbabilityChange> for StageChangeOut {
    fn from(c: &StageProbabilityChange) -> Self {
        Self {
            stage: c.stage.to_string(),
            probability: c.probability.percent(),
            changed_by: c.changed_by.get(),
            changed_at: c.changed_at,
        }
    }
}

/// A stage's new probability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageProbabilityIn {
    /// Whole percent, 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: i64,
}

/// Which stage probability changes to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StageHistoryParams {
    /// At most this many, newest first (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}
