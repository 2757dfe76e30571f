//! A minimal store adapter for crm-core, written outside the crm workspace: [`KitStore`]
//! keeps everything in memory and implements only the ten required methods of
//! [`LeadStore`]; every other read (reports, duplicate groups, the follow-up claim, ...)
//! comes from crm-core's defaults. It stands for any third-party adapter (another
//! database); its `tests/kit.rs` proves it behaves like the official stores with crm-tests'
//! kit.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::duplicates::find_duplicate;
use crm_core::{
    Changeset, Committed, Cursor, EmployeeId, Entity, Event, FollowUpNotice, HistoryEntry,
    ImportKey, Interaction, Lead, LeadDetail, LeadId, LeadQuery, LeadRecord, LeadStore, NoticeId,
    Opportunity, OpportunityId, OutboxEntry, OutboxKind, OutboxRead, Page, PendingClient,
    Precondition, Scope, StageProbabilityChange, Step, StoreError, Write,
};

/// An in-memory store with only the required methods of [`LeadStore`].
#[derive(Debug, Default)]
pub struct KitStore {
    state: Mutex<State>,
    skip_duplicate_check: bool,
}

/// Every table, as plain maps and lists.
#[derive(Clone, Debug, Default)]
struct State {
    /// Every lead (merged ones too) with its [`Lead::search_text`].
    leads: BTreeMap<LeadId, (Lead, String)>,
    /// History entries, in write order (each names its lead).
    history: Vec<HistoryEntry>,
    interactions: Vec<Interaction>,
    opportunities: BTreeMap<OpportunityId, Opportunity>,
    /// Clients still to create, by converted lead.
    pending: BTreeMap<LeadId, PendingClient>,
    /// The follow-up outbox: each notice and until when it is claimed.
    notices: BTreeMap<NoticeId, (FollowUpNotice, DateTime<Utc>)>,
    events: Vec<Event>,
    /// The highest acknowledged event seq.
    acked: u64,
    /// Each assignment rule's last owner, by rotation key.
    turns: BTreeMap<String, EmployeeId>,
    import_keys: BTreeMap<ImportKey, LeadId>,
    /// Stage probability changes, oldest first.
    stage_probabilities: Vec<StageProbabilityChange>,
}

fn not_found(id: LeadId) -> StoreError {
    StoreError::NotFound {
        entity: Entity::Lead,
        id: id.to_string(),
    }
}

fn checked(r: LeadRecord) -> Result<Lead, StoreError> {
    Lead::from_record(r).map_err(|e| StoreError::Corrupt {
        what: "lead",
        source: Box::new(e),
    })
}

/// The follow-up marks of `from` copied onto `to`.
fn copy_marks(to: &mut LeadRecord, from: &LeadRecord) {
    to.follow_up_notified_at = from.follow_up_notified_at;
    to.follow_up_reminded_for = from.follow_up_reminded_for;
    to.owner_notified_at = from.owner_notified_at;
    to.escalated_for = from.escalated_for;
}

/// What [`Precondition::FollowUpState`] compares: the version, and what an interaction or a
/// sweep changes without moving it.
fn follow_up_state(l: &Lead) -> impl PartialEq {
    let r = l.record();
    let times = [r.last_interaction_at, r.next_follow_up_at];
    let marks = [
        r.follow_up_notified_at,
        r.follow_up_reminded_for,
        r.owner_notified_at,
        r.escalated_for,
    ];
    (r.version, times, marks)
}

impl State {
    fn lead(&self, id: LeadId) -> Option<&Lead> {
        self.leads.get(&id).map(|(l, _)| l)
    }

    fn put(&mut self, lead: Lead) {
        let text = lead.search_text();
        self.leads.insert(lead.id(), (lead, text));
    }

    /// Replaces a stored lead by a changed copy of its record.
    fn change(&mut self, id: LeadId, f: impl FnOnce(&mut LeadRecord)) -> Result<(), StoreError> {
        let mut r = self.lead(id).ok_or_else(|| not_found(id))?.record().clone();
        f(&mut r);
        self.put(checked(r)?);
        Ok(())
    }

    /// The precondition's refusal unless it holds now.
    fn check(&self, p: &Precondition, duplicates: bool) -> Result<(), StoreError> {
        let holds = |ok: bool, found: bool| if ok { Ok(()) } else { Err(p.refusal(found)) };
        match p {
            Precondition::LeadAbsent(id) => holds(self.lead(*id).is_none(), true),
            Precondition::LeadVersion { id, version } => {
                let l = self.lead(*id);
                holds(l.is_some_and(|l| l.version() == *version), l.is_some())
            }
            Precondition::LeadWritable(id) => {
                let l = self.lead(*id);
                holds(l.is_some_and(|l| !l.is_read_only()), l.is_some())
            }
            Precondition::FollowUpState(read) => {
                let l = self.lead(read.id());
                let same = l.is_some_and(|l| follow_up_state(l) == follow_up_state(read));
                holds(same, l.is_some())
            }
            Precondition::NoDuplicateOf(lead) if duplicates => {
                // The candidates share the lead's email or phone key (a real adapter finds
                // them by index); `find_duplicate` applies the open and merged rules.
                let shares = |o: &Lead| {
                    (lead.email().is_some() && o.email() == lead.email())
                        || lead
                            .phone()
                            .is_some_and(|p| o.phone().is_some_and(|q| q.key() == p.key()))
                };
                let candidates: Vec<&Lead> = self
                    .leads
                    .values()
                    .map(|(l, _)| l)
                    .filter(|l| shares(l))
                    .collect();
                match find_duplicate(lead, candidates.iter().copied()) {
                    Some(d) => Err(StoreError::Duplicate {
                        existing: d.existing,
                        field: d.field,
                    }),
                    None => Ok(()),
                }
            }
            Precondition::NoDuplicateOf(_) => Ok(()),
            Precondition::OpportunityAbsent(id) => {
                holds(!self.opportunities.contains_key(id), true)
            }
            Precondition::OpportunityVersion { id, version } => {
                let o = self.opportunities.get(id);
                holds(o.is_some_and(|o| o.version == *version), o.is_some())
            }
            Precondition::OpportunityLeadWritable(id) => match self.opportunities.get(id) {
                None => Err(p.refusal(false)),
                Some(o) if self.lead(o.lead_id).is_some_and(Lead::is_read_only) => {
                    Err(StoreError::ReadOnly { lead: o.lead_id })
                }
                Some(_) => Ok(()),
            },
            Precondition::TurnIs { rule, after } => {
                holds(self.turns.get(rule) == after.as_ref(), true)
            }
            Precondition::KeyFree(key) => holds(!self.import_keys.contains_key(key), true),
            Precondition::HoldsExactly { lead, moved, .. } => {
                let interactions = self.interactions.iter().filter(|i| i.lead_id == *lead);
                let opportunities = self.opportunities.values().filter(|o| o.lead_id == *lead);
                let exactly =
                    moved.is_exactly(interactions.map(|i| i.id), opportunities.map(|o| o.id));
                holds(exactly, self.lead(*lead).is_some())
            }
            Precondition::ClientPending(id) => holds(self.pending.contains_key(id), false),
        }
    }

    /// Applies one write (see the doc of each [`Write`] variant).
    fn apply(&mut self, w: &Write, done: &mut Committed) -> Result<(), StoreError> {
        match w {
            Write::InsertLead(lead) => self.put((**lead).clone()),
            Write::UpdateLead(lead) => {
                let stored = self.lead(lead.id()).ok_or_else(|| not_found(lead.id()))?;
                let (stored, mut r) = (stored.record(), lead.record().clone());
                r.client_id = stored.client_id.clone();
                r.last_interaction_at = stored.last_interaction_at;
                copy_marks(&mut r, stored);
                self.put(checked(r)?);
            }
            Write::History(h) => self.history.push(h.clone()),
            Write::Event(e) => {
                let seq = self.events.last().map_or(1, |l| l.seq + 1);
                let event = e.clone();
                self.events.push(Event { seq, event });
            }
            Write::PendingClient(p) => {
                self.pending.insert(p.request.lead_id, (**p).clone());
            }
            Write::Interaction(i) => {
                self.change(i.lead_id, |r| {
                    // A captured interaction is the lead speaking, not a follow-up.
                    if i.captured_by.is_none() {
                        r.last_interaction_at = r.last_interaction_at.max(Some(i.occurred_at));
                    }
                    if i.next_follow_up_at.is_some() {
                        r.next_follow_up_at = i.next_follow_up_at;
                    }
                })?;
                self.interactions.push((**i).clone());
            }
            Write::InsertOpportunity(o) => {
                self.opportunities.insert(o.id, (**o).clone());
            }
            Write::UpdateOpportunity(o) => {
                let stored = self.opportunities.get(&o.id).ok_or(StoreError::NotFound {
                    entity: Entity::Opportunity,
                    id: o.id.to_string(),
                })?;
                let lead_id = stored.lead_id;
                self.opportunities.insert(
                    o.id,
                    Opportunity {
                        lead_id,
                        ..(**o).clone()
                    },
                );
            }
            Write::Turn { rule, owner } => {
                self.turns.insert(rule.clone(), *owner);
            }
            Write::ImportKey { key, lead } => {
                self.import_keys.insert(key.clone(), *lead);
            }
            Write::StageProbability(c) => self.stage_probabilities.push(c.clone()),
            Write::MoveRecords { from, to } => {
                for i in self.interactions.iter_mut().filter(|i| i.lead_id == *from) {
                    i.lead_id = *to;
                }
                for o in self
                    .opportunities
                    .values_mut()
                    .filter(|o| o.lead_id == *from)
                {
                    o.lead_id = *to;
                }
                let earlier: Vec<LeadId> = (self.leads.values())
                    .filter(|(l, _)| l.merged_into() == Some(*from))
                    .map(|(l, _)| l.id())
                    .collect();
                for id in earlier {
                    self.change(id, |r| r.merged_into = Some(*to))?;
                }
                let last = self.lead(*from).and_then(Lead::last_interaction_at);
                self.change(*to, |r| {
                    r.last_interaction_at = r.last_interaction_at.max(last)
                })?;
            }
            Write::FollowUpMarks(lead) => {
                self.change(lead.id(), |r| copy_marks(r, lead.record()))?
            }
            Write::Notice {
                notice,
                claimed_until,
            } => {
                self.notices
                    .insert(notice.id, ((**notice).clone(), *claimed_until));
            }
            Write::DropNotice(id) => {
                self.notices.remove(id);
            }
            Write::ReleaseNotice {
                id,
                claimed_until,
                at,
                ..
            } => {
                if let Some((_, until)) = self.notices.get_mut(id)
                    && until == claimed_until
                {
                    *until = *at;
                }
            }
            Write::ReleaseClient {
                lead,
                claimed_until,
            } => {
                if let Some(p) = self.pending.get_mut(lead)
                    && p.claimed_until == Some(*claimed_until)
                {
                    p.claimed_until = None;
                }
            }
            Write::ClientFailed { lead, error, at } => {
                if let Some(p) = self.pending.get_mut(lead) {
                    p.attempts += 1;
                    p.last_error = Some(error.clone());
                    p.last_attempt_at = Some(*at);
                }
            }
            Write::ClientCreated { lead, client } => {
                self.change(*lead, |r| r.client_id = Some(client.clone()))?;
                self.pending.remove(lead);
            }
            // This store answers the scoring reads from its leads (the port's defaults),
            // so the counts and calibrations kept beside them are not needed.
            Write::ScoreCounts(_) | Write::Calibration { .. } => {}
            Write::Count {
                lead,
                version,
                counted,
            } => {
                let stored = self.lead(*lead).ok_or_else(|| not_found(*lead))?;
                if stored.version() != *version || stored.counted_as().is_some() {
                    return Err(StoreError::Conflict {
                        entity: Entity::Lead,
                        id: lead.to_string(),
                        expected: *version,
                    });
                }
                self.change(*lead, |r| {
                    r.counted_as = Some((**counted).clone());
                    r.version += 1;
                })?;
            }
            Write::AckEvents(up_to) => {
                let last = self.events.last().map_or(0, |e| e.seq);
                let new = (*up_to).min(last);
                if new > self.acked {
                    done.events_acked += new - self.acked;
                    self.acked = new;
                }
            }
        }
        Ok(())
    }
}

impl KitStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with a planted bug: it never checks leads for duplicates. The kit
    /// must fail on it (`tests/kit_catches_bugs.rs`), or the kit proves nothing.
    pub fn without_duplicate_check() -> Self {
        Self {
            skip_duplicate_check: true,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A commit swaps in a whole new state or nothing, so a poisoned lock holds a
        // consistent one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl LeadStore for KitStore {
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
        let mut state = self.lock();
        // All or nothing, simply: the steps apply to a copy, swapped in when every one
        // passed. A real adapter runs them in one database transaction instead.
        let mut next = state.clone();
        let mut done = Committed::default();
        for step in &changes.steps {
            match step {
                Step::Require(p) => next.check(p, !self.skip_duplicate_check)?,
                Step::Write(w) => next.apply(w, &mut done)?,
            }
        }
        *state = next;
        Ok(done)
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        Ok(self.lock().lead(id).cloned())
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        let s = self.lock();
        let Some(lead) = s.lead(id) else {
            return Ok(None);
        };
        // Merging repoints earlier merges at the lead kept, so `merged_into == id` finds
        // every lead whose history shows here.
        let shown = |l: LeadId| l == id || s.lead(l).and_then(Lead::merged_into) == Some(id);
        let mut history: Vec<HistoryEntry> = s
            .history
            .iter()
            .filter(|h| shown(h.lead_id))
            .cloned()
            .collect();
        history.sort_by_key(|h| (h.at, h.lead_id));
        let mut interactions: Vec<Interaction> = s
            .interactions
            .iter()
            .filter(|i| i.lead_id == id)
            .cloned()
            .collect();
        interactions.sort_by_key(|i| (i.occurred_at, i.id));
        let mut opportunities: Vec<Opportunity> = s
            .opportunities
            .values()
            .filter(|o| o.lead_id == id)
            .cloned()
            .collect();
        opportunities.sort_by_key(|o| (o.created_at, o.id));
        Ok(Some(LeadDetail {
            lead: lead.clone(),
            history,
            interactions,
            opportunities,
            pending_client: s.pending.get(&id).cloned(),
        }))
    }

    async fn list_leads_in(
        &self,
        query: &LeadQuery,
        scope: &Scope,
    ) -> Result<Page<Lead>, StoreError> {
        let s = self.lock();
        let mut items: Vec<&Lead> = (s.leads.values())
            .filter(|(l, text)| {
                l.merged_into().is_none() && scope.admits(l.owner()) && query.matches(l, text)
            })
            .map(|(l, _)| l)
            .collect();
        items.sort_by_key(|l| std::cmp::Reverse((l.created_at(), l.id())));
        let size = query.page_size() as usize;
        let more = items.len() > size;
        items.truncate(size);
        let next = items.last().filter(|_| more).map(|l| Cursor::after(l));
        let items = items.into_iter().cloned().collect();
        Ok(Page { items, next })
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        Ok(self.lock().opportunities.get(&id).cloned())
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        Ok(self.lock().turns.get(rule).copied())
    }

    async fn imported(
        &self,
        keys: &[ImportKey],
    ) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        let s = self.lock();
        Ok(keys
            .iter()
            .filter_map(|k| s.import_keys.get(k).map(|id| (k.clone(), *id)))
            .collect())
    }

    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        let s = self.lock();
        let all = s.stage_probabilities.iter().rev();
        Ok(all.take(limit as usize).cloned().collect())
    }

    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut s = self.lock();
        let free = |claim: Option<DateTime<Utc>>| {
            read.due_at
                .is_none_or(|due| claim.is_none_or(|until| until <= due))
        };
        let limit = read.limit as usize;
        match read.kind {
            OutboxKind::FollowUps => Ok((s.notices.values_mut())
                .filter(|(_, until)| free(Some(*until)))
                .take(limit)
                .map(|(notice, until)| {
                    *until = read.claim_until.unwrap_or(*until);
                    OutboxEntry::Notice {
                        notice: notice.clone(),
                        claimed_until: *until,
                    }
                })
                .collect()),
            OutboxKind::Clients => {
                let mut due: Vec<&mut PendingClient> = s
                    .pending
                    .values_mut()
                    .filter(|p| free(p.claimed_until))
                    .collect();
                due.sort_by_key(|p| (p.created_at, p.request.lead_id));
                Ok(due
                    .into_iter()
                    .take(limit)
                    .map(|p| {
                        p.claimed_until = read.claim_until.or(p.claimed_until);
                        OutboxEntry::Client(p.clone())
                    })
                    .collect())
            }
        }
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        let s = self.lock();
        let from = after.max(s.acked);
        let admitted = |e: &&Event| {
            s.lead(e.event.lead_id)
                .is_some_and(|l| scope.admits(l.owner()))
        };
        Ok((s.events.iter())
            .filter(|e| e.seq > from)
            .filter(admitted)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
