//! What one follow-up claim takes: [`plan`] decides, from the stored leads a claim could
//! concern, the new notices and the follow-up marks each writes, in the order the sweep
//! sends them. It is the claim's rule, kept apart from the store:
//! [`crate::derived::claim_follow_ups`] commits the plan over the follow-up state it read,
//! and every store shares it.

use std::collections::BTreeMap;

use crate::escalation;
use crate::follow_up::{
    FollowUpClaim, FollowUpNotice, awaits_follow_up, is_overdue, notify_first_contact,
    remind_overdue,
};
use crate::ids::LeadId;
use crate::lead::{Lead, LeadRecord};
use crate::validation::ValidationError;

/// One new notice of a claim: the lead as read, the lead with its follow-up marks as the
/// claim writes them, and the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The lead as the claim read it (its follow-up state is the commit's precondition).
    pub before: Lead,
    /// The lead marked.
    pub after: Lead,
    /// The notice.
    pub notice: FollowUpNotice,
}

/// The new notices a claim makes of `leads` (every stored lead the claim could concern, in
/// any order), at most `limit`: first leads that [`awaits_follow_up`] and were created at or
/// before `claim.cutoff`, oldest `(created_at, id)` first, each marked by
/// [`notify_first_contact`]; then leads [`is_overdue`] at `claim.at`, oldest
/// `(next_follow_up_at, id)` first, each marked by [`remind_overdue`]; then, when
/// `claim.escalation_cutoff` is set, leads [`escalation::is_due`] under it, oldest
/// `(owner_notified_at, id)` first, each marked by [`escalation::escalate`].
///
/// Each step sees the leads as the steps before it left them: a lead reminded by this claim
/// counts as notified at the claim's time, which a real escalation cutoff (working days back)
/// never reaches. A lead marked twice appears twice, each `before` the state the previous
/// step left.
pub fn plan(
    leads: &[Lead],
    claim: &FollowUpClaim,
    limit: usize,
) -> Result<Vec<Planned>, ValidationError> {
    let mut current: BTreeMap<LeadId, Lead> = leads.iter().map(|l| (l.id(), l.clone())).collect();
    let mut out: Vec<Planned> = Vec::new();
    let take = |out: &mut Vec<Planned>,
                current: &mut BTreeMap<LeadId, Lead>,
                before: Lead,
                step: Option<(LeadRecord, FollowUpNotice)>|
     -> Result<(), ValidationError> {
        if let Some((r, notice)) = step {
            let after = Lead::from_record(r)?;
            current.insert(after.id(), after.clone());
            out.push(Planned {
                before,
                after,
                notice,
            });
        }
        Ok(())
    };
    let mut first: Vec<Lead> = current
        .values()
        .filter(|l| l.created_at() <= claim.cutoff && awaits_follow_up(l))
        .cloned()
        .collect();
    first.sort_by_key(|l| (l.created_at(), l.id()));
    first.truncate(limit);
    for lead in first {
        let step = Some(notify_first_contact(&lead, claim.at));
        take(&mut out, &mut current, lead, step)?;
    }
    let room = limit.saturating_sub(out.len());
    let mut overdue: Vec<Lead> = current
        .values()
        .filter(|l| is_overdue(l, claim.at))
        .cloned()
        .collect();
    overdue.sort_by_key(|l| (l.next_follow_up_at(), l.id()));
    overdue.truncate(room);
    for lead in overdue {
        let step = remind_overdue(&lead, claim.at);
        take(&mut out, &mut current, lead, step)?;
    }
    if let Some(cutoff) = claim.escalation_cutoff {
        let room = limit.saturating_sub(out.len());
        let mut due: Vec<Lead> = current
            .values()
            .filter(|l| escalation::is_due(l, cutoff))
            .cloned()
            .collect();
        due.sort_by_key(|l| (l.owner_notified_at(), l.id()));
        due.truncate(room);
        for lead in due {
            let step = escalation::escalate(&lead, claim.at);
            take(&mut out, &mut current, lead, step)?;
        }
    }
    Ok(out)
}

/// Whether `lead` could be part of a claim under `claim` ([`plan`]): what a store's
/// candidate read must return at least.
pub fn may_be_claimed(lead: &Lead, claim: &FollowUpClaim) -> bool {
    // Not narrowed by `claim.cutoff`: the plan applies it, and a store may return more
    // leads than the plan takes.
    awaits_follow_up(lead)
        || is_overdue(lead, claim.at)
        || claim
            .escalation_cutoff
            .is_some_and(|c| escalation::is_due(lead, c))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::contact::Name;
    use crate::follow_up::NoticeKind;
    use crate::ids::EmployeeId;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn lead_created(name: &str, created: DateTime<Utc>) -> Lead {
        let input = crate::NewLead::new(Name::parse(name).unwrap(), crate::Source::web())
            .email(crate::Email::parse(&format!("{name}@example.com")).unwrap());
        let owner = EmployeeId::new(1).unwrap();
        Lead::create(LeadId::new_at(created), input, owner, owner, created).unwrap()
    }

    fn claim_at(now: DateTime<Utc>, escalate: bool) -> FollowUpClaim {
        FollowUpClaim {
            cutoff: now - TimeDelta::days(5),
            at: now,
            now,
            lease_until: now + TimeDelta::minutes(5),
            limit: 100,
            escalation_cutoff: escalate.then_some(now),
        }
    }

    #[test]
    fn a_claim_plans_the_oldest_due_leads_first_and_no_young_one() {
        let now = at("2026-03-10T09:00:00Z");
        let young = lead_created("young", now - TimeDelta::days(1));
        let old = lead_created("old", now - TimeDelta::days(9));
        let older = lead_created("older", now - TimeDelta::days(20));
        let planned = plan(
            &[young, old.clone(), older.clone()],
            &claim_at(now, false),
            10,
        )
        .unwrap();
        let ids: Vec<LeadId> = planned.iter().map(|p| p.notice.lead_id).collect();
        assert_eq!(ids, vec![older.id(), old.id()]);
        assert_eq!(planned[0].before, older);
        assert_eq!(planned[0].after.follow_up_notified_at(), Some(now));
        assert_eq!(planned[0].after.owner_notified_at(), Some(now));
        // The limit counts notices.
        let planned = plan(&[old, older.clone()], &claim_at(now, false), 1).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].notice.lead_id, older.id());
    }

    #[test]
    fn a_lead_notified_by_a_claim_is_escalated_by_the_same_claim_only_under_its_cutoff() {
        let now = at("2026-03-10T09:00:00Z");
        let old = lead_created("old", now - TimeDelta::days(9));
        // An escalation cutoff at the claim's own time reaches the notification it just
        // made: the second step sees the first step's marks.
        let planned = plan(std::slice::from_ref(&old), &claim_at(now, true), 10).unwrap();
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[1].before, planned[0].after);
        assert!(matches!(
            planned[1].notice.kind,
            NoticeKind::Escalation { .. }
        ));
        // A real cutoff (days back) does not.
        let mut claim = claim_at(now, true);
        claim.escalation_cutoff = Some(now - TimeDelta::days(2));
        assert_eq!(plan(&[old], &claim, 10).unwrap().len(), 1);
    }

    #[test]
    fn every_lead_a_claim_plans_is_one_a_store_must_return_as_a_candidate() {
        let now = at("2026-03-10T09:00:00Z");
        let leads: Vec<Lead> = (0..12)
            .map(|d| lead_created(&format!("l{d}"), now - TimeDelta::days(d)))
            .collect();
        let claim = claim_at(now, true);
        for p in plan(&leads, &claim, 100).unwrap() {
            let read = leads.iter().find(|l| l.id() == p.notice.lead_id).unwrap();
            assert!(may_be_claimed(read, &claim));
        }
    }
}
