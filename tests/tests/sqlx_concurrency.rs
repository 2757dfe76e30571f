//! Concurrency on the SQL stores: racing writers of one lead (exactly one wins per version,
//! the rest get `Conflict`, history stays consistent), racing creators of the same contact
//! data (exactly one passes the duplicate check), and two sweeps at once (each stale lead
//! notified once). Each body runs on SQLite and on PostgreSQL (ignored when `CRM_POSTGRES_URL`
//! is not set).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sqlx_common;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::{Change, CrmError, LeadPatch, LeadStore, LeadWrite, Name, StoreError, StoreWrites};
use crm_tests::harness::{Harness, manager, new_lead, sales, sales2};

const WRITERS: usize = 8;
const ROUNDS: u64 = 5;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// Round after round, WRITERS tasks edit the lead at the same version through the service:
/// exactly one wins, the others get `Conflict`, and the history has one entry per version.
async fn racing_edits_one_winner_per_version(store: Arc<dyn LeadStore>) {
    let h = Arc::new(Harness::new(store));
    let id = h
        .create(sales(), "Race", Some("race@example.com"), None)
        .await
        .id();
    for round in 1..=ROUNDS {
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let h = h.clone();
                tokio::spawn(async move {
                    let patch = LeadPatch {
                        name: Some(name(&format!("Round {round} writer {w}"))),
                        ..Default::default()
                    };
                    h.crm.edit_lead(sales(), id, round, patch).await
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(l) => {
                    wins += 1;
                    assert_eq!(l.version(), round + 1);
                }
                Err(CrmError::Conflict { expected, .. }) => assert_eq!(expected, round),
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
    let d = h.crm.lead_detail(sales(), id).await.unwrap();
    assert_eq!(d.lead.version(), ROUNDS + 1);
    let versions: Vec<u64> = d.history.iter().map(|e| e.version).collect();
    assert_eq!(versions, (1..=ROUNDS + 1).collect::<Vec<_>>());
    // The stored name is the winner of the last round's edit.
    match &d.history.last().unwrap().change {
        Change::Edited { new, .. } => assert_eq!(new.as_deref(), Some(d.lead.name().as_str())),
        c => panic!("unexpected change {c:?}"),
    }
    let events = h.store.pending_events(0, 1000).await.unwrap();
    assert_eq!(events.len() as u64, ROUNDS + 1);
}

/// The store itself, without the service's own version check in front: WRITERS tasks call
/// `update_lead` with the same expected version; exactly one write lands.
async fn racing_store_updates_one_winner(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let lead = h
        .create(sales(), "Race", Some("race@example.com"), None)
        .await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let lead = lead.clone();
            tokio::spawn(async move {
                let patch = LeadPatch {
                    name: Some(name(&format!("Writer {w}"))),
                    ..Default::default()
                };
                let (new, changes) = lead.edited(&patch, lead.updated_at()).unwrap();
                let write = LeadWrite {
                    history: changes
                        .into_iter()
                        .map(|change| crm_core::HistoryEntry {
                            lead_id: new.id(),
                            version: new.version(),
                            at: new.updated_at(),
                            actor: sales(),
                            change,
                        })
                        .collect(),
                    events: vec![],
                    pending_client: None,
                    check_duplicates: false,
                    score_changes: Vec::new(),
                    lead: new,
                };
                store.update_lead(1, &write).await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict { expected: 1, .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    let d = store.lead_detail(lead.id()).await.unwrap().unwrap();
    assert_eq!(d.lead.version(), 2);
    assert_eq!(d.history.len(), 2);
}

/// WRITERS tasks create a lead with the same email at once: the duplicate check is
/// race-free, so exactly one is created and the others are told which one.
async fn racing_creates_one_passes_the_duplicate_check(store: Arc<dyn LeadStore>) {
    let h = Arc::new(Harness::new(store));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let h = h.clone();
            tokio::spawn(async move {
                h.crm
                    .create_lead(
                        sales2(),
                        new_lead(&format!("Twin {w}"), Some("twin@example.com"), None),
                    )
                    .await
            })
        })
        .collect();
    let mut created = vec![];
    let mut named = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(l) => created.push(l.id()),
            Err(CrmError::Duplicate { existing, .. }) => {
                named.insert(existing);
            }
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(named.iter().all(|id| *id == Some(created[0])));
}

/// Two services over one store sweep at once: every stale lead is notified exactly once.
async fn concurrent_sweeps_notify_once(store: Arc<dyn LeadStore>) {
    let a = Harness::new(store.clone());
    let b = Harness::new(store);
    let mut leads = HashSet::new();
    for n in 0..40 {
        let l = a
            .create(
                sales(),
                &format!("Stale {n}"),
                Some(&format!("s{n}@example.com")),
                None,
            )
            .await;
        leads.insert(l.id());
    }
    for h in [&a, &b] {
        h.advance(TimeDelta::days(6));
    }
    let (ra, rb) = tokio::join!(a.crm.sweep_now(manager()), b.crm.sweep_now(manager()));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.failed.is_empty() && rb.failed.is_empty());
    let na: HashSet<_> = a.notifier.leads().into_iter().collect();
    let nb: HashSet<_> = b.notifier.leads().into_iter().collect();
    assert!(na.is_disjoint(&nb), "a lead was notified twice");
    assert_eq!(na.len() + nb.len(), leads.len());
    assert_eq!(&na | &nb, leads);
    // Nothing is due any more.
    let again = a.crm.sweep_now(manager()).await.unwrap();
    assert!(again.notified.is_empty());
}

macro_rules! on_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::sqlx_common::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(crm_no_postgres, ignore = "CRM_POSTGRES_URL is not set")]
                async fn $name() {
                    super::$name(crm_tests::postgres::lead_store().await).await;
                }
            )*
        }
    };
}

/// Four dispatchers at once over the pending clients of leads converted while the clients
/// system was down: each record is sent once (the port is called once per lead), and the
/// reports add up to exactly the records there were.
async fn concurrent_dispatchers_split_the_work(store: Arc<dyn LeadStore>) {
    const N: usize = 30;
    let h = Arc::new(Harness::new(store));
    h.clients.fail(true);
    for n in 0..N {
        let lead = h.lead_in(crm_core::LeadStatus::Interested, n).await;
        h.crm
            .change_status(
                sales(),
                lead.id(),
                lead.version(),
                crm_core::LeadStatus::Converted,
                None,
            )
            .await
            .unwrap();
    }
    h.clients.fail(false);
    let calls_before = h.clients.calls.load(std::sync::atomic::Ordering::SeqCst);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.crm.dispatch_pending(manager()).await.unwrap() })
        })
        .collect();
    let mut created = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.failed.is_empty(), "{:?}", r.failed);
        created.extend(r.created.into_iter().map(|(l, _)| l));
    }
    assert_eq!(created.len(), N, "each record reported created once");
    assert_eq!(created.iter().collect::<HashSet<_>>().len(), N);
    let calls = h.clients.calls.load(std::sync::atomic::Ordering::SeqCst) - calls_before;
    assert_eq!(calls, N, "the clients system was called once per lead");
    assert!(h.store.pending_clients(100).await.unwrap().is_empty());
}

on_backends!(
    racing_edits_one_winner_per_version,
    racing_store_updates_one_winner,
    racing_creates_one_passes_the_duplicate_check,
    concurrent_sweeps_notify_once,
    concurrent_dispatchers_split_the_work,
);
