//! The table-backed host ports on SQLite: [`SqliteEmployees`] and [`SqliteClients`], the
//! statements of `crate::directory` on the store's connections.

use std::sync::Arc;

use async_trait::async_trait;
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Employee, EmployeeAdmin, EmployeeDirectory, EmployeeId,
    PortError, Team, TeamDirectory,
};

use super::store::{Conn, Lanes, now};
use crate::db::Db;
use crate::directory;

/// Runs a call of port `$port` whole on one of the store's connection threads (a read on
/// a reader when the writer is busy, a write on the writer).
macro_rules! on {
    ($port:literal, $lane:expr, |$c:ident| $call:expr) => {
        $lane
            .call(move |c| {
                let $c = &mut Conn(c);
                now(async { Ok($call.await) })
            })
            .await
            .map_err(|e| PortError::new($port, e))??
    };
}

/// The employee directory backed by the `employees` table (see
/// [`SqliteStore::employees`](super::SqliteStore::employees)).
#[derive(Clone, Debug)]
pub struct SqliteEmployees {
    pub(super) lanes: Arc<Lanes>,
}

#[async_trait]
impl EmployeeDirectory for SqliteEmployees {
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
        Ok(on!("employees", self.lanes.reader(), |c| {
            directory::employee(c, id)
        }))
    }
}

#[async_trait]
impl TeamDirectory for SqliteEmployees {
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
        let teams = teams.to_vec();
        Ok(on!("employees", self.lanes.reader(), |c| {
            directory::team_members(c, &teams)
        }))
    }
}

#[async_trait]
impl EmployeeAdmin for SqliteEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        let e = employee.clone();
        Ok(on!("employees", self.lanes.writer, |c| {
            directory::upsert_employee(c, &e)
        }))
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        let e = employee.clone();
        // One statement: the check and the insert are one transaction.
        let added = on!("employees", self.lanes.writer, |c| async {
            let mut a = crate::bind::Args::default();
            directory::employee_values(&mut a, &e).map_err(directory::employees)?;
            c.exec(directory::INSERT_FIRST_EMPLOYEE, a)
                .await
                .map_err(directory::employees)
        });
        Ok(added == 1)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
        Ok(on!("employees", self.lanes.reader(), |c| {
            directory::list_employees(c)
        }))
    }
}

/// The clients system backed by the `clients` table: one client per lead, id
/// `client-<lead id>`; creating it again returns the same client (see
/// [`SqliteStore::clients`](super::SqliteStore::clients)).
#[derive(Clone, Debug)]
pub struct SqliteClients {
    pub(super) lanes: Arc<Lanes>,
}

#[async_trait]
impl ClientsPort for SqliteClients {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        let req = req.clone();
        Ok(on!("clients", self.lanes.writer, |c| {
            directory::create_client(c, &req)
        }))
    }
}
