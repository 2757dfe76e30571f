//! What the store port's optional methods default to: each computed from the required
//! methods ([`LeadStore::list_leads_in`], [`LeadStore::lead_detail`], [`LeadStore::outbox`],
//! [`LeadStore::commit`]) by the same rule the core uses everywhere else. A store overrides
//! a method when it can answer faster (an index, an SQL `GROUP BY`, one statement for a
//! claim); the conformance suite holds both to the same answers.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::changeset::{Changeset, Precondition, Write};
use crate::claim::{self, may_be_claimed};
use crate::conversion::PendingClient;
use crate::error::StoreError;
use crate::follow_up::{FollowUpClaim, FollowUpNotice, refreshed};
use crate::ids::{EmployeeId, LeadId};
use crate::importing::ImportKey;
use crate::lead::Lead;
use crate::pipeline::{PipelineFilter, PipelineRow, StageProbabilities};
use crate::ports::{ImportLookup, LeadStore, OutboxEntry, OutboxKind, OutboxRead};
use crate::query::LeadQuery;
use crate::report::ReportFilter;
use crate::scoring::{Facts, Frequencies};
use crate::stage_probability::StageProbabilityChange;
use crate::time_in_status::StatusTimeRow;
use crate::visibility::Scope;

/// How many leads one page of a scan reads.
const SCAN_PAGE: u32 = 1000;

/// How often a claim decides again after a concurrent commit changed a lead it read.
const CLAIM_ATTEMPTS: usize = 8;

fn corrupt(what: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt {
        what,
        source: Box::new(e),
    }
}

/// Every lead in `scope` that is not merged into another, newest first.
pub async fn scan<S: LeadStore + ?Sized>(
    store: &S,
    scope: &Scope,
) -> Result<Vec<Lead>, StoreError> {
    let mut query = LeadQuery::default()
        .limit(SCAN_PAGE)
        .map_err(|e| corrupt("scan page size", e))?;
    let mut out = Vec::new();
    loop {
        let page = store.list_leads_in(&query, scope).await?;
        out.extend(page.items);
        match page.next {
            Some(c) => query = query.after(c),
            None => return Ok(out),
        }
    }
}

/// [`LeadStore::count_leads_in`] by paging through the leads `query` lists.
pub async fn count_leads<S: LeadStore + ?Sized>(
    store: &S,
    query: &LeadQuery,
    scope: &Scope,
) -> Result<u64, StoreError> {
    let mut page_query =
        (query.clone().from_start().limit(SCAN_PAGE)).map_err(|e| corrupt("scan page size", e))?;
    let mut n = 0u64;
    loop {
        let page = store.list_leads_in(&page_query, scope).await?;
        n += page.items.len() as u64;
        match page.next {
            Some(c) => page_query = page_query.after(c),
            None => return Ok(n),
        }
    }
}

/// [`LeadStore::score_frequencies`] rebuilt over a scan of every lead.
pub async fn score_frequencies<S: LeadStore + ?Sized>(
    store: &S,
    team: &str,
) -> Result<Frequencies, StoreError> {
    let leads = scan(store, &Scope::All).await?;
    Ok(Frequencies::of_counted(
        team,
        leads.iter().filter_map(Lead::counted_as),
    ))
}

/// [`LeadStore::score_facts`] from each lead's detail view.
pub async fn score_facts<S: LeadStore + ?Sized>(
    store: &S,
    leads: &[LeadId],
) -> Result<BTreeMap<LeadId, Facts>, StoreError> {
    let mut out = BTreeMap::new();
    for id in leads {
        if let Some(d) = store.lead_detail(*id).await? {
            let facts = Facts {
                interactions: u32::try_from(d.interactions.len()).unwrap_or(u32::MAX),
                has_opportunity: !d.opportunities.is_empty(),
            };
            out.insert(*id, facts);
        }
    }
    Ok(out)
}

/// [`LeadStore::open_leads_by_owner`] over a scan.
pub async fn open_leads_by_owner<S: LeadStore + ?Sized>(
    store: &S,
    owners: &BTreeSet<EmployeeId>,
) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    for lead in scan(store, &Scope::All).await? {
        if lead.is_open() && owners.contains(&lead.owner()) {
            *counts.entry(lead.owner()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// [`LeadStore::status_time_rows`] over a scan and each lead's own history.
pub async fn status_time_rows<S: LeadStore + ?Sized>(
    store: &S,
    filter: &ReportFilter,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Vec<StatusTimeRow>, StoreError> {
    let mut rows = Vec::new();
    for lead in scan(store, scope).await? {
        if let Some(d) = store.lead_detail(lead.id()).await? {
            // The detail shows the history of leads merged into this one too; time in
            // status counts each lead's own.
            let own: Vec<_> = d
                .history
                .into_iter()
                .filter(|e| e.lead_id == lead.id())
                .collect();
            rows.push((lead, own));
        }
    }
    StatusTimeRow::from_histories(rows.iter().map(|(l, h)| (l, h.as_slice())), filter, now)
        .map_err(|e| corrupt("time in status", e))
}

/// [`LeadStore::pipeline_rows`] over a scan and each lead's opportunities.
pub async fn pipeline_rows<S: LeadStore + ?Sized>(
    store: &S,
    filter: &PipelineFilter,
    scope: &Scope,
    probabilities: &StageProbabilities,
) -> Result<Vec<PipelineRow>, StoreError> {
    let mut opportunities = Vec::new();
    for lead in scan(store, scope).await? {
        if let Some(d) = store.lead_detail(lead.id()).await? {
            opportunities.extend(d.opportunities.into_iter().map(|o| (o, lead.owner())));
        }
    }
    PipelineRow::from_opportunities(
        opportunities.iter().map(|(o, owner)| (o, *owner)),
        filter,
        probabilities,
    )
    .map_err(|e| corrupt("pipeline totals", e))
}

/// The newest change of each stage among `all` (newest first).
pub fn newest_per_stage(all: Vec<StageProbabilityChange>) -> Vec<StageProbabilityChange> {
    let mut newest: BTreeMap<String, StageProbabilityChange> = BTreeMap::new();
    for c in all {
        newest.entry(c.stage.to_string()).or_insert(c);
    }
    newest.into_values().collect()
}

/// [`LeadStore::import_lookup`] over [`LeadStore::imported`] and a scan.
pub async fn import_lookup<S: LeadStore + ?Sized>(
    store: &S,
    keys: &[ImportKey],
    emails: &[String],
    phones: &[String],
) -> Result<ImportLookup, StoreError> {
    let imported = store.imported(keys).await?;
    let emails: BTreeSet<&str> = emails.iter().map(String::as_str).collect();
    let phones: BTreeSet<&str> = phones.iter().map(String::as_str).collect();
    let open = scan(store, &Scope::All)
        .await?
        .into_iter()
        .filter(|l| {
            l.status().is_open()
                && (l.email().is_some_and(|e| emails.contains(e.as_str()))
                    || l.phone().is_some_and(|p| phones.contains(p.key())))
        })
        .collect();
    Ok(ImportLookup { imported, open })
}

/// The notices among outbox entries.
pub fn notices(entries: Vec<OutboxEntry>) -> Vec<FollowUpNotice> {
    entries
        .into_iter()
        .filter_map(|e| match e {
            OutboxEntry::Notice { notice, .. } => Some(notice),
            OutboxEntry::Client(_) => None,
        })
        .collect()
}

/// The pending clients among outbox entries.
pub fn clients(entries: Vec<OutboxEntry>) -> Vec<PendingClient> {
    entries
        .into_iter()
        .filter_map(|e| match e {
            OutboxEntry::Client(c) => Some(c),
            OutboxEntry::Notice { .. } => None,
        })
        .collect()
}

/// The outbox notices a claim takes over, refreshed against their leads: the ones to send
/// and the moot ones to drop.
async fn taken_over<S: LeadStore + ?Sized>(
    store: &S,
    claim: &FollowUpClaim,
    claim_until: Option<DateTime<Utc>>,
) -> Result<(Vec<FollowUpNotice>, Vec<FollowUpNotice>), StoreError> {
    let read = OutboxRead {
        kind: OutboxKind::FollowUps,
        due_at: Some(claim.now),
        claim_until,
        limit: claim.limit,
    };
    let (mut live, mut moot) = (Vec::new(), Vec::new());
    for notice in notices(store.outbox(&read).await?) {
        let lead = store.get_lead(notice.lead_id).await?;
        match lead.as_ref().and_then(|l| refreshed(&notice, l)) {
            Some(n) => live.push(n),
            None => moot.push(notice),
        }
    }
    Ok((live, moot))
}

/// [`LeadStore::follow_up_candidates`] over a scan.
pub async fn follow_up_candidates<S: LeadStore + ?Sized>(
    store: &S,
    claim: &FollowUpClaim,
) -> Result<Vec<Lead>, StoreError> {
    Ok(scan(store, &Scope::All)
        .await?
        .into_iter()
        .filter(|l| may_be_claimed(l, claim))
        .collect())
}

/// [`LeadStore::claim_follow_ups`] over [`LeadStore::outbox`],
/// [`LeadStore::follow_up_candidates`], [`claim::plan`] and one commit: the notices taken over are claimed by the outbox read itself; the new ones are
/// committed with their leads' marks, each over the follow-up state it was decided on
/// ([`Precondition::FollowUpState`]), so a concurrent claim or interaction makes the commit
/// fail and the plan is made again from the new state.
pub async fn claim_follow_ups<S: LeadStore + ?Sized>(
    store: &S,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let (live, moot) = taken_over(store, claim, Some(claim.lease_until)).await?;
    let mut keep = Changeset::new();
    for n in &moot {
        keep = keep.write(Write::DropNotice(n.id));
    }
    for n in &live {
        keep = keep.write(Write::Notice {
            notice: Box::new(n.clone()),
            claimed_until: claim.lease_until,
        });
    }
    if !keep.is_empty() {
        store.commit(&keep).await?;
    }
    let room = (claim.limit as usize).saturating_sub(live.len());
    let mut out = live;
    if room == 0 {
        return Ok(out);
    }
    for attempt in 1..=CLAIM_ATTEMPTS {
        let leads = store.follow_up_candidates(claim).await?;
        let plan = claim::plan(&leads, claim, room).map_err(|e| corrupt("lead", e))?;
        let mut c = Changeset::new();
        for p in &plan {
            c = c
                .require(Precondition::FollowUpState(Box::new(p.before.clone())))
                .write(Write::FollowUpMarks(Box::new(p.after.clone())))
                .write(Write::Notice {
                    notice: Box::new(p.notice.clone()),
                    claimed_until: claim.lease_until,
                });
        }
        if c.is_empty() {
            break;
        }
        match store.commit(&c).await {
            Ok(_) => {
                out.extend(plan.into_iter().map(|p| p.notice));
                break;
            }
            Err(StoreError::Conflict { .. }) if attempt < CLAIM_ATTEMPTS => continue,
            Err(StoreError::Conflict { .. }) => {
                return Err(StoreError::Busy(
                    "concurrent writes kept changing the leads this claim read".into(),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// [`LeadStore::preview_follow_ups`]: the plan of [`claim_follow_ups`], changing nothing.
pub async fn preview_follow_ups<S: LeadStore + ?Sized>(
    store: &S,
    claim: &FollowUpClaim,
) -> Result<Vec<FollowUpNotice>, StoreError> {
    let (mut out, _) = taken_over(store, claim, None).await?;
    out.truncate(claim.limit as usize);
    let room = (claim.limit as usize).saturating_sub(out.len());
    if room > 0 {
        let leads = store.follow_up_candidates(claim).await?;
        let plan = claim::plan(&leads, claim, room).map_err(|e| corrupt("lead", e))?;
        out.extend(plan.into_iter().map(|p| p.notice));
    }
    Ok(out)
}
