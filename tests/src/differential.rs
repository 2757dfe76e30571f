//! The differential test: one random operation sequence applied to several stores must give
//! identical observable results: every outcome (value or error), then every detail view, the
//! report and the event log. Ids are random per run, so each UUID is replaced by the order
//! in which it first appears before comparing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::{
    Clock, EmployeeId, InteractionKind, LeadId, LeadPatch, LeadQuery, LeadStatus, LeadStore, Money,
    Name, NewInteraction, NewOpportunity, OpportunityId, OpportunityPatch, OpportunityStage,
    ReportFilter, Source,
};
use proptest::prelude::*;

use crate::harness::{Harness, inactive, manager, new_lead, other, sales, sales2, unknown};

/// One step of a sequence. Indices pick among the leads/opportunities created so far.
#[derive(Clone, Debug)]
#[allow(missing_docs)] // field names say it: actor index, lead index, ...
pub enum Op {
    /// Create a lead; contact data from a small pool, so duplicates happen.
    Create {
        actor: u8,
        email: Option<u8>,
        phone: Option<u8>,
        allow_duplicate: bool,
        source: u8,
    },
    /// Rename a lead, or change its email.
    Edit {
        actor: u8,
        lead: usize,
        email: Option<u8>,
        stale: bool,
    },
    /// Reassign a lead.
    Assign { actor: u8, lead: usize, to: u8 },
    /// Move a lead.
    Status {
        actor: u8,
        lead: usize,
        to: u8,
        reason: bool,
        stale: bool,
    },
    /// Log an interaction some minutes ago (or in the future).
    Interact {
        actor: u8,
        lead: usize,
        minutes_ago: i64,
    },
    /// Add an opportunity.
    AddOpportunity { actor: u8, lead: usize, minor: i64 },
    /// Move an opportunity's stage.
    UpdateOpportunity {
        actor: u8,
        opportunity: usize,
        stage: u8,
    },
    /// Let time pass.
    Advance { hours: i64 },
    /// Run the follow-up sweep.
    Sweep,
    /// Switch the clients system off or on.
    ClientsFail(bool),
    /// Retry pending client creations.
    Dispatch,
    /// Acknowledge events up to a sequence number.
    Ack(u64),
}

fn actor(a: u8) -> EmployeeId {
    [sales(), sales2(), manager(), other(), inactive(), unknown()][usize::from(a) % 6]
}

/// A strategy for sequences of operations.
pub fn ops(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    let a = 0u8..6;
    let op = prop_oneof![
        4 => (a.clone(), prop::option::of(0u8..4), prop::option::of(0u8..4), any::<bool>(), 0u8..7)
            .prop_map(|(actor, email, phone, allow_duplicate, source)| Op::Create { actor, email, phone, allow_duplicate, source }),
        1 => (a.clone(), any::<usize>(), prop::option::of(0u8..4), prop::bool::weighted(0.2))
            .prop_map(|(actor, lead, email, stale)| Op::Edit { actor, lead, email, stale }),
        1 => (a.clone(), any::<usize>(), 0u8..6).prop_map(|(actor, lead, to)| Op::Assign { actor, lead, to }),
        4 => (a.clone(), any::<usize>(), 0u8..5, prop::bool::weighted(0.8), prop::bool::weighted(0.1))
            .prop_map(|(actor, lead, to, reason, stale)| Op::Status { actor, lead, to, reason, stale }),
        2 => (a.clone(), any::<usize>(), -5i64..600).prop_map(|(actor, lead, minutes_ago)| Op::Interact { actor, lead, minutes_ago }),
        1 => (a.clone(), any::<usize>(), 0i64..10_000_000).prop_map(|(actor, lead, minor)| Op::AddOpportunity { actor, lead, minor }),
        1 => (a, any::<usize>(), 0u8..3).prop_map(|(actor, opportunity, stage)| Op::UpdateOpportunity { actor, opportunity, stage }),
        2 => (1i64..72).prop_map(|hours| Op::Advance { hours }),
        1 => Just(Op::Sweep),
        1 => any::<bool>().prop_map(Op::ClientsFail),
        1 => Just(Op::Dispatch),
        1 => (0u64..40).prop_map(Op::Ack),
    ];
    prop::collection::vec(op, len)
}

fn outcome<T: serde::Serialize>(r: Result<T, crm_core::CrmError>) -> String {
    match r {
        Ok(v) => serde_json::to_string(&v).unwrap(),
        Err(e) => format!("error: {e}"),
    }
}

/// Applies `ops` to a fresh harness over `store`; returns every outcome and a final snapshot.
pub async fn apply(store: Arc<dyn LeadStore>, ops: &[Op]) -> Vec<String> {
    let h = Harness::new(store);
    let mut leads: Vec<LeadId> = vec![];
    let mut opps: Vec<OpportunityId> = vec![];
    let mut out = vec![];
    let email = |i: u8| format!("person{i}@example.com");
    let phone = |i: u8| format!("+96650000000{i}");
    for op in ops {
        // Distinct instants keep every ordering free of ties.
        h.advance(TimeDelta::seconds(1));
        let pick = |v: &[LeadId], i: usize| v.get(i % v.len().max(1)).copied();
        let o = match op.clone() {
            Op::Create {
                actor: a,
                email: e,
                phone: p,
                allow_duplicate,
                source,
            } => {
                let e = if e.is_none() && p.is_none() {
                    Some(0)
                } else {
                    e
                };
                let mut input = new_lead(
                    &format!("Lead {}", leads.len()),
                    e.map(email).as_deref(),
                    p.map(phone).as_deref(),
                );
                input.source = Source::parse(
                    Source::BUILT_IN
                        .get(usize::from(source))
                        .copied()
                        .unwrap_or("fair"),
                )
                .unwrap();
                input.allow_duplicate = allow_duplicate;
                let r = h.crm.create_lead(actor(a), input).await;
                if let Ok(l) = &r {
                    leads.push(l.id());
                }
                outcome(r)
            }
            Op::Edit {
                actor: a,
                lead,
                email: e,
                stale,
            } => match pick(&leads, lead) {
                None => "no lead".into(),
                Some(id) => {
                    let v = h
                        .crm
                        .lead(manager(), id)
                        .await
                        .map(|l| l.version())
                        .unwrap_or(1);
                    let patch = match e {
                        Some(e) => LeadPatch {
                            email: Some(Some(crm_core::Email::parse(&email(e)).unwrap())),
                            ..Default::default()
                        },
                        None => LeadPatch {
                            name: Some(Name::parse(&format!("Renamed {v}")).unwrap()),
                            ..Default::default()
                        },
                    };
                    outcome(
                        h.crm
                            .edit_lead(
                                actor(a),
                                id,
                                if stale { v.saturating_sub(1) } else { v },
                                patch,
                            )
                            .await,
                    )
                }
            },
            Op::Assign { actor: a, lead, to } => match pick(&leads, lead) {
                None => "no lead".into(),
                Some(id) => {
                    let v = h
                        .crm
                        .lead(manager(), id)
                        .await
                        .map(|l| l.version())
                        .unwrap_or(1);
                    outcome(h.crm.assign_lead(actor(a), id, v, actor(to)).await)
                }
            },
            Op::Status {
                actor: a,
                lead,
                to,
                reason,
                stale,
            } => match pick(&leads, lead) {
                None => "no lead".into(),
                Some(id) => {
                    let v = h
                        .crm
                        .lead(manager(), id)
                        .await
                        .map(|l| l.version())
                        .unwrap_or(1);
                    let reason = reason.then(|| crate::harness::reason("price"));
                    let r = h
                        .crm
                        .change_status(
                            actor(a),
                            id,
                            if stale { v.saturating_sub(1) } else { v },
                            LeadStatus::ALL[usize::from(to) % 5],
                            reason,
                        )
                        .await;
                    outcome(r.map(|c| {
                        (
                            c.lead,
                            c.conversion
                                .map(|o| format!("{o:?}").split('(').next().map(str::to_owned)),
                        )
                    }))
                }
            },
            Op::Interact {
                actor: a,
                lead,
                minutes_ago,
            } => match pick(&leads, lead) {
                None => "no lead".into(),
                Some(id) => {
                    let at = h.clock.now() - TimeDelta::minutes(minutes_ago);
                    let input = NewInteraction::new(InteractionKind::ALL[lead % 6]).at(at);
                    outcome(h.crm.log_interaction(actor(a), id, input).await)
                }
            },
            Op::AddOpportunity {
                actor: a,
                lead,
                minor,
            } => match pick(&leads, lead) {
                None => "no lead".into(),
                Some(id) => {
                    let input = NewOpportunity {
                        title: Name::parse("Deal").unwrap(),
                        value: Money::from_minor(minor, crm_core::Currency::parse("SAR").unwrap())
                            .unwrap(),
                        expected_close: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                        probability: None,
                    };
                    let r = h.crm.add_opportunity(actor(a), id, input).await;
                    if let Ok(o) = &r {
                        opps.push(o.id);
                    }
                    outcome(r)
                }
            },
            Op::UpdateOpportunity {
                actor: a,
                opportunity,
                stage,
            } => match opps.get(opportunity % opps.len().max(1)) {
                None => "no opportunity".into(),
                Some(id) => {
                    let v = h
                        .store
                        .get_opportunity(*id)
                        .await
                        .unwrap()
                        .map_or(1, |o| o.version);
                    let patch = OpportunityPatch {
                        stage: Some(OpportunityStage::ALL[usize::from(stage) % 3]),
                        ..Default::default()
                    };
                    outcome(h.crm.update_opportunity(actor(a), *id, v, patch).await)
                }
            },
            Op::Advance { hours } => {
                h.advance(TimeDelta::hours(hours));
                "advanced".into()
            }
            Op::Sweep => outcome(
                h.crm
                    .sweep_now(manager())
                    .await
                    .map(|r| (r.notified, r.failed.len())),
            ),
            Op::ClientsFail(on) => {
                h.clients.fail(on);
                "clients toggled".into()
            }
            Op::Dispatch => outcome(
                h.crm
                    .dispatch_pending(manager())
                    .await
                    .map(|r| (r.created, r.failed.len())),
            ),
            Op::Ack(n) => outcome(h.crm.ack_events(manager(), n).await),
        };
        out.push(o);
    }
    let page = h
        .store
        .list_leads(&LeadQuery::default().limit(1000).unwrap())
        .await
        .unwrap();
    for l in &page.items {
        out.push(serde_json::to_string(&h.store.lead_detail(l.id()).await.unwrap()).unwrap());
    }
    out.extend(queries(&*h.store, h.clock.now()).await);
    out.push(serde_json::to_string(&h.store.pending_events(0, 100_000).await.unwrap()).unwrap());
    out.push(serde_json::to_string(&h.store.pending_clients(1000).await.unwrap()).unwrap());
    normalise_ids(out)
}

/// Listing (each filter, search), keyset paging through it two leads a page, and reports
/// (unfiltered, by owner, by source, by creation range), as the store answers them.
async fn queries(store: &dyn LeadStore, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let mut out = vec![];
    let source = |s: &str| Source::parse(s).unwrap();
    let mut lists = vec![
        LeadQuery::default(),
        LeadQuery::default().source(source("web")),
        LeadQuery::default().search("person1"),
        LeadQuery::default().search("lead 2"),
        LeadQuery::default().search("+96650"),
        LeadQuery::default()
            .status(LeadStatus::Contacted)
            .owner(sales()),
    ];
    lists.extend(LeadStatus::ALL.map(|s| LeadQuery::default().status(s)));
    lists.extend([sales(), sales2(), manager()].map(|o| LeadQuery::default().owner(o)));
    for q in lists {
        let mut q = q.limit(2).unwrap();
        let mut pages = vec![];
        loop {
            let page = store.list_leads(&q).await.unwrap();
            pages.push(page.items.iter().map(|l| l.id()).collect::<Vec<_>>());
            match page.next {
                Some(c) if pages.len() < 1000 => q = q.after(c),
                _ => break,
            }
        }
        out.push(format!("{q:?}: {pages:?}"));
    }
    let reports = [
        ReportFilter::default(),
        ReportFilter {
            owner: Some(sales()),
            ..Default::default()
        },
        ReportFilter {
            source: Some(source("referral")),
            ..Default::default()
        },
        ReportFilter {
            owner: Some(manager()),
            source: Some(source("web")),
            ..Default::default()
        },
        ReportFilter {
            created_from: Some(now - TimeDelta::hours(30)),
            created_to: Some(now - TimeDelta::hours(2)),
            ..Default::default()
        },
    ];
    for f in reports {
        out.push(serde_json::to_string(&store.report(&f).await.unwrap()).unwrap());
    }
    out
}

/// Replaces every UUID by `#n`, n being the order of first appearance.
pub fn normalise_ids(lines: Vec<String>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    lines
        .into_iter()
        .map(|line| {
            let bytes = line.as_bytes();
            let mut out = String::with_capacity(line.len());
            let mut i = 0;
            while i < line.len() {
                if i + 36 <= line.len()
                    && line.is_char_boundary(i)
                    && line.is_char_boundary(i + 36)
                    && is_uuid(&bytes[i..i + 36])
                {
                    let n = seen.len();
                    let idx = *seen.entry(line[i..i + 36].to_owned()).or_insert(n);
                    out.push_str(&format!("#{idx}"));
                    i += 36;
                } else {
                    let c = line[i..].chars().next().unwrap();
                    out.push(c);
                    i += c.len_utf8();
                }
            }
            out
        })
        .collect()
}

fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}
