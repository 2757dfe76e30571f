//! The ports: one small trait per thing the core needs from outside. Hosts and adapters
//! implement them; [`crate::Crm`] holds them as `Arc<dyn Port>`.

pub mod derived;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::assignment::Turn;
use crate::changeset::{Changeset, Committed, Write};
use crate::conversion::{ClientRequest, PendingClient};
use crate::detail::LeadDetail;
use crate::employee::Employee;
use crate::error::{Entity, PortError, StoreError};
use crate::events::{Event, NewEvent};
use crate::follow_up::{FollowUpClaim, FollowUpNotice};
use crate::ids::{ClientId, EmployeeId, LeadId, NoticeId, OpportunityId};
use crate::importing::ImportKey;
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::opportunity::Opportunity;
use crate::query::{LeadQuery, Page};
use crate::report::{Report, ReportFilter};
use crate::stage_probability::StageProbabilityChange;
use crate::team::Team;
use crate::visibility::Scope;

pub use crate::write::{ImportBatch, ImportWrite, LeadWrite, OpportunityWrite};

/// What an import needs to know before deciding a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportLookup {
    /// The keys asked about that are stored, with the lead each wrote.
    pub imported: BTreeMap<ImportKey, LeadId>,
    /// Every open lead (status `new`, `contacted` or `interested`) whose email is one of the
    /// emails asked about or whose phone key is one of the phones, in any order.
    pub open: Vec<Lead>,
}

/// Which outbox an [`OutboxRead`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// Follow-up notices still to be delivered ([`FollowUpNotice`]), oldest notice id first.
    FollowUps,
    /// Clients still to be created for converted leads ([`PendingClient`]), oldest
    /// conversion (then lead id) first.
    Clients,
}

/// A read of an outbox, claiming what it returns when `claim_until` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxRead {
    /// The outbox.
    pub kind: OutboxKind,
    /// Only entries free at this time: never claimed, or whose claim ran out
    /// (`claimed_until <= due_at`). `None`: every entry, claimed or not.
    pub due_at: Option<DateTime<Utc>>,
    /// Claim every entry returned until this time, atomically: concurrent readers that
    /// claim get disjoint entries. `None`: read only. Claim with `due_at` set: with
    /// `due_at: None` a claim takes entries another caller holds.
    pub claim_until: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: u32,
}

/// One entry of an outbox, as stored (after the claim, when the read claimed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxEntry {
    /// A follow-up notice and until when it is claimed.
    Notice {
        /// The notice.
        notice: FollowUpNotice,
        /// Its claim (a time in the past: free).
        claimed_until: DateTime<Utc>,
    },
    /// A client to create.
    Client(PendingClient),
}

/// Where leads live: a few reads, one outbox read, and one write, [`LeadStore::commit`].
///
/// A complete adapter implements the ten required methods; every other method has a
/// default in crm-core, computed from those (reports and duplicate groups over a scan of
/// [`LeadStore::list_leads_in`], the follow-up sweep's claim over
/// [`crate::claim::plan`] and [`LeadStore::commit`]), which a store overrides
/// when it can do better (an SQL `GROUP BY`, one statement for a claim). Adapters must pass
/// the conformance suite in the `crm-tests` crate (`crm_tests::adapter_suite!`, one line in
/// the adapter's tests); `tests/kit-example` is an adapter with only the required methods.
///
/// Writes go through [`LeadStore::commit`]; [`StoreWrites`] gives each use case's changeset
/// a name (`store.insert_lead(&write)` commits [`Changeset::insert_lead`]).
///
/// A host normally uses a ready adapter (`crm_store_memory::MemoryStore`,
/// `crm_store_sqlx::SqliteStore` or `PostgresStore`) as `Arc<dyn LeadStore>`. Implementing
/// the port itself is for a new database, or, as here, a wrapper around another store: this
/// one counts the leads written, delegating everything to the store inside.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use async_trait::async_trait;
/// use crm_core::*;
/// use crm_core::changeset::{Changeset, Committed, Step, Write};
///
/// struct Counted {
///     inner: Arc<dyn LeadStore>,
///     leads_written: AtomicU64,
/// }
///
/// #[async_trait]
/// impl LeadStore for Counted {
///     async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
///         let done = self.inner.commit(changes).await?;
///         let leads = changes.steps.iter().filter(|s| {
///             matches!(s, Step::Write(Write::InsertLead(_) | Write::UpdateLead(_)))
///         });
///         self.leads_written.fetch_add(leads.count() as u64, Ordering::Relaxed);
///         Ok(done)
///     }
///     async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
///         self.inner.get_lead(id).await
///     }
///     async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
///         self.inner.lead_detail(id).await
///     }
///     async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
///         self.inner.list_leads_in(q, s).await
///     }
///     async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
///         self.inner.get_opportunity(id).await
///     }
///     async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
///         self.inner.last_turn(rule).await
///     }
///     async fn imported(
///         &self,
///         keys: &[ImportKey],
///     ) -> Result<std::collections::BTreeMap<ImportKey, LeadId>, StoreError> {
///         self.inner.imported(keys).await
///     }
///     async fn stage_probability_history(
///         &self,
///         limit: u32,
///     ) -> Result<Vec<StageProbabilityChange>, StoreError> {
///         self.inner.stage_probability_history(limit).await
///     }
///     async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
///         self.inner.outbox(read).await
///     }
///     async fn pending_events_in(
///         &self,
///         after: u64,
///         limit: u32,
///         scope: &Scope,
///     ) -> Result<Vec<Event>, StoreError> {
///         self.inner.pending_events_in(after, limit, scope).await
///     }
///     // Everything else has a default; a wrapper this thin would pass the inner store's
///     // faster reports on too (`report_in`, `claim_follow_ups`, ...).
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(Counted {
///     inner: Arc::new(crm_store_memory::MemoryStore::new()),
///     leads_written: AtomicU64::new(0),
/// });
/// let me = EmployeeId::new(7)?;
/// let crm = Crm::builder()
///     .store(store.clone())
///     .employees(Arc::new(crm_store_memory::MemoryEmployees::new([Employee::new(
///         me,
///         Name::parse("سارة الأحمد")?,
///         Role::Sales,
///     )])))
///     .clients(Arc::new(crm_store_memory::MemoryClients::new()))
///     .build()?;
/// let lead = NewLead::new(Name::parse("محمد العتيبي")?, Source::web())
///     .email(Email::parse("m@example.com")?);
/// crm.create_lead(me, lead).await?;
/// assert_eq!(store.leads_written.load(Ordering::Relaxed), 1);
/// # Ok(())
/// # }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    // ---- Required: the one write ----

    /// Applies `changes` atomically: its steps in order, each [`Precondition`](crate::Precondition) checked
    /// against the state the steps before it left, and either every write stored or, at the
    /// first precondition that fails, nothing, answering with the error that precondition
    /// names ([`Precondition::refusal`](crate::Precondition::refusal)). Concurrent commits are isolated: each sees the
    /// other whole or not at all.
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError>;

    // ---- Required: reads ----

    /// One lead (merged ones too).
    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError>;

    /// The detail view of one lead; its history includes that of the leads merged into it
    /// (by time, each entry naming its lead).
    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError>;

    /// Leads matching `query` whose owner `scope` admits ([`Scope::admits`]), not merged
    /// into another, newest `(created_at, id)` first, one page. The scope is part of the
    /// query: a page holds `query.page_size()` leads in scope whenever that many match.
    async fn list_leads_in(
        &self,
        query: &LeadQuery,
        scope: &Scope,
    ) -> Result<Page<Lead>, StoreError>;

    /// One opportunity.
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError>;

    /// Whom the assignment rule stored under `rule` ([`crate::AssignmentRule::rotation_key`])
    /// gave its last lead to, if it gave one.
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError>;

    /// The import keys among `keys` that are stored, with the lead each wrote.
    async fn imported(&self, keys: &[ImportKey])
    -> Result<BTreeMap<ImportKey, LeadId>, StoreError>;

    /// Stored stage probability changes, newest first (by store order), at most `limit`.
    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError>;

    /// Entries of an outbox, as [`OutboxRead`] asks, in the outbox's order
    /// ([`OutboxKind`]), claiming them when it says so.
    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Unacknowledged events with `seq > after` about leads whose owner (now) `scope`
    /// admits, in order, at most `limit` of them.
    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError>;

    // ---- Optional: derived in crm-core, overridden by stores that do better ----

    /// Leads matching `query`, newest first, one page.
    async fn list_leads(&self, query: &LeadQuery) -> Result<Page<Lead>, StoreError> {
        self.list_leads_in(query, &Scope::All).await
    }

    /// Counts by status x source under `filter`.
    async fn report(&self, filter: &ReportFilter) -> Result<Report, StoreError> {
        self.report_in(filter, &Scope::All).await
    }

    /// Counts by status x source under `filter`, of the leads in `scope` only.
    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        let leads = derived::scan(self, scope).await?;
        Ok(Report::from_leads(leads.iter(), filter))
    }

    /// How many open leads (status `new`, `contacted` or `interested`) each of `owners`
    /// owns; owners with none may be left out.
    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        derived::open_leads_by_owner(self, owners).await
    }

    /// Lost leads (status `lost` now) of the leads in `scope`, counted by reason code under
    /// `filter`, as [`crate::report::LostReasonReport::from_leads`] counts them.
    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<crate::report::LostReasonReport, StoreError> {
        let leads = derived::scan(self, scope).await?;
        Ok(crate::report::LostReasonReport::from_leads(
            leads.iter(),
            filter,
        ))
    }

    /// Time in status per (owner, source, status) of the leads in `scope` under `filter`,
    /// their stays counted until `now`, as [`crate::StatusTimeRow::from_histories`] computes
    /// them from the stored history (any order).
    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::StatusTimeRow>, StoreError> {
        derived::status_time_rows(self, filter, scope, now).await
    }

    /// Opportunities of leads in `scope`, grouped by currency, their lead's owner, stage and
    /// expected-close month under `filter`, with each group's weighted total under
    /// `probabilities`, as [`crate::PipelineRow::from_opportunities`] computes them (any
    /// order).
    async fn pipeline_rows(
        &self,
        filter: &crate::PipelineFilter,
        scope: &Scope,
        probabilities: &crate::StageProbabilities,
    ) -> Result<Vec<crate::PipelineRow>, StoreError> {
        derived::pipeline_rows(self, filter, scope, probabilities).await
    }

    /// The stored stage probabilities in force: the newest change of each stage that has one
    /// (newest by store order, not by `changed_at`), any order.
    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        let all = self.stage_probability_history(u32::MAX).await?;
        Ok(derived::newest_per_stage(all))
    }

    /// What [`ImportLookup`] says about `keys`, `emails` and `phones` (phone keys, see
    /// [`crate::Phone::key`]).
    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        derived::import_lookup(self, keys, emails, phones).await
    }

    /// The groups of open leads (not merged) in `scope` sharing an email or a phone, and with
    /// `fuzzy` a folded name within a folded company, as
    /// [`crate::duplicates::duplicate_groups`] gives them (same groups, same order).
    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<crate::DuplicateGroup>, StoreError> {
        let leads = derived::scan(self, scope).await?;
        Ok(crate::duplicates::duplicate_groups(leads.iter(), fuzzy))
    }

    /// The stored leads a follow-up claim could concern: at least every lead
    /// [`crate::claim::may_be_claimed`] admits under `claim` (more is harmless: the plan
    /// filters again), any order. The default scans every lead; a store answers from its
    /// indexes (leads still `new` and never notified, follow-up times that came, owner
    /// notifications old enough to escalate).
    async fn follow_up_candidates(&self, claim: &FollowUpClaim) -> Result<Vec<Lead>, StoreError> {
        derived::follow_up_candidates(self, claim).await
    }

    /// Claims follow-up notices to send, atomically (see [`FollowUpClaim`]): outbox notices
    /// whose claim ran out (`claimed_until <= claim.now`) first, oldest notice id first, each
    /// replaced by [`crate::follow_up::refreshed`] against its lead (and deleted when that is
    /// `None`); then, up to `claim.limit` in all, the new notices
    /// [`crate::claim::plan`] gives for the stored leads, each lead's follow-up
    /// marks written with its notice. Every returned notice is claimed until
    /// `claim.lease_until`. Concurrent callers get disjoint notices.
    async fn claim_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        derived::claim_follow_ups(self, claim).await
    }

    /// What [`LeadStore::claim_follow_ups`] would return for `claim`, changing nothing: the
    /// outbox notices it would take over (refreshed; moot ones left out), then the new
    /// notices it would create, in the same order and under the same limit.
    async fn preview_follow_ups(
        &self,
        claim: &FollowUpClaim,
    ) -> Result<Vec<FollowUpNotice>, StoreError> {
        derived::preview_follow_ups(self, claim).await
    }

    /// Notices in the outbox (claimed or not), oldest first, at most `limit`: what is still
    /// to be delivered.
    async fn undelivered_follow_ups(&self, limit: u32) -> Result<Vec<FollowUpNotice>, StoreError> {
        let read = OutboxRead {
            kind: OutboxKind::FollowUps,
            due_at: None,
            claim_until: None,
            limit,
        };
        Ok(derived::notices(self.outbox(&read).await?))
    }

    /// Clients still to be created, oldest conversion first, at most `limit`.
    async fn pending_clients(&self, limit: u32) -> Result<Vec<PendingClient>, StoreError> {
        let read = OutboxRead {
            kind: OutboxKind::Clients,
            due_at: None,
            claim_until: None,
            limit,
        };
        Ok(derived::clients(self.outbox(&read).await?))
    }

    /// Claims pending clients to send, atomically: records with no claim or whose claim ran
    /// out (`claimed_until <= now`), oldest conversion first, at most `limit`, each claimed
    /// until `lease_until`. Concurrent callers get disjoint records.
    async fn claim_pending_clients(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingClient>, StoreError> {
        let read = OutboxRead {
            kind: OutboxKind::Clients,
            due_at: Some(now),
            claim_until: Some(lease_until),
            limit,
        };
        Ok(derived::clients(self.outbox(&read).await?))
    }

    /// The scoring frequencies of `team` ([`crate::scoring::ALL_TEAMS`] for everyone's):
    /// the sum, over the decided leads not merged into another, of what each was counted as
    /// ([`crate::scoring::Frequencies::of_counted`]), with the calibration last stored for
    /// the team ([`crate::changeset::Write::Calibration`]; none by default). The default
    /// rebuilds the counts from a scan; a store keeps them as commits change them
    /// ([`crate::changeset::Write::ScoreCounts`]) and reads them back, so scoring after a
    /// conversion rescans nothing.
    async fn score_frequencies(
        &self,
        team: &str,
    ) -> Result<crate::scoring::Frequencies, StoreError> {
        derived::score_frequencies(self, team).await
    }

    /// What the records of each of `leads` that is stored say for its score: interactions
    /// logged and whether it has an opportunity ([`crate::scoring::Facts`]). Leads not
    /// stored are left out.
    async fn score_facts(
        &self,
        leads: &[LeadId],
    ) -> Result<BTreeMap<LeadId, crate::scoring::Facts>, StoreError> {
        derived::score_facts(self, leads).await
    }

    /// How many leads [`LeadStore::list_leads_in`] would list for `query` in `scope`, over
    /// all its pages (its cursor and page size ignored). The default pages through them; a
    /// store counts them in one query.
    async fn count_leads_in(&self, query: &LeadQuery, scope: &Scope) -> Result<u64, StoreError> {
        derived::count_leads(self, query, scope).await
    }

    /// Unacknowledged events with `seq > after`, in order, at most `limit`.
    async fn pending_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.pending_events_in(after, limit, &Scope::All).await
    }
}

/// Each use case's write under its name: the [`Changeset`] it commits. Implemented for
/// every [`LeadStore`]; not for overriding (a store makes a write faster in
/// [`LeadStore::commit`], where every front end's writes meet).
#[async_trait]
pub trait StoreWrites {
    /// Inserts a new lead (version 1) ([`Changeset::insert_lead`]). Fails with `Duplicate`
    /// (when asked to check) naming the oldest open lead with the same email or phone.
    async fn insert_lead(&self, write: &LeadWrite) -> Result<(), StoreError>;
    /// Inserts a new lead and takes `turn` of its assignment rule; `Busy` when another
    /// create took the turn first ([`Changeset::insert_lead_taking_turn`]).
    async fn insert_lead_taking_turn(
        &self,
        write: &LeadWrite,
        turn: &Turn,
    ) -> Result<(), StoreError>;
    /// Replaces a lead whose stored version is `expected_version` (the new one must be
    /// `expected_version + 1`). Fails with `NotFound`, or `Conflict` when the version moved.
    async fn update_lead(&self, expected_version: u64, write: &LeadWrite)
    -> Result<(), StoreError>;
    /// Writes an import batch atomically ([`Changeset::import`]).
    async fn import_batch(&self, batch: &ImportBatch) -> Result<(), StoreError>;
    /// Adds an interaction and its events, and moves the lead's `last_interaction_at`
    /// forward. Fails with `NotFound` for a missing lead, `ReadOnly` for a converted one.
    async fn insert_interaction(
        &self,
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;
    /// Adds an opportunity and its events. Fails like [`StoreWrites::insert_interaction`].
    async fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError>;
    /// Replaces an opportunity whose stored version is `expected_version`. Fails with
    /// `NotFound`, `Conflict`, or `ReadOnly` when its lead is converted and
    /// `write.lead_must_be_open`.
    async fn update_opportunity(
        &self,
        expected_version: u64,
        write: &OpportunityWrite,
    ) -> Result<(), StoreError>;
    /// Stores a change of a stage's probability.
    async fn insert_stage_probability(
        &self,
        change: &StageProbabilityChange,
    ) -> Result<(), StoreError>;
    /// Stores a merge ([`Changeset::merge`]).
    async fn merge_leads(&self, write: &crate::MergeWrite) -> Result<(), StoreError>;
    /// The notifier accepted the notice: it leaves the outbox. Unknown ids are ignored.
    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError>;
    /// The notifier accepted these notices: they all leave the outbox, in one commit.
    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError>;
    /// Releases a notice the caller claimed until `claimed_until` and did not deliver, so the
    /// next sweep sends it. Nothing happens when the claim is no longer the caller's, or the
    /// notice is gone.
    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Releases a pending record the caller claimed until `claimed_until` and did not
    /// complete. Nothing happens when the claim is no longer the caller's, or it is gone.
    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Stores the client id on the converted lead, removes its pending record and appends
    /// `event`, atomically. Returns `false` (and changes nothing) if no record was pending.
    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;
    /// Counts a failed attempt on a pending record (its claim stays).
    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Acknowledges every event with `seq <= up_to`; returns how many were newly acknowledged.
    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError>;
}

/// The refusal of a write that does not move the version by exactly one: a conflict, as when
/// the stored version moved.
fn version_skip(entity: Entity, id: impl ToString, expected: u64) -> StoreError {
    StoreError::Conflict {
        entity,
        id: id.to_string(),
        expected,
    }
}

#[async_trait]
impl<S: LeadStore + ?Sized> StoreWrites for S {
    async fn insert_lead(&self, write: &LeadWrite) -> Result<(), StoreError> {
        self.commit(&Changeset::insert_lead(write)).await.map(drop)
    }
    async fn insert_lead_taking_turn(
        &self,
        write: &LeadWrite,
        turn: &Turn,
    ) -> Result<(), StoreError> {
        let c = Changeset::insert_lead_taking_turn(write, turn);
        self.commit(&c).await.map(drop)
    }
    async fn update_lead(
        &self,
        expected_version: u64,
        write: &LeadWrite,
    ) -> Result<(), StoreError> {
        if write.lead.version() != expected_version.wrapping_add(1) {
            return Err(version_skip(
                Entity::Lead,
                write.lead.id(),
                expected_version,
            ));
        }
        let c = Changeset::update_lead(expected_version, write);
        self.commit(&c).await.map(drop)
    }
    async fn import_batch(&self, batch: &ImportBatch) -> Result<(), StoreError> {
        self.commit(&Changeset::import(batch)).await.map(drop)
    }
    async fn insert_interaction(
        &self,
        interaction: &Interaction,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let c = Changeset::interaction(interaction, events);
        self.commit(&c).await.map(drop)
    }
    async fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let c = Changeset::insert_opportunity(opportunity, events);
        self.commit(&c).await.map(drop)
    }
    async fn update_opportunity(
        &self,
        expected_version: u64,
        write: &OpportunityWrite,
    ) -> Result<(), StoreError> {
        if write.opportunity.version != expected_version.wrapping_add(1) {
            let id = write.opportunity.id;
            return Err(version_skip(Entity::Opportunity, id, expected_version));
        }
        let c = Changeset::update_opportunity(expected_version, write);
        self.commit(&c).await.map(drop)
    }
    async fn insert_stage_probability(
        &self,
        change: &StageProbabilityChange,
    ) -> Result<(), StoreError> {
        let c = Changeset::new().write(Write::StageProbability(change.clone()));
        self.commit(&c).await.map(drop)
    }
    async fn merge_leads(&self, write: &crate::MergeWrite) -> Result<(), StoreError> {
        self.commit(&Changeset::merge(write)).await.map(drop)
    }
    async fn follow_up_delivered(&self, id: NoticeId) -> Result<(), StoreError> {
        self.follow_ups_delivered(&[id]).await
    }
    async fn follow_ups_delivered(&self, ids: &[NoticeId]) -> Result<(), StoreError> {
        let c = ids
            .iter()
            .fold(Changeset::new(), |c, id| c.write(Write::DropNotice(*id)));
        if c.is_empty() {
            return Ok(());
        }
        self.commit(&c).await.map(drop)
    }
    async fn release_follow_up(
        &self,
        id: NoticeId,
        claimed_until: DateTime<Utc>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = Changeset::new().write(Write::ReleaseNotice {
            id,
            claimed_until,
            error,
            at,
        });
        self.commit(&c).await.map(drop)
    }
    async fn release_pending_client(
        &self,
        lead_id: LeadId,
        claimed_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = Changeset::new().write(Write::ReleaseClient {
            lead: lead_id,
            claimed_until,
        });
        self.commit(&c).await.map(drop)
    }
    async fn complete_conversion(
        &self,
        lead_id: LeadId,
        client_id: &ClientId,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let c = Changeset::client_created(lead_id, client_id, event);
        match self.commit(&c).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    async fn record_conversion_failure(
        &self,
        lead_id: LeadId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = Changeset::new().write(Write::ClientFailed {
            lead: lead_id,
            error: error.to_owned(),
            at,
        });
        self.commit(&c).await.map(drop)
    }
    async fn ack_events(&self, up_to: u64) -> Result<u64, StoreError> {
        let c = Changeset::new().write(Write::AckEvents(up_to));
        Ok(self.commit(&c).await?.events_acked)
    }
}

/// The host's employee directory.
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{Employee, EmployeeId, PortError, ports::EmployeeDirectory};
///
/// struct Hr(Vec<Employee>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Hr {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.iter().find(|e| e.id == id).cloned())
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmployeeDirectory: Send + Sync + 'static {
    /// The employee with this id, or `None` if there is none.
    async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError>;
}

/// A directory that knows teams: needed by the `team` and `own` visibility policies and by
/// the assignment rules ([`crate::CrmBuilder::teams`]).
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{Employee, EmployeeId, PortError, Team, ports::{EmployeeDirectory, TeamDirectory}};
///
/// struct Hr(Vec<Employee>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Hr {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.iter().find(|e| e.id == id).cloned())
///     }
/// }
///
/// #[async_trait]
/// impl TeamDirectory for Hr {
///     async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
///         Ok(self.0.iter().filter(|e| e.team.as_ref().is_some_and(|t| teams.contains(t))).cloned().collect())
///     }
/// }
/// ```
#[async_trait]
pub trait TeamDirectory: EmployeeDirectory {
    /// Every employee (active or not) whose team is one of `teams`, by id.
    async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError>;
}

/// A directory the library can also write, for hosts without their own employee system (the
/// `crm employee` commands, the quickstart): an optional capability on top of
/// [`TeamDirectory`]. [`crate::Crm::save_employee`] checks who may use it.
///
/// ```
/// use async_trait::async_trait;
/// use std::{collections::BTreeMap, sync::Mutex};
/// use crm_core::{Employee, EmployeeId, PortError, Team};
/// use crm_core::ports::{EmployeeAdmin, EmployeeDirectory, TeamDirectory};
///
/// #[derive(Default)]
/// struct Staff(Mutex<BTreeMap<EmployeeId, Employee>>);
///
/// #[async_trait]
/// impl EmployeeDirectory for Staff {
///     async fn employee(&self, id: EmployeeId) -> Result<Option<Employee>, PortError> {
///         Ok(self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.get(&id).cloned())
///     }
/// }
///
/// #[async_trait]
/// impl TeamDirectory for Staff {
///     async fn team_members(&self, teams: &[Team]) -> Result<Vec<Employee>, PortError> {
///         let m = self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?;
///         Ok(m.values().filter(|e| e.team.as_ref().is_some_and(|t| teams.contains(t))).cloned().collect())
///     }
/// }
///
/// #[async_trait]
/// impl EmployeeAdmin for Staff {
///     async fn upsert_employee(&self, e: &Employee) -> Result<(), PortError> {
///         self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.insert(e.id, e.clone());
///         Ok(())
///     }
///     async fn insert_first_employee(&self, e: &Employee) -> Result<bool, PortError> {
///         let mut m = self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?;
///         if !m.is_empty() {
///             return Ok(false);
///         }
///         m.insert(e.id, e.clone());
///         Ok(true)
///     }
///     async fn list_employees(&self) -> Result<Vec<Employee>, PortError> {
///         Ok(self.0.lock().map_err(|_| PortError::new("staff", "poisoned"))?.values().cloned().collect())
///     }
/// }
/// ```
#[async_trait]
pub trait EmployeeAdmin: TeamDirectory {
    /// Adds the employee, or replaces the one with the same id.
    async fn upsert_employee(&self, employee: &Employee) -> Result<(), PortError>;
    /// Adds the employee only if the directory is empty, atomically (the first manager of a
    /// new installation); returns whether it was added.
    async fn insert_first_employee(&self, employee: &Employee) -> Result<bool, PortError>;
    /// Every employee, by id.
    async fn list_employees(&self) -> Result<Vec<Employee>, PortError>;
}

/// The host's clients system.
///
/// ```
/// use async_trait::async_trait;
/// use crm_core::{ClientId, ClientRequest, PortError, ports::ClientsPort};
///
/// struct Erp;
///
/// #[async_trait]
/// impl ClientsPort for Erp {
///     async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
///         // Use req.lead_id as the idempotency key: the same lead must give the same client.
///         ClientId::parse(&format!("client-{}", req.lead_id)).map_err(|e| PortError::new("clients", e))
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientsPort: Send + Sync + 'static {
    /// Creates (or links) the client for a converted lead. Must be idempotent on
    /// `request.lead_id`: a retry after a lost answer returns the same client.
    async fn create_client(&self, request: &ClientRequest) -> Result<ClientId, PortError>;
}

/// Where follow-up notifications go (internal messages, email, an alert log).
///
/// ```
/// use std::sync::Mutex;
///
/// use async_trait::async_trait;
/// use crm_core::{FollowUpNotice, NoticeId, PortError, ports::Notifier};
///
/// /// The host's inbox: one message per notice, however often a notice is sent again.
/// #[derive(Default)]
/// struct Inbox(Mutex<Vec<(NoticeId, String)>>);
///
/// #[async_trait]
/// impl Notifier for Inbox {
///     async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError> {
///         let mut inbox = self.0.lock().map_err(|_| PortError::new("inbox", "poisoned"))?;
///         if inbox.iter().any(|(id, _)| *id == notice.id) {
///             return Ok(()); // delivered before; the confirmation was lost
///         }
///         let text = format!("follow up {} ({:?})", notice.lead_name.as_str(), notice.kind);
///         inbox.push((notice.id, text));
///         Ok(())
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Delivers one notice to [`FollowUpNotice::recipient`]: the lead's owner, or for an
    /// escalation the owner's manager. Deduplicate on [`FollowUpNotice::id`]: a notice whose
    /// delivery was not confirmed is sent again under the same id.
    async fn notify(&self, notice: &FollowUpNotice) -> Result<(), PortError>;
}

pub use crate::clock::Clock;
