use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Employee, EmployeeDirectory, EmployeeId, LeadId,
    PortError,
};

/// An employee directory held in memory, for tests, prototypes and the quickstart.
#[derive(Debug, Default)]
pub struct MemoryEmployees(Mutex<HashMap<EmployeeId, Employee>>);

impl MemoryEmployees {
    /// A directory holding `employees`.
    pub fn new(employees: impl IntoIterator<Item = Employee>) -> Self {
        Self(Mutex::new(
            employees.into_iter().map(|e| (e.id, e)).collect(),
        ))
    }
    /// Adds or replaces an employee.
    pub fn upsert(&self, e: Employee) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(e.id, e);
    }
}

#[async_trait]
impl EmployeeDirectory for MemoryEmployees {
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned())
    }
}

/// A clients system held in memory: one client per lead id (idempotent), ids `client-N`.
#[derive(Debug, Default)]
pub struct MemoryClients(Mutex<Vec<(LeadId, ClientId, ClientRequest)>>);

impl MemoryClients {
    /// An empty clients system.
    pub fn new() -> Self {
        Self::default()
    }
    /// Every client created, in order.
    pub fn clients(&self) -> Vec<(LeadId, ClientId, ClientRequest)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl ClientsPort for MemoryClients {
    async fn create_client(&self, request: &ClientRequest) -> Result<ClientId, PortError> {
        let mut v = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, id, _)) = v.iter().find(|(l, _, _)| *l == request.lead_id) {
            return Ok(id.clone());
        }
        let id = ClientId::parse(&format!("client-{}", v.len() + 1))
            .map_err(|e| PortError::new("clients", e))?;
        v.push((request.lead_id, id.clone(), request.clone()));
        Ok(id)
    }
}
