use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::duplicates::{duplicate_groups, find_duplicate};
use crm_core::escalation;
use crm_core::follow_up::{
    awaits_follow_up, is_overdue, notify_first_contact, refreshed, remind_overdue,
};
use crm_core::{
    Change, ClientId, DuplicateGroup, EmployeeId, Entity, Event, FollowUpClaim, FollowUpNotice,
    HistoryEntry, ImportBatch, ImportKey, ImportLookup, Interaction, Lead, LeadDetail, LeadId,
    LeadQuery, LeadRecord, LeadStore, LeadWrite, LostReasonReport, MergeWrite, NewEvent, NoticeId,
    Opportunity, OpportunityId, OpportunityWrite, Page, PendingClient, PipelineFilter, PipelineRow,
    Report, ReportFilter, Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow,
    StoreError, Turn,
};

/// The in-memory store. All state sits behind one mutex, so every write is atomic and
/// isolated; no lock is held across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

type Key = (DateTime<Utc>, LeadId);

#[derive(Clone, Debug, Default)]
struct State {
    leads: HashMap<LeadId, (Lead, String)>,
    /// Every lead by (created_at, id): listing order and sweep order.
    by_created: BTreeSet<Key>,
    by_email: HashMap<String, BTreeSet<Key>>,
    /// By phone key (E.164 plus extension), so every spelling of a number meets here.
    by_phone: HashMap<String, BTreeSet<Key>>,
    history: HashMap<LeadId, Vec<HistoryEntry>>,
    interactions: HashMap<LeadId, Vec<Interaction>>,
    opportunities: HashMap<OpportunityId, Opportunity>,
    opportunities_by_lead: HashMap<LeadId, Vec<OpportunityId>>,
    pending: HashMap<LeadId, PendingClient>,
    /// The follow-up outbox: notices not yet delivered, with their claim.
    notices: BTreeMap<NoticeId, Notice>,
    events: Vec<Event>,
    acked: u64,
    /// Open leads per owner, kept with every write (the least-open assignment rule).
    open_by_owner: HashMap<EmployeeId, u64>,
    /// Each assignment rule's last owner, by rotation key.
    rotations: HashMap<String, EmployeeId>,
    /// Every stored stage probability change, oldest first.
    stage_probabilities: Vec<StageProbabilityChange>,
    /// Rows imported, by import key: the lead each wrote.
    import_keys: HashMap<ImportKey, LeadId>,
}

/// What an import batch changed, as it was before: the lead records it wrote (`None`: new),
/// the lengths of their history and interactions, their pending client records, the
/// assignment turns and import keys it took, and the number of events.
#[derive(Default)]
struct Undo {
    rotations: Vec<(String, Option<EmployeeId>)>,
    keys: Vec<ImportKey>,
    leads: HashMap<LeadId, Option<(Lead, String)>>,
    history: HashMap<LeadId, Option<usize>>,
    interactions: HashMap<LeadId, Option<usize>>,
    pending: HashMap<LeadId, Option<PendingClient>>,
    events: usize,
}

impl Undo {
    /// Notes lead `id` as it is, the first time the batch touches it.
    fn remember(&mut self, s: &State, id: LeadId) {
        self.leads
            .entry(id)
            .or_insert_with(|| s.leads.get(&id).cloned());
        self.history
            .entry(id)
            .or_insert_with(|| s.history.get(&id).map(Vec::len));
        self.interactions
            .entry(id)
            .or_insert_with(|| s.interactions.get(&id).map(Vec::len));
        self.pending
            .entry(id)
            .or_insert_with(|| s.pending.get(&id).cloned());
    }
}

#[derive(Clone, Debug)]
struct Notice {
    notice: FollowUpNotice,
    claimed_until: DateTime<Utc>,
}

fn not_found(entity: Entity, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

impl State {
    /// The duplicate rule of [`crm_core::duplicates`] over the leads sharing `lead`'s email
    /// or phone (the indexes only narrow the candidates).
    fn duplicate_of(&self, lead: &Lead) -> Option<StoreError> {
        let keys = [
            lead.email().and_then(|e| self.by_email.get(e.as_str())),
            lead.phone().and_then(|p| self.by_phone.get(p.key())),
        ];
        let candidates: Vec<&Lead> = keys
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|(_, id)| self.leads.get(id).map(|(l, _)| l))
            .collect();
        find_duplicate(lead, candidates.iter().copied()).map(|d| StoreError::Duplicate {
            existing: d.existing,
            field: d.field,
        })
    }

    /// Replaces a lead by a changed copy of its record, checked by [`Lead::from_record`].
    fn change(&mut self, id: LeadId, f: impl FnOnce(&mut LeadRecord)) -> Result<(), StoreError> {
        let (lead, text) = self
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        let mut r = lead.record().clone();
        f(&mut r);
        let lead = Lead::from_record(r).map_err(|e| StoreError::Corrupt {
            what: "lead",
            source: Box::new(e),
        })?;
        let text = text.clone();
        self.leads.insert(id, (lead, text));
        Ok(())
    }

    fn unindex(&mut self, lead: &Lead) {
        if lead.is_open()
            && let Some(n) = self.open_by_owner.get_mut(&lead.owner())
        {
            *n = n.saturating_sub(1);
        }
        let key = (lead.created_at(), lead.id());
        self.by_created.remove(&key);
        if let Some(e) = lead.email()
            && let Some(set) = self.by_email.get_mut(e.as_str())
        {
            set.remove(&key);
        }
        if let Some(p) = lead.phone()
            && let Some(set) = self.by_phone.get_mut(p.key())
        {
            set.remove(&key);
        }
    }

    /// The indexes `unindex` takes a lead out of.
    fn index(&mut self, lead: &Lead) {
        let key = (lead.created_at(), lead.id());
        if lead.is_open() {
            *self.open_by_owner.entry(lead.owner()).or_insert(0) += 1;
        }
        self.by_created.insert(key);
        if let Some(e) = lead.email() {
            self.by_email
                .entry(e.as_str().to_owned())
                .or_default()
                .insert(key);
        }
        if let Some(p) = lead.phone() {
            self.by_phone
                .entry(p.key().to_owned())
                .or_default()
                .insert(key);
        }
    }

    fn put(&mut self, write: &LeadWrite) {
        let lead = &write.lead;
        if let Some((old, _)) = self.leads.get(&lead.id()).cloned() {
            self.unindex(&old);
        }
        self.index(lead);
        self.leads
            .insert(lead.id(), (lead.clone(), lead.search_text()));
        self.history
            .entry(lead.id())
            .or_default()
            .extend(write.history.iter().cloned());
        if let Some(p) = &write.pending_client {
            self.pending.insert(lead.id(), p.clone());
        }
        self.append(&write.events);
    }

    fn append(&mut self, events: &[NewEvent]) {
        for e in events {
            let seq = self.events.last().map_or(1, |l| l.seq + 1);
            self.events.push(Event {
                seq,
                event: e.clone(),
            });
        }
    }

    /// Adds an interaction and its events, moving the lead's last interaction forward.
    fn log(&mut self, interaction: &Interaction, events: &[NewEvent]) -> Result<(), StoreError> {
        self.writable(interaction.lead_id)?;
        let at = interaction.occurred_at;
        let next = interaction.next_follow_up_at;
        self.change(interaction.lead_id, |r| {
            r.last_interaction_at = Some(r.last_interaction_at.map_or(at, |t| t.max(at)));
            if next.is_some() {
                r.next_follow_up_at = next;
            }
        })?;
        self.interactions
            .entry(interaction.lead_id)
            .or_default()
            .push(interaction.clone());
        self.append(events);
        Ok(())
    }

    /// Applies an import batch, in order, noting in `undo` what it changes; the caller puts
    /// that back on an error ([`State::undo`]).
    fn import(&mut self, batch: &ImportBatch, undo: &mut Undo) -> Result<(), StoreError> {
        undo.events = self.events.len();
        for t in &batch.turns {
            if self.rotations.get(&t.rule) != t.after.as_ref() {
                return Err(StoreError::Busy(
                    "a concurrent create took an assignment turn of this batch".into(),
                ));
            }
            let before = self.rotations.insert(t.rule.clone(), t.owner);
            undo.rotations.push((t.rule.clone(), before));
        }
        for w in &batch.writes {
            let lead = &w.write.lead;
            let id = lead.id();
            match w.expected_version {
                None if self.leads.contains_key(&id) => {
                    return Err(StoreError::Conflict {
                        entity: Entity::Lead,
                        id: id.to_string(),
                        expected: 0,
                    });
                }
                None => {}
                Some(expected) => {
                    let current = self.writable(id)?;
                    if current.version() != expected || lead.version() != expected + 1 {
                        return Err(StoreError::Conflict {
                            entity: Entity::Lead,
                            id: id.to_string(),
                            expected,
                        });
                    }
                }
            }
            if w.write.check_duplicates
                && let Some(e) = self.duplicate_of(lead)
            {
                return Err(e);
            }
            if let Some(k) = &w.key {
                if self.import_keys.contains_key(k) {
                    return Err(StoreError::Busy(
                        format!("row {k} was imported meanwhile").into(),
                    ));
                }
                self.import_keys.insert(k.clone(), id);
                undo.keys.push(k.clone());
            }
            undo.remember(self, id);
            self.put(&w.write);
        }
        for (i, e) in &batch.notes {
            undo.remember(self, i.lead_id);
            self.log(i, std::slice::from_ref(e))?;
        }
        Ok(())
    }

    /// Puts back what a failed import batch changed.
    fn undo(&mut self, undo: Undo) {
        for (rule, before) in undo.rotations.into_iter().rev() {
            match before {
                Some(owner) => self.rotations.insert(rule, owner),
                None => self.rotations.remove(&rule),
            };
        }
        for k in &undo.keys {
            self.import_keys.remove(k);
        }
        for (id, before) in undo.leads {
            if let Some((now, _)) = self.leads.remove(&id) {
                self.unindex(&now);
            }
            if let Some((lead, text)) = before {
                self.index(&lead);
                self.leads.insert(id, (lead, text));
            }
        }
        for (id, before) in undo.history {
            match (before, self.history.get_mut(&id)) {
                (Some(n), Some(v)) => v.truncate(n),
                (None, _) => {
                    self.history.remove(&id);
                }
                (Some(_), None) => {}
            }
        }
        for (id, before) in undo.interactions {
            match (before, self.interactions.get_mut(&id)) {
                (Some(n), Some(v)) => v.truncate(n),
                (None, _) => {
                    self.interactions.remove(&id);
                }
                (Some(_), None) => {}
            }
        }
        for (id, before) in undo.pending {
            match before {
                Some(p) => self.pending.insert(id, p),
                None => self.pending.remove(&id),
            };
        }
        self.events.truncate(undo.events);
    }

    /// The lead, if it exists and is writable.
    fn writable(&self, id: LeadId) -> Result<&Lead, StoreError> {
        let (lead, _) = self
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        if lead.is_read_only() {
            return Err(StoreError::ReadOnly { lead: id });
        }
        Ok(lead)
    }
}

/// What a follow-up claim takes: the notices in claim order, each with the lead as it is
/// to be stored (`None` for a notice taken over from the outbox), and the moot outbox notices
/// to drop.
struct FollowUpPlan {
    notices: Vec<(Option<Lead>, FollowUpNotice)>,
    moot: Vec<NoticeId>,
}

fn checked(r: LeadRecord) -> Result<Lead, StoreError> {
    Lead::from_record(r).map_err(|e| StoreError::Corrupt {
        what: "lead",
        source: Box::new(e),
    })
}

impl State {
    fn plan_follow_ups(&self, claim: &FollowUpClaim) -> Result<FollowUpPlan, StoreError> {
        let limit = claim.limit as usize;
        let mut notices: Vec<(Option<Lead>, FollowUpNotice)> = Vec::new();
        let mut moot = Vec::new();
        for n in self.notices.values() {
            if notices.len() == limit {
                break;
            }
            if n.claimed_until > claim.now {
                continue;
            }
            let lead = self.leads.get(&n.notice.lead_id).map(|(l, _)| l);
            match lead.and_then(|l| refreshed(&n.notice, l)) {
                Some(notice) => notices.push((None, notice)),
                None => moot.push(n.notice.id),
            }
        }
        // Each step sees the leads as the steps before it left them (as the SQL adapters'
        // successive updates do): a lead reminded by this claim counts as notified at the
        // claim's time, which a real escalation cutoff (working days back) never reaches.
        let mut changed: HashMap<LeadId, Lead> = HashMap::new();
        let take = |notices: &mut Vec<(Option<Lead>, FollowUpNotice)>,
                    changed: &mut HashMap<LeadId, Lead>,
                    step: Option<(LeadRecord, FollowUpNotice)>|
         -> Result<(), StoreError> {
            if let Some((r, n)) = step {
                let lead = checked(r)?;
                changed.insert(lead.id(), lead.clone());
                notices.push((Some(lead), n));
            }
            Ok(())
        };
        let first: Vec<&Lead> = self
            .by_created
            .iter()
            .take_while(|(at, _)| *at <= claim.cutoff)
            .filter_map(|(_, id)| self.leads.get(id).map(|(l, _)| l))
            .filter(|l| awaits_follow_up(l))
            .take(limit - notices.len())
            .collect();
        for lead in first {
            take(
                &mut notices,
                &mut changed,
                Some(notify_first_contact(lead, claim.at)),
            )?;
        }
        let now_leads = |changed: &HashMap<LeadId, Lead>, keep: &dyn Fn(&Lead) -> bool| {
            self.leads
                .values()
                .map(|(l, _)| changed.get(&l.id()).unwrap_or(l))
                .filter(|l| keep(l))
                .cloned()
                .collect::<Vec<Lead>>()
        };
        let mut overdue = now_leads(&changed, &|l| is_overdue(l, claim.at));
        overdue.sort_by_key(|l| (l.next_follow_up_at(), l.id()));
        for lead in overdue.iter().take(limit - notices.len()) {
            take(&mut notices, &mut changed, remind_overdue(lead, claim.at))?;
        }
        if let Some(cutoff) = claim.escalation_cutoff {
            let mut due = now_leads(&changed, &|l| escalation::is_due(l, cutoff));
            due.sort_by_key(|l| (l.owner_notified_at(), l.id()));
            for lead in due.iter().take(limit - notices.len()) {
                take(
                    &mut notices,
                    &mut changed,
                    escalation::escalate(lead, claim.at),
                )?;
            }
        }
        // A lead changed twice keeps its last state (the plan stores each in order).
        Ok(FollowUpPlan { notices, moot })
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave a half-applied write: every write mutates only
        // after all its checks passed, so the state is consistent even if poisoned.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts a new lead, taking `turn` of its assignment rule with it when given.
    fn insert(&self, write: &LeadWrite, turn: Option<&Turn>) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.leads.contains_key(&write.lead.id()) {
            return Err(StoreError::Conflict {
                entity: Entity::Lead,
                id: write.lead.id().to_string(),
                expected: 0,
            });
        }
        if let Some(t) = turn
            && s.rotations.get(&t.rule) != t.after.as_ref()
        {
            return Err(StoreError::Busy(
                "a concurrent create took this assignment turn".into(),
            ));
        }
        if write.check_duplicates
            && let Some(e) = s.duplicate_of(&write.lead)
        {
            return Err(e);
        }
        if let Some(t) = turn {
            s.rotations.insert(t.rule.clone(), t.owner);
        }
        s.put(write);
        Ok(())
    }
}

#[async_trait]
impl LeadStore for MemoryStore {
    async fn insert_lead(&self, write: &LeadWrite) -> Result<(), StoreError> {
        self.insert(write, None)
    }

    async fn insert_lead_taking_turn(
        &self,
        write: &LeadWrite,
        turn: &Turn,
    ) -> Result<(), StoreError> {
        self.insert(write, Some(turn))
    }

    async fn import_batch(&self, batch: &ImportBatch) -> Result<(), StoreError> {
        let mut s = self.lock();
        // Applied in place and put back on an error: copying the whole state per batch made
        // an import quadratic in the leads stored.
        let mut undo = Undo::default();
        let r = s.import(batch, &mut undo);
        if r.is_err() {
            s.undo(undo);
        }
        r
    }

    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        let s = self.lock();
        let imported = keys
            .iter()
            .filter_map(|k| s.import_keys.get(k).map(|id| (k.clone(), *id)))
            .collect();
        let ids: BTreeSet<LeadId> = emails
            .iter()
            .filter_map(|e| s.by_email.get(e))
            .chain(phones.iter().filter_map(|p| s.by_phone.get(p)))
            .flatten()
            .map(|(_, id)| *id)
            .collect();
        let open = ids
            .iter()
            .filter_map(|id| s.leads.get(id))
            .map(|(l, _)| l)
            .filter(|l| l.status().is_open())
            .cloned()
            .collect();
        Ok(ImportLookup { imported, open })
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        Ok(self.lock().rotations.get(rule).copied())
    }

    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        let s = self.lock();
        Ok(owners
            .iter()
            .filter_map(|o| s.open_by_owner.get(o).map(|n| (*o, *n)))
            .collect())
    }

    async fn update_lead(
        &self,
        expected_version: u64,
        write: &LeadWrite,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        let id = write.lead.id();
        let (current, _) = s
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        if current.version() != expected_version || write.lead.version() != expected_version + 1 {
            return Err(StoreError::Conflict {
                entity: Entity::Lead,
                id: id.to_string(),
                expected: expected_version,
            });
        }
        if write.check_duplicates
            && let Some(e) = s.duplicate_of(&write.lead)
        {
            return Err(e);
        }
        s.put(write);
        Ok(())
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        Ok(self.lock().leads.get(&id).map(|(l, _)| l.clone()))
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        let s = self.lock();
        let Some((lead, _)) = s.leads.get(&id) else {
            return Ok(None);
        };
        let mut interactions = s.interactions.get(&id).cloned().unwrap_or_default();
        interactions.sort_by_key(|i| (i.occurred_at, i.id));
        let mut opportunities: Vec<Opportunity> = s
            .opportunities_by_lead
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|o| s.opportunities.get(o).cloned())
            .collect();
        opportunities.sort_by_key(|o| (o.created_at, o.id));
        // The history of the leads merged into this one shows with its own, by time, each
        // entry naming its lead.
        // Those leads are found through the `merged_from` entries, not a scan of every lead
        // (which made a detail view cost a walk over the whole store): each merge writes one
        // on the lead kept, and a lead merged into one merged later is named in that one's.
        let mut history: Vec<HistoryEntry> = s.history.get(&id).cloned().unwrap_or_default();
        let mut named: Vec<LeadId> = merged_from(&history).collect();
        let mut seen: BTreeSet<LeadId> = BTreeSet::new();
        while let Some(other) = named.pop() {
            if !seen.insert(other) {
                continue;
            }
            let entries = s.history.get(&other).into_iter().flatten();
            named.extend(merged_from(entries.clone()));
            if s.leads.get(&other).and_then(|(l, _)| l.merged_into()) == Some(id) {
                history.extend(entries.cloned());
            }
        }
        history.sort_by_key(|e| (e.at, e.lead_id));
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
        let limit = query.page_size() as usize;
        let mut items: Vec<Lead> = s
            .by_created
            .iter()
            .rev()
            .filter_map(|(_, id)| s.leads.get(id))
            .filter(|(l, text)| {
                l.merged_into().is_none() && scope.admits(l.owner()) && query.matches(l, text)
            })
            .take(limit + 1)
            .map(|(l, _)| l.clone())
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(crm_core::Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        let s = self.lock();
        let leads = s.leads.values().map(|(l, _)| l);
        Ok(Report::from_leads(
            leads.filter(|l| l.merged_into().is_none() && scope.admits(l.owner())),
            filter,
        ))
    }

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        let s = self.lock();
        Ok(LostReasonReport::from_leads(
            s.leads
                .values()
                .map(|(l, _)| l)
                .filter(|l| l.merged_into().is_none() && scope.admits(l.owner())),
            filter,
        ))
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        let s = self.lock();
        StatusTimeRow::from_histories(
            s.leads
                .values()
                .filter(|(l, _)| l.merged_into().is_none() && scope.admits(l.owner()))
                .map(|(l, _)| {
                    let h = s.history.get(&l.id()).map_or(&[][..], Vec::as_slice);
                    (l, h)
                }),
            filter,
            now,
        )
        .map_err(|e| StoreError::Corrupt {
            what: "time in status",
            source: Box::new(e),
        })
    }

    async fn pipeline_rows(
        &self,
        filter: &PipelineFilter,
        scope: &Scope,
        probabilities: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        let s = self.lock();
        PipelineRow::from_opportunities(
            s.opportunities
                .values()
                .filter_map(|o| s.leads.get(&o.lead_id).map(|(l, _)| (o, l)))
                .filter(|(_, l)| l.merged_into().is_none())
                .map(|(o, l)| (o, l.owner()))
                .filter(|(_, owner)| scope.admits(*owner)),
            filter,
            probabilities,
        )
        .map_err(|e| StoreError::Corrupt {
            what: "pipeline totals",
            source: Box::new(e),
        })
    }

    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        let s = self.lock();
        let mut newest: BTreeMap<String, &StageProbabilityChange> = BTreeMap::new();
        for c in &s.stage_probabilities {
            newest.insert(c.stage.to_string(), c);
        }
        Ok(newest.into_values().cloned().collect())
    }

    async fn insert_stage_probability(
        &self,
        change: &StageProbabilityChange,
    ) -> Result<(), StoreError> {
        self.lock().stage_probabilities.push(change.clone());
        Ok(())
    }

    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        let s = self.lock();
        let n = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(s.stage_probabilities
            .iter()
            .rev()
            .take(n)
            .cloned()
            .collect())
    }

    async fn insert_interaction(
        &self,
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        self.lock().log(interaction, events)
    }

    async fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.writable(opportunity.lead_id)?;
        if s.opportunities.contains_key(&opportunity.id) {
            return Err(StoreError::Conflict {
                entity: Entity::Opportunity,
                id: opportunity.id.to_string(),
                expected: 0,
            });
        }
        s.opportunities.insert(opportunity.id, opportunity.clone());
        s.opportunities_by_lead
            .entry(opportunity.lead_id)
            .or_default()
            .push(opportunity.id);
        s.append(events);
        Ok(())
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        Ok(self.lock().opportunities.get(&id).cloned())
    }

    async fn update_opportunity(
        &self,
        expected_version: u64,
        write: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        let (opportunity, events) = (&write.opportunity, &write.events);
        let mut s = self.lock();
        let current = s
            .opportunities
            .get(&opportunity.id)
            .ok_or_else(|| not_found(Entity::Opportunity, opportunity.id))?;
        let lead_id = current.lead_id;
        if current.version != expected_version || opportunity.version != expected_version + 1 {
            return Err(StoreError::Conflict {
                entity: Entity::Opportunity,
                id: opportunity.id.to_string(),
                expected: expected_version,
            });
        }
        if write.lead_must_be_open {
            s.writable(lead_id)?;
        }
        s.opportunities.insert(opportunity.id, opportunity.clone());
        s.append(events);
        Ok(())
    }

    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let mut s = self.lock();
        // Decide the whole claim first, then apply it: a failure half-way changes nothing.
        let plan = s.plan_follow_ups(claim)?;
        for id in plan.moot {
            s.notices.remove(&id);
        }
        let mut out = Vec::with_capacity(plan.notices.len());
        for (lead, notice) in plan.notices {
            s.notices.insert(
                notice.id,
                Notice {
                    notice: notice.clone(),
                    claimed_until: claim.lease_until,
                },
            );
            if let Some(lead) = lead
                && let Some(slot) = s.leads.get_mut(&lead.id())
            {
                slot.0 = lead;
            }
            out.push(notice);
        }
        Ok(out)
    }

    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        let plan = self.lock().plan_follow_ups(claim)?;
        Ok(plan.notices.into_iter().map(|(_, n)| n).collect())
    }

    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        self.lock().notices.remove(&id);
        Ok(())
    }

    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        let mut s = self.lock();
        for id in ids {
            s.notices.remove(id);
        }
        Ok(())
    }

    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        _error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(n) = self.lock().notices.get_mut(&id)
            && n.claimed_until == claimed_until
        {
            n.claimed_until = at;
        }
        Ok(())
    }

    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        Ok(self
            .lock()
            .notices
            .values()
            .take(limit as usize)
            .map(|n| n.notice.clone())
            .collect())
    }

    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError> {
        let s = self.lock();
        let mut v: Vec<PendingClient> = s.pending.values().cloned().collect();
        v.sort_by_key(|p| (p.created_at, p.request.lead_id));
        v.truncate(limit as usize);
        Ok(v)
    }

    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        let mut s = self.lock();
        let mut free: Vec<(DateTime<Utc>, LeadId)> = s
            .pending
            .values()
            .filter(|p| p.claimed_until.is_none_or(|t| t <= now))
            .map(|p| (p.created_at, p.request.lead_id))
            .collect();
        free.sort();
        free.truncate(limit as usize);
        let mut out = Vec::with_capacity(free.len());
        for (_, id) in free {
            if let Some(p) = s.pending.get_mut(&id) {
                p.claimed_until = Some(lease_until);
                out.push(p.clone());
            }
        }
        Ok(out)
    }

    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(p) = self.lock().pending.get_mut(&lead_id)
            && p.claimed_until == Some(claimed_until)
        {
            p.claimed_until = None;
        }
        Ok(())
    }

    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        if !s.pending.contains_key(&lead_id) {
            return Ok(false);
        }
        s.change(lead_id, |r| r.client_id = Some(client_id.clone()))?;
        s.pending.remove(&lead_id);
        s.append(std::slice::from_ref(event));
        Ok(true)
    }

    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(p) = self.lock().pending.get_mut(&lead_id) {
            p.attempts += 1;
            p.last_error = Some(error.to_owned());
            p.last_attempt_at = Some(at);
        }
        Ok(())
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        let s = self.lock();
        let from = after.max(s.acked);
        let start = s.events.partition_point(|e| e.seq <= from);
        let owner = |e: &Event| s.leads.get(&e.event.lead_id).map(|(l, _)| l.owner());
        Ok(s.events[start..]
            .iter()
            .filter(|e| owner(e).is_some_and(|o| scope.admits(o)))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        let s = self.lock();
        Ok(duplicate_groups(
            s.leads
                .values()
                .map(|(l, _)| l)
                .filter(|l| scope.admits(l.owner())),
            fuzzy,
        ))
    }

    async fn merge_leads(&self, write: &MergeWrite) -> Result<(), StoreError> {
        let mut s = self.lock();
        for (w, expected) in [
            (&write.keep, write.keep_version),
            (&write.other, write.other_version),
        ] {
            let id = w.lead.id();
            let (current, _) = s
                .leads
                .get(&id)
                .ok_or_else(|| not_found(Entity::Lead, id))?;
            if current.version() != expected || w.lead.version() != expected + 1 {
                return Err(StoreError::Conflict {
                    entity: Entity::Lead,
                    id: id.to_string(),
                    expected,
                });
            }
        }
        let (keep, other) = (write.keep_id(), write.other_id());
        // An interaction or opportunity added to `other` since the decision moves no version:
        // the records must still be the ones `keep`'s history names.
        let interactions = s
            .interactions
            .get(&other)
            .into_iter()
            .flatten()
            .map(|i| i.id);
        let opportunities = s.opportunities_by_lead.get(&other).into_iter().flatten();
        if !write.moved.is_exactly(interactions, opportunities.copied()) {
            return Err(StoreError::Conflict {
                entity: Entity::Lead,
                id: other.to_string(),
                expected: write.other_version,
            });
        }
        // What the lead write does not carry: the last interaction time of the stored
        // lead (an interaction does not move the version) and the moved records.
        let stored_last = [keep, other]
            .iter()
            .filter_map(|id| s.leads.get(id).and_then(|(l, _)| l.last_interaction_at()))
            .max();
        s.put(&write.keep);
        s.put(&write.other);
        s.change(keep, |r| {
            r.last_interaction_at = r.last_interaction_at.max(stored_last);
        })?;
        let moved: Vec<Interaction> = s
            .interactions
            .remove(&other)
            .unwrap_or_default()
            .into_iter()
            .map(|mut i| {
                i.lead_id = keep;
                i
            })
            .collect();
        s.interactions.entry(keep).or_default().extend(moved);
        let opportunities = s.opportunities_by_lead.remove(&other).unwrap_or_default();
        for id in &opportunities {
            if let Some(o) = s.opportunities.get_mut(id) {
                o.lead_id = keep;
            }
        }
        s.opportunities_by_lead
            .entry(keep)
            .or_default()
            .extend(opportunities);
        let earlier: Vec<LeadId> = s
            .leads
            .values()
            .filter(|(l, _)| l.merged_into() == Some(other))
            .map(|(l, _)| l.id())
            .collect();
        for id in earlier {
            s.change(id, |r| r.merged_into = Some(keep))?;
        }
        Ok(())
    }

    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        let mut s = self.lock();
        let last = s.events.last().map_or(0, |e| e.seq);
        let new = up_to.min(last);
        if new <= s.acked {
            return Ok(0);
        }
        let count = new - s.acked;
        s.acked = new;
        Ok(count)
    }
}

/// The leads that `entries` say were merged into their lead.
fn merged_from<'a>(
    entries: impl IntoIterator<Item = &'a HistoryEntry>,
) -> impl Iterator<Item = LeadId> {
    entries.into_iter().filter_map(|e| match e.change {
        Change::MergedFrom { from, .. } => Some(from),
        _ => None,
    })
}
