//! Faults: the clients system failing in the middle of a batch of conversions, and a
//! process killed in the middle of SQLite writes (reopening shows every write whole or not
//! at all).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sqlx_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{
    Change, ClientId, ClientRequest, ClientsPort, Crm, EmployeeId, EventId, EventKind,
    FollowUpRule, HistoryEntry, Lead, LeadId, LeadQuery, LeadStatus, LeadStore, LeadWrite,
    ManualClock, Name, NewEvent, PortError, Source, StoreWrites,
};
use crm_store_memory::{MemoryClients, MemoryEmployees};
use crm_store_sqlx::SqliteStore;
use crm_tests::harness::{RecordingNotifier, manager, new_lead, sales, staff, t0};

/// A clients system that succeeds for the first `ok_calls` calls, then fails.
struct FailsAfter {
    inner: MemoryClients,
    ok_calls: AtomicUsize,
}

#[async_trait]
impl ClientsPort for FailsAfter {
    async fn create_client(&self, req: &ClientRequest) -> Result<ClientId, PortError> {
        let left = self.ok_calls.load(Ordering::SeqCst);
        if left == 0 {
            return Err(PortError::new("clients", "clients system went down"));
        }
        self.ok_calls.store(left - 1, Ordering::SeqCst);
        self.inner.create_client(req).await
    }
}

fn crm(store: Arc<dyn LeadStore>, clients: Arc<dyn ClientsPort>) -> Crm {
    Crm::builder()
        .store(store)
        .employees(Arc::new(MemoryEmployees::new(staff())))
        .clients(clients)
        .notifier(Arc::new(RecordingNotifier::default()))
        .clock(Arc::new(ManualClock::new(t0())))
        .follow_up(FollowUpRule::default())
        .build()
        .unwrap()
}

/// Ten leads converted while the clients system is down; then a dispatch during which it
/// fails after three clients; then a dispatch that finishes. Every lead ends with exactly
/// one client, nothing stays pending, and each conversion event is written once.
async fn clients_failing_mid_batch(store: Arc<dyn LeadStore>) {
    const N: usize = 10;
    let down = Arc::new(FailsAfter {
        inner: MemoryClients::new(),
        ok_calls: AtomicUsize::new(0),
    });
    let c = crm(store.clone(), down.clone());
    let mut ids = vec![];
    for n in 0..N {
        let lead = c
            .create_lead(
                sales(),
                new_lead(
                    &format!("Buyer {n}"),
                    Some(&format!("b{n}@example.com")),
                    None,
                ),
            )
            .await
            .unwrap();
        let mut v = lead.version();
        for to in [LeadStatus::Contacted, LeadStatus::Converted] {
            v = c
                .change_status(manager(), lead.id(), v, to, None)
                .await
                .unwrap()
                .lead
                .version();
        }
        ids.push(lead.id());
    }
    assert_eq!(store.pending_clients(100).await.unwrap().len(), N);

    down.ok_calls.store(3, Ordering::SeqCst);
    let first = c.dispatch_pending(manager()).await.unwrap();
    assert_eq!(first.created.len(), 3);
    assert_eq!(first.failed.len(), N - 3);
    let pending = store.pending_clients(100).await.unwrap();
    assert_eq!(pending.len(), N - 3);
    assert!(
        pending
            .iter()
            .all(|p| p.attempts == 2 && p.last_error.is_some())
    );

    down.ok_calls.store(usize::MAX, Ordering::SeqCst);
    let second = c.dispatch_pending(manager()).await.unwrap();
    assert_eq!(second.created.len(), N - 3);
    assert!(second.failed.is_empty());
    assert!(store.pending_clients(100).await.unwrap().is_empty());

    let clients = down.inner.clients();
    assert_eq!(clients.len(), N, "one client per lead");
    for id in &ids {
        let lead = store.get_lead(*id).await.unwrap().unwrap();
        let (_, client, _) = clients.iter().find(|(l, _, _)| l == id).unwrap();
        assert_eq!(lead.client_id(), Some(client));
    }
    let converted = store
        .pending_events(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(e.event.kind, EventKind::LeadConverted { .. }))
        .count();
    assert_eq!(converted, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_clients_failing_mid_batch() {
    clients_failing_mid_batch(sqlx_common::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
async fn postgres_clients_failing_mid_batch() {
    clients_failing_mid_batch(crm_tests::postgres::lead_store().await).await;
}

// ------------------------------------------------------------------------------------------
// A process killed mid-write
// ------------------------------------------------------------------------------------------

/// Entries (history and events each) in every write of the child: large writes, so a kill
/// lands inside a transaction most of the time.
const ENTRIES: usize = 200;
const CHILD_ENV: &str = "CRM_FAULT_CHILD_DB";

/// One big lead write: the lead, ENTRIES history entries and ENTRIES events.
fn big_write(n: u64, now: DateTime<Utc>) -> LeadWrite {
    let actor = EmployeeId::new(1).unwrap();
    let input = crm_core::NewLead::new(Name::parse(&format!("Lead {n}")).unwrap(), Source::web())
        .email(crm_core::Email::parse(&format!("kill{n}@example.com")).unwrap());
    let lead = Lead::create(LeadId::new_at(now), input, actor, actor, now).unwrap();
    let change = Change::Created {
        source: Source::web(),
        owner: actor,
    };
    LeadWrite {
        history: (0..ENTRIES)
            .map(|_| HistoryEntry {
                lead_id: lead.id(),
                version: 1,
                at: now,
                actor,
                change: change.clone(),
            })
            .collect(),
        events: (0..ENTRIES)
            .map(|_| NewEvent {
                id: EventId::new_at(now),
                at: now,
                lead_id: lead.id(),
                actor: Some(actor),
                kind: EventKind::LeadCreated {
                    name: lead.name().clone(),
                    source: Source::web(),
                    owner: actor,
                },
            })
            .collect(),
        pending_client: None,
        check_duplicates: false,
        score_changes: Vec::new(),
        lead,
    }
}

/// Not a test of its own: the child process of `sqlite_survives_a_killed_writer`. Writes
/// big leads in a loop until killed; does nothing unless the parent set `CHILD_ENV`.
#[test]
fn fault_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::connect(&path).await.unwrap();
        let start = t0() + TimeDelta::days(1);
        for n in 0u64.. {
            store
                .insert_lead(&big_write(n, start + TimeDelta::seconds(n as i64)))
                .await
                .unwrap();
            if n == 0 {
                println!("ready");
            }
        }
    });
}

/// Every lead on file has all of its history and events, and no event is orphaned.
async fn assert_whole(store: &SqliteStore) -> usize {
    let leads = store
        .list_leads(&LeadQuery::default().limit(1000).unwrap())
        .await
        .unwrap()
        .items;
    let events = store.pending_events(0, 1_000_000).await.unwrap();
    for l in &leads {
        let d = store.lead_detail(l.id()).await.unwrap().unwrap();
        assert_eq!(
            d.history.len(),
            ENTRIES,
            "lead {} has partial history",
            l.id()
        );
        let mine = events.iter().filter(|e| e.event.lead_id == l.id()).count();
        assert_eq!(mine, ENTRIES, "lead {} has partial events", l.id());
    }
    assert_eq!(events.len(), leads.len() * ENTRIES, "orphaned events");
    // seq stays strictly increasing.
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    leads.len()
}

/// A child process writing big leads is killed (SIGKILL) three times at varying moments;
/// after each kill, reopening the file shows only whole writes, and writing goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_a_killed_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db").to_string_lossy().into_owned();
    let exe = std::env::current_exe().unwrap();
    let mut seen = 0;
    for (round, wait_ms) in [(0, 40u64), (1, 130), (2, 270)] {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "fault_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child committed its first write, then let it run a little.
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.contains("ready"))
        })
        .await
        .unwrap();
        assert!(ready, "round {round}: the child never became ready");
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        child.kill().unwrap();
        child.wait().unwrap();

        let store = SqliteStore::connect(&path).await.unwrap();
        let now = assert_whole(&store).await;
        assert!(now > seen, "round {round}: no progress");
        seen = now;
        store.pool().close().await;
    }
}
