//! The pipeline report and the stage probabilities it weighs opportunities by.

use axum::Json;
use axum::extract::{Path, State};
use crm_core::OpportunityStage;

use super::responses::{GuardedInput, Save};
use super::{
    ApiResult, Body, Caller, Fields, Params, PipelineOut, PipelineParams, StageChangeOut,
    StageHistoryParams, StageOut, StageProbabilityIn, page_size, path_id,
};
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
