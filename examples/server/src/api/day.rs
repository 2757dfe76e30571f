//! `GET /api/v1/me/day`: the caller's day ([`crm_core::my_day`]).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::leads::{LeadOut, OpportunityOut};
use super::responses::GuardedInput;
use super::{ApiResult, Caller, Fields, Params};
use crate::AppState;

/// Where the day is counted.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayParams {
    /// The viewer's IANA time zone, whose day and month count (default: the server's
    /// `time_zone`).
    pub tz: Option<String>,
}

/// A lead with a follow-up due.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUpOut {
    /// The lead.
    pub lead: LeadOut,
    /// When the follow-up was planned.
    pub due_at: DateTime<Utc>,
}

/// A new lead nobody has contacted yet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WaitingOut {
    /// The lead.
    pub lead: LeadOut,
    /// Whole days it has waited.
    pub days: i64,
}

/// An open opportunity expected to close this month.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClosingOut {
    /// The opportunity.
    pub opportunity: OpportunityOut,
    /// Its lead.
    pub lead: LeadOut,
}

/// The caller's day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DayOut {
    /// The day, in `time_zone`.
    pub date: NaiveDate,
    /// The zone the day and month are counted in.
    pub time_zone: String,
    /// Follow-ups whose time has come with nothing done since, the oldest first.
    pub overdue: Vec<FollowUpOut>,
    /// Follow-ups due later today, the soonest first.
    pub today: Vec<FollowUpOut>,
    /// The caller's leads still `new` with no interaction, the longest waiting first.
    pub waiting: Vec<WaitingOut>,
    /// The caller's open opportunities expected to close this month, the earliest first.
    pub closing: Vec<ClosingOut>,
}

/// The caller's day: of the leads they own, the overdue and today's follow-ups, the new
/// leads nobody contacted with the days they waited, and the open opportunities closing
/// this month.
#[utoipa::path(get, path = "/api/v1/me/day", tag = "leads", params(DayParams),
    security(("bearer" = [])),
    responses((status = 200, body = DayOut), GuardedInput))]
pub async fn my_day(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<DayParams>,
) -> ApiResult<Json<DayOut>> {
    let mut f = Fields::default();
    let tz = match p.tz.as_deref().map(str::trim) {
        None | Some("") => Some(s.config.time_zone),
        Some(z) => f.take(
            "tz",
            z.parse::<Tz>().map_err(|_| "is not an IANA time zone"),
        ),
    };
    let tz = f.done(tz)?;
    let day = s.crm.my_day(caller.employee, tz).await?;
    let follow_up = |f: &crm_core::my_day::FollowUp| FollowUpOut {
        lead: (&f.lead).into(),
        due_at: f.due_at,
    };
    Ok(Json(DayOut {
        date: s.clock.now().with_timezone(&tz).date_naive(),
        time_zone: tz.name().to_owned(),
        overdue: day.overdue.iter().map(follow_up).collect(),
        today: day.today.iter().map(follow_up).collect(),
        waiting: (day.waiting.iter())
            .map(|w| WaitingOut {
                lead: (&w.lead).into(),
                days: w.days,
            })
            .collect(),
        closing: (day.closing.iter())
            .map(|c| ClosingOut {
                opportunity: (&c.opportunity).into(),
                lead: (&c.lead).into(),
            })
            .collect(),
    }))
}
