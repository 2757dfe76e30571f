//! Employees: the list, the form that adds or changes one, and passwords.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use crm_core::EmployeeId;
use serde::Deserialize;

use super::kept::Kept;
use super::{
    Ctx, Form, SESSION_COOKIE, Viewer, WebResult, cookie, fail, id, problem, redirect, render,
};
use crate::AppState;
use crate::api::{EmployeeIn, Fields};
use crate::auth::{Credential, Proof};
use crate::i18n;
use crate::input;

#[derive(Template)]
#[template(path = "employees/list.html")]
struct EmployeesPage {
    c: Ctx,
    list: Vec<crm_core::Employee>,
    roles: &'static [&'static str],
    /// The teams the directory names, suggested for the team field.
    teams: Vec<String>,
    /// Management, for the manager field (blank: none).
    managers: Vec<super::pickers::Opt>,
    /// A form sent back: the employee form or a password form (`password:{id}`), as typed.
    kept: Kept,
}

/// The employee list, with the forms managers use.
pub async fn employees(State(s): State<AppState>, v: Viewer) -> WebResult {
    employees_page(&s, v, Kept::default()).await
}

/// The page, with a form sent back as typed when `kept` has one.
async fn employees_page(s: &AppState, v: Viewer, kept: Kept) -> WebResult {
    let list = s.crm.employees(v.employee).await.map_err(fail(&v.ctx))?;
    let pick = super::pickers::Pickers::read(s, &v).await;
    let page = EmployeesPage {
        teams: pick.teams(),
        managers: pick.managers(&kept.typed("employee", "manager", ""), Some("—")),
        c: v.ctx,
        list,
        roles: i18n::ROLES,
        kept,
    };
    Ok((page.kept.status(), render(&page)).into_response())
}

#[derive(Deserialize)]
pub struct EmployeeForm {
    csrf: String,
    id: String,
    name: String,
    role: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    team: Option<String>,
    /// The teams a manager leads, separated by commas.
    #[serde(default)]
    manages: Option<String>,
    /// Their manager's id (blank: none).
    #[serde(default)]
    manager: Option<String>,
}

/// Adds or changes an employee (the library lets only management do so).
pub async fn save_employee(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<EmployeeForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let kept = Kept::new(
        "employee",
        [
            ("id", form.id.clone()),
            ("name", form.name.clone()),
            ("role", form.role.clone()),
            (
                "active",
                if form.active.is_some() { "1" } else { "" }.to_owned(),
            ),
            ("team", form.team.clone().unwrap_or_default()),
            ("manages", form.manages.clone().unwrap_or_default()),
            ("manager", form.manager.clone().unwrap_or_default()),
        ],
    );
    let mut f = Fields::default();
    let emp_id = f.take("id", form.id.trim().parse::<EmployeeId>());
    let manager = match form.manager.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => f.take("manager", m.parse::<i64>()),
        _ => None,
    };
    let e = emp_id.and_then(|emp_id| {
        input::employee(
            &mut f,
            emp_id,
            &EmployeeIn {
                name: Some(form.name),
                role: Some(form.role),
                active: Some(form.active.is_some()),
                team: form.team,
                manages: form
                    .manages
                    .unwrap_or_default()
                    .split([',', '،'])
                    .map(str::to_owned)
                    .collect(),
                manager,
            },
        )
    });
    let e = match f.done(e) {
        Ok(e) => e,
        Err(p) => return employees_page(&s, v, kept.invalid(lang, p)).await,
    };
    let e = match s.crm.save_employee(v.employee, e).await {
        Ok(e) => e,
        Err(e) => {
            let kept = kept.refused(c, e, "")?;
            return employees_page(&s, v, kept).await;
        }
    };
    crate::api::end_if_inactive(&s, &e)
        .await
        .map_err(|p| problem(c, p))?;
    Ok(redirect("/employees"))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    password: String,
    /// The viewer's current password, when the password is their own.
    #[serde(default)]
    current_password: Option<String>,
}

/// Sets an employee's password (themself, with the current one, or management); the
/// employee's other sessions and tokens end.
pub async fn set_password(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(emp): Path<String>,
    Form(form): Form<PasswordForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let target: EmployeeId = id(c, &emp)?;
    let proof = Proof::CurrentPassword(form.current_password.as_deref());
    let keep = Credential::Session(
        cookie(&headers, SESSION_COOKIE)
            .unwrap_or_default()
            .to_owned(),
    );
    match crate::api::set_password_as(&s, v.employee, target, &form.password, proof, &keep).await {
        Ok(()) => Ok(redirect("/employees")),
        // A weak or wrong password: the row's form says why (a password is never typed
        // back into a page).
        Err(p) if p.status == 422 || p.kind == "wrong_password" => {
            let kept = Kept::new("password", [("employee", target.to_string())]);
            employees_page(&s, v, kept.invalid(lang, p)).await
        }
        Err(p) => Err(problem(c, p)),
    }
}
