//! The table-backed host ports on SQLite: [`SqliteEmployees`] and [`SqliteClients`], the
//! statements of `crate::directory` over the store's database.

use async_trait::async_trait;
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Employee, EmployeeAdmin, EmployeeDirectory, EmployeeId,
    PortError, Team, TeamDirectory,
};
use sqlx::SqlitePool;

use super::Handle;
use crate::bind::Args;
use crate::db::Db;
use crate::directory;

/// The employee directory backed by the `employees` table.
#[derive(Clone, Debug)]
pub struct SqliteEmployees {
    pub(super) db: Handle,
}

impl SqliteEmployees {
    /// A directory over an existing (migrated) pool.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            db: Handle::new(pool),
        }
    }
}

#[async_trait]
impl EmployeeDirectory for SqliteEmployees {
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
        directory::employee(&self.db, id).await
    }
}

#[async_trait]
impl TeamDirectory for SqliteEmployees {
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
        directory::team_members(&self.db, teams).await
    }
}

#[async_trait]
impl EmployeeAdmin for SqliteEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        directory::upsert_employee(&self.db, employee).await
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        // One statement: the check and the insert are one transaction.
        let mut a = Args::default();
        directory::employee_values(&mut a, employee).map_err(directory::employees)?;
        let added = self
            .db
            .write(directory::INSERT_FIRST_EMPLOYEE, a)
            .await
            .map_err(directory::employees)?;
        Ok(added == 1)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
        directory::list_employees(&self.db).await
    }
}

/// The clients system backed by the `clients` table: one client per lead, id
/// `client-<lead id>`; creating it again returns the same client.
#[derive(Clone, Debug)]
pub struct SqliteClients {
    pub(super) db: Handle,
}

impl SqliteClients {
    /// A clients system over an existing (migrated) pool.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            db: Handle::new(pool),
        }
    }
}

#[async_trait]
impl ClientsPort for SqliteClients {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        directory::create_client(&self.db, req).await
    }
}
