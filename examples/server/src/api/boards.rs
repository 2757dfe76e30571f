//! `GET /api/v1/boards/leads` and `GET /api/v1/boards/deals`: the boards
//! ([`crm_core::board`]). A card is moved with the endpoints that move a lead or a deal
//! anywhere else (`POST /leads/{id}/status`, `PATCH /opportunities/{id}`).

use axum::Json;
use axum::extract::State;
use crm_core::board::{BoardFilter, Totals};
use crm_core::{EmployeeId, Source};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::leads::{LeadOut, OpportunityOut};
use super::responses::GuardedInput;
use super::{ApiResult, Caller, Fields, Params};
use crate::AppState;
use crate::input::given;

/// The cards a column shows unless asked.
pub const DEFAULT_CARDS: u32 = 50;

/// Which leads a board shows.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// Only this responsible employee's leads.
    pub owner: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// `true`: only the caller's own leads (not with `owner`).
    pub mine: Option<bool>,
    /// The most cards a column shows, 1 to 200 (default 50); its count is of all.
    #[param(minimum = 1, maximum = 200)]
    pub per_column: Option<u32>,
}

/// The filter and column size of `p`, `caller` being who "mine" is.
pub fn board_filter(
    f: &mut Fields,
    p: &BoardParams,
    caller: EmployeeId,
) -> Option<(BoardFilter, u32)> {
    let owner = match (p.mine, given(&p.owner)) {
        (Some(true), Some(_)) => f.take("mine", Err::<Option<EmployeeId>, _>("goes without owner")),
        (Some(true), None) => Some(Some(caller)),
        (_, o) => f.opt("owner", o, str::parse::<EmployeeId>),
    };
    let source = f.opt("source", given(&p.source), Source::parse);
    Some((
        BoardFilter {
            owner: owner?,
            source: source?,
        },
        p.per_column.unwrap_or(DEFAULT_CARDS),
    ))
}

/// An amount in one currency: a decimal string in the currency's minor digits (KWD three)
/// and in minor units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AmountOut {
    /// The amount.
    pub amount: String,
    /// In minor units.
    pub minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

fn amounts(t: &Totals) -> Vec<AmountOut> {
    t.iter()
        .map(|m| AmountOut {
            amount: m.format_amount(),
            minor: m.minor(),
            currency: m.currency().code().to_owned(),
        })
        .collect()
}

/// A lead's card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadCardOut {
    /// The lead.
    pub lead: LeadOut,
    /// What its open opportunities are worth, per currency.
    pub open_value: Vec<AmountOut>,
    /// The statuses the caller may move it to.
    pub moves: Vec<String>,
}

/// A status's column.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadColumnOut {
    /// The status.
    pub status: String,
    /// How many leads it has (under the filter), shown or not.
    pub total: u64,
    /// Its newest leads, at most `per_column`.
    pub cards: Vec<LeadCardOut>,
}

/// The leads by status, every status in pipeline order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadBoardOut {
    /// The columns.
    pub columns: Vec<LeadColumnOut>,
}

/// The leads the caller sees, by status: each column's count and newest cards, each card
/// with its open value and the moves the caller may make.
#[utoipa::path(get, path = "/api/v1/boards/leads", tag = "leads", params(BoardParams),
    security(("bearer" = [])),
    responses((status = 200, body = LeadBoardOut), GuardedInput))]
pub async fn lead_board(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<BoardParams>,
) -> ApiResult<Json<LeadBoardOut>> {
    let mut f = Fields::default();
    let filter = board_filter(&mut f, &p, caller.employee);
    let (filter, cards) = f.done(filter)?;
    let board = s.crm.lead_board(caller.employee, &filter, cards).await?;
    Ok(Json(LeadBoardOut {
        columns: (board.columns.iter())
            .map(|c| LeadColumnOut {
                status: c.status.to_string(),
                total: c.total,
                cards: (c.cards.iter())
                    .map(|k| LeadCardOut {
                        lead: (&k.lead).into(),
                        open_value: amounts(&k.open_value),
                        moves: k.moves.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// An opportunity's card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealCardOut {
    /// The opportunity.
    pub opportunity: OpportunityOut,
    /// Its lead.
    pub lead: LeadOut,
}

/// A stage's column.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageColumnOut {
    /// The stage.
    pub stage: String,
    /// How many opportunities it has, shown or not.
    pub total: u64,
    /// What all of them are worth, per currency.
    pub value: Vec<AmountOut>,
    /// The first `per_column`: in an open stage the soonest expected to close, in won and
    /// lost the latest.
    pub cards: Vec<DealCardOut>,
}

/// The opportunities by stage, every stage in pipeline order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealBoardOut {
    /// The columns.
    pub columns: Vec<StageColumnOut>,
}

/// The opportunities of the leads the caller sees, by stage, valued per currency.
#[utoipa::path(get, path = "/api/v1/boards/deals", tag = "leads", params(BoardParams),
    security(("bearer" = [])),
    responses((status = 200, body = DealBoardOut), GuardedInput))]
pub async fn deal_board(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<BoardParams>,
) -> ApiResult<Json<DealBoardOut>> {
    let mut f = Fields::default();
    let filter = board_filter(&mut f, &p, caller.employee);
    let (filter, cards) = f.done(filter)?;
    let board = s.crm.deal_board(caller.employee, &filter, cards).await?;
    Ok(Json(DealBoardOut {
        columns: (board.columns.iter())
            .map(|c| StageColumnOut {
                stage: c.stage.to_string(),
                total: c.total,
                value: amounts(&c.value),
                cards: (c.cards.iter())
                    .map(|d| DealCardOut {
                        opportunity: (&d.opportunity).into(),
                        lead: (&d.lead).into(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
