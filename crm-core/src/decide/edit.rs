//! Editing a lead's contact data and source.

use chrono::{DateTime, Utc};

use super::{check_change, lead_write};
use crate::employee::Employee;
use crate::error::CrmError;
use crate::events::EventKind;
use crate::history::Change;
use crate::lead::{Lead, LeadPatch};
use crate::permissions::Action;
use crate::write::LeadWrite;

/// Decides an edit of `lead`'s contact data and source. The duplicate check runs when the
/// email or phone changed on an open lead, unless the patch allows a duplicate.
pub fn decide_edit(
    lead: &Lead,
    actor: &Employee,
    expected_version: u64,
    patch: &LeadPatch,
    now: DateTime<Utc>,
) -> Result<LeadWrite, CrmError> {
    check_change(lead, actor, Action::EditLead, Some(expected_version))?;
    if let Some(next) = patch.next_follow_up {
        crate::follow_up::check_next_follow_up(next, now)?;
    }
    let (new, changes) = lead.edited(patch, now)?;
    let contact_changed = new.email() != lead.email() || new.phone() != lead.phone();
    let check_duplicates = contact_changed && new.status().is_open() && !patch.allow_duplicate;
    let fields = changes
        .iter()
        .filter_map(|c| match c {
            Change::Edited { field, .. } => Some(*field),
            _ => None,
        })
        .collect();
    let mut w = lead_write(new, actor.id, changes, EventKind::LeadEdited { fields });
    w.check_duplicates = check_duplicates;
    Ok(w)
}
