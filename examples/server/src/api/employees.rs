//! Employees, the teams of the directory, and passwords.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crm_core::{Employee, EmployeeId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{Guarded, Lookup, PasswordChange, Save};
use super::{ApiResult, Body, Caller, Fields, path_id};
use crate::AppState;
use crate::auth::{self, SetPasswordError};
use crate::input;
use crate::problem::{FieldError, Problem};

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
    responses((status = 204), PasswordChange))]
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
                cause: None,
            }]),
            e @ SetPasswordError::WrongCurrentPassword => {
                Problem::new(StatusCode::FORBIDDEN, "wrong_password", e.to_string())
            }
        })
}

/// A team of the directory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamOut {
    /// Its name.
    pub team: String,
    /// Its members' ids, active or not.
    pub members: Vec<i64>,
    /// The ids of the managers who lead it.
    pub managers: Vec<i64>,
}

impl From<&crm_core::TeamSummary> for TeamOut {
    fn from(t: &crm_core::TeamSummary) -> Self {
        Self {
            team: t.team.to_string(),
            members: t.members.iter().map(|e| e.get()).collect(),
            managers: t.managers.iter().map(|e| e.get()).collect(),
        }
    }
}

/// An employee.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmployeeOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// sales, manager or other.
    pub role: String,
    /// Whether active.
    pub active: bool,
    /// The team the employee works in, if any.
    pub team: Option<String>,
    /// The teams a manager leads.
    pub manages: Vec<String>,
    /// Their manager's id (who hears of their leads left without follow-up), if any.
    pub manager: Option<i64>,
}

impl From<&Employee> for EmployeeOut {
    fn from(e: &Employee) -> Self {
        Self {
            id: e.id.get(),
            name: e.name.to_string(),
            role: e.role.to_string(),
            active: e.active,
            team: e.team.as_ref().map(|t| t.to_string()),
            manages: e.manages.iter().map(|t| t.to_string()).collect(),
            manager: e.manager.map(EmployeeId::get),
        }
    }
}

/// An employee's data to save.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct EmployeeIn {
    /// Name.
    pub name: Option<String>,
    /// sales, manager or other.
    pub role: Option<String>,
    /// Whether active (default true).
    pub active: Option<bool>,
    /// The team the employee works in (none when absent or empty).
    pub team: Option<String>,
    /// The teams a manager leads (only managers may lead a team).
    #[serde(default)]
    pub manages: Vec<String>,
    /// Their manager's id (who hears of their leads left without follow-up; none when
    /// absent).
    #[schema(minimum = 1)]
    pub manager: Option<i64>,
}

/// A new password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordIn {
    /// 10 to 256 characters.
    pub password: String,
    /// The current password: required when employees change their own.
    #[serde(default)]
    pub current_password: Option<String>,
}
