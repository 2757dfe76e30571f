//! Merging duplicate leads: one lead (`keep`) absorbs another (`other`). The decision is
//! [`decide_merge`], a pure function: what `keep` becomes, what `other` becomes, or why the
//! merge is refused. [`crate::Crm::merge_leads`] loads both leads, calls it, and has the
//! store apply the [`MergeWrite`] in one transaction, both versions checked.
//!
//! What a merge does:
//! - `keep` takes `other`'s email, phone, company and next follow-up time where its own are
//!   empty (each an `edited` history entry), and a `merged_from` history entry naming
//!   `other` and the interactions and opportunities that move over;
//! - the store moves `other`'s interactions and opportunities to `keep`; `other`'s history
//!   stays recorded under `other` and shows in `keep`'s detail view, each entry naming the
//!   lead it came from ([`crate::HistoryEntry::lead_id`]);
//! - `other` gets `merged_into = keep` and a `merged_into` history entry: it is read-only
//!   from then on and leaves listings, reports, the pipeline, follow-up sweeps and duplicate
//!   checks (its detail view still opens and says where it went);
//! - one event, `lead_merged`, about `keep`.
//!
//! Refused: merging a lead into itself, into a merged lead, a lead merged already, a
//! converted lead (never merged away), into a converted lead (read-only), by anyone but
//! management, or when either lead moved past the version the caller read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::employee::Employee;
pub use crate::error::MergeRefusal;
use crate::error::{CrmError, Entity};
use crate::events::{EventKind, NewEvent};
use crate::history::{Change, HistoryEntry, LeadField};
use crate::ids::{InteractionId, LeadId, OpportunityId};
use crate::lead::{Lead, LeadRecord};
use crate::permissions::{Action, authorize};
use crate::status::LeadStatus;
use crate::validation::ValidationError;
use crate::write::LeadWrite;

/// What moves from the lead merged away, as the caller saw it: recorded in `keep`'s history
/// so it says where each record came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// `other`'s interactions.
    pub interactions: Vec<InteractionId>,
    /// `other`'s opportunities.
    pub opportunities: Vec<OpportunityId>,
}

impl Moved {
    /// Whether `interactions` and `opportunities` (what `other` holds now, in any order) are
    /// exactly the records decided on. An interaction or an opportunity added to `other`
    /// does not move its version, so a store checks this beside the versions, in the
    /// merge's transaction: otherwise a record added between the decision and the write
    /// would move to `keep` without `keep`'s `merged_from` entry naming it.
    pub fn is_exactly(
        &self,
        interactions: impl IntoIterator<Item = InteractionId>,
        opportunities: impl IntoIterator<Item = OpportunityId>,
    ) -> bool {
        fn same<T: Ord + Copy>(decided: &[T], now: impl IntoIterator<Item = T>) -> bool {
            let mut now: Vec<T> = now.into_iter().collect();
            let mut decided = decided.to_vec();
            now.sort_unstable();
            decided.sort_unstable();
            now == decided
        }
        same(&self.interactions, interactions) && same(&self.opportunities, opportunities)
    }
}

/// One merge, to be stored atomically: both lead writes, each over the version the caller
/// read, and only while `other` holds exactly the records in `moved` ([`Moved::is_exactly`]).
/// The store also moves every interaction and opportunity of `other` to `keep`, points
/// earlier merges into `other` at `keep`, and moves `keep`'s last interaction time forward
/// to `other`'s when later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeWrite {
    /// The lead kept, as it is after the merge (version `keep_version + 1`), its history
    /// entries and the `lead_merged` event.
    pub keep: LeadWrite,
    /// The version of `keep` the caller read.
    pub keep_version: u64,
    /// The lead merged away, with `merged_into` set (version `other_version + 1`) and its
    /// history entry; no event.
    pub other: LeadWrite,
    /// The version of `other` the caller read.
    pub other_version: u64,
    /// The records of `other` the decision was made on (and `keep`'s `merged_from` entry
    /// names): the store refuses the merge with a conflict on `other` unless they are
    /// exactly what `other` holds when it writes.
    pub moved: Moved,
}

impl MergeWrite {
    /// The lead kept.
    pub fn keep_id(&self) -> LeadId {
        self.keep.lead.id()
    }
    /// The lead merged away.
    pub fn other_id(&self) -> LeadId {
        self.other.lead.id()
    }
}

/// Why `keep` and `other` cannot be merged, if they cannot (ignoring who asks and versions).
pub fn refusal(keep: &Lead, other: &Lead) -> Option<MergeRefusal> {
    if keep.id() == other.id() {
        Some(MergeRefusal::SameLead)
    } else if keep.merged_into().is_some() {
        Some(MergeRefusal::KeepMerged)
    } else if other.merged_into().is_some() {
        Some(MergeRefusal::OtherMerged)
    } else if other.status() == LeadStatus::Converted {
        Some(MergeRefusal::OtherConverted)
    } else if keep.status().is_read_only() {
        Some(MergeRefusal::KeepConverted)
    } else {
        None
    }
}

/// `keep` after taking `other`'s non-empty contact fields where its own are empty, and the
/// fields it took (old and new values). The version and times are left alone.
pub fn absorbed(keep: &LeadRecord, other: &LeadRecord) -> (LeadRecord, Vec<Change>) {
    let mut r = keep.clone();
    let mut changes = Vec::new();
    fn take<T: Clone + ToString>(
        changes: &mut Vec<Change>,
        field: LeadField,
        slot: &mut Option<T>,
        from: &Option<T>,
    ) {
        if slot.is_none()
            && let Some(v) = from
        {
            changes.push(Change::Edited {
                field,
                old: None,
                new: Some(v.to_string()),
            });
            *slot = Some(v.clone());
        }
    }
    take(&mut changes, LeadField::Email, &mut r.email, &other.email);
    take(&mut changes, LeadField::Phone, &mut r.phone, &other.phone);
    take(
        &mut changes,
        LeadField::Company,
        &mut r.company,
        &other.company,
    );
    // A follow-up time only means something on a lead still worked.
    if r.status.is_open()
        && other.status.is_open()
        && r.next_follow_up_at.is_none()
        && let Some(t) = other.next_follow_up_at
    {
        changes.push(Change::Edited {
            field: LeadField::NextFollowUp,
            old: None,
            new: Some(t.to_string()),
        });
        r.next_follow_up_at = Some(t);
    }
    (r, changes)
}

/// Decides the merge of `other` into `keep` by `actor` (management only), the caller having
/// read `keep` at `keep_version` and `other` at `other_version`, with `moved` the records of
/// `other` it saw. Returns the write, or the refusal.
pub fn decide_merge(
    keep: &Lead,
    other: &Lead,
    actor: &Employee,
    keep_version: u64,
    other_version: u64,
    moved: Moved,
    now: DateTime<Utc>,
) -> Result<MergeWrite, CrmError> {
    authorize(actor, Action::MergeLeads, Some(keep.owner())).map_err(CrmError::from)?;
    if let Some(reason) = refusal(keep, other) {
        return Err(CrmError::MergeRefused {
            keep: keep.id(),
            other: other.id(),
            reason,
        });
    }
    for (lead, expected) in [(keep, keep_version), (other, other_version)] {
        if lead.version() != expected {
            return Err(CrmError::Conflict {
                entity: Entity::Lead,
                id: lead.id().to_string(),
                expected,
            });
        }
    }
    let bump = |r: &mut LeadRecord| -> Result<(), ValidationError> {
        r.version = r
            .version
            .checked_add(1)
            .ok_or(ValidationError::InvalidRange { field: "version" })?;
        r.updated_at = now.max(r.updated_at);
        Ok(())
    };
    let (mut kept, mut changes) = absorbed(keep.record(), other.record());
    bump(&mut kept)?;
    kept.last_interaction_at = kept.last_interaction_at.max(other.last_interaction_at());
    let fields: Vec<LeadField> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Edited { field, .. } => Some(*field),
            _ => None,
        })
        .collect();
    changes.insert(
        0,
        Change::MergedFrom {
            from: other.id(),
            interactions: moved.interactions.clone(),
            opportunities: moved.opportunities.clone(),
        },
    );
    let kept = Lead::from_record(kept)?;
    let mut gone = other.record().clone();
    bump(&mut gone)?;
    gone.merged_into = Some(keep.id());
    // A lead merged away was a duplicate: its outcome is not one more in the scoring
    // frequencies (and merged leads leave the scans a rebuild counts over).
    gone.counted_as = None;
    let gone = Lead::from_record(gone)?;
    let entries = |lead: &Lead, changes: Vec<Change>| -> Vec<HistoryEntry> {
        changes
            .into_iter()
            .map(|change| HistoryEntry {
                lead_id: lead.id(),
                version: lead.version(),
                at: lead.updated_at(),
                actor: actor.id,
                change,
            })
            .collect()
    };
    let event = NewEvent::new(
        kept.id(),
        Some(actor.id),
        kept.updated_at(),
        EventKind::LeadMerged {
            from: other.id(),
            fields,
        },
    );
    Ok(MergeWrite {
        keep: LeadWrite {
            history: entries(&kept, changes),
            events: vec![event],
            pending_client: None,
            check_duplicates: false,
            score_changes: Vec::new(),
            lead: kept,
        },
        keep_version,
        other: LeadWrite {
            history: entries(&gone, vec![Change::MergedInto { into: keep.id() }]),
            events: Vec::new(),
            pending_client: None,
            check_duplicates: false,
            score_changes: crate::counting::recount(other.counted_as(), None),
            lead: gone,
        },
        other_version,
        moved,
    })
}

/// What a merge left: the lead kept and the lead merged into it (read-only now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOutcome {
    /// The lead kept, after the merge.
    pub kept: Lead,
    /// The lead merged away, `merged_into` the kept one.
    pub merged: Lead,
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;
    use crate::contact::{Email, Name, Phone};
    use crate::employee::Role;
    use crate::ids::EmployeeId;
    use crate::lead::NewLead;
    use crate::source::Source;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn emp(id: i64, role: Role) -> Employee {
        Employee::new(
            EmployeeId::new(id).unwrap(),
            Name::parse("Staff").unwrap(),
            role,
        )
    }

    fn lead(
        n: i64,
        email: Option<&str>,
        phone: Option<&str>,
        company: Option<&str>,
        follow_up: Option<DateTime<Utc>>,
    ) -> Lead {
        let mut input = NewLead::new(Name::parse("Huda").unwrap(), Source::web());
        input.email = email.map(|e| Email::parse(e).unwrap());
        input.phone = phone.map(|p| Phone::parse(p).unwrap());
        input.company = company.map(|c| Name::parse_field("company", c).unwrap());
        let at = t0() + TimeDelta::seconds(n);
        let owner = EmployeeId::new(1).unwrap();
        let l = Lead::create(LeadId::new_at(at), input, owner, owner, at).unwrap();
        let mut r = l.record().clone();
        r.next_follow_up_at = follow_up;
        Lead::from_record(r).unwrap()
    }

    fn with(l: &Lead, f: impl FnOnce(&mut LeadRecord)) -> Lead {
        let mut r = l.record().clone();
        f(&mut r);
        Lead::from_record(r).unwrap()
    }

    fn merge(keep: &Lead, other: &Lead, actor: &Employee) -> Result<MergeWrite, CrmError> {
        decide_merge(
            keep,
            other,
            actor,
            keep.version(),
            other.version(),
            Moved::default(),
            t0() + TimeDelta::hours(1),
        )
    }

    fn refused_with(r: Result<MergeWrite, CrmError>) -> Option<MergeRefusal> {
        match r {
            Err(CrmError::MergeRefused { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn keep_takes_only_what_it_lacks_and_other_is_retired() {
        let boss = emp(9, Role::Manager);
        let keep = lead(1, Some("huda@example.com"), None, None, None);
        let later = t0() + TimeDelta::days(2);
        let other = lead(
            2,
            Some("other@example.com"),
            Some("+966501234567"),
            Some("Acme"),
            Some(later),
        );
        let w = merge(&keep, &other, &boss).unwrap();
        let k = &w.keep.lead;
        assert_eq!(k.email().map(Email::as_str), Some("huda@example.com"));
        assert_eq!(k.phone().map(Phone::key), Some("+966501234567"));
        assert_eq!(k.company().map(Name::as_str), Some("Acme"));
        assert_eq!(k.next_follow_up_at(), Some(later));
        assert_eq!(k.version(), keep.version() + 1);
        assert_eq!(k.merged_into(), None);
        assert_eq!(w.other.lead.merged_into(), Some(keep.id()));
        assert_eq!(w.other.lead.version(), other.version() + 1);
        assert!(w.other.lead.is_read_only() && !w.other.lead.is_open());
        assert_eq!(w.keep.events.len(), 1);
        assert!(w.other.events.is_empty());
        assert_eq!(
            w.keep.events[0].kind,
            EventKind::LeadMerged {
                from: other.id(),
                fields: vec![
                    LeadField::Phone,
                    LeadField::Company,
                    LeadField::NextFollowUp
                ],
            }
        );
        assert!(matches!(
            w.keep.history[0].change,
            Change::MergedFrom { from, .. } if from == other.id()
        ));
        assert_eq!(
            w.other
                .history
                .iter()
                .map(|e| &e.change)
                .collect::<Vec<_>>(),
            vec![&Change::MergedInto { into: keep.id() }]
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let boss = emp(9, Role::Manager);
        let a = lead(1, Some("a@example.com"), None, None, None);
        let b = lead(2, Some("b@example.com"), None, None, None);
        let converted = with(&b, |r| r.status = LeadStatus::Converted);
        let merged = with(&b, |r| r.merged_into = Some(LeadId::new_at(t0())));
        assert_eq!(
            refused_with(merge(&a, &a, &boss)),
            Some(MergeRefusal::SameLead)
        );
        assert_eq!(
            refused_with(merge(&a, &converted, &boss)),
            Some(MergeRefusal::OtherConverted)
        );
        assert_eq!(
            refused_with(merge(&converted, &a, &boss)),
            Some(MergeRefusal::KeepConverted)
        );
        assert_eq!(
            refused_with(merge(&merged, &a, &boss)),
            Some(MergeRefusal::KeepMerged)
        );
        assert_eq!(
            refused_with(merge(&a, &merged, &boss)),
            Some(MergeRefusal::OtherMerged)
        );
        assert!(matches!(
            merge(&a, &b, &emp(3, Role::Sales)),
            Err(CrmError::Forbidden { .. })
        ));
        let stale = decide_merge(&a, &b, &boss, 1, 2, Moved::default(), t0());
        assert!(matches!(stale, Err(CrmError::Conflict { id, .. }) if id == b.id().to_string()));
    }

    #[test]
    fn the_records_decided_on_are_compared_as_sets() {
        let at = |n: i64| t0() + TimeDelta::seconds(n);
        let (i1, i2) = (InteractionId::new_at(at(1)), InteractionId::new_at(at(2)));
        let o1 = OpportunityId::new_at(at(3));
        let moved = Moved {
            interactions: vec![i1, i2],
            opportunities: vec![o1],
        };
        assert!(moved.is_exactly([i2, i1], [o1]));
        // A record added after the decision, one gone, or none at all: not as decided.
        let i3 = InteractionId::new_at(at(4));
        assert!(!moved.is_exactly([i1, i2, i3], [o1]));
        assert!(!moved.is_exactly([i1], [o1]));
        assert!(!moved.is_exactly([i1, i2], []));
        assert!(!moved.is_exactly([i1, i3], [o1]));
        assert!(Moved::default().is_exactly([], []));
    }

    proptest! {
        /// Whatever the two leads hold, the kept lead keeps every value it had and takes
        /// the other's exactly where it had none; nothing else about it changes but the
        /// version and time; the merged lead changes only in `merged_into`, version and
        /// time.
        #[test]
        fn merge_fills_gaps_and_never_overwrites(
            ke in proptest::option::of("[a-c]@example\\.com"),
            kp in proptest::option::of(Just("+966501234567")),
            kc in proptest::option::of("[A-C]corp"),
            oe in proptest::option::of("[d-f]@example\\.com"),
            op in proptest::option::of(Just("+971501234567")),
            oc in proptest::option::of("[D-F]corp"),
        ) {
            prop_assume!(ke.is_some() || kp.is_some());
            prop_assume!(oe.is_some() || op.is_some());
            let boss = emp(9, Role::Manager);
            let keep = lead(1, ke.as_deref(), kp, kc.as_deref(), None);
            let other = lead(2, oe.as_deref(), op, oc.as_deref(), None);
            let w = merge(&keep, &other, &boss).unwrap();
            let k = w.keep.lead.record();
            prop_assert_eq!(&k.email, &keep.record().email.clone().or(other.record().email.clone()));
            prop_assert_eq!(&k.phone, &keep.record().phone.clone().or(other.record().phone.clone()));
            prop_assert_eq!(&k.company, &keep.record().company.clone().or(other.record().company.clone()));
            let mut same = k.clone();
            same.email = keep.record().email.clone();
            same.phone = keep.record().phone.clone();
            same.company = keep.record().company.clone();
            same.version = keep.version();
            same.updated_at = keep.updated_at();
            prop_assert_eq!(&same, keep.record());
            let mut gone = w.other.lead.record().clone();
            gone.merged_into = None;
            gone.version = other.version();
            gone.updated_at = other.updated_at();
            prop_assert_eq!(&gone, other.record());
            let edited = w.keep.history.iter().filter(|e| matches!(e.change, Change::Edited { .. })).count();
            let filled = [
                keep.email().is_none() && other.email().is_some(),
                keep.phone().is_none() && other.phone().is_some(),
                keep.company().is_none() && other.company().is_some(),
            ].into_iter().filter(|b| *b).count();
            prop_assert_eq!(edited, filled);
        }
    }
}
