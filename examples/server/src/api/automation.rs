//! The automation: the follow-up sweep (and its dry run), the dispatch of pending client
//! creations, and the events a sales system reads and acknowledges.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use crm_core::EmployeeId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::{Guarded, GuardedInput};
use super::{ApiResult, Body, Caller, Fields, Params, in_range, page_size};
use crate::AppState;
use crate::input;
use crm_config::sentence;

/// The largest sequence number: the document's integers are signed 64-bit.
const MAX_SEQ: u64 = i64::MAX as u64;

fn failures(failed: &[(crm_core::LeadId, crm_core::PortError)]) -> Vec<LeadFailure> {
    failed
        .iter()
        .map(|(l, e)| LeadFailure {
            lead_id: l.to_string(),
            error: sentence(e),
        })
        .collect()
}

/// Runs the follow-up sweep now (management).
#[utoipa::path(post, path = "/api/v1/sweep", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = SweepOut), Guarded))]
pub async fn sweep(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<SweepOut>> {
    let r = s.crm.sweep_now(caller.employee).await?;
    Ok(Json(SweepOut::from(&r)))
}

impl From<&crm_core::SweepReport> for SweepOut {
    fn from(r: &crm_core::SweepReport) -> Self {
        let ids = |v: &[crm_core::LeadId]| v.iter().map(|l| l.to_string()).collect();
        Self {
            notified: ids(&r.notified),
            reminded: ids(&r.reminded),
            escalated: ids(&r.escalated),
            failed: failures(&r.failed),
        }
    }
}

/// What a sweep at `at` (default now) would send, in the order it would send them, without
/// sending or marking anything: the dry run (management).
#[utoipa::path(get, path = "/api/v1/sweep/preview", tag = "automation", params(PreviewParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<NoticeOut>), GuardedInput))]
pub async fn sweep_preview(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<PreviewParams>,
) -> ApiResult<Json<Vec<NoticeOut>>> {
    let mut f = Fields::default();
    let at = f.opt("at", p.at.as_deref(), input::parse_time);
    let limit = page_size(&mut f, p.limit);
    let (at, limit) = f.done(at.zip(limit))?;
    let at = at.unwrap_or_else(|| s.clock.now());
    let notices = s.crm.sweep_preview(caller.employee, at, limit).await?;
    Ok(Json(notices.iter().map(Into::into).collect()))
}

/// Retries pending client creations (management).
#[utoipa::path(post, path = "/api/v1/dispatch", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = DispatchOut), Guarded))]
pub async fn dispatch(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<DispatchOut>> {
    let r = s.crm.dispatch_pending(caller.employee).await?;
    Ok(Json(DispatchOut {
        created: r
            .created
            .iter()
            .map(|(l, c)| CreatedClient {
                lead_id: l.to_string(),
                client_id: c.to_string(),
            })
            .collect(),
        failed: failures(&r.failed),
    }))
}

/// Unacknowledged events, in order.
#[utoipa::path(get, path = "/api/v1/events", tag = "automation", params(EventParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<EventOut>), GuardedInput))]
pub async fn events(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<EventParams>,
) -> ApiResult<Json<Vec<EventOut>>> {
    let mut f = Fields::default();
    let limit = page_size(&mut f, p.limit);
    let after = f.take("after", in_range(p.after.unwrap_or(0), 0, MAX_SEQ));
    let (limit, after) = f.done(limit.zip(after))?;
    let events = s.crm.pending_events(caller.employee, after, limit).await?;
    Ok(Json(
        events
            .iter()
            .map(|e| EventOut {
                seq: e.seq,
                id: e.event.id.to_string(),
                at: e.event.at,
                lead_id: e.event.lead_id.to_string(),
                actor: e.event.actor.map(EmployeeId::get),
                kind: serde_json::to_value(&e.event.kind).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// Acknowledges events up to a sequence number (management).
#[utoipa::path(post, path = "/api/v1/events/ack", tag = "automation", request_body = AckIn,
    security(("bearer" = [])),
    responses((status = 200, body = AckOut), GuardedInput))]
pub async fn ack_events(
    State(s): State<AppState>,
    caller: Caller,
    Body(i): Body<AckIn>,
) -> ApiResult<Json<AckOut>> {
    let mut f = Fields::default();
    let up_to = f.take("up_to", in_range(i.up_to, 0, MAX_SEQ));
    let up_to = f.done(up_to)?;
    let acknowledged = s.crm.ack_events(caller.employee, up_to).await?;
    Ok(Json(AckOut { acknowledged }))
}

/// A lead a sweep or dispatch could not handle.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadFailure {
    /// The lead.
    pub lead_id: String,
    /// Why.
    pub error: String,
}

/// What a sweep did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SweepOut {
    /// Leads whose owner was notified that nobody contacted them.
    pub notified: Vec<String>,
    /// Leads whose owner was reminded of an overdue follow-up time.
    pub reminded: Vec<String>,
    /// Leads escalated to their owner's manager.
    pub escalated: Vec<String>,
    /// Notifications that failed (retried by the next sweep).
    pub failed: Vec<LeadFailure>,
}

/// What a sweep at a time would send (the dry run).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The sweep's time, RFC 3339, not later than now (default now).
    pub at: Option<String>,
    /// At most this many notices (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// A notice a sweep would send.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeOut {
    /// The lead.
    pub lead_id: String,
    /// Its name.
    pub lead_name: String,
    /// The lead's owner.
    pub owner: i64,
    /// Who receives it: the owner, or their manager for an escalation (none when the owner
    /// has no manager).
    pub recipient: Option<i64>,
    /// What it is about (`type`: first_contact, overdue or escalation).
    #[schema(value_type = Object)]
    pub kind: serde_json::Value,
}

impl From<&crm_core::FollowUpNotice> for NoticeOut {
    fn from(n: &crm_core::FollowUpNotice) -> Self {
        Self {
            lead_id: n.lead_id.to_string(),
            lead_name: n.lead_name.to_string(),
            owner: n.owner.get(),
            recipient: n.recipient().map(EmployeeId::get),
            kind: serde_json::to_value(&n.kind).unwrap_or_default(),
        }
    }
}

/// A client created by the dispatch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    /// The lead.
    pub lead_id: String,
    /// The client.
    pub client_id: String,
}

/// What a dispatch did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DispatchOut {
    /// Clients created.
    pub created: Vec<CreatedClient>,
    /// Attempts that failed (retried by the next dispatch).
    pub failed: Vec<LeadFailure>,
}

/// Which events to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only events after this sequence number.
    pub after: Option<u64>,
    /// At most this many (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// An event for a sales system.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Sequence number (acknowledge up to it).
    pub seq: u64,
    /// Id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The lead.
    pub lead_id: String,
    /// Who (none for the system).
    pub actor: Option<i64>,
    /// What happened (`type` names it).
    #[schema(value_type = Object)]
    pub kind: serde_json::Value,
}

/// Acknowledge events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AckIn {
    /// Up to and including this sequence number.
    pub up_to: u64,
}

/// How many events were acknowledged.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AckOut {
    /// Events acknowledged by this call.
    pub acknowledged: u64,
}
