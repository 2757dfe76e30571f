//! The follow-up outbox: the statements of its writes, the sweep's candidate queries
//! (both backends), and the parts of PostgreSQL's own claim (`postgres/claims.rs`): take
//! over the notices whose claim ran out, refreshed against their leads as they are now (the
//! rule is `crm_core::follow_up::refreshed`), and write a new notice for each newly due lead.
//! SQLite claims through crm-core's default over `follow_up_candidates`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crm_core::escalation::escalate;
use crm_core::follow_up::{refreshed, remind_overdue};
use crm_core::{FollowUpClaim, FollowUpNotice, Lead, LeadId, LeadRecord, NoticeId};

use crate::bind::Binds;

/// Frees a notice the caller still holds (claimed until `$4`), claimable from `$1` on,
/// counting a failed attempt when an error (`$2`) is given.
pub(crate) const RELEASE_NOTICE: &str = "UPDATE follow_up_notices SET claimed_until = $1, \
     attempts = attempts + CASE WHEN CAST($2 AS TEXT) IS NULL THEN 0 ELSE 1 END, \
     last_error = COALESCE($2, last_error), \
     last_attempt_at = CASE WHEN CAST($2 AS TEXT) IS NULL THEN last_attempt_at ELSE $1 END \
     WHERE id = $3 AND claimed_until = $4";

/// [`RELEASE_NOTICE`]'s values: the notice claimed until `claimed_until`, free from `at`.
pub(crate) fn release(
    b: &mut impl Binds,
    id: NoticeId,
    claimed_until: DateTime<Utc>,
    error: Option<&str>,
    at: DateTime<Utc>,
) {
    b.time(at)
        .opt_str(error)
        .uuid(id.as_uuid())
        .time(claimed_until);
}

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

/// The candidate leads of a claim step (`due`, `overdue` or `escalation`), ordered and
/// limited as `crm_core::claim::plan` takes them, on the step's partial index: `$hint` names
/// it (SQLite without statistics walked `leads_status_created` over every open lead
/// otherwise: 146 us per notice at 20,000 leads, against 48), `$lock` is PostgreSQL's locking
/// clause. `$1`: the step's time; `$2`: the limit.
macro_rules! candidates {
    ($step:ident, $hint:literal, $lock:literal) => {
        concat!(
            "SELECT ",
            crate::rows::lead_cols!(),
            " FROM leads ",
            $hint,
            " WHERE merged_into IS NULL AND ",
            crate::follow_up::candidates!(@$step),
            $lock
        )
    };
    // Still `new`, never notified nor contacted, created by `$1`
    // (`crm_core::follow_up::awaits_follow_up`), oldest first.
    (@due) => {
        "status = 'new' AND last_interaction_at IS NULL AND follow_up_notified_at IS NULL \
         AND created_at <= $1 ORDER BY created_at, id LIMIT $2"
    };
    // Open, the next follow-up time came by `$1` with nothing done since
    // (`crm_core::follow_up::is_overdue`), oldest follow-up time first.
    (@overdue) => {
        "next_follow_up_at IS NOT NULL AND status IN ('new', 'contacted', 'interested') \
         AND next_follow_up_at <= $1 \
         AND (follow_up_reminded_for IS NULL OR follow_up_reminded_for <> next_follow_up_at) \
         AND (last_interaction_at IS NULL OR last_interaction_at < next_follow_up_at) \
         ORDER BY next_follow_up_at, id LIMIT $2"
    };
    // Open, the owner notified by `$1` and nobody followed up since, not yet escalated for
    // that notification (`crm_core::escalation::is_due`), oldest notification first.
    (@escalation) => {
        "owner_notified_at IS NOT NULL AND status IN ('new', 'contacted', 'interested') \
         AND owner_notified_at <= $1 \
         AND (escalated_for IS NULL OR escalated_for <> owner_notified_at) \
         AND (last_interaction_at IS NULL OR last_interaction_at < owner_notified_at) \
         ORDER BY owner_notified_at, id LIMIT $2"
    };
}
pub(crate) use candidates;

/// The follow-up marks of one lead (`$5`), as a claim step's rule wrote them.
pub(crate) const MARK_LEAD: &str = "UPDATE leads SET follow_up_notified_at = $1, \
     follow_up_reminded_for = $2, owner_notified_at = $3, escalated_for = $4 WHERE id = $5";

/// [`MARK_LEAD`]'s values.
pub(crate) fn mark(b: &mut impl Binds, r: &LeadRecord) {
    b.opt_time(r.follow_up_notified_at)
        .opt_time(r.follow_up_reminded_for)
        .opt_time(r.owner_notified_at)
        .opt_time(r.escalated_for)
        .uuid(r.id.as_uuid());
}

/// A claim step after the first-contact one: overdue reminders, then escalations.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// The overdue leads at the sweep's time.
    Overdue,
    /// The leads to escalate under the escalation cutoff.
    Escalation,
}

impl Step {
    /// The steps a claim runs, with the time each selects by.
    pub(crate) fn of(claim: &FollowUpClaim) -> Vec<(Step, DateTime<Utc>)> {
        let mut v = vec![(Step::Overdue, claim.at)];
        if let Some(c) = claim.escalation_cutoff {
            v.push((Step::Escalation, c));
        }
        v
    }

    /// The leads the step selected, as they are to be stored, with their notices.
    pub(crate) fn apply(
        self,
        leads: &[Lead],
        at: DateTime<Utc>,
    ) -> Vec<(LeadRecord, FollowUpNotice)> {
        leads
            .iter()
            .filter_map(|l| match self {
                Step::Overdue => remind_overdue(l, at),
                Step::Escalation => escalate(l, at),
            })
            .collect()
    }
}
