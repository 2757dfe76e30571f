//! The table-backed host ports, the same on both backends: the employee directory
//! (`employees`) and the clients system (`clients`, one client per lead, id
//! `client-<lead id>`; creating it again returns the same client).

use chrono::Utc;
use crm_core::{ClientId, ClientRequest, Employee, EmployeeId, PortError, StoreError, Team};

use crate::bind::{Args, Binds, Built, args};
use crate::db::Db;
use crate::rows::{self, Cols};

/// The first employee of an empty directory; nothing when it has any. A backend makes two
/// first employees added at once take turns.
pub(crate) const INSERT_FIRST_EMPLOYEE: &str = "INSERT INTO employees \
     (id, name, role, active, team, manages, manager) \
     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM employees)";
const GET_EMPLOYEE: &str =
    "SELECT id, name, role, active, team, manages, manager FROM employees WHERE id = $1";
const UPSERT_EMPLOYEE: &str = "INSERT INTO employees (id, name, role, active, team, manages, manager) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     role = excluded.role, active = excluded.active, team = excluded.team, \
     manages = excluded.manages, manager = excluded.manager";
const LIST_EMPLOYEES: &str =
    "SELECT id, name, role, active, team, manages, manager FROM employees ORDER BY id";
/// The members of some teams (the list follows, built at run time), on `employees_team`.
const TEAM_MEMBERS: &str =
    "SELECT id, name, role, active, team, manages, manager FROM employees WHERE team IN (";
/// The lead's client: the new one, or the one it has (the no-op update makes `RETURNING`
/// return the row that is there).
const INSERT_CLIENT: &str = "INSERT INTO clients \
     (id, lead_id, name, email, phone, company, owner, created_at, phone_display) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (lead_id) DO UPDATE SET lead_id = excluded.lead_id RETURNING id";

pub(crate) fn employees(e: impl Into<StoreError>) -> PortError {
    PortError::new("employees", e.into())
}

fn clients(e: impl Into<StoreError>) -> PortError {
    PortError::new("clients", e.into())
}

/// An employee's values, `$1` to `$7`.
pub(crate) fn employee_values(b: &mut impl Binds, e: &Employee) -> Result<(), StoreError> {
    b.int(e.id.get())
        .str(e.name.as_str())
        .str(e.role.as_str())
        .flag(e.active)
        .opt_str(e.team.as_ref().map(Team::as_str))
        .str(&rows::json(&e.manages)?)
        .opt_int(e.manager.map(|m| m.get()));
    Ok(())
}

pub(crate) async fn employee<D: Db>(
    db: &mut D,
    id: EmployeeId,
) -> Result<Option<Employee>, PortError> {
    db.one(
        GET_EMPLOYEE,
        args(|a| {
            a.int(id.get());
        }),
    )
    .await
    .map_err(employees)?
    .map(|r| rows::employee(&r))
    .transpose()
    .map_err(employees)
}

pub(crate) async fn upsert_employee<D: Db>(db: &mut D, e: &Employee) -> Result<(), PortError> {
    let mut a = Args::default();
    employee_values(&mut a, e).map_err(employees)?;
    db.exec(UPSERT_EMPLOYEE, a).await.map_err(employees)?;
    Ok(())
}

/// Every employee whose team is one of `teams`, by id.
pub(crate) async fn team_members<D: Db>(
    db: &mut D,
    teams: &[Team],
) -> Result<Vec<Employee>, PortError> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Built::head(TEAM_MEMBERS);
    b.list(teams, |b, t| {
        b.str(t.as_str());
    })
    .sql(" ORDER BY id");
    db.built(b)
        .await
        .map_err(employees)?
        .iter()
        .map(|r| rows::employee(r).map_err(employees))
        .collect()
}

pub(crate) async fn list_employees<D: Db>(db: &mut D) -> Result<Vec<Employee>, PortError> {
    db.all(LIST_EMPLOYEES, Args::default())
        .await
        .map_err(employees)?
        .iter()
        .map(|r| rows::employee(r).map_err(employees))
        .collect()
}

pub(crate) async fn create_client<D: Db>(
    db: &mut D,
    req: &ClientRequest,
) -> Result<ClientId, PortError> {
    let new_id = crate::client_id_for(req.lead_id).map_err(|e| PortError::new("clients", e))?;
    let row = db
        .one(
            INSERT_CLIENT,
            args(|a| {
                a.str(new_id.as_ref())
                    .uuid(req.lead_id.as_uuid())
                    .str(req.name.as_str())
                    .opt_str(req.email.as_ref().map(|e| e.as_str()))
                    .opt_str(req.phone.as_ref().map(|p| p.as_str()))
                    .opt_str(req.company.as_ref().map(|n| n.as_str()))
                    .int(req.owner.get())
                    .time(Utc::now())
                    .opt_str(req.phone.as_ref().map(|p| p.display()));
            }),
        )
        .await
        .map_err(clients)?
        .ok_or_else(|| clients(StoreError::Backend("no client returned".into())))?;
    let id = rows::parse("client id", || row.text("id")).map_err(clients)?;
    rows::client_id(&id).map_err(clients)
}
