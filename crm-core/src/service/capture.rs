//! [`Crm::capture`]: read what a capture needs, decide it
//! ([`crate::capture::decide_capture`]), commit it with its key.

use std::collections::BTreeMap;

use crate::assignment::{Strategy, candidates};
use crate::capture::{Capture, Captured, capture_key};
use crate::changeset::Changeset;
use crate::decide::{CaptureContext, decide_capture};
use crate::duplicates::find_duplicate_of;
use crate::error::{CrmError, StoreError};
use crate::permissions::{Action, SystemActor};

use super::{Crm, CrmResult};

/// How often a capture is decided again when a concurrent writer got in first (another
/// capture of the same contact, the rule's turn, the same message from a second fetcher).
const CAPTURE_ATTEMPTS: usize = 16;

impl Crm {
    /// Takes in one capture by the channel `channel` ([`crate::capture`]): logged on the
    /// open lead with its e-mail or phone, or a new lead given by the channel's rule; the
    /// owner notified; the capture's key stored in the same commit, so taking the same
    /// capture again changes nothing ([`Captured::Taken`]). Refused to anyone but a channel
    /// the host named ([`crate::CrmBuilder::capture_channel`]).
    pub async fn capture(&self, channel: &SystemActor, capture: Capture) -> CrmResult<Captured> {
        let Some(ch) = self.settings.captures.get(channel) else {
            return Err(CrmError::SystemForbidden {
                actor: channel.clone(),
                action: Action::CaptureLead,
                reason: "the host did not name this capture channel",
            });
        };
        self.settings.sources.check_listed(&capture.lead.source)?;
        let key = capture_key(&capture.key)?;
        let members = self.members(std::slice::from_ref(&ch.rule.team)).await?;
        let emails: Vec<String> = capture
            .lead
            .email
            .iter()
            .map(|e| e.as_str().into())
            .collect();
        let phones: Vec<String> = capture.lead.phone.iter().map(|p| p.key().into()).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let seen = self
                .store
                .import_lookup(std::slice::from_ref(&key), &emails, &phones)
                .await?;
            if let Some(lead) = seen.imported.get(&key) {
                return Ok(Captured::Taken { lead: *lead });
            }
            let (email, phone) = (capture.lead.email.as_ref(), capture.lead.phone.as_ref());
            let matched = find_duplicate_of(email, phone, None, &seen.open)
                .and_then(|d| seen.open.iter().find(|l| l.id() == d.existing));
            let (last, open) = match matched {
                Some(_) => (None, BTreeMap::new()),
                None => self.rotation(&ch.rule, &members).await?,
            };
            let ctx = CaptureContext {
                matched,
                members: &members,
                last,
                open: &open,
            };
            let write = decide_capture(ch, ctx, capture.clone(), self.now())?;
            match self.store.commit(&Changeset::capture(&write)).await {
                Ok(_) => return Ok(write.captured()),
                // Someone got in first: another fetcher took this key, another capture made
                // a lead with this contact, the rule's turn moved, or the matched lead was
                // converted or merged meanwhile. Decide again on what is stored now.
                Err(
                    StoreError::Busy(_)
                    | StoreError::Duplicate { .. }
                    | StoreError::Conflict { .. }
                    | StoreError::ReadOnly { .. },
                ) if attempt < CAPTURE_ATTEMPTS => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The rule's rotation as stored: its last turn, and for a least-open rule the
    /// candidates' open leads.
    pub(crate) async fn rotation(
        &self,
        rule: &crate::AssignmentRule,
        members: &[crate::Employee],
    ) -> CrmResult<(Option<crate::EmployeeId>, BTreeMap<crate::EmployeeId, u64>)> {
        let last = self.store.last_turn(&rule.rotation_key()).await?;
        let open = match rule.strategy {
            Strategy::RoundRobin => BTreeMap::new(),
            Strategy::LeastOpen => {
                let c = candidates(members, &rule.team).into_iter().collect();
                self.store.open_leads_by_owner(&c).await?
            }
        };
        Ok((last, open))
    }
}
