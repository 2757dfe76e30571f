//! The conversion rule: a lead that becomes `converted` gets exactly one client in the host's
//! clients system. The status change writes a [`PendingClient`] in the same atomic write; the
//! client is then created through [`crate::ports::ClientsPort`], keyed by the lead id so a
//! retry never makes a second one, and the pending record is cleared when the client id is
//! stored. A failure leaves the record for [`crate::Crm::dispatch_pending`].
//!
//! Pending records are claimed before they are sent: the converting call holds its record
//! for a lease, and [`crate::ports::LeadStore::claim_pending_clients`] gives concurrent
//! dispatchers disjoint records, so no two callers send the same record at once. A caller
//! that crashed holds its claim until the lease runs out; then the record is sent again,
//! and the clients port's idempotency on the lead id keeps the client single.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{Email, Name, Phone};
use crate::ids::{EmployeeId, LeadId};
use crate::lead::Lead;
use crate::status::LeadStatus;

/// What the clients system receives: the lead's data, keyed by the lead id (the idempotency
/// key: a host may also link an existing client with the same email instead of creating one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Idempotency key.
    pub lead_id: LeadId,
    /// Name.
    pub name: Name,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// Company.
    pub company: Option<Name>,
    /// The responsible employee.
    pub owner: EmployeeId,
}

/// A client still to be created for a converted lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingClient {
    /// What to send.
    pub request: ClientRequest,
    /// When the lead was converted.
    pub created_at: DateTime<Utc>,
    /// How many attempts failed so far.
    pub attempts: u32,
    /// The last failure, as text for operators.
    pub last_error: Option<String>,
    /// When the last attempt failed.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Until when a caller is sending it (the converting call, or a dispatcher that claimed
    /// it); `None` when free. A claim whose holder crashed runs out, and the record is free
    /// for the next dispatch.
    pub claimed_until: Option<DateTime<Utc>>,
}

/// Whether moving `lead` to `to` triggers a conversion.
pub fn triggers_conversion(lead: &Lead, to: LeadStatus) -> bool {
    to == LeadStatus::Converted && lead.status() != LeadStatus::Converted
}

/// The pending record for a lead being converted at `now`, claimed by the converting call
/// until `claim_until`.
pub fn pending_client(
    lead: &Lead,
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
) -> PendingClient {
    PendingClient {
        request: ClientRequest {
            lead_id: lead.id(),
            name: lead.name().clone(),
            email: lead.email().cloned(),
            phone: lead.phone().cloned(),
            company: lead.company().cloned(),
            owner: lead.owner(),
        },
        created_at: now,
        attempts: 0,
        last_error: None,
        last_attempt_at: None,
        claimed_until: Some(claim_until),
    }
}
