//! [`State::commit`]: a [`Changeset`] applied in place, step by step, with an undo log that
//! puts back every change when a precondition fails (or anything else stops the commit).
//!
//! Applying in place and undoing is what keeps a commit's cost proportional to what it
//! writes: the alternative, a copy of the whole state per commit swapped in on success, made
//! an import quadratic in the leads stored.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crm_core::{
    Changeset, Committed, Entity, Event, Lead, LeadId, LeadRecord, Precondition, Step, StoreError,
    Write,
};

use crate::store::{Notice, State};

/// Puts back one change.
type Undo = Box<dyn FnOnce(&mut State)>;

/// A commit under way: the state and how to put back each change made so far.
struct Tx<'a> {
    s: &'a mut State,
    undo: Vec<Undo>,
}

impl Drop for Tx<'_> {
    /// A commit that did not finish (a refusal, an error, or a panic unwinding through it)
    /// leaves the state as it found it: the changes are put back, newest first.
    fn drop(&mut self) {
        while let Some(undo) = self.undo.pop() {
            undo(self.s);
        }
    }
}

/// A map the log can put a key of back in: insert or remove, returning what was there.
trait Table<K, V> {
    fn put(&mut self, key: K, value: Option<V>) -> Option<V>;
}

impl<K: Eq + Hash, V> Table<K, V> for HashMap<K, V> {
    fn put(&mut self, key: K, value: Option<V>) -> Option<V> {
        match value {
            Some(v) => self.insert(key, v),
            None => self.remove(&key),
        }
    }
}

impl<K: Ord, V> Table<K, V> for BTreeMap<K, V> {
    fn put(&mut self, key: K, value: Option<V>) -> Option<V> {
        match value {
            Some(v) => self.insert(key, v),
            None => self.remove(&key),
        }
    }
}

fn not_found(entity: Entity, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

impl State {
    /// [`crm_core::LeadStore::commit`]: the steps in order, all of them or none.
    pub(crate) fn commit(&mut self, changes: &Changeset) -> Result<Committed, StoreError> {
        let mut tx = Tx {
            s: self,
            undo: Vec::new(),
        };
        let mut done = Committed::default();
        for step in &changes.steps {
            match step {
                Step::Require(p) => tx.s.require(p)?,
                Step::Write(w) => tx.apply(w, &mut done)?,
            }
        }
        // Every step held: keep the changes.
        tx.undo.clear();
        Ok(done)
    }

    /// Whether `p` holds over the state as it is; the refusal it names when not.
    fn require(&self, p: &Precondition) -> Result<(), StoreError> {
        let lead = |id: &LeadId| self.leads.get(id).map(|(l, _)| l);
        let (holds, found) = match p {
            Precondition::LeadAbsent(id) => {
                let found = self.leads.contains_key(id);
                (!found, found)
            }
            Precondition::LeadVersion { id, version } => match lead(id) {
                Some(l) => (l.version() == *version, true),
                None => (false, false),
            },
            Precondition::LeadWritable(id) => match lead(id) {
                Some(l) => (!l.is_read_only(), true),
                None => (false, false),
            },
            Precondition::FollowUpState(read) => match lead(&read.id()) {
                Some(l) => (same_follow_up_state(l, read), true),
                None => (false, false),
            },
            Precondition::NoDuplicateOf(l) => match self.duplicate_of(l) {
                Some(e) => return Err(e),
                None => (true, true),
            },
            Precondition::OpportunityAbsent(id) => {
                let found = self.opportunities.contains_key(id);
                (!found, found)
            }
            Precondition::OpportunityVersion { id, version } => match self.opportunities.get(id) {
                Some(o) => (o.version == *version, true),
                None => (false, false),
            },
            Precondition::OpportunityLeadWritable(id) => match self.opportunities.get(id) {
                Some(o) => match lead(&o.lead_id) {
                    Some(l) if l.is_read_only() => {
                        return Err(StoreError::ReadOnly { lead: o.lead_id });
                    }
                    Some(_) => (true, true),
                    // No write removes a lead; were one gone, its absence is the refusal.
                    None => return Err(not_found(Entity::Lead, o.lead_id)),
                },
                None => (false, false),
            },
            Precondition::TurnIs { rule, after } => {
                (self.rotations.get(rule) == after.as_ref(), true)
            }
            Precondition::KeyFree(key) => {
                let found = self.import_keys.contains_key(key);
                (!found, found)
            }
            // The version is the business of the `LeadVersion` steps a merge has with it.
            Precondition::HoldsExactly { lead, moved, .. } => {
                let interactions = self.interactions.get(lead).into_iter().flatten();
                let opportunities = self.opportunities_by_lead.get(lead).into_iter().flatten();
                let holds = moved.is_exactly(interactions.map(|i| i.id), opportunities.copied());
                (holds, true)
            }
            Precondition::ClientPending(id) => {
                let found = self.pending.contains_key(id);
                (found, found)
            }
        };
        if holds { Ok(()) } else { Err(p.refusal(found)) }
    }
}

/// Whether the stored lead's follow-up state is still the one `read` had: an interaction or
/// a sweep changes it without moving the version.
fn same_follow_up_state(stored: &Lead, read: &Lead) -> bool {
    stored.version() == read.version()
        && stored.last_interaction_at() == read.last_interaction_at()
        && stored.next_follow_up_at() == read.next_follow_up_at()
        && stored.follow_up_notified_at() == read.follow_up_notified_at()
        && stored.follow_up_reminded_for() == read.follow_up_reminded_for()
        && stored.owner_notified_at() == read.owner_notified_at()
        && stored.escalated_for() == read.escalated_for()
}

fn checked(r: LeadRecord) -> Result<Lead, StoreError> {
    Lead::from_record(r).map_err(|e| StoreError::Corrupt {
        what: "lead",
        source: Box::new(e),
    })
}

impl Tx<'_> {
    /// Applies one write.
    fn apply(&mut self, w: &Write, done: &mut Committed) -> Result<(), StoreError> {
        match w {
            Write::InsertLead(lead) => {
                let text = lead.search_text();
                self.set_lead(lead.id(), Some((lead.as_ref().clone(), text)));
            }
            Write::UpdateLead(lead) => self.update_lead(lead)?,
            Write::History(h) => self.push_to(|s| &mut s.history, h.lead_id, h.clone()),
            Write::Event(e) => {
                let seq = self.s.events.last().map_or(1, |l| l.seq + 1);
                self.s.events.push(Event {
                    seq,
                    event: e.clone(),
                });
                self.log(|s| {
                    s.events.pop();
                });
            }
            Write::PendingClient(p) => {
                let id = p.request.lead_id;
                self.put(|s| &mut s.pending, id, Some(p.as_ref().clone()));
            }
            Write::Interaction(i) => {
                let (at, next) = (i.occurred_at, i.next_follow_up_at);
                // A captured interaction is the lead speaking, not a follow-up.
                let follows_up = i.captured_by.is_none();
                self.change_lead(i.lead_id, |r| {
                    if follows_up {
                        r.last_interaction_at =
                            Some(r.last_interaction_at.map_or(at, |t| t.max(at)));
                    }
                    if next.is_some() {
                        r.next_follow_up_at = next;
                    }
                })?;
                self.push_to(|s| &mut s.interactions, i.lead_id, i.as_ref().clone());
            }
            Write::InsertOpportunity(o) => {
                self.put(|s| &mut s.opportunities, o.id, Some(o.as_ref().clone()));
                self.push_to(|s| &mut s.opportunities_by_lead, o.lead_id, o.id);
            }
            Write::UpdateOpportunity(o) => {
                let stored = self
                    .s
                    .opportunities
                    .get(&o.id)
                    .ok_or_else(|| not_found(Entity::Opportunity, o.id))?;
                // Moving an opportunity to another lead is a merge's business, not an
                // update's.
                let mut o = o.as_ref().clone();
                o.lead_id = stored.lead_id;
                self.put(|s| &mut s.opportunities, o.id, Some(o));
            }
            Write::Turn { rule, owner } => {
                self.put(|s| &mut s.rotations, rule.clone(), Some(*owner));
            }
            Write::ImportKey { key, lead } => {
                self.put(|s| &mut s.import_keys, key.clone(), Some(*lead));
            }
            Write::StageProbability(c) => {
                self.s.stage_probabilities.push(c.clone());
                self.log(|s| {
                    s.stage_probabilities.pop();
                });
            }
            Write::MoveRecords { from, to } => self.move_records(*from, *to)?,
            Write::FollowUpMarks(lead) => {
                let r = lead.record();
                let marks = (
                    r.follow_up_notified_at,
                    r.follow_up_reminded_for,
                    r.owner_notified_at,
                    r.escalated_for,
                );
                self.change_lead(lead.id(), |r| {
                    (
                        r.follow_up_notified_at,
                        r.follow_up_reminded_for,
                        r.owner_notified_at,
                        r.escalated_for,
                    ) = marks;
                })?;
            }
            Write::Notice {
                notice,
                claimed_until,
            } => {
                let n = Notice {
                    notice: notice.as_ref().clone(),
                    claimed_until: *claimed_until,
                };
                self.put(|s| &mut s.notices, notice.id, Some(n));
            }
            Write::DropNotice(id) => self.put(|s| &mut s.notices, *id, None),
            Write::ReleaseNotice {
                id,
                claimed_until,
                at,
                ..
            } => {
                // The memory store keeps no delivery attempts for notices: the error is for
                // the SQL stores' operators.
                if let Some(n) = self.s.notices.get(id)
                    && n.claimed_until == *claimed_until
                {
                    let mut n = n.clone();
                    n.claimed_until = *at;
                    self.put(|s| &mut s.notices, *id, Some(n));
                }
            }
            Write::ReleaseClient {
                lead,
                claimed_until,
            } => {
                let claimed = Some(*claimed_until);
                if self.s.pending.get(lead).map(|p| p.claimed_until) == Some(claimed) {
                    self.change_pending(*lead, |p| p.claimed_until = None);
                }
            }
            Write::ClientFailed { lead, error, at } => {
                self.change_pending(*lead, |p| {
                    p.attempts += 1;
                    p.last_error = Some(error.clone());
                    p.last_attempt_at = Some(*at);
                });
            }
            Write::ClientCreated { lead, client } => {
                self.change_lead(*lead, |r| r.client_id = Some(client.clone()))?;
                self.put(|s| &mut s.pending, *lead, None);
            }
            Write::ScoreCounts(changes) => {
                for c in changes {
                    let key = (c.team.clone(), c.field.clone(), c.value.clone());
                    let (won, lost) = self.s.score_counts.get(&key).copied().unwrap_or((0, 0));
                    let sum = (won.saturating_add(c.won), lost.saturating_add(c.lost));
                    self.put(|s| &mut s.score_counts, key, Some(sum));
                }
            }
            Write::Count {
                lead,
                version,
                counted,
            } => {
                let (stored, _) =
                    (self.s.leads.get(lead)).ok_or_else(|| not_found(Entity::Lead, lead))?;
                if stored.version() != *version || stored.counted_as().is_some() {
                    return Err(StoreError::Conflict {
                        entity: Entity::Lead,
                        id: lead.to_string(),
                        expected: *version,
                    });
                }
                let counted = counted.as_ref().clone();
                self.change_lead(*lead, |r| {
                    r.counted_as = Some(counted);
                    r.version += 1;
                })?;
            }
            Write::Calibration { team, calibration } => {
                self.put(|s| &mut s.calibrations, team.clone(), Some(*calibration));
            }
            Write::AckEvents(up_to) => {
                let last = self.s.events.last().map_or(0, |e| e.seq);
                let new = (*up_to).min(last);
                let before = self.s.acked;
                if new > before {
                    self.s.acked = new;
                    self.log(move |s| s.acked = before);
                    done.events_acked += new - before;
                }
            }
        }
        Ok(())
    }

    /// Notes how to put back the change just made.
    fn log(&mut self, undo: impl FnOnce(&mut State) + 'static) {
        self.undo.push(Box::new(undo));
    }

    /// Sets (or, for `None`, removes) `key` in a table of the state.
    fn put<T, K, V>(&mut self, table: fn(&mut State) -> &mut T, key: K, value: Option<V>)
    where
        T: Table<K, V> + 'static,
        K: Clone + 'static,
        V: 'static,
    {
        let before = table(self.s).put(key.clone(), value);
        self.log(move |s| {
            table(s).put(key, before);
        });
    }

    /// Appends `item` to `key`'s list in a table of the state.
    fn push_to<K, V>(&mut self, table: fn(&mut State) -> &mut HashMap<K, Vec<V>>, key: K, item: V)
    where
        K: Eq + Hash + Clone + 'static,
        V: 'static,
    {
        table(self.s).entry(key.clone()).or_default().push(item);
        self.log(move |s| {
            if let Some(list) = table(s).get_mut(&key) {
                list.pop();
            }
        });
    }

    /// Stores lead `id` (or removes it), indexes included.
    fn set_lead(&mut self, id: LeadId, lead: Option<(Lead, String)>) {
        let before = self.s.replace_lead(id, lead);
        self.log(move |s| {
            s.replace_lead(id, before);
        });
    }

    /// Replaces a lead by a changed copy of its record, checked by [`Lead::from_record`];
    /// for fields the search text is not made of.
    fn change_lead(
        &mut self,
        id: LeadId,
        f: impl FnOnce(&mut LeadRecord),
    ) -> Result<(), StoreError> {
        let (lead, text) = self
            .s
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        let mut r = lead.record().clone();
        f(&mut r);
        let changed = (checked(r)?, text.clone());
        self.set_lead(id, Some(changed));
        Ok(())
    }

    /// [`Write::UpdateLead`]: every field as written but the ones with writes of their own
    /// (the client, the last interaction and the follow-up marks), which keep their stored
    /// values, as the SQL stores' `UPDATE` leaves their columns alone.
    fn update_lead(&mut self, lead: &Lead) -> Result<(), StoreError> {
        let id = lead.id();
        let (stored, _) = self
            .s
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        let kept = stored.record();
        let mut r = lead.record().clone();
        r.client_id = kept.client_id.clone();
        r.last_interaction_at = kept.last_interaction_at;
        r.follow_up_notified_at = kept.follow_up_notified_at;
        r.follow_up_reminded_for = kept.follow_up_reminded_for;
        r.owner_notified_at = kept.owner_notified_at;
        r.escalated_for = kept.escalated_for;
        let lead = checked(r)?;
        let text = lead.search_text();
        self.set_lead(id, Some((lead, text)));
        Ok(())
    }

    /// Changes a pending client record; nothing when there is none.
    fn change_pending(&mut self, lead: LeadId, f: impl FnOnce(&mut crm_core::PendingClient)) {
        if let Some(p) = self.s.pending.get(&lead) {
            let mut p = p.clone();
            f(&mut p);
            self.put(|s| &mut s.pending, lead, Some(p));
        }
    }

    /// [`Write::MoveRecords`]: what a merge stores besides its two lead writes.
    fn move_records(&mut self, from: LeadId, to: LeadId) -> Result<(), StoreError> {
        // The lead writes keep the stored last interaction times (an interaction does not
        // move the version); the lead kept takes the later of the two.
        let last = |s: &State, id| s.leads.get(&id).and_then(|(l, _)| l.last_interaction_at());
        let from_last = last(self.s, from);
        self.change_lead(to, |r| {
            r.last_interaction_at = r.last_interaction_at.max(from_last);
        })?;
        let interactions = self.s.interactions.get(&from).cloned().unwrap_or_default();
        self.put(|s| &mut s.interactions, from, None);
        for mut i in interactions {
            i.lead_id = to;
            self.push_to(|s| &mut s.interactions, to, i);
        }
        let opportunities = self
            .s
            .opportunities_by_lead
            .get(&from)
            .cloned()
            .unwrap_or_default();
        self.put(|s| &mut s.opportunities_by_lead, from, None);
        for id in opportunities {
            if let Some(o) = self.s.opportunities.get(&id) {
                let mut o = o.clone();
                o.lead_id = to;
                self.put(|s| &mut s.opportunities, id, Some(o));
            }
            self.push_to(|s| &mut s.opportunities_by_lead, to, id);
        }
        // Leads merged into `from` before now point at the lead they ended up in.
        let earlier: Vec<LeadId> = self
            .s
            .leads
            .values()
            .filter(|(l, _)| l.merged_into() == Some(from))
            .map(|(l, _)| l.id())
            .collect();
        for id in earlier {
            self.change_lead(id, |r| r.merged_into = Some(to))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use crm_core::{
        Email, EmployeeId, EventKind, LeadStatus, Name, NewEvent, NewLead, Source,
        changeset::Precondition as P,
    };

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn lead(created: DateTime<Utc>) -> Lead {
        let me = EmployeeId::new(1).unwrap();
        let input = NewLead::new(Name::parse("Sara").unwrap(), Source::web())
            .email(Email::parse("sara@example.com").unwrap());
        Lead::create(LeadId::new_at(created), input, me, me, created).unwrap()
    }

    fn changed(l: &Lead, f: impl FnOnce(&mut LeadRecord)) -> Lead {
        let mut r = l.record().clone();
        f(&mut r);
        Lead::from_record(r).unwrap()
    }

    #[test]
    fn a_refused_commit_leaves_the_state_and_its_indexes_as_they_were() {
        let mut s = State::default();
        let a = lead(at(0));
        let kind = EventKind::LeadCreated {
            name: a.name().clone(),
            source: a.source().clone(),
            owner: a.owner(),
        };
        let event = NewEvent::new(a.id(), Some(a.owner()), at(0), kind);
        let c = Changeset::new()
            .write(Write::InsertLead(Box::new(a.clone())))
            .write(Write::Event(event.clone()))
            .write(Write::AckEvents(1))
            // Holds no longer: the write above took the id.
            .require(P::LeadAbsent(a.id()));
        let refused = s.commit(&c);
        assert!(
            matches!(refused, Err(StoreError::Conflict { .. })),
            "{refused:?}"
        );
        assert!(s.leads.is_empty() && s.by_created.is_empty() && s.events.is_empty());
        assert!(s.by_email.values().all(|v| v.is_empty()));
        assert_eq!(s.open_by_owner.values().sum::<u64>(), 0);
        assert_eq!(s.acked, 0);

        // The same writes without the failing step are stored, and the event acknowledged.
        let c = Changeset::new()
            .write(Write::InsertLead(Box::new(a.clone())))
            .write(Write::Event(event))
            .write(Write::AckEvents(5));
        assert_eq!(s.commit(&c).unwrap().events_acked, 1);
        assert_eq!(s.by_created.len(), 1);
        assert_eq!(s.open_by_owner.get(&a.owner()), Some(&1));
    }

    #[test]
    fn an_update_keeps_the_follow_up_marks_it_does_not_write() {
        let mut s = State::default();
        let a = lead(at(0));
        s.commit(&Changeset::new().write(Write::InsertLead(Box::new(a.clone()))))
            .unwrap();
        let marked = changed(&a, |r| {
            r.follow_up_notified_at = Some(at(10));
            r.escalated_for = Some(at(11));
            // Not a mark: a marks write leaves it alone.
            r.name = Name::parse("Other").unwrap();
        });
        let c = Changeset::new()
            .require(P::FollowUpState(Box::new(a.clone())))
            .write(Write::FollowUpMarks(Box::new(marked)));
        s.commit(&c).unwrap();
        let stored = s.leads[&a.id()].0.clone();
        assert_eq!(stored.name().as_str(), "Sara");
        assert_eq!(stored.escalated_for(), Some(at(11)));
        // The follow-up state moved: a claim decided on `a` is refused.
        let again = s.commit(&c);
        assert!(
            matches!(again, Err(StoreError::Conflict { .. })),
            "{again:?}"
        );

        let update = changed(&a, |r| {
            r.version = 2;
            r.status = LeadStatus::Contacted;
            r.updated_at = at(20);
        });
        let c = Changeset::new()
            .require(P::LeadVersion {
                id: a.id(),
                version: 1,
            })
            .write(Write::UpdateLead(Box::new(update)));
        s.commit(&c).unwrap();
        let stored = s.leads[&a.id()].0.clone();
        assert_eq!(
            (stored.version(), stored.status()),
            (2, LeadStatus::Contacted)
        );
        assert_eq!(stored.follow_up_notified_at(), Some(at(10)));
        assert_eq!(stored.escalated_for(), Some(at(11)));
    }
}
