//! The table-backed host ports on PostgreSQL: [`PostgresEmployees`] and [`PostgresClients`],
//! the statements of `crate::directory` over the store's database.

use async_trait::async_trait;
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Employee, EmployeeAdmin, EmployeeDirectory, EmployeeId,
    PortError, Team, TeamDirectory,
};

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::{Handle, PgConn, insert_first_employee_in};
use crate::directory;
use crate::error::db;

/// The employee directory backed by the `employees` table (see
/// [`PostgresStore::employees`](super::PostgresStore::employees)).
#[derive(Clone, Debug)]
pub struct PostgresEmployees {
    pub(super) db: Handle,
}

impl PostgresEmployees {
    async fn conn(&self) -> Result<PgConn<PoolConnection<Postgres>>, PortError> {
        self.db.conn().await.map_err(directory::employees)
    }
}

#[async_trait]
impl EmployeeDirectory for PostgresEmployees {
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
        directory::employee(&mut self.conn().await?, id).await
    }
}

#[async_trait]
impl TeamDirectory for PostgresEmployees {
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
        directory::team_members(&mut self.conn().await?, teams).await
    }
}

#[async_trait]
impl EmployeeAdmin for PostgresEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        directory::upsert_employee(&mut self.conn().await?, employee).await
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        let run = async {
            let mut tx = self.db.pool.begin().await.map_err(db)?;
            let added = insert_first_employee_in(&mut tx, employee).await?;
            tx.commit().await.map_err(db)?;
            Ok::<_, crm_core::StoreError>(added)
        };
        run.await.map_err(directory::employees)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
        directory::list_employees(&mut self.conn().await?).await
    }
}

/// The clients system backed by the `clients` table: one client per lead, id
/// `client-<lead id>`; creating it again returns the same client (see
/// [`PostgresStore::clients`](super::PostgresStore::clients)).
#[derive(Clone, Debug)]
pub struct PostgresClients {
    pub(super) db: Handle,
}

#[async_trait]
impl ClientsPort for PostgresClients {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        directory::create_client(
            &mut self
                .db
                .conn()
                .await
                .map_err(|e| PortError::new("clients", e))?,
            req,
        )
        .await
    }
}
