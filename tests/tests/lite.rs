//! The whole kit (the conformance suite and the model-based test) on the rusqlite SQLite
//! store, each test with a fresh database file in its own temporary directory.

#![allow(clippy::expect_used)] // test code: a failed expect is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Changeset, Committed, DuplicateGroup, EmployeeId, Event, FollowUpClaim, ImportKey,
    ImportLookup, Lead, LeadDetail, LeadId, LeadQuery, LeadStore, LostReasonReport, Opportunity,
    OpportunityId, OutboxEntry, OutboxRead, Page, PipelineFilter, PipelineRow, Report,
    ReportFilter, Scope, StageProbabilities, StageProbabilityChange, StatusTimeRow, StoreError,
};
use crm_store_sqlx::LiteStore;

/// A fresh store on a new file.
async fn store() -> Arc<dyn LeadStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crm.db");
    let store = LiteStore::connect(&path.to_string_lossy())
        .await
        .expect("open SQLite");
    Arc::new(InDir { store, _dir: dir })
}

crm_tests::adapter_suite!(store);

/// The in-memory database works the same (one connection owns it).
#[tokio::test]
async fn in_memory_database_is_migrated_and_kept() {
    let a = LiteStore::connect("sqlite::memory:").await.expect("open");
    let b = LiteStore::connect("sqlite::memory:").await.expect("open");
    let q = LeadQuery::default();
    assert!(a.list_leads(&q).await.expect("list").items.is_empty());
    assert!(b.list_leads(&q).await.expect("list").items.is_empty());
}

/// Two stores on one file (two processes, say) are isolated: of concurrent creates with
/// the same email through both, exactly one is stored, the others refused as duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_on_one_file_are_isolated() {
    use crm_core::{Crm, Email, Employee, Name, NewLead, Role, Source};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("shared.db").to_string_lossy().into_owned();
    let me = EmployeeId::new(7).expect("id");
    let mut crms = Vec::new();
    for _ in 0..2 {
        let store = LiteStore::connect(&url).await.expect("open");
        let crm = Crm::builder()
            .store(Arc::new(store))
            .employees(Arc::new(crm_store_memory::MemoryEmployees::new([
                Employee::new(me, Name::parse("Sara").expect("name"), Role::Manager),
            ])))
            .clients(Arc::new(crm_store_memory::MemoryClients::new()))
            .build()
            .expect("crm");
        crms.push(Arc::new(crm));
    }
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let crm = crms[i % 2].clone();
            tokio::spawn(async move {
                let lead = NewLead::new(Name::parse("Same").expect("name"), Source::web())
                    .email(Email::parse("same@example.com").expect("email"));
                match crm.create_lead(me, lead).await {
                    Ok(_) => true,
                    Err(crm_core::CrmError::Duplicate { .. }) => false,
                    Err(e) => panic!("neither stored nor a duplicate: {e}"),
                }
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        stored += usize::from(t.await.expect("task"));
    }
    assert_eq!(stored, 1);
    let page = crms[1]
        .list_leads(me, &LeadQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
}

/// A host's sqlx pool: the store opens its connections on the same database, a file or the
/// pool's in-memory one, and what it commits is there for the pool to read.
#[tokio::test]
async fn opens_the_database_of_a_hosts_pool() {
    use crm_core::{OpportunityStage, Probability, Write};
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("host.db").to_string_lossy().into_owned();
    for url in [file.as_str(), "sqlite::memory:"] {
        let pool = crm_store_sqlx::sqlite::pool(url).await.expect("pool");
        crm_store_sqlx::sqlite::migrate(&pool)
            .await
            .expect("migrate");
        let store = LiteStore::from_pool(&pool).expect("store");
        let change = StageProbabilityChange {
            stage: OpportunityStage::Proposal,
            probability: Probability::new(40).expect("probability"),
            changed_by: EmployeeId::new(1).expect("id"),
            changed_at: Utc::now(),
        };
        let c = Changeset::new().write(Write::StageProbability(change));
        store.commit(&c).await.expect("commit");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage_probability_changes")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(n, 1, "{url}");
    }
}

/// Time per call of the service's per-lead calls on this store and on the sqlx one, each on
/// a new file; for a quick comparison in an optimised build:
/// `cargo test --profile perf -p crm-tests --test lite timing -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, not a test"]
async fn timing() {
    use crm_core::{
        Crm, Email, Employee, InteractionKind, LeadStatus, Name, NewInteraction, NewLead, Role,
        Source,
    };
    const N: usize = 500;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let sqlx = crm_store_sqlx::SqliteStore::connect(&path("sqlx.db"))
        .await
        .expect("sqlx");
    let lite = LiteStore::connect(&path("lite.db")).await.expect("lite");
    let stores: [(&str, Arc<dyn LeadStore>); 2] =
        [("sqlx", Arc::new(sqlx)), ("lite", Arc::new(lite))];
    for (name, store) in stores {
        let me = EmployeeId::new(7).expect("id");
        // The store alone: a one-row commit, and a read of one lead.
        let change = crm_core::StageProbabilityChange {
            stage: crm_core::OpportunityStage::Proposal,
            probability: crm_core::Probability::new(40).expect("probability"),
            changed_by: me,
            changed_at: Utc::now(),
        };
        let one_row = Changeset::new().write(crm_core::Write::StageProbability(change));
        let t = std::time::Instant::now();
        for _ in 0..N {
            store.commit(&one_row).await.expect("commit");
        }
        let commit = t.elapsed() / N as u32;
        let t = std::time::Instant::now();
        for _ in 0..N {
            store
                .get_lead(LeadId::new_at(Utc::now()))
                .await
                .expect("get");
        }
        println!(
            "{name}: one-row commit {commit:?}, get_lead (none) {:?} per call",
            t.elapsed() / N as u32
        );
        let crm = Crm::builder()
            .store(store.clone())
            .employees(Arc::new(crm_store_memory::MemoryEmployees::new([
                Employee::new(me, Name::parse("Sara").expect("name"), Role::Manager),
            ])))
            .clients(Arc::new(crm_store_memory::MemoryClients::new()))
            .build()
            .expect("crm");
        let mut ids = Vec::with_capacity(N);
        let t = std::time::Instant::now();
        for i in 0..N {
            let lead = NewLead::new(
                Name::parse(&format!("Lead {i}")).expect("name"),
                Source::web(),
            )
            .email(Email::parse(&format!("l{i}@example.com")).expect("email"));
            ids.push(crm.create_lead(me, lead).await.expect("create").id());
        }
        let create = t.elapsed() / N as u32;
        // The sweep a month later: every lead is due its first-contact notice.
        struct Later;
        impl crm_core::Clock for Later {
            fn now(&self) -> DateTime<Utc> {
                Utc::now() + chrono::TimeDelta::days(30)
            }
        }
        let sweeper = Crm::builder()
            .store(store.clone())
            .employees(Arc::new(crm_store_memory::MemoryEmployees::new([
                Employee::new(me, Name::parse("Sara").expect("name"), Role::Manager),
            ])))
            .clients(Arc::new(crm_store_memory::MemoryClients::new()))
            .notifier(Arc::new(crm_core::LogNotifier))
            .clock(Arc::new(Later))
            .build()
            .expect("crm");
        let t = std::time::Instant::now();
        let swept = sweeper.sweep_now(me).await.expect("sweep");
        let notices = swept.notices.len().max(1) as u32;
        let sweep = t.elapsed() / notices;
        let t = std::time::Instant::now();
        for id in &ids {
            let to = LeadStatus::Contacted;
            crm.change_status(me, *id, 1, to, None)
                .await
                .expect("status");
        }
        let status = t.elapsed() / N as u32;
        let call = || NewInteraction {
            kind: InteractionKind::Call,
            occurred_at: None,
            notes: Default::default(),
            next_follow_up: None,
        };
        let t = std::time::Instant::now();
        for id in &ids {
            crm.log_interaction(me, *id, call())
                .await
                .expect("interaction");
        }
        let interaction = t.elapsed() / N as u32;
        let t = std::time::Instant::now();
        for id in &ids {
            crm.lead(me, *id).await.expect("lead");
        }
        let get = t.elapsed() / N as u32;
        let t = std::time::Instant::now();
        for id in &ids {
            crm.lead_detail(me, *id).await.expect("detail");
        }
        let detail = t.elapsed() / N as u32;
        println!(
            "{name}: sweep {sweep:?} per notice ({notices}), create {create:?}, change status {status:?}, log interaction \
             {interaction:?}, get {get:?}, detail {detail:?} per call"
        );
        // Reads while a writer works: what the reader connections are for.
        let (crm, ids) = (Arc::new(crm), Arc::new(ids));
        let t = std::time::Instant::now();
        let (c, i) = (crm.clone(), ids.clone());
        let mut tasks = vec![tokio::spawn(async move {
            for id in i.iter() {
                c.log_interaction(me, *id, call())
                    .await
                    .expect("interaction");
            }
        })];
        for _ in 0..4 {
            let (c, i) = (crm.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                for id in i.iter() {
                    c.lead_detail(me, *id).await.expect("detail");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        println!(
            "{name}: {N} interactions while 4 tasks read {N} details each: {:?}",
            t.elapsed()
        );
    }
}

/// A store that owns the temporary directory of its database file; every method the store
/// answers itself is passed on, so the kit tests those and not crm-core's defaults.
struct InDir {
    store: LiteStore,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl LeadStore for InDir {
    async fn commit(&self, c: &Changeset) -> Result<Committed, StoreError> {
        self.store.commit(c).await
    }
    async fn get_lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.store.get_lead(id).await
    }
    async fn lead_detail(&self, id: LeadId) -> Result<Option<LeadDetail>, StoreError> {
        self.store.lead_detail(id).await
    }
    async fn list_leads_in(&self, q: &LeadQuery, s: &Scope) -> Result<Page<Lead>, StoreError> {
        self.store.list_leads_in(q, s).await
    }
    async fn get_opportunity(&self, id: OpportunityId) -> Result<Option<Opportunity>, StoreError> {
        self.store.get_opportunity(id).await
    }
    async fn last_turn(&self, rule: &str) -> Result<Option<EmployeeId>, StoreError> {
        self.store.last_turn(rule).await
    }
    async fn imported(&self, k: &[ImportKey]) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
        self.store.imported(k).await
    }
    async fn stage_probability_history(
        &self,
        limit: u32,
    ) -> Result<Vec<StageProbabilityChange>, StoreError> {
        self.store.stage_probability_history(limit).await
    }
    async fn outbox(&self, r: &OutboxRead) -> Result<Vec<OutboxEntry>, StoreError> {
        self.store.outbox(r).await
    }
    async fn pending_events_in(
        &self,
        after: u64,
        limit: u32,
        s: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        self.store.pending_events_in(after, limit, s).await
    }
    async fn report_in(&self, f: &ReportFilter, s: &Scope) -> Result<Report, StoreError> {
        self.store.report_in(f, s).await
    }
    async fn open_leads_by_owner(
        &self,
        o: &BTreeSet<EmployeeId>,
    ) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
        self.store.open_leads_by_owner(o).await
    }
    async fn lost_reason_report(
        &self,
        f: &ReportFilter,
        s: &Scope,
    ) -> Result<LostReasonReport, StoreError> {
        self.store.lost_reason_report(f, s).await
    }
    async fn status_time_rows(
        &self,
        f: &ReportFilter,
        s: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusTimeRow>, StoreError> {
        self.store.status_time_rows(f, s, now).await
    }
    async fn pipeline_rows(
        &self,
        f: &PipelineFilter,
        s: &Scope,
        p: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, StoreError> {
        self.store.pipeline_rows(f, s, p).await
    }
    async fn import_lookup(
        &self,
        k: &[ImportKey],
        e: &[String],
        p: &[String],
    ) -> Result<ImportLookup, StoreError> {
        self.store.import_lookup(k, e, p).await
    }
    async fn duplicate_groups(
        &self,
        s: &Scope,
        fuzzy: bool,
    ) -> Result<Vec<DuplicateGroup>, StoreError> {
        self.store.duplicate_groups(s, fuzzy).await
    }
    async fn follow_up_candidates(&self, c: &FollowUpClaim) -> Result<Vec<Lead>, StoreError> {
        self.store.follow_up_candidates(c).await
    }
}
