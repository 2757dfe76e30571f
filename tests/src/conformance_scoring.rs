//! Conformance bodies of lead scoring (issue 24): the frequencies a store keeps equal a
//! rebuild from its decided leads after every conversion, loss, reopening and merge; scores
//! rank and explain open leads, a write that moves a score says so in an event, training
//! counts what was decided before scoring, and the evaluation of a planted history runs on
//! the store. Stamped out for every adapter by [`crate::conformance_suite!`].

use std::sync::Arc;

use chrono::TimeDelta;
use crm_core::export::Locale;
use crm_core::ports::derived::scan;
use crm_core::scoring::{ALL_TEAMS, Frequencies, Outcome, Rules, evaluate::evaluate, recount};
use crm_core::{
    Action, CrmError, InteractionKind, Lead, LeadQuery, LeadRecord, LeadStatus, LeadStore,
    NewInteraction, Scope, Source, StoreWrites, SystemActor,
};

use crate::harness::{Harness, manager, new_lead, reason, sales};

/// The store's kept frequencies count exactly its decided leads as they were counted.
async fn counts_match_a_rebuild(store: &dyn LeadStore) -> Frequencies {
    let kept = store.score_frequencies(ALL_TEAMS).await.unwrap();
    let leads = scan(store, &Scope::All).await.unwrap();
    let rebuilt = Frequencies::of_counted(ALL_TEAMS, leads.iter().filter_map(Lead::counted_as));
    assert!(
        kept.same_counts(&rebuilt),
        "kept {kept:?}\nrebuilt {rebuilt:?}"
    );
    kept
}

async fn lead(h: &Harness, n: usize, source: Source, email: &str) -> Lead {
    h.advance(TimeDelta::seconds(1));
    let input = new_lead(&format!("عميل {n}"), Some(&format!("{n}.{email}")), None);
    let mut input = input;
    input.source = source;
    h.crm.create_lead(sales(), input).await.unwrap()
}

async fn decide(h: &Harness, l: &Lead, won: bool) -> Lead {
    let mut l = l.clone();
    if won {
        l = h
            .crm
            .change_status(manager(), l.id(), l.version(), LeadStatus::Contacted, None)
            .await
            .unwrap()
            .lead;
    }
    let (to, why) = if won {
        (LeadStatus::Converted, None)
    } else {
        (LeadStatus::Lost, Some(reason("لا ميزانية")))
    };
    h.crm
        .change_status(manager(), l.id(), l.version(), to, why)
        .await
        .unwrap()
        .lead
}

/// Events convert, web leads with free mail are lost: every decision changes the kept counts
/// in its own commit, reopening takes a lead back out as it was counted, a merge takes the
/// lead merged away out; open event leads score above open web ones, with reasons in Arabic
/// and English; decided leads have no score.
pub async fn scoring_counts_every_decision_in_its_commit(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    assert_eq!(counts_match_a_rebuild(store.as_ref()).await.decided(), 0);
    let mut decided = Vec::new();
    for n in 0..6 {
        let l = lead(&h, n, Source::event(), "x@acme.sa").await;
        decided.push(decide(&h, &l, n < 5).await);
        counts_match_a_rebuild(store.as_ref()).await;
    }
    for n in 6..12 {
        let l = lead(&h, n, Source::web(), "x@gmail.com").await;
        decided.push(decide(&h, &l, n == 6).await);
    }
    let kept = counts_match_a_rebuild(store.as_ref()).await;
    assert_eq!(kept.totals().won, 6);
    assert_eq!(kept.totals().lost, 6);
    assert_eq!(
        kept.counts(crm_core::scoring::Field::Source, "event").won,
        5
    );
    let lost = decided
        .iter()
        .find(|l| l.status() == LeadStatus::Lost)
        .unwrap()
        .clone();
    assert_eq!(lost.counted_as().unwrap().outcome, Outcome::Lost);

    // Reopened: out of the counts, as it was counted.
    let reopened = h
        .crm
        .change_status(manager(), lost.id(), lost.version(), LeadStatus::New, None)
        .await
        .unwrap()
        .lead;
    assert!(reopened.counted_as().is_none());
    assert_eq!(
        counts_match_a_rebuild(store.as_ref()).await.totals().lost,
        5
    );

    // A lost lead merged into an open one is a duplicate, not one more loss.
    let open = lead(&h, 20, Source::event(), "y@acme.sa").await;
    let gone = decided
        .iter()
        .rfind(|l| l.status() == LeadStatus::Lost)
        .unwrap()
        .clone();
    h.crm
        .merge_leads(
            manager(),
            open.id(),
            open.version(),
            gone.id(),
            gone.version(),
        )
        .await
        .unwrap();
    assert_eq!(
        counts_match_a_rebuild(store.as_ref()).await.totals().lost,
        4
    );

    // Scores rank and explain.
    let hot = lead(&h, 30, Source::event(), "z@acme.sa").await;
    let cold = lead(&h, 31, Source::web(), "z@gmail.com").await;
    let scores = h
        .crm
        .scores(sales(), &[hot.clone(), cold.clone(), decided[0].clone()])
        .await
        .unwrap();
    let (hot_s, cold_s) = (scores[0].clone().unwrap(), scores[1].clone().unwrap());
    assert!(hot_s.value > cold_s.value, "{hot_s:?} {cold_s:?}");
    assert!(scores[2].is_none(), "a decided lead has no score");
    let said: Vec<String> = hot_s
        .top_reasons()
        .iter()
        .map(|r| r.describe(Locale::Ar))
        .collect();
    assert!(said.iter().any(|s| s.contains("المصدر")), "{said:?}");
    let one = h.crm.lead_score(sales(), hot.id()).await.unwrap().unwrap();
    assert_eq!(one.value, hot_s.value);
    let best = h
        .crm
        .leads_by_score(sales(), &LeadQuery::default().limit(2).unwrap())
        .await
        .unwrap();
    assert_eq!(best.len(), 2);
    assert!(best[0].1.value >= best[1].1.value);
    assert_ne!(best[0].0.id(), cold.id(), "the cold lead is not first");
}

/// With score events on, a write that moves a score by 10 points or more says so in an
/// event: an interaction on a lead three weeks without one ends a decay of 5 points a week.
/// With them off (the default) the same write appends none.
pub async fn a_write_that_moves_a_score_says_so(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let rules = || Rules {
        points: Vec::new(),
        decay_per_week: 5,
    };
    let quiet = h.crm_with(|b| b.scoring_rules(rules()));
    let crm = h.crm_with(|b| b.scoring_rules(rules()).score_events(true));
    let l = lead(&h, 1, Source::web(), "a@acme.sa").await;
    let other = lead(&h, 2, Source::web(), "b@acme.sa").await;
    h.advance(TimeDelta::days(21));
    let before = crm.lead_score(sales(), l.id()).await.unwrap().unwrap();
    assert_eq!(before.value, 35, "{before:?}");
    quiet
        .log_interaction(
            sales(),
            other.id(),
            NewInteraction::new(InteractionKind::Call),
        )
        .await
        .unwrap();
    let events = store.pending_events(0, 100).await.unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.event.kind.name() != "score_changed"),
        "score events are off by default: {events:?}"
    );
    crm.log_interaction(sales(), l.id(), NewInteraction::new(InteractionKind::Call))
        .await
        .unwrap();
    let events = store.pending_events(0, 100).await.unwrap();
    let moved: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind.name() == "score_changed")
        .collect();
    assert_eq!(moved.len(), 1, "{events:?}");
    match &moved[0].event.kind {
        crm_core::EventKind::ScoreChanged { from, to, .. } => assert_eq!((*from, *to), (35, 50)),
        other => panic!("{other:?}"),
    }
    // A second call moves nothing: no second event.
    crm.log_interaction(sales(), l.id(), NewInteraction::new(InteractionKind::Call))
        .await
        .unwrap();
    let again = store.pending_events(0, 100).await.unwrap();
    assert_eq!(
        again
            .iter()
            .filter(|e| e.event.kind.name() == "score_changed")
            .count(),
        1
    );
}

/// Training counts a lead decided before scoring counted it, once (a second run counts
/// nothing), keeps the counts equal to a rebuild, and stores the calibration it fits; it is
/// management's or a named system actor's.
pub async fn training_counts_old_decisions_once(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let mut leads = Vec::new();
    for n in 0..40_usize {
        let (source, email) = if n.is_multiple_of(2) {
            (Source::event(), "x@acme.sa")
        } else {
            (Source::web(), "x@gmail.com")
        };
        let l = lead(&h, n, source, email).await;
        // Events win three in four, web leads one in four.
        let won = if n.is_multiple_of(2) {
            !n.is_multiple_of(8)
        } else {
            n % 8 == 1
        };
        leads.push(decide(&h, &l, won).await);
    }
    // Two leads as an older version left them: decided, never counted.
    for l in &leads[..2] {
        let mut r: LeadRecord = l.clone().into();
        r.counted_as = None;
        r.version += 1;
        let old = Lead::from_record(r).unwrap();
        let write = crm_core::LeadWrite {
            lead: old,
            history: vec![],
            events: vec![],
            pending_client: None,
            check_duplicates: false,
            score_changes: recount(l.counted_as(), None),
        };
        store.update_lead(l.version(), &write).await.unwrap();
    }
    assert_eq!(counts_match_a_rebuild(store.as_ref()).await.decided(), 38);
    // Read before training: a write decided on it must not put back "never counted".
    let stale = store.get_lead(leads[0].id()).await.unwrap().unwrap();

    assert!(matches!(
        h.crm.train_scoring(sales()).await,
        Err(CrmError::Forbidden {
            action: Action::TrainScoring,
            ..
        })
    ));
    let trained = h.crm.train_scoring(manager()).await.unwrap();
    assert_eq!((trained.counted, trained.skipped), (2, 0));
    let kept = counts_match_a_rebuild(store.as_ref()).await;
    assert_eq!(kept.decided(), 40);
    let reopened = h
        .crm
        .change_status(
            manager(),
            stale.id(),
            stale.version(),
            LeadStatus::New,
            None,
        )
        .await;
    assert!(
        matches!(reopened, Err(CrmError::Conflict { .. })),
        "{reopened:?}"
    );
    assert_eq!(counts_match_a_rebuild(store.as_ref()).await.decided(), 40);
    let (team, n, calibration) = trained.calibrated[0].clone();
    assert_eq!((team.as_str(), n), (ALL_TEAMS, 40));
    // Stores that keep calibrations return the fitted one; the port's default has none.
    assert!(
        kept.calibration() == calibration
            || kept.calibration() == crm_core::scoring::Calibration::default()
    );
    let again = h.crm.train_scoring(manager()).await.unwrap();
    assert_eq!(again.counted, 0);
    assert_eq!(counts_match_a_rebuild(store.as_ref()).await.decided(), 40);

    // A system actor the host named may train (a nightly job).
    let job = SystemActor::parse("trainer").unwrap();
    let crm = h.crm_with(|b| b.system_actor(job.clone()));
    crm.train_scoring(job).await.unwrap();
}

/// The evaluation on the store: a planted history (events and company mail convert more)
/// decided through the service, then newer open leads scored from the kept frequencies and
/// their outcomes revealed: the ranking is far better than chance.
pub async fn the_evaluation_runs_on_the_store(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let won = |n: usize, event: bool, company: bool| -> bool {
        // Deterministic noise: each (source, mail) kind wins at its planted rate.
        let rate = match (event, company) {
            (true, true) => 8,
            (true, false) => 5,
            (false, true) => 4,
            (false, false) => 1,
        };
        let noise = ((n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 10;
        noise < rate
    };
    let kind = |n: usize| (n.is_multiple_of(2), !n.is_multiple_of(3));
    let rate = |n: usize| match kind(n) {
        (true, true) => 0.8,
        (true, false) => 0.5,
        (false, true) => 0.4,
        (false, false) => 0.1,
    };
    let make = |n: usize| {
        let (event, company) = kind(n);
        let source = if event {
            Source::event()
        } else {
            Source::web()
        };
        let mail = if company { "x@acme.sa" } else { "x@gmail.com" };
        (source, mail)
    };
    for n in 0..120 {
        let (source, mail) = make(n);
        let l = lead(&h, n, source, mail).await;
        let (e, c) = kind(n);
        decide(&h, &l, won(n, e, c)).await;
    }
    let (mut scored, mut planted) = (Vec::new(), Vec::new());
    for n in 1000..1060 {
        let (source, mail) = make(n);
        let l = lead(&h, n, source, mail).await;
        let s = h.crm.lead_score(sales(), l.id()).await.unwrap().unwrap();
        let (e, c) = kind(n);
        let outcome = if won(n, e, c) {
            Outcome::Won
        } else {
            Outcome::Lost
        };
        scored.push((s.probability, outcome));
        planted.push((rate(n), outcome));
    }
    let (e, ceiling) = (evaluate(&scored), evaluate(&planted));
    let (auc, best) = (e.auc.unwrap(), ceiling.auc.unwrap());
    assert!(best > 0.7, "the planted signal is there: {best}");
    assert!(auc >= best - 0.03, "AUC {auc} against the planted {best}");
    assert!(e.brier.unwrap() < 0.25, "{e:?}");
}
