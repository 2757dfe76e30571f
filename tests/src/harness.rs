//! The test harness: a `Crm` over any store with a manual clock, an in-memory employee
//! directory, a clients system that can be made to fail, and a notifier that records.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{
    ClientId, ClientRequest, ClientsPort, Clock, Crm, CrmResult, Email, Employee, EmployeeId,
    FollowUpNotice, FollowUpRule, Lead, LeadId, LeadStatus, LeadStore, ManualClock, Name, NewLead,
    Notifier, Phone, PhoneRegion, PortError, Role, Source, SweepReport,
};
use crm_store_memory::{MemoryClients, MemoryEmployees};

/// Sales employee 1.
pub fn sales() -> EmployeeId {
    EmployeeId::new(1).unwrap()
}
/// Sales employee 2.
pub fn sales2() -> EmployeeId {
    EmployeeId::new(2).unwrap()
}
/// A manager.
pub fn manager() -> EmployeeId {
    EmployeeId::new(3).unwrap()
}
/// An employee with role `other` (read only).
pub fn other() -> EmployeeId {
    EmployeeId::new(4).unwrap()
}
/// An inactive sales employee.
pub fn inactive() -> EmployeeId {
    EmployeeId::new(5).unwrap()
}
/// An id the directory does not know.
pub fn unknown() -> EmployeeId {
    EmployeeId::new(99).unwrap()
}

/// The directory every harness starts with.
pub fn staff() -> Vec<Employee> {
    let e = |id: EmployeeId, name: &str, role, active| Employee {
        active,
        ..Employee::new(id, Name::parse(name).unwrap(), role)
    };
    vec![
        e(sales(), "سارة الأحمد", Role::Sales, true),
        e(sales2(), "Omar Haddad", Role::Sales, true),
        e(manager(), "مدير المبيعات", Role::Manager, true),
        e(other(), "Accountant", Role::Other, true),
        e(inactive(), "Former Rep", Role::Sales, false),
    ]
}

/// The instant every harness starts at: Sunday 2026-01-04 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-04T09:00:00Z")
        .unwrap()
        .to_utc()
}

/// A clients system that can be switched to fail; counts calls.
#[derive(Debug, Default)]
pub struct FlakyClients {
    inner: MemoryClients,
    /// While set, every call fails.
    pub failing: AtomicBool,
    /// Calls made, failed or not.
    pub calls: AtomicUsize,
}

impl FlakyClients {
    /// Every client created, in order.
    pub fn created(&self) -> Vec<(LeadId, ClientId, ClientRequest)> {
        self.inner.clients()
    }
    /// Switches failure on or off.
    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }
}

#[async_trait]
impl ClientsPort for FlakyClients {
    async fn create_client(&self, request: &ClientRequest) -> Result<ClientId, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PortError::new("clients", "clients system unavailable"));
        }
        self.inner.create_client(request).await
    }
}

/// A notifier that records every notice and fails for chosen leads.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    /// Notices delivered, in order.
    pub sent: Mutex<Vec<FollowUpNotice>>,
    /// Leads whose notices fail.
    pub fail_for: Mutex<HashSet<LeadId>>,
}

impl RecordingNotifier {
    /// The leads notified so far, in order.
    pub fn leads(&self) -> Vec<LeadId> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.lead_id)
            .collect()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError> {
        if self.fail_for.lock().unwrap().contains(&notice.lead_id) {
            return Err(PortError::new("notifier", "mailbox full"));
        }
        self.sent.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// A `Crm` over a store, with every other port observable.
pub struct Harness {
    /// The service under test.
    pub crm: Crm,
    /// The store under test.
    pub store: Arc<dyn LeadStore>,
    /// The clock.
    pub clock: Arc<ManualClock>,
    /// The employee directory.
    pub employees: Arc<MemoryEmployees>,
    /// The clients system.
    pub clients: Arc<FlakyClients>,
    /// The notifier.
    pub notifier: Arc<RecordingNotifier>,
}

impl Harness {
    /// A harness over `store` with the default 5-day follow-up rule.
    pub fn new(store: Arc<dyn LeadStore>) -> Self {
        Self::with_rule(store, FollowUpRule::default())
    }

    /// A harness with a given follow-up rule.
    pub fn with_rule(store: Arc<dyn LeadStore>, rule: FollowUpRule) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let employees = Arc::new(MemoryEmployees::new(staff()));
        let clients = Arc::new(FlakyClients::default());
        let notifier = Arc::new(RecordingNotifier::default());
        let crm = Crm::builder()
            .store(store.clone())
            .employees(employees.clone())
            .clients(clients.clone())
            .notifier(notifier.clone())
            .clock(clock.clone())
            .follow_up(rule)
            .build()
            .unwrap();
        Self {
            crm,
            store,
            clock,
            employees,
            clients,
            notifier,
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// Another service over the same ports, with builder settings of the test's choosing
    /// (e.g. a small claim batch).
    pub fn crm_with(&self, f: impl FnOnce(crm_core::CrmBuilder) -> crm_core::CrmBuilder) -> Crm {
        f(Crm::builder()
            .store(self.store.clone())
            .employees(self.employees.clone())
            .clients(self.clients.clone())
            .notifier(self.notifier.clone())
            .clock(self.clock.clone()))
        .build()
        .unwrap()
    }

    /// Sweeps at `at` as the manager, first moving the clock up to `at` if it is behind (a
    /// sweep later than the clock is refused).
    pub async fn sweep_at(&self, at: DateTime<Utc>) -> CrmResult<SweepReport> {
        if self.clock.now() < at {
            self.clock.set(at);
        }
        self.crm.sweep(manager(), at).await
    }

    /// Creates a lead as `actor` with the given name, email and phone (source web).
    pub async fn create(
        &self,
        actor: EmployeeId,
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Lead {
        self.crm
            .create_lead(actor, new_lead(name, email, phone))
            .await
            .unwrap()
    }

    /// Walks a fresh lead (created by `sales`) to `status` along the shortest path.
    /// The clock moves one second first, so leads made one after another are ordered.
    pub async fn lead_in(&self, status: LeadStatus, n: usize) -> Lead {
        self.advance(TimeDelta::seconds(1));
        let lead = self
            .create(
                sales(),
                &format!("Lead {n}"),
                Some(&format!("lead{n}@example.com")),
                None,
            )
            .await;
        let path: &[LeadStatus] = match status {
            LeadStatus::New => &[],
            LeadStatus::Contacted => &[LeadStatus::Contacted],
            LeadStatus::Interested => &[LeadStatus::Interested],
            LeadStatus::Converted => &[LeadStatus::Contacted, LeadStatus::Converted],
            _ => &[LeadStatus::Lost],
        };
        let mut lead = lead;
        for to in path {
            let reason = (*to == LeadStatus::Lost).then(|| reason("no budget"));
            lead = self
                .crm
                .change_status(manager(), lead.id(), lead.version(), *to, reason)
                .await
                .unwrap()
                .lead;
        }
        lead
    }
}

/// A lost reason with code `other` and `detail` as its text.
pub fn reason(detail: &str) -> crm_core::LostReason {
    crm_core::LostReason::new(crm_core::LostReasonCode::parse("other").unwrap())
        .detail(Name::parse(detail).unwrap())
}

/// The region the tests' users type local phone numbers in.
pub fn region() -> PhoneRegion {
    PhoneRegion::parse("SA").unwrap()
}

/// A `NewLead` from plain text, phones read in [`region`] (panics on invalid test data).
pub fn new_lead(name: &str, email: Option<&str>, phone: Option<&str>) -> NewLead {
    let mut l = NewLead::new(Name::parse(name).unwrap(), Source::web());
    if let Some(e) = email {
        l = l.email(Email::parse(e).unwrap());
    }
    if let Some(p) = phone {
        l = l.phone(Phone::parse_in(p, region()).unwrap());
    }
    l
}
