//! Conformance bodies for duplicate groups and merges (issue 11, "Duplicates and merge").
//! Stamped out per adapter by [`crate::conformance_suite!`] like every other body.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::StoreWrites;
use crm_core::duplicates::{DuplicateKind, duplicate_groups};
use crm_core::{
    Change, Clock, Crm, CrmError, Currency, DuplicateGroup, Entity, EventKind, InteractionKind,
    Lead, LeadId, LeadPatch, LeadQuery, LeadStatus, LeadStore, MergeRefusal, Money, Name,
    NewInteraction, NewOpportunity, PipelineFilter, ReportFilter, Scope, Source,
};

use crate::conformance::snapshot;
use crate::harness::{Harness, manager, new_lead, reason, sales, sales2};

fn ids(g: &DuplicateGroup) -> Vec<LeadId> {
    g.leads.iter().map(Lead::id).collect()
}

/// Every lead the store holds that is not merged away (the listing, all pages).
async fn all_leads(h: &Harness) -> Vec<Lead> {
    h.store
        .list_leads(&LeadQuery::default().limit(1000).unwrap())
        .await
        .unwrap()
        .items
}

async fn add(h: &Harness, name: &str, email: Option<&str>, phone: Option<&str>) -> Lead {
    add_full(h, sales(), name, email, phone, None).await
}

async fn add_full(
    h: &Harness,
    owner: crm_core::EmployeeId,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    company: Option<&str>,
) -> Lead {
    h.advance(TimeDelta::seconds(1));
    let mut l = new_lead(name, email, phone).owner(owner).allow_duplicate();
    if let Some(c) = company {
        l = l.company(Name::parse_field("company", c).unwrap());
    }
    h.crm.create_lead(manager(), l).await.unwrap()
}

/// Groups by email, by phone (every spelling of one number) and, with `fuzzy`, by Arabic
/// name within a company, made by the store and the same as the reference; closed leads
/// and leads out of scope are in no group.
pub async fn duplicate_groups_are_made_by_the_store(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = add(&h, "Huda", Some("huda@example.com"), None).await;
    let b = add(&h, "Huda A.", Some("HUDA@example.com"), Some("0551112222")).await;
    let c = add(&h, "Omar", None, Some("0501234567")).await;
    let d = add(
        &h,
        "عمر",
        Some("omar@example.com"),
        Some("+966 50 123 4567"),
    )
    .await;
    let e = add(&h, "Omar 3", None, Some("٠٥٠١٢٣٤٥٦٧")).await;
    // Fuzzy: the same name under Arabic folding, in the same company under folding.
    let f = add_full(
        &h,
        sales(),
        "أحمد علي",
        Some("a1@example.com"),
        None,
        Some("شركة النور"),
    )
    .await;
    let g = add_full(
        &h,
        sales2(),
        "احمد علی",
        Some("a2@example.com"),
        None,
        Some("شركه النور"),
    )
    .await;
    // Same name, another company: no group; same name, no company: no group.
    add_full(
        &h,
        sales(),
        "أحمد علي",
        Some("a3@example.com"),
        None,
        Some("Acme"),
    )
    .await;
    add_full(&h, sales(), "احمد علي", Some("a4@example.com"), None, None).await;
    // A lost lead with the same email as `a` is in no group.
    let lost = add(&h, "Huda old", Some("huda@example.com"), None).await;
    h.crm
        .change_status(
            manager(),
            lost.id(),
            lost.version(),
            LeadStatus::Lost,
            Some(reason("gone")),
        )
        .await
        .unwrap();

    let plain = h.crm.duplicates(manager(), false).await.unwrap();
    let summary: Vec<(DuplicateKind, Vec<LeadId>)> =
        plain.iter().map(|g| (g.kind, ids(g))).collect();
    assert_eq!(
        summary,
        vec![
            (DuplicateKind::Email, vec![a.id(), b.id()]),
            (DuplicateKind::Phone, vec![c.id(), d.id(), e.id()]),
        ]
    );
    assert_eq!(plain[0].key, "huda@example.com");
    assert_eq!(plain[1].key, "+966501234567");
    let fuzzy = h.crm.duplicates(manager(), true).await.unwrap();
    assert_eq!(fuzzy.len(), 3);
    assert_eq!(&fuzzy[..2], &plain[..]);
    assert_eq!(fuzzy[2].kind, DuplicateKind::Name);
    assert_eq!(ids(&fuzzy[2]), vec![f.id(), g.id()]);

    // The reference over every lead gives the same groups, in the same order.
    let leads = all_leads(&h).await;
    assert_eq!(duplicate_groups(&leads, false), plain);
    assert_eq!(duplicate_groups(&leads, true), fuzzy);

    // Scoped: only the leads of `sales2` are seen, so no group has two of them.
    let only: BTreeSet<_> = [sales2()].into();
    assert!(
        h.store
            .duplicate_groups(&Scope::Owners(only), true)
            .await
            .unwrap()
            .is_empty()
    );
    let seen: Vec<Lead> = leads
        .iter()
        .filter(|l| l.owner() == sales())
        .cloned()
        .collect();
    let only: BTreeSet<_> = [sales()].into();
    assert_eq!(
        h.store
            .duplicate_groups(&Scope::Owners(only), true)
            .await
            .unwrap(),
        duplicate_groups(&seen, true)
    );
}

fn sar(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("SAR").unwrap()).unwrap()
}

/// A merge moves the other lead's interactions and opportunities, fills the kept lead's
/// empty fields, writes one `lead_merged` event and the history of both, and the merged
/// lead is read-only and gone from listings, reports, the pipeline, sweeps and duplicate
/// checks; its detail view says where it went, and the kept lead's shows its history.
pub async fn merge_moves_everything_to_the_kept_lead(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let keep = add(&h, "Huda", Some("huda@example.com"), None).await;
    let other = add_full(
        &h,
        sales(),
        "هدى",
        Some("huda@example.com"),
        Some("0551112222"),
        Some("Acme"),
    )
    .await;
    h.advance(TimeDelta::minutes(1));
    let call = h
        .crm
        .log_interaction(
            sales(),
            other.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    let deal = h
        .crm
        .add_opportunity(
            sales(),
            other.id(),
            NewOpportunity {
                title: Name::parse("Deal").unwrap(),
                value: sar(500_000),
                expected_close: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
                probability: None,
            },
        )
        .await
        .unwrap();
    // The other lead moved on: its status history must not count in the kept lead's time
    // in status.
    h.crm
        .change_status(
            sales(),
            other.id(),
            h.crm.lead(manager(), other.id()).await.unwrap().version(),
            LeadStatus::Contacted,
            None,
        )
        .await
        .unwrap();
    let other = h.crm.lead(manager(), other.id()).await.unwrap();
    let events_before = h.store.pending_events(0, 10_000).await.unwrap().len();
    let report_before = h.store.report(&ReportFilter::default()).await.unwrap();
    assert_eq!(report_before.count(LeadStatus::New, &Source::web()), 1);
    assert_eq!(
        report_before.count(LeadStatus::Contacted, &Source::web()),
        1
    );

    h.advance(TimeDelta::minutes(1));
    let out = merged(&h, &keep, &other).await;
    assert_eq!(out.kept.version(), keep.version() + 1);
    assert_eq!(out.merged.merged_into(), Some(keep.id()));

    // The kept lead: the other's phone and company (its own email and name stay).
    let kept = h.crm.lead_detail(manager(), keep.id()).await.unwrap();
    assert_eq!(kept.lead, out.kept);
    assert_eq!(kept.lead.name().as_str(), "Huda");
    assert_eq!(kept.lead.phone().map(|p| p.key()), Some("+966551112222"));
    assert_eq!(kept.lead.company().map(Name::as_str), Some("Acme"));
    assert_eq!(kept.lead.last_interaction_at(), Some(call.occurred_at));
    assert_eq!(kept.interactions.len(), 1);
    assert_eq!(kept.interactions[0].id, call.id);
    assert_eq!(kept.interactions[0].lead_id, keep.id());
    assert_eq!(kept.opportunities.len(), 1);
    assert_eq!(kept.opportunities[0].id, deal.id);
    assert_eq!(kept.opportunities[0].lead_id, keep.id());
    // Its history says where everything came from: the merge entry names the other lead
    // and the moved records, and the other lead's own history shows under its id.
    assert!(kept.history.iter().any(|e| e.lead_id == keep.id()
        && e.change
            == Change::MergedFrom {
                from: other.id(),
                interactions: vec![call.id],
                opportunities: vec![deal.id],
            }));
    assert!(
        kept.history
            .iter()
            .any(|e| e.lead_id == other.id() && matches!(e.change, Change::Created { .. }))
    );
    assert!(
        kept.history
            .iter()
            .any(|e| e.lead_id == other.id() && e.change == Change::MergedInto { into: keep.id() })
    );
    let spent = kept.time_in_status(h.clock.now());
    assert_eq!(
        spent.keys().copied().collect::<Vec<_>>(),
        vec![LeadStatus::New],
        "only the kept lead's own stays count"
    );

    // The merged lead: read-only, and its detail says where it went.
    let gone = h.crm.lead_detail(manager(), other.id()).await.unwrap();
    assert_eq!(gone.lead.merged_into(), Some(keep.id()));
    assert_eq!(gone.lead.version(), other.version() + 1);
    assert!(gone.interactions.is_empty() && gone.opportunities.is_empty());
    let edit = h
        .crm
        .edit_lead(
            manager(),
            other.id(),
            gone.lead.version(),
            LeadPatch {
                name: Some(Name::parse("x").unwrap()),
                ..LeadPatch::default()
            },
        )
        .await;
    assert!(matches!(edit, Err(CrmError::ReadOnly(id)) if id == other.id()));
    let log = h
        .crm
        .log_interaction(
            sales(),
            other.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await;
    assert!(matches!(log, Err(CrmError::ReadOnly(_))), "{log:?}");
    let status = h
        .crm
        .change_status(
            manager(),
            other.id(),
            gone.lead.version(),
            LeadStatus::Contacted,
            None,
        )
        .await;
    assert!(matches!(status, Err(CrmError::ReadOnly(_))), "{status:?}");
    // Straight to the store too: an interaction on a merged lead is refused there.
    let direct = h
        .store
        .insert_interaction(
            &crm_core::Interaction {
                id: crm_core::InteractionId::new_at(h.clock.now()),
                lead_id: other.id(),
                ..kept.interactions[0].clone()
            },
            &[],
        )
        .await;
    assert!(
        matches!(direct, Err(crm_core::StoreError::ReadOnly { .. })),
        "{direct:?}"
    );

    // Listings, reports, the pipeline and duplicate checks leave it out.
    let listed: Vec<LeadId> = all_leads(&h).await.iter().map(Lead::id).collect();
    assert_eq!(listed, vec![keep.id()]);
    let report = h.store.report(&ReportFilter::default()).await.unwrap();
    assert_eq!(report.count(LeadStatus::New, &Source::web()), 1);
    assert_eq!(report.count(LeadStatus::Contacted, &Source::web()), 0);
    let dated = ReportFilter {
        created_from: Some(keep.created_at() - TimeDelta::days(1)),
        ..ReportFilter::default()
    };
    let report = h.store.report(&dated).await.unwrap();
    assert_eq!(report.count(LeadStatus::New, &Source::web()), 1);
    assert_eq!(report.count(LeadStatus::Contacted, &Source::web()), 0);
    let times = h
        .crm
        .time_in_status_report(manager(), &ReportFilter::default())
        .await
        .unwrap();
    assert!(
        times
            .overall
            .iter()
            .all(|(status, ..)| *status != LeadStatus::Contacted),
        "a merged lead's stays must leave the time-in-status report: {times:?}"
    );
    let pipeline = h
        .crm
        .pipeline(manager(), &PipelineFilter::default())
        .await
        .unwrap();
    assert_eq!(pipeline.currencies.len(), 1);
    assert_eq!(pipeline.currencies[0].totals.open_count, 1);
    assert_eq!(pipeline.currencies[0].by_owner.len(), 1);
    assert!(h.crm.duplicates(manager(), true).await.unwrap().is_empty());
    // A new lead with the shared email is a duplicate of the kept lead, not of the merged.
    let dup = h
        .crm
        .create_lead(sales(), new_lead("Huda 3", Some("huda@example.com"), None))
        .await;
    assert!(
        matches!(dup, Err(CrmError::Duplicate { existing, .. }) if existing == Some(keep.id())),
        "{dup:?}"
    );

    // One event, about the kept lead.
    let events = h.store.pending_events(0, 10_000).await.unwrap();
    assert_eq!(events.len(), events_before + 1);
    let last = &events[events.len() - 1].event;
    assert_eq!(last.lead_id, keep.id());
    assert_eq!(
        last.kind,
        EventKind::LeadMerged {
            from: other.id(),
            fields: vec![crm_core::LeadField::Phone, crm_core::LeadField::Company],
        }
    );
}

/// A chain of merges: B into A, then A into K. B now points at K, and K's detail view shows
/// the history of both A and B with its own; A's shows neither its own merge nor B's.
pub async fn a_chain_of_merges_shows_every_history_on_the_last_lead_kept(
    store: Arc<dyn LeadStore>,
) {
    let h = Harness::new(store);
    let k = add(&h, "K", Some("chain@example.com"), None).await;
    let a = add(&h, "A", Some("chain@example.com"), None).await;
    let b = add(&h, "B", Some("chain@example.com"), None).await;
    let merge = async |keep: LeadId, other: LeadId| {
        let keep = h.crm.lead(manager(), keep).await.unwrap();
        let other = h.crm.lead(manager(), other).await.unwrap();
        h.advance(TimeDelta::minutes(1));
        merged(&h, &keep, &other).await;
    };
    merge(a.id(), b.id()).await;
    merge(k.id(), a.id()).await;

    let gone = h.store.get_lead(b.id()).await.unwrap().unwrap();
    assert_eq!(
        gone.merged_into(),
        Some(k.id()),
        "B points at the last lead kept"
    );
    let detail = h.crm.lead_detail(manager(), k.id()).await.unwrap();
    let leads: BTreeSet<LeadId> = detail.history.iter().map(|e| e.lead_id).collect();
    assert_eq!(
        leads,
        BTreeSet::from([k.id(), a.id(), b.id()]),
        "{:?}",
        detail.history
    );
    // Each entry once, by time.
    let mut keys: Vec<_> = detail
        .history
        .iter()
        .map(|e| (e.lead_id, e.version))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "an entry shows twice: {:?}", detail.history);
    assert!(detail.history.windows(2).all(|w| w[0].at <= w[1].at));
}

/// The follow-up sweep never notifies about a merged lead.
pub async fn merged_leads_leave_the_sweep(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let keep = add(&h, "Keep", Some("k@example.com"), None).await;
    let other = add(&h, "Other", Some("k@example.com"), None).await;
    merged(&h, &keep, &other).await;
    let at = h.clock.now() + TimeDelta::days(30);
    h.sweep_at(at).await.unwrap();
    let notified = h.notifier.leads();
    assert!(notified.contains(&keep.id()), "{notified:?}");
    assert!(!notified.contains(&other.id()), "{notified:?}");
}

/// Every refused merge changes nothing: into itself, a converted lead away, into a
/// converted lead, into a merged lead, a merged lead again, by sales staff, a lead the
/// actor does not see, and stale versions of either lead.
pub async fn refused_merges_change_nothing(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = add(&h, "A", Some("a@example.com"), None).await;
    let b = add(&h, "B", Some("b@example.com"), None).await;
    let converted = h.lead_in(LeadStatus::Converted, 1).await;
    let merged = add(&h, "M", Some("m@example.com"), None).await;
    let host = add(&h, "H", Some("h@example.com"), None).await;
    let out = h
        .crm
        .merge_leads(
            manager(),
            host.id(),
            host.version(),
            merged.id(),
            merged.version(),
        )
        .await
        .unwrap();
    let (host, merged) = (out.kept, out.merged);
    let before = snapshot(&h).await;
    let merge = |keep: &Lead, kv: u64, other: &Lead, ov: u64, actor| {
        let crm: Crm = h.crm.clone();
        let (k, o) = (keep.id(), other.id());
        async move { crm.merge_leads(actor, k, kv, o, ov).await }
    };
    let refused = |r: Result<_, CrmError>, want: MergeRefusal| match r {
        Err(CrmError::MergeRefused { reason, .. }) => assert_eq!(reason, want),
        other => panic!("expected {want:?}, got {other:?}"),
    };
    refused(
        merge(&a, a.version(), &a, a.version(), manager()).await,
        MergeRefusal::SameLead,
    );
    refused(
        merge(&a, a.version(), &converted, converted.version(), manager()).await,
        MergeRefusal::OtherConverted,
    );
    refused(
        merge(&converted, converted.version(), &a, a.version(), manager()).await,
        MergeRefusal::KeepConverted,
    );
    refused(
        merge(&merged, merged.version(), &a, a.version(), manager()).await,
        MergeRefusal::KeepMerged,
    );
    refused(
        merge(&a, a.version(), &merged, merged.version(), manager()).await,
        MergeRefusal::OtherMerged,
    );
    let by_sales = merge(&a, a.version(), &b, b.version(), sales()).await;
    assert!(
        matches!(by_sales, Err(CrmError::Forbidden { .. })),
        "{by_sales:?}"
    );
    for (kv, ov, stale) in [
        (a.version() + 1, b.version(), a.id()),
        (a.version(), b.version() + 7, b.id()),
    ] {
        let r = merge(&a, kv, &b, ov, manager()).await;
        assert!(
            matches!(&r, Err(CrmError::Conflict { entity: Entity::Lead, id, .. }) if *id == stale.to_string()),
            "{r:?}"
        );
    }
    let missing = LeadId::new_at(h.clock.now());
    let r = h
        .crm
        .merge_leads(manager(), a.id(), a.version(), missing, 1)
        .await;
    assert!(matches!(r, Err(CrmError::NotFound { .. })), "{r:?}");
    assert_eq!(
        snapshot(&h).await,
        before,
        "a refused merge wrote something"
    );
    assert_eq!(
        h.store.get_lead(host.id()).await.unwrap().unwrap(),
        host,
        "the lead merged into changed"
    );
    // Straight to the store: a stale version of the other lead, after a real decision.
    let write = crm_core::merge::decide_merge(
        &a,
        &b,
        &crate::harness::staff()
            .into_iter()
            .find(|e| e.id == manager())
            .unwrap(),
        a.version(),
        b.version(),
        crm_core::Moved::default(),
        h.clock.now(),
    )
    .unwrap();
    h.crm
        .edit_lead(
            sales(),
            b.id(),
            b.version(),
            LeadPatch {
                name: Some(Name::parse("B2").unwrap()),
                ..LeadPatch::default()
            },
        )
        .await
        .unwrap();
    let mid = snapshot(&h).await;
    let r = h.store.merge_leads(&write).await;
    assert!(
        matches!(&r, Err(crm_core::StoreError::Conflict { id, .. }) if *id == b.id().to_string()),
        "{r:?}"
    );
    assert_eq!(snapshot(&h).await, mid, "a refused merge wrote something");
}

/// A merge racing an edit of either lead: exactly one wins; the loser is refused as stale
/// (or read-only) and the store is as the winner left it.
pub async fn concurrent_merge_and_edit(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    for round in 0..6 {
        let keep = add(
            &h,
            &format!("K{round}"),
            Some(&format!("k{round}@example.com")),
            None,
        )
        .await;
        let other = add(
            &h,
            &format!("O{round}"),
            Some(&format!("k{round}@example.com")),
            None,
        )
        .await;
        let target = if round % 2 == 0 {
            other.clone()
        } else {
            keep.clone()
        };
        let crm = h.crm.clone();
        let merge = {
            let crm = crm.clone();
            let (k, kv, o, ov) = (keep.id(), keep.version(), other.id(), other.version());
            tokio::spawn(async move { crm.merge_leads(manager(), k, kv, o, ov).await })
        };
        let edit = tokio::spawn(async move {
            crm.edit_lead(
                sales(),
                target.id(),
                target.version(),
                LeadPatch {
                    company: Some(Some(Name::parse_field("company", "Edited").unwrap())),
                    ..LeadPatch::default()
                },
            )
            .await
        });
        let (m, e) = (merge.await.unwrap(), edit.await.unwrap());
        let stale = |r: &Result<_, CrmError>| {
            matches!(
                r,
                Err(CrmError::Conflict { .. }) | Err(CrmError::ReadOnly(_))
            )
        };
        match (m.is_ok(), e.is_ok()) {
            (true, false) => assert!(stale(&e.map(|_| ())), "round {round}"),
            (false, true) => assert!(stale(&m.map(|_| ())), "round {round}"),
            (a, b) => panic!("round {round}: merge ok {a}, edit ok {b}: exactly one must win"),
        }
        let o = h.store.get_lead(other.id()).await.unwrap().unwrap();
        let k = h.store.get_lead(keep.id()).await.unwrap().unwrap();
        if o.merged_into().is_some() {
            assert_eq!(k.version(), keep.version() + 1, "round {round}");
            assert_eq!(o.version(), other.version() + 1, "round {round}");
        } else {
            assert_eq!(k.merged_into(), None);
            assert_eq!(
                k.version() + o.version(),
                keep.version() + other.version() + 1,
                "round {round}: only the edit was stored"
            );
        }
    }
}

/// A merge decided before a record was added to the lead merged away is refused by the
/// store (a conflict on that lead) and writes nothing: otherwise the new record would move
/// to the kept lead without its `merged_from` entry naming it. Decided again on what the
/// lead holds now, the merge goes through and names every record it moved.
pub async fn a_merge_decided_before_a_record_was_added_is_refused(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let keep = add(&h, "Keep", Some("keep@example.com"), None).await;
    let other = add(&h, "Other", Some("keep@example.com"), None).await;
    let boss = crate::harness::staff()
        .into_iter()
        .find(|e| e.id == manager())
        .unwrap();
    let first = h
        .crm
        .log_interaction(
            sales(),
            other.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    // What the service reads before it decides.
    let decide = |keep: Lead, other: Lead| {
        let h = &h;
        let boss = boss.clone();
        async move {
            let d = h.store.lead_detail(other.id()).await.unwrap().unwrap();
            let moved = crm_core::Moved {
                interactions: d.interactions.iter().map(|i| i.id).collect(),
                opportunities: d.opportunities.iter().map(|o| o.id).collect(),
            };
            crm_core::merge::decide_merge(
                &keep,
                &d.lead,
                &boss,
                keep.version(),
                other.version(),
                moved,
                h.clock.now(),
            )
            .unwrap()
        }
    };
    let deal = || NewOpportunity {
        title: Name::parse("Deal").unwrap(),
        value: sar(100_000),
        expected_close: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        probability: None,
    };
    // The store refuses `write` with a conflict on OTHER and writes nothing.
    let refused = async |write: &crm_core::MergeWrite| {
        let before = snapshot(&h).await;
        let r = h.store.merge_leads(write).await;
        assert!(
            matches!(&r, Err(crm_core::StoreError::Conflict { entity: Entity::Lead, id, .. }) if *id == other.id().to_string()),
            "{r:?}"
        );
        assert_eq!(
            snapshot(&h).await,
            before,
            "a refused merge wrote something"
        );
    };

    // An interaction added after the decision.
    let write = decide(keep.clone(), other.clone()).await;
    assert_eq!(write.moved.interactions, vec![first.id]);
    h.advance(TimeDelta::seconds(1));
    let late_call = h
        .crm
        .log_interaction(
            sales(),
            other.id(),
            NewInteraction::new(InteractionKind::Meeting),
        )
        .await
        .unwrap();
    refused(&write).await;

    // An opportunity added after the decision.
    let write = decide(keep.clone(), other.clone()).await;
    assert_eq!(write.moved.interactions.len(), 2);
    let late_deal = h
        .crm
        .add_opportunity(sales(), other.id(), deal())
        .await
        .unwrap();
    refused(&write).await;

    // Decided on what the lead holds now: stored, and the history names every record.
    let write = decide(keep.clone(), other.clone()).await;
    h.store.merge_leads(&write).await.unwrap();
    let kept = h.crm.lead_detail(manager(), keep.id()).await.unwrap();
    let mut moved: Vec<_> = kept.interactions.iter().map(|i| i.id).collect();
    moved.sort();
    let mut want = vec![first.id, late_call.id];
    want.sort();
    assert_eq!(moved, want);
    assert_eq!(
        kept.opportunities.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![late_deal.id]
    );
    let named = kept
        .history
        .iter()
        .find_map(|e| match &e.change {
            Change::MergedFrom {
                interactions,
                opportunities,
                ..
            } => Some((interactions.clone(), opportunities.clone())),
            _ => None,
        })
        .expect("a merged_from entry");
    let mut named_interactions = named.0;
    named_interactions.sort();
    assert_eq!(named_interactions, want);
    assert_eq!(named.1, vec![late_deal.id]);
}

/// A lead merged away leaves the duplicate check of lead writes: a new lead with its email
/// is no duplicate, and a new lead with the phone the kept lead took from it is a duplicate
/// of the kept lead.
pub async fn merged_leads_leave_the_duplicate_check(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let other = add(&h, "Other", Some("other@example.com"), Some("0551112222")).await;
    let keep = add(&h, "Keep", Some("keep@example.com"), None).await;
    merged(&h, &keep, &other).await;
    h.advance(TimeDelta::seconds(1));
    let by_phone = h
        .crm
        .create_lead(sales(), new_lead("New", None, Some("+966551112222")))
        .await;
    assert!(
        matches!(&by_phone, Err(CrmError::Duplicate { existing, field: crm_core::ContactField::Phone, .. }) if *existing == Some(keep.id())),
        "{by_phone:?}"
    );
    let by_email = h
        .crm
        .create_lead(sales(), new_lead("New", Some("other@example.com"), None))
        .await;
    assert!(by_email.is_ok(), "{by_email:?}");
}

/// `other` merged into `keep` by the manager, at the versions the caller holds.
async fn merged(h: &Harness, keep: &Lead, other: &Lead) -> crm_core::MergeOutcome {
    h.crm
        .merge_leads(
            manager(),
            keep.id(),
            keep.version(),
            other.id(),
            other.version(),
        )
        .await
        .unwrap()
}
