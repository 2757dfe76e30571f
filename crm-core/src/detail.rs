//! The detail view: a lead with its whole history.

use serde::{Deserialize, Serialize};

use crate::conversion::PendingClient;
use crate::history::HistoryEntry;
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::opportunity::Opportunity;

/// A lead with its history (oldest first; with the history of the leads merged into it,
/// each entry naming its lead), interactions (by time happened, oldest first),
/// opportunities (oldest first) and, while the client is not yet created, the pending
/// conversion. The client id is on the lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: Lead,
    /// Every recorded change.
    pub history: Vec<HistoryEntry>,
    /// Logged interactions.
    pub interactions: Vec<Interaction>,
    /// Opportunities.
    pub opportunities: Vec<Opportunity>,
    /// The client still to be created, if conversion is pending.
    pub pending_client: Option<PendingClient>,
}

impl LeadDetail {
    /// How long the lead spent in each status, from its history, the current status counted
    /// until `now` ([`crate::history::time_in_status`]).
    pub fn time_in_status(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::collections::BTreeMap<crate::status::LeadStatus, chrono::TimeDelta> {
        let own: Vec<HistoryEntry> = self
            .history
            .iter()
            .filter(|e| e.lead_id == self.lead.id())
            .cloned()
            .collect();
        crate::history::time_in_status(&own, now)
    }
}
