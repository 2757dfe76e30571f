//! [`SqliteStore`]: the lead store on SQLite through rusqlite, one hop per store call.
//!
//! A thread owns the writer connection; every store call is one closure sent to it (or, for
//! a read while the writer is busy, to a reader thread), answered on a oneshot channel, and
//! runs there whole: a commit is the shared commit (`crate::commit`) over one `BEGIN
//! IMMEDIATE` transaction, a read the shared read (see `driver`). The table-backed ports
//! ([`SqliteEmployees`], [`SqliteClients`]) use the same threads. sqlx keeps the migrations,
//! on a pool over the same database that the store keeps open.

mod conn;
mod driver;
mod outbox;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Changeset, Committed, DuplicateGroup, EmployeeId, Event, FollowUpClaim, ImportKey,
    ImportLookup, Lead, LeadDetail, LeadId, LeadQuery, LeadStore, LostReasonReport, Opportunity,
    OpportunityId, OutboxEntry, OutboxRead, Page, PipelineFilter, PipelineRow, Report,
    ReportFilter, Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePool;

use super::{SqliteClients, SqliteEmployees, in_memory};
pub(super) use conn::Lanes;
use conn::{Worker, db};
pub(super) use driver::{Conn, now};
use rusqlite::TransactionBehavior;

use crate::{
    assignment, commit, duplicates, events, import, reads, records, reports, stage_probabilities,
};

/// Reader connections of a file database, for reads while the writer is busy. A read goes
/// to the writer whenever it is idle: its page cache is the warm one (SQLite drops a
/// connection's cache whenever another connection wrote since its last read).
const READERS: usize = 2;

/// The lead store on SQLite (rusqlite on connection threads). Cheap to clone: clones share
/// the connections.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    lanes: Arc<Lanes>,
    /// sqlx's pool over the same database: the migrations ran on it, a host may run its own
    /// statements on it, and it keeps an in-memory database alive.
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://path`,
    /// `sqlite:path`, `sqlite::memory:` or a file path; see [`super::options`]), waiting up
    /// to [`super::BUSY_TIMEOUT`] for another process's lock.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, super::BUSY_TIMEOUT).await
    }

    /// [`Self::connect`] with another busy timeout: how long a call waits for another
    /// process's lock before failing with [`StoreError::Busy`].
    pub async fn connect_with(url: &str, busy_timeout: Duration) -> Result<Self, StoreError> {
        let options = super::options(url)?.busy_timeout(busy_timeout);
        let pool = super::pool_with(options, in_memory(url)).await?;
        super::migrate(&pool).await?;
        Self::open(pool, busy_timeout)
    }

    /// A store on the database of a host's `pool`, which the host configured and migrated
    /// (see [`super::migrate`] and [`Self::migrator`]): the store opens its own connections
    /// on the same file, or on the same in-memory database, which lives as long as the pool.
    pub fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        Self::open(pool, super::BUSY_TIMEOUT)
    }

    fn open(pool: SqlitePool, busy_timeout: Duration) -> Result<Self, StoreError> {
        let options = pool.connect_options();
        let file = options.get_filename();
        let lanes = if in_memory(&file.to_string_lossy()) {
            let name = file.to_string_lossy();
            let writer =
                Worker::spawn("crm-sqlite-writer", conn::open_memory(&name, busy_timeout)?)?;
            Lanes::new(writer, Vec::new())
        } else {
            let open = |read_only| conn::open_file(file, busy_timeout, read_only);
            let writer = Worker::spawn("crm-sqlite-writer", open(false)?)?;
            let readers = (0..READERS)
                .map(|i| Worker::spawn(&format!("crm-sqlite-reader-{i}"), open(true)?))
                .collect::<Result<Vec<_>, _>>()?;
            Lanes::new(writer, readers)
        };
        Ok(Self {
            lanes: Arc::new(lanes),
            pool,
        })
    }

    /// The embedded migrations.
    pub fn migrator() -> &'static Migrator {
        super::migrator()
    }

    /// sqlx's pool over the store's database, for a host's own statements.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The table-backed employee directory on the same database (and connections).
    pub fn employees(&self) -> SqliteEmployees {
        SqliteEmployees {
            lanes: self.lanes.clone(),
        }
    }

    /// The table-backed clients system on the same database (and connections).
    pub fn clients(&self) -> SqliteClients {
        SqliteClients {
            lanes: self.lanes.clone(),
        }
    }

    /// Runs `f`, a read over the shared statements, whole on a connection's thread.
    async fn shared<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: AsyncFnOnce(&mut Conn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.read(move |c| now(f(&mut Conn(c)))).await
    }

    /// [`Self::shared`] inside one read transaction: reads of several statements that must
    /// see one snapshot.
    async fn snapshot<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: AsyncFnOnce(&mut Conn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.read(move |c| {
            let tx = c.transaction().map_err(db)?;
            let found = now(f(&mut Conn(&tx)))?;
            tx.finish().map_err(db)?;
            Ok(found)
        })
        .await
    }

    /// Runs a read on the writer when it is idle, else on a reader.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.lanes.reader().call(f).await
    }
}

#[async_trait]
impl LeadStore for SqliteStore {
    async fn commit(&self, changes: &Changeset) -> Result<Committed, StoreError> {
        let changes = changes.clone();
        let writer = &self.lanes.writer;
        writer
            .call(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db)?;
                let done = now(commit::run(&mut Conn(&tx), &changes))?;
                tx.commit().map_err(db)?;
                Ok(done)
            })
            .await
    }

    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.shared(async move |c| reads::get_lead(c, id).await)
            .await
    }

    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        self.snapshot(async move |c| reads::detail(c, id).await)
            .await
    }

    async fn list_leads_in(
        &self,
        query: &LeadQuery,
        scope: &Scope,
    ) -> Result<Page<Lead>, StoreError> {
        let (q, s) = (query.clone(), scope.clone());
        self.shared(async move |c| reads::list_leads(c, &q, &s).await)
            .await
    }

    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        self.shared(async move |c| records::get_opportunity(c, id).await)
            .await
    }

    async fn count_leads_in(&self, query: &LeadQuery, scope: &Scope) -> Result<u64, StoreError> {
        let (q, s) = (query.clone(), scope.clone());
        self.shared(async move |c| reads::count_leads(c, &q, &s).await)
            .await
    }

    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        let rule = rule.to_owned();
        self.shared(async move |c| assignment::last_turn(c, &rule).await)
            .await
    }

    async fn imported(
        &self,
        keys: &[ImportKey],
    ) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        let keys = keys.to_vec();
        self.shared(async move |c| import::imported(c, &keys).await)
            .await
    }

    async fn score_frequencies(
        &self,
        team: &str,
    ) -> Result<crm_core::scoring::Frequencies, StoreError> {
        let team = team.to_owned();
        self.shared(async move |c| crate::scoring::frequencies(c, &team).await)
            .await
    }

    async fn score_facts(
        &self,
        leads: &[LeadId],
    ) -> Result<BTreeMap<LeadId, crm_core::scoring::Facts>, StoreError> {
        let leads = leads.to_vec();
        self.shared(async move |c| crate::scoring::facts(c, &leads).await)
            .await
    }

    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        self.shared(async move |c| stage_probabilities::history(c, limit).await)
            .await
    }

    async fn stage_probabilities(&self) -> Result<Vec<StageProbabilityChange>, StoreError> {
        self.shared(async move |c| stage_probabilities::in_force(c).await)
            .await
    }

    async fn outbox(&self, read: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        let r = *read;
        if r.claim_until.is_none() {
            return self
                .shared(async move |c| crate::outbox::read(c, &r).await)
                .await;
        }
        let writer = &self.lanes.writer;
        writer.call(move |c| outbox::claim(c, &r)).await
    }

    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        let s = scope.clone();
        self.shared(async move |c| events::pending(c, after, limit, &s).await)
            .await
    }

    async fn report_in(&self, filter: &ReportFilter, scope: &Scope) -> Result<Report, StoreError> {
        let (f, s) = (filter.clone(), scope.clone());
        self.shared(async move |c| reports::report(c, &f, &s).await)
            .await
    }

    async fn open_leads_by_owner(
        &self,
        owners: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        let o = owners.clone();
        self.shared(async move |c| assignment::open_by_owner(c, &o).await)
            .await
    }

    async fn lost_reason_report(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        let (f, s) = (filter.clone(), scope.clone());
        self.shared(async move |c| reports::lost_reasons(c, &f, &s).await)
            .await
    }

    async fn status_time_rows(
        &self,
        filter: &ReportFilter,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        let (f, s) = (filter.clone(), scope.clone());
        self.shared(async move |c| reports::status_times(c, &f, &s, now).await)
            .await
    }

    async fn pipeline_rows(
        &self,
        filter: &PipelineFilter,
        scope: &Scope,
        probabilities: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        let (f, s, p) = (filter.clone(), scope.clone(), probabilities.clone());
        self.shared(async move |c| reports::pipeline(c, &f, &s, &p).await)
            .await
    }

    async fn import_lookup(
        &self,
        keys: &[ImportKey],
        emails: &[String],
        phones: &[String],
    ) -> Result<ImportLookup, StoreError> {
        let (k, e, p) = (keys.to_vec(), emails.to_vec(), phones.to_vec());
        self.snapshot(async move |c| import::lookup(c, &k, &e, &p).await)
            .await
    }

    async fn duplicate_groups(
        &self,
        scope: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        let s = scope.clone();
        self.shared(async move |c| duplicates::groups(c, &s, fuzzy).await)
            .await
    }

    async fn follow_up_candidates(&self, claim: &FollowUpClaim) -> Result<Vec<Lead>, StoreError> {
        let claim = *claim;
        self.read(move |c| outbox::follow_up_candidates(c, &claim))
            .await
    }
}
