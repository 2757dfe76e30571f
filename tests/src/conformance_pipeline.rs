//! Conformance bodies of the sales-process rules (issue 10, part B): lost-reason codes,
//! pipeline value, next follow-up times with overdue reminders, the working calendar,
//! escalation to the owner's manager, the sweep's dry run, and time in status. Stamped out
//! for every adapter by [`crate::conformance_suite!`].

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use crm_core::calendar::parse_time_zone;
use crm_core::{
    Change, Clock, CrmError, CrmResult, Currency, Employee, EmployeeId, EscalationRule,
    FollowUpClaim, FollowUpRule, InteractionKind, Lead, LeadId, LeadPatch, LeadStatus, LeadStore,
    LostReason, LostReasonCode, LostReasons, Money, Name, NewInteraction, NewOpportunity,
    NoticeKind, OpportunityPatch, OpportunityStage, PipelineFilter, Probability, ReportFilter,
    Source, StageProbabilities, ValidationError, WorkCalendar,
};

use crate::harness::{Harness, manager, new_lead, other, sales, sales2, staff, t0};

fn code(s: &str) -> LostReasonCode {
    LostReasonCode::parse(s).unwrap()
}

fn lost(c: &str, detail: Option<&str>) -> Option<LostReason> {
    Some(LostReason {
        code: code(c),
        detail: detail.map(|d| Name::parse(d).unwrap()),
    })
}

fn money(minor: i64, cur: &str) -> Money {
    Money::from_minor(minor, Currency::parse(cur).unwrap()).unwrap()
}

/// Sets a lead's next follow-up time as `actor`.
async fn set_follow_up(
    h: &Harness,
    actor: EmployeeId,
    lead: LeadId,
    version: u64,
    at: DateTime<Utc>,
) -> CrmResult<Lead> {
    let patch = LeadPatch {
        next_follow_up: Some(Some(at)),
        ..LeadPatch::default()
    };
    h.crm.edit_lead(actor, lead, version, patch).await
}

/// The report filter of one owner's leads.
fn owned_by(owner: EmployeeId) -> ReportFilter {
    ReportFilter {
        owner: Some(owner),
        ..ReportFilter::default()
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Moving to lost takes a code from the host's list (refused otherwise, changing nothing),
/// with optional detail; the code is in the history, reopening clears it, and the lost-reason
/// report counts lost leads by code under the report filter.
pub async fn lost_reasons_are_listed_codes_and_reportable(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let crm = h.crm_with(|b| b.lost_reasons(LostReasons::parse("price,competitor,سعر").unwrap()));
    let a = h.lead_in(LeadStatus::Contacted, 1).await;
    // Not in the list: refused, nothing written.
    let r = crm
        .change_status(
            sales(),
            a.id(),
            a.version(),
            LeadStatus::Lost,
            lost("timing", None),
        )
        .await;
    assert!(
        matches!(&r, Err(CrmError::Validation(ValidationError::UnknownLostReason { expected, .. })) if expected == "price, competitor, سعر"),
        "{r:?}"
    );
    assert_eq!(crm.lead(sales(), a.id()).await.unwrap(), a);
    // No code: refused.
    let r = crm
        .change_status(sales(), a.id(), a.version(), LeadStatus::Lost, None)
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::LostReasonRequired))
    ));
    let a = crm
        .change_status(
            sales(),
            a.id(),
            a.version(),
            LeadStatus::Lost,
            lost("competitor", Some("اختار عرض المنافس السنوي")),
        )
        .await
        .unwrap()
        .lead;
    assert_eq!(
        a.lost(),
        lost("competitor", Some("اختار عرض المنافس السنوي"))
    );
    let back = crm.lead(other(), a.id()).await.unwrap();
    assert_eq!(back.lost(), a.lost());
    let d = crm.lead_detail(other(), a.id()).await.unwrap();
    assert!(matches!(
        &d.history.last().unwrap().change,
        Change::StatusChanged { lost_reason_code: Some(c), .. } if c.as_str() == "competitor"
    ));

    // More lost leads, by two owners and sources.
    let mut ids = vec![a.id()];
    for (n, (owner, c)) in [(sales(), "price"), (sales2(), "price"), (sales2(), "سعر")]
        .into_iter()
        .enumerate()
    {
        let l = h
            .crm
            .create_lead(
                owner,
                new_lead(&format!("L{n}"), Some(&format!("l{n}@example.com")), None),
            )
            .await
            .unwrap();
        crm.change_status(owner, l.id(), 1, LeadStatus::Lost, lost(c, None))
            .await
            .unwrap();
        ids.push(l.id());
    }
    // An open lead counts for nothing.
    h.lead_in(LeadStatus::Interested, 9).await;

    let all = crm
        .lost_reason_report(other(), &ReportFilter::default())
        .await
        .unwrap();
    let rows: Vec<_> = all
        .rows
        .iter()
        .map(|r| (r.code.as_str(), r.count))
        .collect();
    assert_eq!(rows, [("price", 2), ("competitor", 1), ("سعر", 1)]);
    assert_eq!(all.total, 4);
    let mine = crm
        .lost_reason_report(other(), &owned_by(sales2()))
        .await
        .unwrap();
    assert_eq!(
        (mine.count("price"), mine.count("سعر"), mine.total),
        (1, 1, 2)
    );
    let none = crm
        .lost_reason_report(
            other(),
            &ReportFilter {
                source: Some(Source::referral()),
                ..ReportFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);

    // Reopening clears the reason, and the lead leaves the report.
    let reopened = crm
        .change_status(manager(), a.id(), a.version(), LeadStatus::New, None)
        .await
        .unwrap()
        .lead;
    assert_eq!((reopened.lost(), reopened.lost_reason()), (None, None));
    let all = crm
        .lost_reason_report(other(), &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!((all.count("competitor"), all.total), (0, 3));
    // An unknown actor reads nothing.
    assert!(matches!(
        crm.lost_reason_report(crate::harness::unknown(), &ReportFilter::default())
            .await,
        Err(CrmError::UnknownActor(_))
    ));
}

/// The pipeline report: per currency (never summed across), open, weighted, won and lost
/// totals, by owner, stage and expected-close month; stage probabilities from the host, a
/// per-opportunity override while open, weighted values rounded half up per opportunity;
/// the owner and close-date filters.
pub async fn pipeline_is_valued_per_currency(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let crm = h.crm_with(|b| {
        b.stage_probabilities(StageProbabilities::parse("open=10,proposal=50").unwrap())
    });
    let l1 = h.lead_in(LeadStatus::Interested, 1).await; // owned by sales()
    let l2 = h
        .crm
        .create_lead(sales2(), new_lead("Omar", Some("omar@example.com"), None))
        .await
        .unwrap();
    let add = |lead, actor, minor, cur: &'static str, close, p: Option<u8>| {
        let crm = crm.clone();
        async move {
            crm.add_opportunity(
                actor,
                lead,
                NewOpportunity {
                    title: Name::parse("Deal").unwrap(),
                    value: money(minor, cur),
                    expected_close: close,
                    probability: p.map(|p| Probability::new(p).unwrap()),
                },
            )
            .await
            .unwrap()
        }
    };
    let stage = |o: crm_core::Opportunity, s: OpportunityStage| {
        let crm = crm.clone();
        async move {
            crm.update_opportunity(
                manager(),
                o.id,
                o.version,
                OpportunityPatch {
                    stage: Some(s),
                    ..OpportunityPatch::default()
                },
            )
            .await
            .unwrap()
        }
    };
    // SAR, sales(): 1 halala at 50 % twice (each rounds 0.5 up to 1: weighted 2, not 1),
    // 10,000.00 at open 10 % with a 40 % override, and a won 500.00 in February.
    let o1 = add(l1.id(), sales(), 1, "SAR", day(2026, 1, 10), None).await;
    stage(o1, OpportunityStage::Proposal).await;
    let o2 = add(l1.id(), sales(), 1, "SAR", day(2026, 1, 20), None).await;
    stage(o2, OpportunityStage::Proposal).await;
    add(
        l1.id(),
        sales(),
        1_000_000,
        "SAR",
        day(2026, 1, 31),
        Some(40),
    )
    .await;
    let won = add(l1.id(), sales(), 50_000, "SAR", day(2026, 2, 1), Some(5)).await;
    stage(won, OpportunityStage::Won).await;
    // SAR, sales2(): open 3.335 SAR... (333.5 halalas cannot exist) 333 halalas at 10 % =
    // 33.3 -> 33; a lost 700.00 in March.
    add(l2.id(), sales2(), 333, "SAR", day(2026, 3, 5), None).await;
    let gone = add(l2.id(), sales2(), 70_000, "SAR", day(2026, 3, 6), None).await;
    stage(gone, OpportunityStage::Lost).await;
    // KWD (three decimals), sales2(): 1,250.500 KWD in negotiation (default 75 %):
    // 937,875 fils.
    let k = add(l2.id(), sales2(), 1_250_500, "KWD", day(2026, 2, 14), None).await;
    stage(k, OpportunityStage::Negotiation).await;

    let r = crm
        .pipeline(other(), &PipelineFilter::default())
        .await
        .unwrap();
    let codes: Vec<_> = r.currencies.iter().map(|c| c.currency.code()).collect();
    assert_eq!(
        codes,
        ["KWD", "SAR"],
        "one block per currency, never summed"
    );
    let sar = r.currency("SAR").unwrap();
    assert_eq!(sar.totals.open_count, 4);
    assert_eq!(sar.totals.open_minor, 1 + 1 + 1_000_000 + 333);
    assert_eq!(sar.totals.weighted_minor, 1 + 1 + 400_000 + 33);
    assert_eq!((sar.totals.won_count, sar.totals.won_minor), (1, 50_000));
    assert_eq!((sar.totals.lost_count, sar.totals.lost_minor), (1, 70_000));
    let by_owner: Vec<_> = sar
        .by_owner
        .iter()
        .map(|(o, t)| {
            (
                *o,
                t.open_minor,
                t.weighted_minor,
                t.won_minor,
                t.lost_minor,
            )
        })
        .collect();
    assert_eq!(
        by_owner,
        [
            (sales(), 1_000_002, 400_002, 50_000, 0),
            (sales2(), 333, 33, 0, 70_000)
        ]
    );
    let by_stage: Vec<_> = sar
        .by_stage
        .iter()
        .map(|(s, t)| (*s, t.open_count + t.won_count + t.lost_count))
        .collect();
    assert_eq!(
        by_stage,
        [
            (OpportunityStage::Open, 2),
            (OpportunityStage::Proposal, 2),
            (OpportunityStage::Won, 1),
            (OpportunityStage::Lost, 1)
        ]
    );
    let by_month: Vec<_> = sar
        .by_month
        .iter()
        .map(|(m, t)| (*m, t.open_minor, t.weighted_minor))
        .collect();
    assert_eq!(
        by_month,
        [
            (day(2026, 1, 1), 1_000_002, 400_002),
            (day(2026, 2, 1), 0, 0),
            (day(2026, 3, 1), 333, 33)
        ]
    );
    let kwd = r.currency("KWD").unwrap();
    assert_eq!(
        (kwd.totals.open_minor, kwd.totals.weighted_minor),
        (1_250_500, 937_875)
    );

    // Filters: the owner, and close dates inclusive at both ends.
    let f = PipelineFilter {
        owner: Some(sales()),
        close_from: Some(day(2026, 1, 20)),
        close_to: Some(day(2026, 2, 1)),
    };
    let r = crm.pipeline(other(), &f).await.unwrap();
    assert_eq!(r.currencies.len(), 1);
    let sar = r.currency("SAR").unwrap();
    assert_eq!(
        (
            sar.totals.open_count,
            sar.totals.open_minor,
            sar.totals.won_minor
        ),
        (2, 1_000_001, 50_000)
    );
    // A reversed range is refused.
    let bad = PipelineFilter {
        close_from: Some(day(2026, 3, 1)),
        close_to: Some(day(2026, 2, 1)),
        ..PipelineFilter::default()
    };
    assert!(matches!(
        crm.pipeline(other(), &bad).await,
        Err(CrmError::Validation(ValidationError::InvalidRange { .. }))
    ));

    // Clearing the override goes back to the stage's probability (open 10 %).
    let big = crm
        .lead_detail(sales(), l1.id())
        .await
        .unwrap()
        .opportunities
        .into_iter()
        .find(|o| o.value.minor() == 1_000_000)
        .unwrap();
    assert_eq!(big.probability, Some(Probability::new(40).unwrap()));
    let cleared = crm
        .update_opportunity(
            sales(),
            big.id,
            big.version,
            OpportunityPatch {
                probability: Some(None),
                ..OpportunityPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.probability, None);
    let events = h.store.pending_events(0, 10_000).await.unwrap();
    let probabilities: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event.kind {
            crm_core::EventKind::OpportunityCreated { probability, .. }
            | crm_core::EventKind::OpportunityUpdated { probability, .. } => Some(*probability),
            _ => None,
        })
        .collect();
    // The sales system sees overrides come and go.
    assert_eq!(probabilities.last(), Some(&None));
    assert!(probabilities.contains(&Some(Probability::new(40).unwrap())));
    let r = crm
        .pipeline(other(), &PipelineFilter::default())
        .await
        .unwrap();
    assert_eq!(
        r.currency("SAR").unwrap().totals.weighted_minor,
        1 + 1 + 100_000 + 33
    );
}

/// A next follow-up time is set by an edit or with an interaction (never in the past); once
/// it has passed on an open lead with no interaction since, the sweep reminds the owner once
/// per follow-up time; a new time gives a new reminder.
pub async fn overdue_follow_ups_remind_the_owner_once(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let lead = h.lead_in(LeadStatus::Contacted, 1).await;
    let now = h.clock.now();
    // In the past: refused.
    let r = set_follow_up(
        &h,
        sales(),
        lead.id(),
        lead.version(),
        now - TimeDelta::minutes(1),
    )
    .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::InPast { .. }))
    ));
    let due = now + TimeDelta::hours(2);
    let lead = set_follow_up(&h, sales(), lead.id(), lead.version(), due)
        .await
        .unwrap();
    assert_eq!(lead.next_follow_up_at(), Some(due));
    assert_eq!(
        h.crm
            .lead(other(), lead.id())
            .await
            .unwrap()
            .next_follow_up_at(),
        Some(due)
    );
    // Not yet due.
    let r = h.sweep_at(due - TimeDelta::seconds(1)).await.unwrap();
    assert!(r.reminded.is_empty());
    // Due: one reminder, to the owner, saying which time.
    let r = h.sweep_at(due).await.unwrap();
    assert_eq!(r.reminded, vec![lead.id()]);
    let sent = h.notifier.sent.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sent.kind, NoticeKind::Overdue { due_at: due });
    assert_eq!(sent.recipient(), Some(sales()));
    let back = h.crm.lead(other(), lead.id()).await.unwrap();
    assert_eq!(back.follow_up_reminded_for(), Some(due));
    assert_eq!(back.owner_notified_at(), Some(due));
    // Once per follow-up time.
    let r = h.sweep_at(due + TimeDelta::days(1)).await.unwrap();
    assert!(r.reminded.is_empty());

    // An interaction sets a new time; it is reminded again when that passes, unless someone
    // followed the lead up after it.
    let later = h.clock.now() + TimeDelta::days(1);
    let i = h
        .crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).follow_up_at(later),
        )
        .await
        .unwrap();
    assert_eq!(i.next_follow_up_at, Some(later));
    let events = h.store.pending_events(0, 10_000).await.unwrap();
    assert!(matches!(
        events.last().map(|e| &e.event.kind),
        Some(crm_core::EventKind::InteractionLogged { next_follow_up_at: Some(t), .. }) if *t == later
    ));
    let back = h.crm.lead(other(), lead.id()).await.unwrap();
    assert_eq!(back.next_follow_up_at(), Some(later));
    let r = h.sweep_at(later).await.unwrap();
    assert_eq!(r.reminded, vec![lead.id()]);
    // A follow-up time answered by an interaction after it is not overdue.
    let third = h.clock.now() + TimeDelta::hours(1);
    h.crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Note).follow_up_at(third),
        )
        .await
        .unwrap();
    h.advance(TimeDelta::hours(2));
    h.crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    let r = h.sweep_at(h.clock.now()).await.unwrap();
    assert!(r.reminded.is_empty(), "{:?}", r.reminded);
    // A lost lead is not reminded.
    let other_lead = h.lead_in(LeadStatus::New, 2).await;
    let t = h.clock.now() + TimeDelta::hours(1);
    let l = set_follow_up(&h, sales(), other_lead.id(), 1, t)
        .await
        .unwrap();
    h.crm
        .change_status(
            sales(),
            l.id(),
            l.version(),
            LeadStatus::Lost,
            lost("timing", None),
        )
        .await
        .unwrap();
    let r = h.sweep_at(t + TimeDelta::hours(1)).await.unwrap();
    assert!(r.reminded.is_empty());
    // An interaction's follow-up time in the past is refused, and nothing is logged.
    let before = h.crm.lead_detail(other(), lead.id()).await.unwrap();
    let r = h
        .crm
        .log_interaction(
            sales(),
            lead.id(),
            NewInteraction::new(InteractionKind::Call).follow_up_at(t0()),
        )
        .await;
    assert!(matches!(
        r,
        Err(CrmError::Validation(ValidationError::InPast { .. }))
    ));
    assert_eq!(h.crm.lead_detail(other(), lead.id()).await.unwrap(), before);
}

fn riyadh() -> WorkCalendar {
    WorkCalendar::new(parse_time_zone("Asia/Riyadh").unwrap())
        .working_hours("09:00-17:00")
        .unwrap()
        .weekend(vec![Weekday::Fri, Weekday::Sat])
        .unwrap()
}

/// With a working calendar the first-contact rule counts working hours in the host's zone,
/// skipping the weekend (local dates) and holidays.
pub async fn follow_up_counts_working_hours_in_the_host_zone(store: Arc<dyn LeadStore>) {
    let cal = riyadh()
        .holidays([day(2026, 1, 12)].into_iter().collect())
        .unwrap();
    let h = Harness::with_rule(store, FollowUpRule::in_calendar(1, cal).unwrap());
    // Thursday 2026-01-08 16:00 Riyadh (13:00 UTC): one working hour left that day.
    h.clock.set(at("2026-01-08T13:00:00Z"));
    let lead = h
        .create(sales(), "Thursday", Some("thu@example.com"), None)
        .await;
    // Friday and Saturday are the weekend in Riyadh; Sunday 15:59 is 7 h 59 m of work.
    let r = h.sweep_at(at("2026-01-11T12:59:00Z")).await.unwrap();
    assert!(r.notified.is_empty());
    // Sunday 16:00 Riyadh: one working day.
    let r = h.sweep_at(at("2026-01-11T13:00:00Z")).await.unwrap();
    assert_eq!(r.notified, vec![lead.id()]);
    // Created Sunday 16:00: Monday 12 is a holiday, so due Tuesday 16:00, not Monday.
    let l2 = h
        .create(sales(), "Sunday", Some("sun@example.com"), None)
        .await;
    let r = h.sweep_at(at("2026-01-13T12:59:00Z")).await.unwrap();
    assert!(r.notified.is_empty());
    let r = h.sweep_at(at("2026-01-13T13:00:00Z")).await.unwrap();
    assert_eq!(r.notified, vec![l2.id()]);
}

/// A lead still without follow-up N working days after its owner was notified is escalated
/// to the owner's manager, once; an interaction since the notification prevents it; an
/// owner without a manager leaves the escalation in the outbox, failed, and it goes out
/// under the same notice id once a manager is set; a crashed sender's escalation is sent
/// again under the same id.
pub async fn escalation_reaches_the_managers_once(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let set_manager = |id, m| {
        let mut e: Employee = staff().into_iter().find(|e| e.id == id).unwrap();
        e.manager = m;
        h.employees.upsert(e);
    };
    set_manager(sales(), Some(manager()));
    // A manager must be someone else in the directory.
    let admin = h.crm_with(|b| b.employee_admin(h.employees.clone()));
    for bad in [sales2(), crate::harness::unknown()] {
        let mut e = staff().into_iter().find(|e| e.id == sales2()).unwrap();
        e.manager = Some(bad);
        assert!(matches!(
            admin.save_employee(manager(), e).await,
            Err(CrmError::Validation(ValidationError::InvalidId { .. }))
        ));
    }
    let crm = h.crm_with(|b| {
        b.follow_up(FollowUpRule::calendar_days(1).unwrap())
            .escalation(EscalationRule::after_working_days(2).unwrap())
    });
    let a = h.create(sales(), "A", Some("a@example.com"), None).await;
    h.advance(TimeDelta::minutes(1));
    let b = h.create(sales(), "B", Some("b@example.com"), None).await;
    h.advance(TimeDelta::minutes(1));
    let c = h.create(sales2(), "C", Some("c@example.com"), None).await;
    // Day 1: the owners are notified.
    let day1 = t0() + TimeDelta::days(1) + TimeDelta::minutes(2);
    h.clock.set(day1);
    let r = crm.sweep(manager(), day1).await.unwrap();
    assert_eq!(r.notified, vec![a.id(), b.id(), c.id()]);
    assert!(r.escalated.is_empty());
    // B is called after the notification: no escalation for it.
    h.advance(TimeDelta::hours(1));
    crm.log_interaction(sales(), b.id(), NewInteraction::new(InteractionKind::Call))
        .await
        .unwrap();
    // One second short of two days: nothing.
    let almost = day1 + TimeDelta::days(2) - TimeDelta::seconds(1);
    h.clock.set(almost);
    let r = crm.sweep(manager(), almost).await.unwrap();
    assert!(r.escalated.is_empty() && r.failed.is_empty());
    // Two days: A goes to sales()'s manager; C's owner has no manager, so it fails and
    // stays in the outbox.
    let day3 = day1 + TimeDelta::days(2);
    h.clock.set(day3);
    let preview = crm.sweep_preview(manager(), day3, 100).await.unwrap();
    assert_eq!(
        preview
            .iter()
            .map(|n| (n.lead_id, n.recipient()))
            .collect::<Vec<_>>(),
        [(a.id(), Some(manager())), (c.id(), None)]
    );
    let r = crm.sweep(manager(), day3).await.unwrap();
    assert_eq!(r.escalated, vec![a.id()]);
    assert_eq!(
        r.failed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![c.id()]
    );
    let sent = h.notifier.sent.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sent.lead_id, a.id());
    assert_eq!(
        sent.kind,
        NoticeKind::Escalation {
            notified_at: day1,
            manager: Some(manager())
        }
    );
    assert_eq!(sent.recipient(), Some(manager()));
    let stuck = h.store.undelivered_follow_ups(10).await.unwrap();
    assert_eq!(
        stuck.iter().map(|n| n.lead_id).collect::<Vec<_>>(),
        [c.id()]
    );
    // Once: the next sweep escalates A no more.
    let r = crm.sweep(manager(), day3).await.unwrap();
    assert!(r.escalated.is_empty());
    // C's owner gets a manager: the same notice goes out.
    set_manager(sales2(), Some(manager()));
    let r = crm.sweep(manager(), day3).await.unwrap();
    assert_eq!(r.escalated, vec![c.id()]);
    assert_eq!(r.notices, vec![stuck[0].id]);
    assert!(h.store.undelivered_follow_ups(10).await.unwrap().is_empty());

    // A crash after claiming: the escalation is sent again, same id, once the lease ran out.
    let d = h.create(sales(), "D", Some("d@example.com"), None).await;
    let t = h.clock.now() + TimeDelta::days(1);
    h.clock.set(t);
    crm.sweep(manager(), t).await.unwrap();
    let t = t + TimeDelta::days(2);
    h.clock.set(t);
    let claimed = h
        .store
        .claim_follow_ups(&FollowUpClaim {
            cutoff: t - TimeDelta::days(1),
            at: t,
            now: t,
            lease_until: t + TimeDelta::minutes(5),
            limit: 10,
            escalation_cutoff: Some(t - TimeDelta::days(2)),
        })
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|n| (n.lead_id, n.kind.name()))
            .collect::<Vec<_>>(),
        [(d.id(), "escalation")]
    );
    let r = crm.sweep(manager(), t).await.unwrap();
    assert!(r.escalated.is_empty(), "the claim still holds");
    h.clock.set(t + TimeDelta::minutes(5));
    let r = crm
        .sweep(manager(), t + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(r.escalated, vec![d.id()]);
    assert_eq!(r.notices, vec![claimed[0].id]);
}

/// A dry run lists what a sweep would send, in order, and changes nothing; the sweep then
/// sends exactly that.
pub async fn sweep_dry_run_changes_nothing(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let a = h.create(sales(), "A", Some("a@example.com"), None).await;
    let b = h.lead_in(LeadStatus::Contacted, 2).await;
    let due = h.clock.now() + TimeDelta::hours(1);
    set_follow_up(&h, sales(), b.id(), b.version(), due)
        .await
        .unwrap();
    let now = t0() + TimeDelta::days(6);
    h.clock.set(now);
    let before = crate::conformance::snapshot(&h).await;
    let preview = h.crm.sweep_preview(manager(), now, 100).await.unwrap();
    assert_eq!(
        preview
            .iter()
            .map(|n| (n.lead_id, n.kind.name()))
            .collect::<Vec<_>>(),
        [(a.id(), "first_contact"), (b.id(), "overdue")]
    );
    assert_eq!(crate::conformance::snapshot(&h).await, before);
    assert!(h.notifier.sent.lock().unwrap().is_empty());
    assert!(matches!(
        h.crm.sweep_preview(sales(), now, 100).await,
        Err(CrmError::Forbidden { .. })
    ));
    let r = h.sweep_at(now).await.unwrap();
    assert_eq!(
        (r.notified.clone(), r.reminded.clone()),
        (vec![a.id()], vec![b.id()])
    );
    assert!(
        h.crm
            .sweep_preview(manager(), now, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Time in status: the average time leads spent in each status per owner and source, from
/// the stored history, with stays not yet ended counted until now.
pub async fn time_in_status_averages_per_owner_and_source(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let v = |l: &crm_core::Lead| l.version();
    // sales(), web: A new 2 h then contacted; B new 4 h then contacted 1 h then lost.
    let a = h.create(sales(), "A", Some("a@example.com"), None).await;
    let b = h.create(sales(), "B", Some("b@example.com"), None).await;
    h.advance(TimeDelta::hours(2));
    h.crm
        .change_status(sales(), a.id(), v(&a), LeadStatus::Contacted, None)
        .await
        .unwrap();
    h.advance(TimeDelta::hours(2));
    let b = h
        .crm
        .change_status(sales(), b.id(), v(&b), LeadStatus::Contacted, None)
        .await
        .unwrap()
        .lead;
    h.advance(TimeDelta::hours(1));
    h.crm
        .change_status(
            sales(),
            b.id(),
            v(&b),
            LeadStatus::Lost,
            lost("price", None),
        )
        .await
        .unwrap();
    // sales2(), referral: C new since the start.
    let mut c = new_lead("C", Some("c@example.com"), None);
    c.source = Source::referral();
    h.clock.set(t0());
    let c = h.crm.create_lead(sales2(), c).await.unwrap();
    // Report at t0 + 10 h.
    h.clock.set(t0() + TimeDelta::hours(10));
    let r = h
        .crm
        .time_in_status_report(other(), &ReportFilter::default())
        .await
        .unwrap();
    let rows: Vec<_> = r
        .rows
        .iter()
        .map(|a| (a.owner, a.source.as_str(), a.status, a.leads, a.average()))
        .collect();
    let hrs = TimeDelta::hours;
    assert_eq!(
        rows,
        [
            // A: 2 h, B: 4 h
            (sales(), "web", LeadStatus::New, 2, hrs(3)),
            // A: 8 h (until now), B: 1 h
            (sales(), "web", LeadStatus::Contacted, 2, hrs(9) / 2),
            // B: 5 h (until now)
            (sales(), "web", LeadStatus::Lost, 1, hrs(5)),
            (sales2(), "referral", LeadStatus::New, 1, hrs(10)),
        ]
    );
    assert_eq!(
        r.overall[0],
        (
            LeadStatus::New,
            3,
            (hrs(16) / 3).num_microseconds().unwrap()
        )
    );
    // The filter: one owner.
    let mine = h
        .crm
        .time_in_status_report(other(), &owned_by(sales2()))
        .await
        .unwrap();
    assert_eq!(mine.rows.len(), 1);
    assert_eq!(mine.rows[0].status, LeadStatus::New);
    // The detail view's own figures agree.
    let d = h.crm.lead_detail(other(), c.id()).await.unwrap();
    let spent = crm_core::history::time_in_status(&d.history, h.clock.now());
    assert_eq!(spent.get(&LeadStatus::New), Some(&hrs(10)));
}

/// Overdue reminders and escalations are claimed like first-contact notices: in batches of
/// at most the claim's limit, concurrent claims get disjoint notices, and every lead gets
/// each notice once.
pub async fn overdue_and_escalation_claims_split_the_work(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mut ids = vec![];
    for n in 0..6 {
        let l = h.lead_in(LeadStatus::Contacted, n).await;
        let at = h.clock.now() + TimeDelta::hours(1);
        set_follow_up(&h, sales(), l.id(), l.version(), at)
            .await
            .unwrap();
        ids.push(l.id());
    }
    h.advance(TimeDelta::days(1));
    let now = h.clock.now();
    let claim = FollowUpClaim {
        cutoff: now - TimeDelta::days(5),
        at: now,
        now,
        lease_until: now + TimeDelta::minutes(5),
        limit: 2,
        escalation_cutoff: Some(now),
    };
    let (a, b) = tokio::join!(
        h.store.claim_follow_ups(&claim),
        h.store.claim_follow_ups(&claim)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.len(), b.len()), (2, 2));
    let mut rest = vec![];
    loop {
        let more = h.store.claim_follow_ups(&claim).await.unwrap();
        if more.is_empty() {
            break;
        }
        assert!(more.len() <= 2);
        rest.extend(more);
    }
    let all: Vec<_> = a.iter().chain(&b).chain(&rest).collect();
    let overdue: std::collections::BTreeSet<_> = all
        .iter()
        .filter(|n| n.kind.name() == "overdue")
        .map(|n| n.lead_id)
        .collect();
    assert_eq!(overdue.len(), 6, "each lead reminded once");
    assert_eq!(all.iter().filter(|n| n.kind.name() == "overdue").count(), 6);
    // The reminders just marked the owners notified at `now`: with the cutoff at `now`,
    // each is escalated once, after its reminder.
    let escalated: Vec<_> = all
        .iter()
        .filter(|n| n.kind.name() == "escalation")
        .map(|n| n.lead_id)
        .collect();
    let unique: std::collections::BTreeSet<_> = escalated.iter().copied().collect();
    assert_eq!((escalated.len(), unique.len()), (6, 6));
    let mut want = ids.clone();
    want.sort();
    assert_eq!(unique.into_iter().collect::<Vec<_>>(), want);
}
