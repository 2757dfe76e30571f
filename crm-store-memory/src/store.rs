use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::duplicates::find_duplicate;
use crm_core::escalation;
use crm_core::follow_up::{
    awaits_follow_up, is_overdue, notify_first_contact, refreshed, remind_overdue,
};
use crm_core::{
    ClientId, EmployeeId, Entity, Event, FollowUpClaim, FollowUpNotice, HistoryEntry, Interaction,
    Lead, LeadDetail, LeadId, LeadQuery, LeadRecord, LeadStore, LeadWrite, LostReasonReport,
    NewEvent, NoticeId, Opportunity, OpportunityId, OpportunityWrite, Page, PendingClient,
    PipelineFilter, PipelineRow, Report, ReportFilter, Scope, StageProbabilities, StatusTimeRow,
    StoreError, Turn,
};

/// The in-memory store. All state sits behind one mutex, so every write is atomic and
/// isolated; no lock is held across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

type Key = (DateTime<Utc>, LeadId);

#[derive(Debug, Default)]
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
}

#[derive(Debug)]
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
        if lead.status().is_open()
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

    fn put(&mut self, write: &LeadWrite) {
        let lead = &write.lead;
        if let Some((old, _)) = self.leads.get(&lead.id()).cloned() {
            self.unindex(&old);
        }
        let key = (lead.created_at(), lead.id());
        if lead.status().is_open() {
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

    /// The lead, if it exists and is writable.
    fn writable(&self, id: LeadId) -> Result<&Lead, StoreError> {
        let (lead, _) = self
            .leads
            .get(&id)
            .ok_or_else(|| not_found(Entity::Lead, id))?;
        if lead.status().is_read_only() {
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
        Ok(Some(LeadDetail {
            lead: lead.clone(),
            history: s.history.get(&id).cloned().unwrap_or_default(),
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
            .filter(|(l, text)| scope.admits(l.owner()) && query.matches(l, text))
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
            leads.filter(|l| scope.admits(l.owner())),
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
                .filter(|l| scope.admits(l.owner())),
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
                .filter(|(l, _)| scope.admits(l.owner()))
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
                .filter_map(|o| s.leads.get(&o.lead_id).map(|(l, _)| (o, l.owner())))
                .filter(|(_, owner)| scope.admits(*owner)),
            filter,
            probabilities,
        )
        .map_err(|e| StoreError::Corrupt {
            what: "pipeline totals",
            source: Box::new(e),
        })
    }

    async fn insert_interaction(
        &self,
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.writable(interaction.lead_id)?;
        let at = interaction.occurred_at;
        let next = interaction.next_follow_up_at;
        s.change(interaction.lead_id, |r| {
            r.last_interaction_at = Some(r.last_interaction_at.map_or(at, |t| t.max(at)));
            if next.is_some() {
                r.next_follow_up_at = next;
            }
        })?;
        s.interactions
            .entry(interaction.lead_id)
            .or_default()
            .push(interaction.clone());
        s.append(events);
        Ok(())
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
