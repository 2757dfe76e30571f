//! The report, the automation (sweep, dispatch, events) and employees.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crm_core::EmployeeId;

use super::responses::{Guarded, GuardedInput, Lookup, Save};
use super::{
    AckIn, AckOut, ApiResult, Body, Caller, CreatedClient, DispatchOut, EmployeeIn, EmployeeOut,
    EventOut, EventParams, Fields, LeadFailure, NoticeOut, Params, PasswordIn, PreviewParams,
    ReportOut, ReportParams, SweepOut, TeamOut, in_range, page_size, path_id,
};
use crate::AppState;
use crate::auth::{self, SetPasswordError};
use crate::input;
use crate::problem::{FieldError, Problem};
use crm_config::sentence;

/// Lead counts by status x source.
#[utoipa::path(get, path = "/api/v1/report", tag = "report", params(ReportParams),
    security(("bearer" = [])),
    responses((status = 200, body = ReportOut), GuardedInput))]
pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    Params(p): Params<ReportParams>,
) -> ApiResult<Json<ReportOut>> {
    let mut f = Fields::default();
    let filter = input::report_filter(&mut f, &p);
    let filter = f.done(filter)?;
    let r = s.crm.report(caller.employee, &filter).await?;
    Ok(Json((&r).into()))
}

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

/// Every employee.
#[utoipa::path(get, path = "/api/v1/employees", tag = "employees", security(("bearer" = [])),
    responses((status = 200, body = Vec<EmployeeOut>), Guarded))]
pub async fn list_employees(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<EmployeeOut>>> {
    let list = s.crm.employees(caller.employee).await?;
    Ok(Json(list.iter().map(Into::into).collect()))
}

/// Every team of the directory, with its members and the managers who lead it.
#[utoipa::path(get, path = "/api/v1/teams", tag = "employees", security(("bearer" = [])),
    responses((status = 200, body = Vec<TeamOut>), Guarded))]
pub async fn list_teams(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<TeamOut>>> {
    let teams = s.crm.teams(caller.employee).await?;
    Ok(Json(teams.iter().map(Into::into).collect()))
}

/// One employee.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "employees",
    params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = EmployeeOut), Lookup))]
pub async fn get_employee(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EmployeeOut>> {
    let id: EmployeeId = path_id("employee", &id)?;
    let e = s
        .crm
        .employee(caller.employee, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("employee {id} not found")))?;
    Ok(Json((&e).into()))
}

/// Adds or changes an employee (management).
#[utoipa::path(put, path = "/api/v1/employees/{id}", tag = "employees", request_body = EmployeeIn,
    params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = EmployeeOut), Save))]
pub async fn save_employee(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(i): Body<EmployeeIn>,
) -> ApiResult<Json<EmployeeOut>> {
    let id: EmployeeId = path_id("employee", &id)?;
    let mut f = Fields::default();
    let e = input::employee(&mut f, id, &i);
    let e = f.done(e)?;
    let e = s.crm.save_employee(caller.employee, e).await?;
    end_if_inactive(&s, &e).await?;
    Ok(Json((&e).into()))
}

/// Ends the sessions and tokens of an employee saved as inactive: someone who has left signs
/// in no more (the library would still let them read), and whoever holds their credentials
/// is shut out with them.
pub async fn end_if_inactive(s: &AppState, e: &crm_core::Employee) -> Result<(), Problem> {
    if !e.active {
        s.auth.end_credentials(e.id, None).await?;
    }
    Ok(())
}

/// Sets an employee's password: the employee themself (with `current_password`), or
/// management. The employee's other sessions and tokens end.
#[utoipa::path(put, path = "/api/v1/employees/{id}/password", tag = "employees",
    request_body = PasswordIn, params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 204), Save))]
pub async fn set_password(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(i): Body<PasswordIn>,
) -> ApiResult<StatusCode> {
    let id: EmployeeId = path_id("employee", &id)?;
    let proof = auth::Proof::CurrentPassword(i.current_password.as_deref());
    let keep = auth::Credential::Token(caller.token_id);
    set_password_as(&s, caller.employee, id, &i.password, proof, &keep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets `target`'s password as `actor`, if the library's rules let `actor` do so (their
/// own with `proof`); the target's other sessions and tokens end, all but `keep`.
pub async fn set_password_as(
    s: &AppState,
    actor: EmployeeId,
    target: EmployeeId,
    password: &str,
    proof: auth::Proof<'_>,
    keep: &auth::Credential,
) -> Result<(), Problem> {
    auth::set_password_as(&s.crm, &s.auth, actor, target, password, proof, Some(keep))
        .await
        .map_err(|e| match e {
            SetPasswordError::Crm(e) => e.into(),
            SetPasswordError::Auth(e) => e.into(),
            e @ SetPasswordError::Forbidden { .. } => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            e @ SetPasswordError::NotFound(_) => Problem::not_found(e.to_string()),
            e @ SetPasswordError::CurrentPasswordRequired => Problem::invalid(vec![FieldError {
                field: "current_password".into(),
                detail: e.to_string(),
            }]),
            e @ SetPasswordError::WrongCurrentPassword => {
                Problem::new(StatusCode::FORBIDDEN, "wrong_password", e.to_string())
            }
        })
}
