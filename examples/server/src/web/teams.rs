//! The teams page: every team with its members and the managers who lead it; managers see
//! forms that put an employee in a team or take them out (saved through
//! [`crm_core::Crm::save_employee`], which lets only management do so).

use std::collections::BTreeMap;

use super::Form;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use crm_core::{Employee, EmployeeId};
use serde::Deserialize;

use super::kept::Kept;
use super::{Ctx, Viewer, redirect, render};
use super::{WebResult, fail, problem};
use crate::AppState;
use crate::api::Fields;

/// An employee as the page names them.
pub struct Person {
    id: i64,
    name: String,
    active: bool,
}

/// A team as the page shows it.
pub struct TeamView {
    name: String,
    leads: Vec<Person>,
    members: Vec<Person>,
}

#[derive(Template)]
#[template(path = "teams/list.html")]
struct TeamsPage {
    c: Ctx,
    teams: Vec<TeamView>,
    /// Everyone, for the membership form.
    people: Vec<super::pickers::Opt>,
    /// The teams there are, suggested.
    team_names: Vec<String>,
    /// The membership form sent back, as typed.
    kept: Kept,
}

fn person(staff: &BTreeMap<EmployeeId, Employee>, id: EmployeeId) -> Person {
    match staff.get(&id) {
        Some(e) => Person {
            id: id.get(),
            name: e.name.to_string(),
            active: e.active,
        },
        None => Person {
            id: id.get(),
            name: String::new(),
            active: false,
        },
    }
}

/// Every team with its leads and members.
pub async fn teams(State(s): State<AppState>, v: Viewer) -> WebResult {
    teams_page(&s, v, Kept::default()).await
}

/// The page, with the membership form sent back as typed when `kept` has it.
async fn teams_page(s: &AppState, v: Viewer, kept: Kept) -> WebResult {
    let c = &v.ctx;
    let teams = s.crm.teams(v.employee).await.map_err(fail(c))?;
    let staff: BTreeMap<EmployeeId, Employee> = s
        .crm
        .employees(v.employee)
        .await
        .map_err(fail(c))?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let teams = teams
        .iter()
        .map(|t| TeamView {
            name: t.team.to_string(),
            leads: t.managers.iter().map(|m| person(&staff, *m)).collect(),
            members: t.members.iter().map(|m| person(&staff, *m)).collect(),
        })
        .collect();
    let pick = super::pickers::Pickers::read(s, &v).await;
    let page = TeamsPage {
        people: pick.people(&kept.typed("team", "employee", ""), Some(v.ctx.t.choose)),
        team_names: pick.teams(),
        c: v.ctx,
        teams,
        kept,
    };
    Ok((page.kept.status(), render(&page)).into_response())
}

#[derive(Deserialize)]
pub struct MembershipForm {
    #[serde(default)]
    csrf: String,
    employee: String,
    /// The team to put the employee in; blank takes them out of their team.
    #[serde(default)]
    team: String,
}

/// Puts an employee in a team, or (blank team) takes them out of theirs.
pub async fn set_team(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<MembershipForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let kept = Kept::new(
        "team",
        [
            ("employee", form.employee.clone()),
            ("team", form.team.clone()),
        ],
    );
    let mut f = Fields::default();
    let id = f.take("employee", form.employee.trim().parse::<EmployeeId>());
    let team = f.opt(
        "team",
        Some(form.team.trim()).filter(|t| !t.is_empty()),
        crm_core::Team::parse,
    );
    let (id, team) = match f.done(id.zip(team)) {
        Ok(parsed) => parsed,
        Err(p) => return teams_page(&s, v, kept.invalid(lang, p)).await,
    };
    let mut e = s
        .crm
        .employee(v.employee, id)
        .await
        .map_err(fail(c))?
        .ok_or_else(|| not_found(c, id))?;
    e.team = team;
    match s.crm.save_employee(v.employee, e).await {
        Ok(_) => Ok(redirect("/teams")),
        // A rule's refusal (the last manager, a team left without sales staff): the form
        // again, as typed, saying why.
        Err(e) => {
            let kept = kept.refused(c, e, "")?;
            teams_page(&s, v, kept).await
        }
    }
}

fn not_found(c: &Ctx, id: EmployeeId) -> Response {
    problem(
        c,
        crate::problem::Problem::not_found(format!("employee {id} not found")),
    )
}
