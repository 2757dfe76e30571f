//! Conformance bodies of batched follow-up delivery (issue 9): a sweep marks the notices of
//! a claimed batch delivered in one store call, [`crm_core::StoreWrites::follow_ups_delivered`]. Stamped
//! out for every adapter by [`crate::conformance_suite!`].

use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::StoreWrites;
use crm_core::{Clock, FollowUpClaim, LeadStore, NoticeId};

use crate::harness::{Harness, manager, sales};

/// Notices marked delivered together leave the outbox, each once: more than one statement's
/// worth of ids (the SQL stores delete 100 per statement), an unknown id and a repeated one
/// among them. What was not marked stays, keeps its claim until it runs out, and is then
/// claimed again under its own id; what was marked never comes back.
pub async fn delivered_notices_leave_the_outbox_once(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    for n in 0..105 {
        h.create(
            sales(),
            &format!("L{n}"),
            Some(&format!("l{n}@example.com")),
            None,
        )
        .await;
    }
    h.advance(TimeDelta::days(6));
    let now = h.clock.now();
    let claim = FollowUpClaim {
        cutoff: now - TimeDelta::days(5),
        at: now,
        now,
        lease_until: now + TimeDelta::minutes(5),
        limit: 1000,
        escalation_cutoff: None,
    };
    let claimed: Vec<NoticeId> = h
        .store
        .claim_follow_ups(&claim)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(claimed.len(), 105);
    let (sent, kept) = claimed.split_at(102);
    let mut marked = sent.to_vec();
    marked.push(NoticeId::new_at(now));
    marked.push(sent[0]);
    h.store.follow_ups_delivered(&marked).await.unwrap();
    h.store.follow_ups_delivered(&[]).await.unwrap();
    let mut left: Vec<NoticeId> = h
        .store
        .undelivered_follow_ups(1000)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    left.sort();
    let mut want = kept.to_vec();
    want.sort();
    assert_eq!(left, want, "exactly the notices not marked stay");

    // While the claim holds, nobody takes the rest over.
    let early = FollowUpClaim {
        now: now + TimeDelta::minutes(4),
        ..claim
    };
    assert!(h.store.claim_follow_ups(&early).await.unwrap().is_empty());
    // Once it ran out, only they come back, under their own ids.
    let late = FollowUpClaim {
        now: now + TimeDelta::minutes(5),
        lease_until: now + TimeDelta::minutes(10),
        ..claim
    };
    let mut again: Vec<NoticeId> = h
        .store
        .claim_follow_ups(&late)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    again.sort();
    assert_eq!(again, want);
    h.store.follow_ups_delivered(&again).await.unwrap();
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());
    let later = FollowUpClaim {
        now: now + TimeDelta::days(1),
        ..claim
    };
    assert!(h.store.claim_follow_ups(&later).await.unwrap().is_empty());
}

/// A sweep in small batches marks what the notifier accepted delivered batch by batch: each
/// notice is sent once, a refused one stays in the outbox (released for the next sweep),
/// and the next sweep sends only that one, under the same id.
pub async fn a_sweep_marks_each_batch_delivered(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mut leads = vec![];
    for n in 0..7 {
        let l = h
            .create(
                sales(),
                &format!("B{n}"),
                Some(&format!("b{n}@example.com")),
                None,
            )
            .await;
        leads.push(l.id());
    }
    let refused = leads[4];
    h.notifier.fail_for.lock().unwrap().insert(refused);
    h.advance(TimeDelta::days(6));
    let crm = h.crm_with(|b| b.claim_batch(3));
    let r = crm.sweep(manager(), h.clock.now()).await.unwrap();
    assert_eq!(r.notified.len(), 6);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].0, refused);
    let sent: Vec<NoticeId> = h
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    let mut distinct = sent.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "each notice sent once");
    let mut reported = r.notices.clone();
    reported.sort();
    assert_eq!(reported, distinct);
    let left = h.store.undelivered_follow_ups(10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].lead_id, refused);

    h.notifier.fail_for.lock().unwrap().clear();
    h.advance(TimeDelta::minutes(1));
    let r = crm.sweep(manager(), h.clock.now()).await.unwrap();
    assert_eq!(r.notified, vec![refused]);
    assert_eq!(r.notices, vec![left[0].id]);
    assert_eq!(h.notifier.sent.lock().unwrap().len(), 7);
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());
    h.advance(TimeDelta::days(1));
    let r = crm.sweep(manager(), h.clock.now()).await.unwrap();
    assert!(r.notified.is_empty() && r.failed.is_empty());
    assert_eq!(h.notifier.sent.lock().unwrap().len(), 7);
}
