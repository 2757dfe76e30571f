//! A ready notifier that writes the follow-up alert to the log.

use async_trait::async_trait;

use crate::error::PortError;
use crate::follow_up::FollowUpNotice;
use crate::ports::Notifier;

/// Writes each follow-up notice as a `tracing` warning (target `crm::follow_up`), for hosts
/// without an internal messaging system. Never fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, n: &FollowUpNotice) -> Result<(), PortError> {
        tracing::warn!(
            target: "crm::follow_up",
            lead_id = %n.lead_id,
            lead_name = %n.lead_name,
            owner = %n.owner,
            days_waiting = n.days_waiting(),
            "new lead has had no follow-up"
        );
        Ok(())
    }
}
