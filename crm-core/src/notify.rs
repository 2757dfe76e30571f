//! A ready notifier that writes the follow-up alert to the log.

use async_trait::async_trait;

use crate::error::PortError;
use crate::follow_up::{FollowUpNotice, NoticeKind};
use crate::ports::Notifier;

/// Writes each follow-up notice as a `tracing` warning (target `crm::follow_up`), for hosts
/// without an internal messaging system. Never fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, n: &FollowUpNotice) -> Result<(), PortError> {
        match &n.kind {
            NoticeKind::FirstContact => tracing::warn!(
                target: "crm::follow_up",
                lead_id = %n.lead_id,
                lead_name = %n.lead_name,
                owner = %n.owner,
                days_waiting = n.days_waiting(),
                "new lead has had no follow-up"
            ),
            NoticeKind::Overdue { due_at } => tracing::warn!(
                target: "crm::follow_up",
                lead_id = %n.lead_id,
                lead_name = %n.lead_name,
                owner = %n.owner,
                due_at = %due_at,
                "follow-up is overdue"
            ),
            NoticeKind::Escalation {
                notified_at,
                manager,
            } => tracing::warn!(
                target: "crm::follow_up",
                lead_id = %n.lead_id,
                lead_name = %n.lead_name,
                owner = %n.owner,
                manager = %manager.map_or_else(|| "-".to_owned(), |m| m.to_string()),
                owner_notified_at = %notified_at,
                "lead still without follow-up after its owner was notified: escalated"
            ),
            NoticeKind::Captured { by, interaction } => tracing::info!(
                target: "crm::follow_up",
                lead_id = %n.lead_id,
                lead_name = %n.lead_name,
                owner = %n.owner,
                channel = %by,
                interaction = %interaction,
                "the lead wrote in"
            ),
        }
        Ok(())
    }
}
