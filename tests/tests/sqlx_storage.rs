//! The SQL stores' own storage guarantees, on SQLite and on PostgreSQL (a fresh schema per
//! test; ignored when `CRM_POSTGRES_URL` is not set): exact round trips of money, times and
//! ids (proptest); listing order equal to the domain's `(created_at, id)` order; refusal of
//! a schema migrated by newer code; busy handling; the table-backed ports.
//!
//! Moved here from crm-store-sqlx's unit tests so that every PostgreSQL test reaches the
//! server the same way (`crm_tests::postgres`) and is ignored, not passed, without one.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use crm_core::{
    Change, ClientRequest, Currency, Email, Employee, EmployeeId, EventId, EventKind, HistoryEntry,
    Lead, LeadId, LeadQuery, LeadStore, LeadWrite, Money, Name, NewEvent, NewLead, Opportunity,
    OpportunityId, OpportunityStage, Phone, PhoneRegion, Role, Source, StoreError, StoreWrites,
};
use crm_store_sqlx::{PostgresStore, SqliteStore};
use proptest::prelude::*;
use uuid::Uuid;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    dir.path().join("t.db").to_string_lossy().into_owned()
}

fn actor() -> EmployeeId {
    EmployeeId::new(1).unwrap()
}

/// A lead write with the given id and creation time.
fn write(id: Uuid, at: DateTime<Utc>) -> LeadWrite {
    let input = NewLead::new(Name::parse("Round Trip").unwrap(), Source::web())
        .email(Email::parse(&format!("{}@example.com", id.simple())).unwrap());
    let lead = Lead::create(LeadId::from_uuid(id), input, actor(), actor(), at).unwrap();
    LeadWrite {
        history: vec![HistoryEntry {
            lead_id: lead.id(),
            version: 1,
            at,
            actor: actor(),
            change: Change::Created {
                source: Source::web(),
                owner: actor(),
            },
        }],
        events: vec![NewEvent {
            id: EventId::from_uuid(id),
            at,
            lead_id: lead.id(),
            actor: Some(actor()),
            kind: EventKind::LeadCreated {
                name: lead.name().clone(),
                source: Source::web(),
                owner: actor(),
            },
        }],
        pending_client: None,
        check_duplicates: false,
        score_changes: Vec::new(),
        lead,
    }
}

/// Instants PostgreSQL can hold too (years 1 to 9999), to the microsecond, before and
/// after 1970.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_135_596_800_000_000i64..253_402_300_799_999_999)
        .prop_filter_map("instant", DateTime::from_timestamp_micros)
}

fn money() -> impl Strategy<Value = Money> {
    let codes = vec!["USD", "KWD", "JPY", "SAR", "EUR", "BHD", "CLF"];
    (0i64..=i64::MAX, prop::sample::select(codes))
        .prop_map(|(m, c)| Money::from_minor(m, Currency::parse(c).unwrap()).unwrap())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1i32..=9999, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[derive(Debug, Clone)]
struct Case {
    lead: Uuid,
    at: DateTime<Utc>,
    opp: Uuid,
    value: Money,
    close: NaiveDate,
}

fn case() -> impl Strategy<Value = Case> {
    (any::<u128>(), instant(), any::<u128>(), money(), date()).prop_map(
        |(lead, at, opp, value, close)| Case {
            lead: Uuid::from_u128(lead),
            at,
            opp: Uuid::from_u128(opp),
            value,
            close,
        },
    )
}

/// Writes the case and reads everything back equal.
async fn round_trip(store: &dyn LeadStore, c: &Case) -> Result<(), TestCaseError> {
    let w = write(c.lead, c.at);
    store.insert_lead(&w).await.unwrap();
    let got = store.get_lead(w.lead.id()).await.unwrap();
    prop_assert_eq!(got.as_ref(), Some(&w.lead));
    let o = Opportunity {
        id: OpportunityId::from_uuid(c.opp),
        lead_id: w.lead.id(),
        title: Name::parse("Deal").unwrap(),
        value: c.value,
        expected_close: c.close,
        stage: OpportunityStage::Open,
        probability: None,
        created_by: actor(),
        created_at: c.at,
        updated_at: c.at,
        version: 1,
    };
    store.insert_opportunity(&o, &[]).await.unwrap();
    prop_assert_eq!(store.get_opportunity(o.id).await.unwrap(), Some(o));
    let d = store.lead_detail(w.lead.id()).await.unwrap().unwrap();
    prop_assert_eq!(&d.history, &w.history);
    let events = store.pending_events(0, 1_000_000).await.unwrap();
    let mine = events.iter().find(|e| e.event.lead_id == w.lead.id());
    prop_assert_eq!(mine.map(|e| &e.event), w.events.first());
    Ok(())
}

/// Listing returns leads in the domain's order: `(created_at, id)` descending, with ids
/// compared as `LeadId` (UUID byte order).
async fn listing_order(store: &dyn LeadStore, cases: &[(u128, i64)]) -> Result<(), TestCaseError> {
    let base = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
    let mut written = vec![];
    for (id, offset) in cases {
        let w = write(
            Uuid::from_u128(*id),
            base + TimeDelta::microseconds(*offset),
        );
        if store.insert_lead(&w).await.is_ok() {
            written.push((w.lead.created_at(), w.lead.id()));
        }
    }
    written.sort();
    written.reverse();
    // Page through two at a time: the keyset cursor must agree with the order too.
    let mut got = vec![];
    let mut q = LeadQuery::default().limit(2).unwrap();
    loop {
        let page = store.list_leads(&q).await.unwrap();
        got.extend(page.items.iter().map(|l| (l.created_at(), l.id())));
        match page.next {
            Some(c) => q = q.after(c),
            None => break,
        }
    }
    prop_assert_eq!(got, written);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_round_trips_money_times_and_ids(cases in prop::collection::vec(case(), 1..8)) {
        let rt = rt();
        let dir = tempfile::tempdir().unwrap();
        let store = rt.block_on(SqliteStore::connect(&sqlite_url(&dir))).unwrap();
        for c in &cases {
            rt.block_on(round_trip(&store, c))?;
        }
    }

    #[test]
    fn sqlite_lists_in_domain_order(cases in prop::collection::vec((any::<u128>(), 0i64..3), 1..12)) {
        let rt = rt();
        let dir = tempfile::tempdir().unwrap();
        let store = rt.block_on(SqliteStore::connect(&sqlite_url(&dir))).unwrap();
        rt.block_on(listing_order(&store, &cases))?;
    }
}

/// Cases per PostgreSQL property (each case is a fresh schema).
const PG_CASES: u32 = 16;

// The PostgreSQL properties ask for the server before proptest starts, so a missing one
// fails once, plainly, instead of as a shrunk "failing case" saved to a regressions file.

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn postgres_round_trips_money_times_and_ids() {
    crm_tests::postgres::url();
    proptest!(ProptestConfig::with_cases(PG_CASES), |(cases in prop::collection::vec(case(), 1..8))| {
        let rt = rt();
        let store = rt.block_on(crm_tests::postgres::store());
        for c in &cases {
            rt.block_on(round_trip(&store, c))?;
        }
    });
}

#[test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
fn postgres_lists_in_domain_order() {
    crm_tests::postgres::url();
    proptest!(ProptestConfig::with_cases(PG_CASES), |(cases in prop::collection::vec((any::<u128>(), 0i64..3), 1..12))| {
        let rt = rt();
        let store = rt.block_on(crm_tests::postgres::store());
        rt.block_on(listing_order(&store, &cases))?;
    });
}

#[tokio::test]
async fn sqlite_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let store = SqliteStore::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, x'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
    let r = crm_store_sqlx::connect(&url).await;
    assert!(
        matches!(
            r,
            Err(StoreError::SchemaTooNew {
                found: 99990101000000,
                ..
            })
        ),
        "{:?}",
        r.err()
    );
}

#[tokio::test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_refuses_a_newer_schema() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    let store = PostgresStore::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let r = crm_store_sqlx::connect(&url).await;
    assert!(
        matches!(r, Err(StoreError::SchemaTooNew { .. })),
        "{:?}",
        r.err()
    );
}

/// Another process holds the write lock: a write waits for the busy timeout, then fails
/// with `Busy` and changes nothing; once the lock is gone it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_busy_write_waits_then_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let store = SqliteStore::connect_with(&url, Duration::from_millis(200))
        .await
        .unwrap();
    // A second pool stands for another process.
    let other = crm_store_sqlx::sqlite::pool(&url).await.unwrap();
    let blocker = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let w = write(Uuid::now_v7(), Utc::now());
    let started = std::time::Instant::now();
    let r = store.insert_lead(&w).await;
    assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(store.get_lead(w.lead.id()).await.unwrap(), None);
    blocker.rollback().await.unwrap();
    store.insert_lead(&w).await.unwrap();
    assert!(store.get_lead(w.lead.id()).await.unwrap().is_some());
}

async fn ports_work(c: crm_store_sqlx::Connected) {
    let e = Employee::new(
        EmployeeId::new(7).unwrap(),
        Name::parse("سارة").unwrap(),
        Role::Sales,
    );
    c.employees.upsert_employee(&e).await.unwrap();
    let changed = Employee {
        active: false,
        ..e.clone()
    };
    c.employees.upsert_employee(&changed).await.unwrap();
    c.employees
        .upsert_employee(&Employee {
            id: EmployeeId::new(2).unwrap(),
            ..e.clone()
        })
        .await
        .unwrap();
    assert_eq!(c.employees.employee(e.id).await.unwrap(), Some(changed));
    let ids: Vec<i64> = c
        .employees
        .list_employees()
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.get())
        .collect();
    assert_eq!(ids, [2, 7]);
    assert_eq!(
        c.employees
            .employee(EmployeeId::new(9).unwrap())
            .await
            .unwrap(),
        None
    );

    // Teams: an employee's team and a manager's led teams read back; members by team.
    let team = |s: &str| crm_core::Team::parse(s).unwrap();
    let in_east = e.clone().in_team(team("شرق"));
    let boss = Employee::new(
        EmployeeId::new(3).unwrap(),
        Name::parse("Boss").unwrap(),
        Role::Manager,
    )
    .in_team(team("west"))
    .leading(team("شرق"))
    .leading(team("West"));
    c.employees.upsert_employee(&in_east).await.unwrap();
    c.employees.upsert_employee(&boss).await.unwrap();
    assert_eq!(
        c.employees.employee(boss.id).await.unwrap(),
        Some(boss.clone())
    );
    assert_eq!(
        c.employees.employee(e.id).await.unwrap(),
        Some(in_east.clone())
    );
    let members = |teams: Vec<crm_core::Team>| {
        let dir = c.employees.clone();
        async move {
            let found = dir.team_members(&teams).await.unwrap();
            found.iter().map(|e| e.id.get()).collect::<Vec<_>>()
        }
    };
    assert_eq!(members(vec![team("شرق")]).await, [7]);
    assert_eq!(members(vec![team("WEST"), team("شرق")]).await, [3, 7]);
    assert!(members(vec![team("north")]).await.is_empty());
    assert!(members(vec![]).await.is_empty());
    // Leaving the team: no longer a member.
    c.employees.upsert_employee(&e).await.unwrap();
    assert!(members(vec![team("شرق")]).await.is_empty());

    let req = ClientRequest {
        lead_id: LeadId::new_at(Utc::now()),
        name: Name::parse("Client").unwrap(),
        email: None,
        phone: None,
        company: None,
        owner: e.id,
    };
    let a = c.clients.create_client(&req).await.unwrap();
    let b = c.clients.create_client(&req).await.unwrap();
    assert_eq!(a, b, "create_client is idempotent on the lead id");
    let other = ClientRequest {
        lead_id: LeadId::new_at(Utc::now()),
        ..req
    };
    assert_ne!(c.clients.create_client(&other).await.unwrap(), a);
}

#[tokio::test]
async fn sqlite_table_backed_ports() {
    let dir = tempfile::tempdir().unwrap();
    ports_work(
        crm_store_sqlx::connect(&format!("sqlite://{}", sqlite_url(&dir)))
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_table_backed_ports() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    ports_work(crm_store_sqlx::connect(&url).await.unwrap()).await;
}

/// The newest migration before `..._phone_display.sql`, whatever else lands before it.
fn before_phone_display(m: &sqlx::migrate::Migrator) -> i64 {
    m.iter()
        .map(|m| m.version)
        .filter(|v| *v < 20260101000008)
        .max()
        .unwrap()
}

/// Rows written before migration `..._phone_display.sql` (ids in `ids`: phone typed
/// `00966501234567`, then `0501234567`) read back after it: the 00 key is E.164 now and
/// catches the same number typed in local form today; the local key stays as it was (no
/// region in SQL) and still reads; both show what was stored.
async fn legacy_phones_read_back(store: &dyn LeadStore, ids: [Uuid; 2]) {
    let phone = |l: Option<Lead>| {
        let p = l.unwrap().phone().cloned().unwrap();
        (p.key().to_owned(), p.display().to_owned())
    };
    let old_intl = store.get_lead(LeadId::from_uuid(ids[0])).await.unwrap();
    assert_eq!(
        phone(old_intl),
        ("+966501234567".into(), "00966501234567".into())
    );
    // Search finds the migrated row by its new key, as it finds rows written since.
    let found = store
        .list_leads(&LeadQuery::default().search("+966501234567"))
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|l| l.id()).collect::<Vec<_>>(),
        vec![LeadId::from_uuid(ids[0])]
    );
    let old_local = store.get_lead(LeadId::from_uuid(ids[1])).await.unwrap();
    assert_eq!(phone(old_local), ("0501234567".into(), "0501234567".into()));

    let sa = PhoneRegion::parse("SA").unwrap();
    let input = NewLead::new(Name::parse("New Spelling").unwrap(), Source::web())
        .phone(Phone::parse_in("٠٥٠١٢٣٤٥٦٧", sa).unwrap());
    let id = LeadId::from_uuid(Uuid::now_v7());
    let lead = Lead::create(id, input, actor(), actor(), Utc::now()).unwrap();
    let r = store
        .insert_lead(&LeadWrite {
            lead,
            history: vec![],
            events: vec![],
            pending_client: None,
            check_duplicates: true,
            score_changes: Vec::new(),
        })
        .await;
    assert!(
        matches!(r, Err(StoreError::Duplicate { existing, .. }) if existing == LeadId::from_uuid(ids[0])),
        "{r:?}"
    );
}

#[tokio::test]
async fn sqlite_migrates_legacy_phones() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let pool = crm_store_sqlx::sqlite::pool(&url).await.unwrap();
    let m = crm_store_sqlx::sqlite::migrator();
    m.run_to(before_phone_display(m), &pool).await.unwrap();
    let ids = [Uuid::now_v7(), Uuid::now_v7()];
    for (id, phone) in ids.iter().zip(["00966501234567", "0501234567"]) {
        sqlx::query(
            "INSERT INTO leads (id, name, phone, source, status, owner, created_by, created_at, \
             updated_at, version, search_text) VALUES (?, 'Old', ?, 'web', 'new', 1, 1, ?, ?, 1, '')",
        )
        .bind(id)
        .bind(phone)
        .bind(Utc::now().timestamp_micros())
        .bind(Utc::now().timestamp_micros())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let store = SqliteStore::connect(&url).await.unwrap();
    legacy_phones_read_back(&store, ids).await;
}

#[tokio::test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_migrates_legacy_phones() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    let pool = crm_store_sqlx::postgres::pool(&url).await.unwrap();
    let m = crm_store_sqlx::postgres::migrator();
    m.run_to(before_phone_display(m), &pool).await.unwrap();
    let ids = [Uuid::now_v7(), Uuid::now_v7()];
    for (id, phone) in ids.iter().zip(["00966501234567", "0501234567"]) {
        sqlx::query(
            "INSERT INTO leads (id, name, phone, source, status, owner, created_by, created_at, \
             updated_at, version, search_text) \
             VALUES ($1, 'Old', $2, 'web', 'new', 1, 1, $3, $3, 1, '')",
        )
        .bind(id)
        .bind(phone)
        .bind(Utc::now())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    legacy_phones_read_back(&store, ids).await;
}

/// Error codes are read by the backend that raised them: PostgreSQL's serialization failure
/// and deadlock are retryable (busy); its insufficient-privilege code is not, though read as
/// a SQLite code its low byte is SQLITE_BUSY.
#[tokio::test]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_error_codes_are_read_as_postgres_codes() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    let pool = crm_store_sqlx::postgres::pool(&url).await.unwrap();
    for (code, busy) in [
        ("40001", true),
        ("40P01", true),
        ("42501", false),
        ("22012", false),
    ] {
        let sql = format!("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$");
        let e = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap_err();
        let e = crm_store_sqlx::store_error(e);
        assert_eq!(matches!(e, StoreError::Busy(_)), busy, "{code}: {e:?}");
        assert_eq!(e.is_retryable(), busy, "{code}");
        if !busy {
            assert!(matches!(e, StoreError::Backend(_)), "{code}: {e:?}");
        }
    }
}

/// An unreachable server fails within seconds, saying it cannot connect and where, not
/// "the database is busy" after the pool's 30-second acquire timeout.
#[tokio::test]
async fn an_unreachable_postgres_server_fails_fast_saying_where() {
    let started = std::time::Instant::now();
    let r = PostgresStore::connect("postgres://nobody@127.0.0.1:1/x").await;
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    match r {
        Err(StoreError::Unavailable { target, .. }) => assert_eq!(target, "127.0.0.1:1/x"),
        other => panic!("{:?}", other.err()),
    }
}

/// Processes opening a new SQLite file at once all migrate it, once: the migrations run
/// under SQLite's write lock (before, some failed with "table leads already exists").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_use_of_a_new_sqlite_file_migrates_once() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { SqliteStore::connect(&url).await.map(|_| ()) })
            })
            .collect();
        for o in opens {
            o.await.unwrap().unwrap();
        }
        let store = SqliteStore::connect(&url).await.unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            applied,
            i64::try_from(crm_store_sqlx::sqlite::migrator().iter().count()).unwrap()
        );
    }
}

/// Two first employees added at once to an empty table-backed directory: exactly one is.
async fn one_first_employee(admin: std::sync::Arc<dyn crm_core::EmployeeAdmin>) {
    let boss = |id: i64| {
        Employee::new(
            EmployeeId::new(id).unwrap(),
            Name::parse(&format!("Boss {id}")).unwrap(),
            Role::Manager,
        )
    };
    let tasks: Vec<_> = (1..=6)
        .map(|id| {
            let admin = admin.clone();
            tokio::spawn(async move { admin.insert_first_employee(&boss(id)).await.unwrap() })
        })
        .collect();
    let mut added = 0;
    for t in tasks {
        added += usize::from(t.await.unwrap());
    }
    assert_eq!(added, 1);
    assert_eq!(admin.list_employees().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_adds_one_first_employee_under_a_race() {
    let dir = tempfile::tempdir().unwrap();
    let c = crm_store_sqlx::connect(&sqlite_url(&dir)).await.unwrap();
    one_first_employee(c.employees).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_adds_one_first_employee_under_a_race() {
    let url = crm_tests::postgres::fresh_schema("crm_unit").await;
    let c = crm_store_sqlx::connect(&url).await.unwrap();
    one_first_employee(c.employees).await;
}

/// Opening an up-to-date database takes no write lock: it works while another connection
/// holds SQLite's write lock, and on a read-only file.
#[tokio::test]
async fn opening_a_migrated_sqlite_file_takes_no_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let store = SqliteStore::connect(&url).await.unwrap();
    let mut writer = store.pool().acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *writer)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    SqliteStore::connect(&url).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for the writer"
    );
    sqlx::query("ROLLBACK").execute(&mut *writer).await.unwrap();
    drop(writer);
    let ro = crm_store_sqlx::sqlite::options(&url)
        .unwrap()
        .read_only(true);
    let pool = sqlx::SqlitePool::connect_with(ro).await.unwrap();
    crm_store_sqlx::sqlite::migrate(&pool).await.unwrap();
}

/// The errors and the ports' handles cross threads, as hosts spawn them.
#[test]
fn errors_are_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<StoreError>();
    check::<crm_store_sqlx::Connected>();
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    assert!(matches!(
        crm_store_sqlx::connect("mysql://localhost/crm").await,
        Err(StoreError::Backend(_))
    ));
}

/// Every file of a migrations folder is embedded, in order, and nothing else: the file
/// name `<version>_<description>.sql` of each embedded migration is on disk.
fn embedded(dir: &str, migrator: &sqlx::migrate::Migrator) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crm-store-sqlx/migrations")
        .join(dir);
    let mut on_disk: Vec<String> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let names: Vec<String> = migrator
        .iter()
        .map(|m| format!("{}_{}.sql", m.version, m.description.replace(' ', "_")))
        .collect();
    assert_eq!(names, on_disk, "migrations/{dir}");
}

#[test]
fn every_migration_is_embedded() {
    embedded("sqlite", crm_store_sqlx::sqlite::migrator());
    embedded("postgres", crm_store_sqlx::postgres::migrator());
}
