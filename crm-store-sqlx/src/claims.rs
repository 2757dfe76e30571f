//! What both backends do the same way when a sweep claims follow-up notices: take over the
//! notices whose claim ran out, refreshed against their leads as they are now (the rule is
//! `crm_core::follow_up::refreshed`), and write a new notice for each newly due lead. Only
//! the SQL that reads and writes them differs per backend.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crm_core::follow_up::refreshed;
use crm_core::{FollowUpNotice, Lead, LeadId, NoticeId};

/// Expired notices (oldest id first) against their leads: the ones to send again, refreshed,
/// and the ones whose lead no longer awaits a follow-up (or is gone), to delete.
pub(crate) fn take_over(
    mut expired: Vec<FollowUpNotice>,
    leads: Vec<Lead>,
) -> (Vec<FollowUpNotice>, Vec<NoticeId>) {
    expired.sort_by_key(|n| n.id);
    let leads: HashMap<LeadId, Lead> = leads.into_iter().map(|l| (l.id(), l)).collect();
    let mut keep = Vec::with_capacity(expired.len());
    let mut moot = Vec::new();
    for n in expired {
        match leads.get(&n.lead_id).and_then(|l| refreshed(&n, l)) {
            Some(n) => keep.push(n),
            None => moot.push(n.id),
        }
    }
    (keep, moot)
}

/// How many newly due leads fit in a claim of `limit` after `taken` notices.
pub(crate) fn room(limit: u32, taken: usize) -> u32 {
    limit.saturating_sub(u32::try_from(taken).unwrap_or(u32::MAX))
}

/// The notices of newly due leads, found due at `at`.
pub(crate) fn fresh(due: &[Lead], at: DateTime<Utc>) -> Vec<FollowUpNotice> {
    due.iter()
        .map(|l| FollowUpNotice::for_lead(l, at))
        .collect()
}
