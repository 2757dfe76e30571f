//! A lead's one timeline: its changes (creation, status moves, reassignments, edits,
//! merges), its interactions, its opportunities and its next follow-up, newest first, as
//! the lead page and the API show them instead of three tables. The next follow-up still to
//! be done comes first: it is what happens next.

use chrono::{DateTime, Utc};

use crate::detail::LeadDetail;
use crate::history::Change;
use crate::ids::{EmployeeId, LeadId};
use crate::interaction::Interaction;
use crate::opportunity::Opportunity;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happening {
    /// The next follow-up, planned and not done yet (no interaction since its time).
    FollowUpDue,
    /// A change of the lead (of a lead merged into it too: see [`Entry::lead`]).
    Change(Change),
    /// An interaction was logged.
    Interaction(Box<Interaction>),
    /// An opportunity was added (shown as it is now).
    Opportunity(Box<Opportunity>),
}

/// One entry of a timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When it happened (an interaction: when it took place; a follow-up: when it is due).
    pub at: DateTime<Utc>,
    /// Who did it (`None` for a follow-up still to do).
    pub actor: Option<EmployeeId>,
    /// The lead it is recorded on: the lead itself, or one merged into it.
    pub lead: LeadId,
    /// What.
    pub happening: Happening,
}

/// The timeline of `detail`, newest first; entries at the same time keep the order changes,
/// interactions, opportunities (and each its stored order).
pub fn timeline(detail: &LeadDetail) -> Vec<Entry> {
    let lead = &detail.lead;
    let mut out: Vec<Entry> = Vec::new();
    if let Some(due) = lead.next_follow_up_at()
        && crate::follow_up::still_unanswered(lead, due)
    {
        out.push(Entry {
            at: due,
            actor: None,
            lead: lead.id(),
            happening: Happening::FollowUpDue,
        });
    }
    let mut past: Vec<Entry> = (detail.history.iter())
        .map(|h| Entry {
            at: h.at,
            actor: Some(h.actor),
            lead: h.lead_id,
            happening: Happening::Change(h.change.clone()),
        })
        .chain(detail.interactions.iter().map(|i| Entry {
            at: i.occurred_at,
            actor: Some(i.logged_by),
            lead: i.lead_id,
            happening: Happening::Interaction(Box::new(i.clone())),
        }))
        .chain(detail.opportunities.iter().map(|o| Entry {
            at: o.created_at,
            actor: Some(o.created_by),
            lead: o.lead_id,
            happening: Happening::Opportunity(Box::new(o.clone())),
        }))
        .collect();
    // Stable: equal times keep the order above.
    past.sort_by_key(|e| std::cmp::Reverse(e.at));
    out.extend(past);
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::contact::Note;
    use crate::contact::{Email, Name};
    use crate::history::HistoryEntry;
    use crate::interaction::InteractionKind;
    use crate::lead::{Lead, NewLead};
    use crate::source::Source;
    use crate::status::LeadStatus;

    #[test]
    fn newest_first_with_the_next_follow_up_on_top() {
        let t0: DateTime<Utc> = "2026-12-01T08:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let me = EmployeeId::new(1).unwrap_or_else(|e| panic!("{e}"));
        let input = NewLead::new(
            Name::parse("هدى").unwrap_or_else(|e| panic!("{e}")),
            Source::web(),
        )
        .email(Email::parse("h@example.sa").unwrap_or_else(|e| panic!("{e}")));
        let lead =
            Lead::create(LeadId::new_at(t0), input, me, me, t0).unwrap_or_else(|e| panic!("{e}"));
        let mut r = lead.record().clone();
        r.next_follow_up_at = Some(t0 + TimeDelta::days(3));
        r.last_interaction_at = Some(t0 + TimeDelta::days(1));
        r.status = LeadStatus::Contacted;
        let lead = Lead::from_record(r).unwrap_or_else(|e| panic!("{e}"));
        let change = |at: DateTime<Utc>, change| HistoryEntry {
            lead_id: lead.id(),
            version: 1,
            at,
            actor: me,
            change,
        };
        let call = Interaction {
            id: crate::ids::InteractionId::new_at(t0),
            lead_id: lead.id(),
            kind: InteractionKind::Call,
            occurred_at: t0 + TimeDelta::days(1),
            logged_by: me,
            logged_at: t0 + TimeDelta::days(1),
            notes: Note::default(),
            next_follow_up_at: Some(t0 + TimeDelta::days(3)),
            captured_by: None,
        };
        let detail = LeadDetail {
            history: vec![
                change(
                    t0,
                    Change::Created {
                        source: Source::web(),
                        owner: me,
                    },
                ),
                change(
                    t0 + TimeDelta::days(2),
                    Change::StatusChanged {
                        from: LeadStatus::New,
                        to: LeadStatus::Contacted,
                        lost_reason: None,
                        lost_reason_code: None,
                    },
                ),
            ],
            interactions: vec![call],
            opportunities: vec![],
            pending_client: None,
            lead,
        };
        let kinds: Vec<&str> = timeline(&detail)
            .iter()
            .map(|e| match &e.happening {
                Happening::FollowUpDue => "due",
                Happening::Change(Change::Created { .. }) => "created",
                Happening::Change(_) => "change",
                Happening::Interaction(_) => "call",
                Happening::Opportunity(_) => "deal",
            })
            .collect();
        assert_eq!(kinds, ["due", "change", "call", "created"]);
    }
}
