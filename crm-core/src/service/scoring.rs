//! Lead scoring in the service ([`crate::scoring`]): counting a lead as it is decided,
//! scoring the open leads an actor sees, the event when a write moves a score, and training
//! (counting leads decided before scoring existed, fitting the calibration).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Crm, CrmResult};
use crate::changeset::{Changeset, Write};
use crate::error::StoreError;
use crate::events::{EventKind, NewEvent};
use crate::ids::{EmployeeId, LeadId};
use crate::lead::Lead;
use crate::permissions::{Action, Actor};
use crate::ports::derived::scan;
use crate::query::LeadQuery;
use crate::scoring::{
    ALL_TEAMS, Calibration, Counted, Counting, EVENT_MOVE, Facts, Frequencies, MIN_TEAM_HISTORY,
    Outcome, Score, features, recount, score,
};
use crate::status::LeadStatus;
use crate::team::Team;
use crate::visibility::Scope;

/// How many leads one read of [`Crm::leads_by_score`] and [`Crm::train_scoring`] takes.
const PAGE: u32 = 500;

/// What [`Crm::train_scoring`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Training {
    /// Decided leads counted now (decided before scoring counted them).
    pub counted: u64,
    /// Decided leads that changed while being counted, left for the next run.
    pub skipped: u64,
    /// Each set of frequencies calibrated: the team ([`ALL_TEAMS`] for everyone's), the
    /// decided leads it counts, and the calibration fitted on them.
    pub calibrated: Vec<(String, u64, Calibration)>,
}

/// Scores leads at one moment, reading each team's frequencies once.
struct Scorer<'a> {
    crm: &'a Crm,
    now: DateTime<Utc>,
    teams: BTreeMap<EmployeeId, Option<Team>>,
    frequencies: BTreeMap<String, Arc<Frequencies>>,
}

impl<'a> Scorer<'a> {
    fn new(crm: &'a Crm) -> Self {
        Self {
            crm,
            now: crm.now(),
            teams: BTreeMap::new(),
            frequencies: BTreeMap::new(),
        }
    }

    /// The team of `owner` ([`Crm::team_of`]), asked of the directory once per owner.
    async fn team(&mut self, owner: EmployeeId) -> CrmResult<Option<Team>> {
        if let Some(t) = self.teams.get(&owner) {
            return Ok(t.clone());
        }
        let t = self.crm.team_of(owner).await?;
        self.teams.insert(owner, t.clone());
        Ok(t)
    }

    /// The frequencies a lead of `owner` is scored on: its team's once the team decided
    /// [`MIN_TEAM_HISTORY`] leads, everyone's before (or without teams).
    async fn frequencies_for(&mut self, owner: EmployeeId) -> CrmResult<Arc<Frequencies>> {
        let team = self.team(owner).await?;
        let key = team.as_ref().map_or(ALL_TEAMS, Team::as_str).to_owned();
        if let Some(f) = self.frequencies.get(&key) {
            return Ok(f.clone());
        }
        let f = self.crm.store.score_frequencies(&key).await?;
        if key != ALL_TEAMS && f.decided() < MIN_TEAM_HISTORY {
            let all = match self.frequencies.get(ALL_TEAMS) {
                Some(all) => all.clone(),
                None => Arc::new(self.crm.store.score_frequencies(ALL_TEAMS).await?),
            };
            self.frequencies.insert(ALL_TEAMS.to_owned(), all.clone());
            self.frequencies.insert(key, all.clone());
            return Ok(all);
        }
        let f = Arc::new(f);
        self.frequencies.insert(key, f.clone());
        Ok(f)
    }

    /// The score of an open lead with `facts`; `None` for a decided one.
    async fn score(&mut self, lead: &Lead, facts: &Facts) -> CrmResult<Option<Score>> {
        if !lead.is_open() {
            return Ok(None);
        }
        let f = self.frequencies_for(lead.owner()).await?;
        let since = lead.last_interaction_at().unwrap_or(lead.created_at());
        let features = features(lead, facts, self.now);
        let rules = &self.crm.settings.scoring;
        Ok(Some(score(&f, rules, &features, since, self.now)))
    }
}

impl Crm {
    /// The team whose frequencies count a lead of `owner`, when teams are used.
    async fn team_of(&self, owner: EmployeeId) -> CrmResult<Option<Team>> {
        if self.teams.is_none() {
            return Ok(None);
        }
        Ok(self.employees.employee(owner).await?.and_then(|e| e.team))
    }

    /// The facts of one lead (none when it is gone).
    async fn facts_of(&self, id: LeadId) -> CrmResult<Facts> {
        let mut facts = self.store.score_facts(&[id]).await?;
        Ok(facts.remove(&id).unwrap_or_default())
    }

    /// What counting `lead` moved to `to` needs; nothing is read unless it becomes
    /// converted or lost.
    pub(super) async fn counting(&self, lead: &Lead, to: LeadStatus) -> CrmResult<Counting> {
        if !matches!(to, LeadStatus::Converted | LeadStatus::Lost) {
            return Ok(Counting::default());
        }
        let facts = self.facts_of(lead.id()).await?;
        Ok(Counting {
            features: features(lead, &facts, self.now()),
            team: self.team_of(lead.owner()).await?,
        })
    }

    /// The event that a write turning `before` into `after` (its facts changed by
    /// `change`) moved the lead's score by [`EVENT_MOVE`] points or more, by `actor`.
    /// Nothing is read when score events are off ([`super::CrmBuilder::score_events`]), nor
    /// for a decided lead: it has no score.
    pub(super) async fn score_moved(
        &self,
        before: &Lead,
        after: &Lead,
        change: impl FnOnce(Facts) -> Facts,
        actor: EmployeeId,
    ) -> CrmResult<Option<NewEvent>> {
        if !self.settings.score_events || !before.is_open() || !after.is_open() {
            return Ok(None);
        }
        let facts = self.facts_of(before.id()).await?;
        let mut scorer = Scorer::new(self);
        let (Some(from), Some(to)) = (
            scorer.score(before, &facts).await?,
            scorer.score(after, &change(facts)).await?,
        ) else {
            return Ok(None);
        };
        if from.value.abs_diff(to.value) < EVENT_MOVE {
            return Ok(None);
        }
        let kind = EventKind::ScoreChanged {
            from: from.value,
            to: to.value,
            reasons: to.top_reasons().to_vec(),
        };
        Ok(Some(NewEvent::new(
            after.id(),
            Some(actor),
            scorer.now,
            kind,
        )))
    }

    /// The scores of `leads` as `actor` may see them, in order: `None` for a decided lead,
    /// and for a lead outside the actor's view (as if it did not exist).
    pub async fn scores(&self, actor: EmployeeId, leads: &[Lead]) -> CrmResult<Vec<Option<Score>>> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        self.scores_in(&mut Scorer::new(self), &scope, leads).await
    }

    /// The scores of `leads` by `scorer` (whose frequencies serve every call it is passed to).
    async fn scores_in(
        &self,
        scorer: &mut Scorer<'_>,
        scope: &Scope,
        leads: &[Lead],
    ) -> CrmResult<Vec<Option<Score>>> {
        let open: Vec<LeadId> = (leads.iter())
            .filter(|l| l.is_open() && scope.admits(l.owner()))
            .map(Lead::id)
            .collect();
        let facts = self.store.score_facts(&open).await?;
        let mut out = Vec::with_capacity(leads.len());
        for lead in leads {
            out.push(match facts.get(&lead.id()) {
                Some(f) => scorer.score(lead, f).await?,
                None => None,
            });
        }
        Ok(out)
    }

    /// The score of one lead `actor` sees (`None` when it is decided), with its reasons.
    pub async fn lead_score(&self, actor: EmployeeId, id: LeadId) -> CrmResult<Option<Score>> {
        let lead = self.lead(actor, id).await?;
        let mut scores = self.scores(actor, std::slice::from_ref(&lead)).await?;
        Ok(scores.pop().flatten())
    }

    /// The open leads matching `query` that `actor` sees, highest score first (newest first
    /// among equal scores), at most `query.page_size()` of them, each with its score. Every
    /// matching lead is scored, a page at a time; memory holds the best ones and one page.
    /// The query's cursor is not used: sorting by score has no pages.
    pub async fn leads_by_score(
        &self,
        actor: EmployeeId,
        query: &LeadQuery,
    ) -> CrmResult<Vec<(Lead, Score)>> {
        let actor = self.actor(actor).await?;
        let scope = self.view(&actor).await?;
        let keep = usize::try_from(query.page_size()).unwrap_or(usize::MAX);
        let mut page_query = query.clone().from_start().limit(PAGE)?;
        let mut best: Vec<(Lead, Score)> = Vec::new();
        // One moment and one read of each team's frequencies for every page.
        let mut scorer = Scorer::new(self);
        let order = |a: &(Lead, Score), b: &(Lead, Score)| {
            (b.1.value, b.0.created_at(), b.0.id()).cmp(&(a.1.value, a.0.created_at(), a.0.id()))
        };
        loop {
            let page = self.store.list_leads_in(&page_query, &scope).await?;
            let scores = self.scores_in(&mut scorer, &scope, &page.items).await?;
            best.extend((page.items.into_iter().zip(scores)).filter_map(|(l, s)| Some((l, s?))));
            if best.len() > keep.saturating_mul(2).max(PAGE as usize) {
                best.sort_by(order);
                best.truncate(keep);
            }
            match page.next {
                Some(c) => page_query = page_query.after(c),
                None => break,
            }
        }
        best.sort_by(order);
        best.truncate(keep);
        Ok(best)
    }

    /// Counts the decided leads scoring has not counted (those decided before it existed,
    /// each as it is now: its facts now, its age when it was last changed), then fits the
    /// calibration of everyone's frequencies and of each team's on the decided leads they
    /// count. Management or a system actor the host named; run it after an upgrade and then
    /// now and then (the counts themselves never wait for it: each conversion or loss
    /// changes them in its own commit).
    pub async fn train_scoring(&self, actor: impl Into<Actor>) -> CrmResult<Training> {
        self.authorize_actor(&actor.into(), Action::TrainScoring)
            .await?;
        let mut training = Training::default();
        let mut counted: Vec<Counted> = Vec::new();
        let mut uncounted: Vec<(Lead, Outcome)> = Vec::new();
        for lead in scan(self.store.as_ref(), &Scope::All).await? {
            let outcome = match lead.status() {
                LeadStatus::Converted => Outcome::Won,
                LeadStatus::Lost => Outcome::Lost,
                _ => continue,
            };
            match lead.counted_as() {
                Some(c) => counted.push(c.clone()),
                None => uncounted.push((lead, outcome)),
            }
        }
        let mut teams = Scorer::new(self);
        for chunk in uncounted.chunks(PAGE as usize) {
            let ids: Vec<LeadId> = chunk.iter().map(|(l, _)| l.id()).collect();
            let facts = self.store.score_facts(&ids).await?;
            for (lead, outcome) in chunk {
                // Gone since the scan: nothing to count.
                let Some(facts) = facts.get(&lead.id()) else {
                    training.skipped += 1;
                    continue;
                };
                let c = Counted {
                    outcome: *outcome,
                    team: teams.team(lead.owner()).await?,
                    features: features(lead, facts, lead.updated_at()),
                };
                let changes = Changeset::new()
                    .write(Write::Count {
                        lead: lead.id(),
                        version: lead.version(),
                        counted: Box::new(c.clone()),
                    })
                    .write(Write::ScoreCounts(recount(None, Some(&c))));
                match self.store.commit(&changes).await {
                    Ok(_) => {
                        training.counted += 1;
                        counted.push(c);
                    }
                    Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                        training.skipped += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let mut keys: Vec<String> = vec![ALL_TEAMS.to_owned()];
        keys.extend(
            (counted.iter()).filter_map(|c| c.team.as_ref().map(|t| t.as_str().to_owned())),
        );
        keys.sort();
        keys.dedup();
        for key in keys {
            let mut f = self.store.score_frequencies(&key).await?;
            let of_key: Vec<&Counted> = (counted.iter())
                .filter(|c| c.keys().any(|k| k == key))
                .collect();
            f.calibrate(of_key.iter().map(|c| (&c.features, c.outcome)));
            let calibration = f.calibration();
            let write = Write::Calibration {
                team: key.clone(),
                calibration,
            };
            self.store.commit(&Changeset::new().write(write)).await?;
            training
                .calibrated
                .push((key, of_key.len() as u64, calibration));
        }
        Ok(training)
    }
}
