use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::duplicates::{duplicate_groups, find_duplicate};
use crm_core::scoring::{Calibration, Facts, Frequencies};
use crm_core::{
    Change, Changeset, Committed, DuplicateGroup, EmployeeId, Event, FollowUpNotice, HistoryEntry,
    ImportKey, ImportLookup, Interaction, Lead, LeadDetail, LeadId, LeadQuery, LeadStore,
    LostReasonReport, NoticeId, Opportunity, OpportunityId, OutboxEntry, OutboxKind, OutboxRead,
    Page, PendingClient, PipelineFilter, PipelineRow, Report, ReportFilter, Scope,
    StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError,
};

/// The in-memory store. All state sits behind one mutex, so every commit is isolated; no lock
/// is held across an `.await`. A commit that fails puts back what it changed (see
/// `commit.rs`), so it is atomic too.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

pub(crate) type Key = (DateTime<Utc>, LeadId);

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Every lead, with its search text (computed once per write, matched by every listing).
    pub(crate) leads: HashMap<LeadId, (Lead, String)>,
    /// Every lead by (created_at, id): listing order.
    pub(crate) by_created: BTreeSet<Key>,
    pub(crate) by_email: HashMap<String, BTreeSet<Key>>,
    /// By phone key (E.164 plus extension), so every spelling of a number meets here.
    pub(crate) by_phone: HashMap<String, BTreeSet<Key>>,
    /// Open leads per owner, kept with every write (the least-open assignment rule).
    pub(crate) open_by_owner: HashMap<EmployeeId, u64>,
    pub(crate) history: HashMap<LeadId, Vec<HistoryEntry>>,
    pub(crate) interactions: HashMap<LeadId, Vec<Interaction>>,
    pub(crate) opportunities: HashMap<OpportunityId, Opportunity>,
    pub(crate) opportunities_by_lead: HashMap<LeadId, Vec<OpportunityId>>,
    pub(crate) pending: HashMap<LeadId, PendingClient>,
    /// The follow-up outbox: notices not yet delivered, with their claim, oldest id first.
    pub(crate) notices: BTreeMap<NoticeId, Notice>,
    pub(crate) events: Vec<Event>,
    /// Every event with `seq <= acked` is acknowledged.
    pub(crate) acked: u64,
    /// Each assignment rule's last owner, by rotation key.
    pub(crate) rotations: HashMap<String, EmployeeId>,
    /// Every stored stage probability change, oldest first.
    pub(crate) stage_probabilities: Vec<StageProbabilityChange>,
    /// Rows imported, by import key: the lead each wrote.
    pub(crate) import_keys: HashMap<ImportKey, LeadId>,
    /// The scoring counts: `(team, field, value)` to `(won, lost)`.
    pub(crate) score_counts: BTreeMap<(String, String, String), (i64, i64)>,
    /// Each team's scoring calibration, as last stored.
    pub(crate) calibrations: HashMap<String, Calibration>,
}

/// A notice in the follow-up outbox and until when it is claimed.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub(crate) notice: FollowUpNotice,
    pub(crate) claimed_until: DateTime<Utc>,
}

impl State {
    /// The duplicate rule of [`crm_core::duplicates`] over the leads sharing `lead`'s email
    /// or phone (the indexes only narrow the candidates).
    pub(crate) fn duplicate_of(&self, lead: &Lead) -> Option<StoreError> {
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

    /// Stores `new` as lead `id` (or removes it, for `None`), keeping every index in step;
    /// returns what was stored before.
    pub(crate) fn replace_lead(
        &mut self,
        id: LeadId,
        new: Option<(Lead, String)>,
    ) -> Option<(Lead, String)> {
        // The old record leaves the indexes before the new one enters: both may have the
        // same keys, and a set holds a key once.
        let old = self.leads.remove(&id);
        if let Some((lead, _)) = &old {
            self.unindex(lead);
        }
        if let Some((lead, text)) = new {
            self.index(&lead);
            self.leads.insert(id, (lead, text));
        }
        old
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

    /// The stored leads not merged into another whose owner `scope` admits, any order.
    fn leads_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a Lead> + 'a {
        self.leads
            .values()
            .map(|(l, _)| l)
            .filter(|l| l.merged_into().is_none() && scope.admits(l.owner()))
    }

    /// [`LeadStore::outbox`]: the entries in the outbox's order, claimed when asked.
    fn outbox(&mut self, read: &OutboxRead) -> Vec<OutboxEntry> {
        let limit = usize::try_from(read.limit).unwrap_or(usize::MAX);
        let due = |claimed_until: Option<DateTime<Utc>>| match (read.due_at, claimed_until) {
            (None, _) | (_, None) => true,
            (Some(at), Some(until)) => until <= at,
        };
        match read.kind {
            OutboxKind::FollowUps => self
                .notices
                .values_mut()
                .filter(|n| due(Some(n.claimed_until)))
                .take(limit)
                .map(|n| {
                    if let Some(until) = read.claim_until {
                        n.claimed_until = until;
                    }
                    OutboxEntry::Notice {
                        notice: n.notice.clone(),
                        claimed_until: n.claimed_until,
                    }
                })
                .collect(),
            OutboxKind::Clients => {
                let mut free: Vec<Key> = self
                    .pending
                    .values()
                    .filter(|p| due(p.claimed_until))
                    .map(|p| (p.created_at, p.request.lead_id))
                    .collect();
                free.sort_unstable();
                free.truncate(limit);
                let mut out = Vec::with_capacity(free.len());
                for (_, id) in free {
                    if let Some(p) = self.pending.get_mut(&id) {
                        if read.claim_until.is_some() {
                            p.claimed_until = read.claim_until;
                        }
                        out.push(OutboxEntry::Client(p.clone()));
                    }
                }
                out
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave a half-applied commit: a commit puts back what it
        // changed when it does not finish (its undo log runs on drop, unwinding included),
        // so the state is consistent even if poisoned.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl LeadStore for MemoryStore {
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
        self.lock().commit(changes)
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

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        Ok(self.lock().opportunities.get(&id).cloned())
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        Ok(self.lock().rotations.get(rule).copied())
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
        let n = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(s.stage_probabilities
            .iter()
            .rev()
            .take(n)
            .cloned()
            .collect())
    }

    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self.lock().outbox(read))
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

    // ---- Optional reads the indexes answer without a scan of pages ----
    // The follow-up claim and its preview are crm-core's defaults on purpose: this store is
    // where the conformance suite exercises them.

    async fn score_frequencies(&self, team: &str) -> Result<Frequencies, StoreError> {
        let s = self.lock();
        let rows = (s
            .score_counts
            .range((team.to_owned(), String::new(), String::new())..))
        .take_while(|((t, _, _), _)| t == team)
        .map(|((_, field, value), (won, lost))| (field.clone(), value.clone(), *won, *lost));
        let calibration = s.calibrations.get(team).copied().unwrap_or_default();
        Ok(Frequencies::from_counts(rows, calibration))
    }

    async fn score_facts(&self, leads: &[LeadId]) -> Result<BTreeMap<LeadId, Facts>, StoreError> {
        let s = self.lock();
        let facts = |id: &LeadId| Facts {
            interactions: u32::try_from(s.interactions.get(id).map_or(0, Vec::len))
                .unwrap_or(u32::MAX),
            has_opportunity: s
                .opportunities_by_lead
                .get(id)
                .is_some_and(|o| !o.is_empty()),
        };
        Ok((leads.iter())
            .filter(|id| s.leads.contains_key(id))
            .map(|id| (*id, facts(id)))
            .collect())
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        let s = self.lock();
        Ok(Report::from_leads(s.leads_in(scope), filter))
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

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        let s = self.lock();
        Ok(LostReasonReport::from_leads(s.leads_in(scope), filter))
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        let s = self.lock();
        StatusTimeRow::from_histories(
            s.leads_in(scope).map(|l| {
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
