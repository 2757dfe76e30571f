use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Employee, EmployeeAdmin, EmployeeDirectory, EmployeeId,
    LeadId, PortError, Team, TeamDirectory,
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

#[async_trait]
impl TeamDirectory for MemoryEmployees {
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
        let m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<Employee> = m
            .values()
            .filter(|e| e.team.as_ref().is_some_and(|t| teams.contains(t)))
            .cloned()
            .collect();
        v.sort_by_key(|e| e.id);
        Ok(v)
    }
}

#[async_trait]
impl EmployeeAdmin for MemoryEmployees {
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError> {
        self.upsert(employee.clone());
        Ok(())
    }

    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError> {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !m.is_empty() {
            return Ok(false);
        }
        m.insert(employee.id, employee.clone());
        Ok(true)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
        let m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<Employee> = m.values().cloned().collect();
        v.sort_by_key(|e| e.id);
        Ok(v)
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
