use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::evaluate::evaluate;
use super::*;
use crate::contact::{Email, Name, Phone};
use crate::ids::{EmployeeId, LeadId};
use crate::lead::{Lead, NewLead};
use crate::source::Source;

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + TimeDelta::days(day)
}

fn f(source: &str, email: &str) -> Features {
    Features::new([
        (Field::Source, source.to_owned()),
        (Field::EmailKind, email.to_owned()),
    ])
}

#[test]
fn a_lead_reads_as_its_fields() {
    let owner = EmployeeId::new(1).unwrap();
    let input = NewLead::new(
        Name::parse("مؤسسة النور").unwrap(),
        Source::parse("event").unwrap(),
    )
    .email(Email::parse("sales@alnoor.example").unwrap())
    .phone(Phone::parse("+966 50 123 4567").unwrap());
    let lead = Lead::create(LeadId::new_at(at(0)), input, owner, owner, at(0)).unwrap();
    let facts = Facts {
        interactions: 2,
        has_opportunity: true,
    };
    let got = features(&lead, &facts, at(10));
    let want = [
        (Field::Source, "event"),
        (Field::EmailKind, "company"),
        (Field::PhoneKind, "mobile"),
        (Field::PhoneCountry, "SA"),
        (Field::Language, "arabic"),
        (Field::Age, "8-30"),
        (Field::Interactions, "2-3"),
        (Field::Opportunity, "yes"),
    ];
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    let free = NewLead::new(Name::parse("Omar").unwrap(), Source::parse("web").unwrap())
        .email(Email::parse("omar@hotmail.co.uk").unwrap());
    let free = Lead::create(LeadId::new_at(at(0)), free, owner, owner, at(0)).unwrap();
    let got = features(&free, &Facts::default(), at(0));
    assert_eq!(got.get(Field::EmailKind), Some("free_mail"));
    assert_eq!(got.get(Field::PhoneKind), Some("none"));
    assert_eq!(got.get(Field::Language), Some("latin"));
    assert_eq!(got.get(Field::Interactions), Some("0"));
    let kind = |e: &str| {
        let input = NewLead::new(Name::parse("X").unwrap(), Source::parse("web").unwrap())
            .email(Email::parse(e).unwrap());
        let lead = Lead::create(LeadId::new_at(at(0)), input, owner, owner, at(0)).unwrap();
        let f = features(&lead, &Facts::default(), at(0));
        f.get(Field::EmailKind).map(str::to_owned)
    };
    assert_eq!(kind("a@live.alnoor.com.sa").as_deref(), Some("company"));
    assert_eq!(kind("a@yahoo.com.sa").as_deref(), Some("free_mail"));
    assert_eq!(kind("a@proton.com").as_deref(), Some("company"));
    assert_eq!(kind("a@mac.com").as_deref(), Some("free_mail"));
}

#[test]
fn a_value_never_seen_moves_nothing() {
    // A team that loses nine leads in ten: a new source says nothing either way.
    let mut freq = Frequencies::default();
    for i in 0..1000 {
        let outcome = if i % 10 == 0 {
            Outcome::Won
        } else {
            Outcome::Lost
        };
        freq.record(&f("web", "company"), outcome);
    }
    let known = score(&freq, &Rules::default(), &f("web", "company"), at(0), at(0));
    let new = score(
        &freq,
        &Rules::default(),
        &f("fair", "company"),
        at(0),
        at(0),
    );
    assert!(
        known.predicted.abs_diff(new.predicted) <= 1,
        "{known:?} {new:?}"
    );
    assert!(new.predicted < 15, "{new:?}");
}

#[test]
fn no_history_scores_even() {
    let s = score(
        &Frequencies::default(),
        &Rules::default(),
        &f("web", "none"),
        at(0),
        at(0),
    );
    assert_eq!((s.value, s.predicted), (50, 50));
    assert!(s.reasons.is_empty(), "{:?}", s.reasons);
}

#[test]
fn the_history_ranks_and_explains() {
    let mut freq = Frequencies::default();
    for _ in 0..30 {
        freq.record(&f("event", "company"), Outcome::Won);
        freq.record(&f("web", "free_mail"), Outcome::Lost);
    }
    for _ in 0..10 {
        freq.record(&f("event", "free_mail"), Outcome::Lost);
        freq.record(&f("web", "company"), Outcome::Won);
    }
    let rules = Rules::default();
    let good = score(&freq, &rules, &f("event", "company"), at(0), at(0));
    let bad = score(&freq, &rules, &f("web", "free_mail"), at(0), at(0));
    assert!(
        good.value > 80 && bad.value < 20,
        "{} {}",
        good.value,
        bad.value
    );
    let Reason::Learned { field, points, .. } = &good.reasons[0] else {
        panic!("{:?}", good.reasons);
    };
    assert!(*points > 0, "{points}");
    assert!([Field::Source, Field::EmailKind].contains(field));
    assert!(
        good.reasons
            .windows(2)
            .all(|w| w[0].points().abs() >= w[1].points().abs())
    );
}

#[test]
fn rules_and_decay_add_to_the_prediction_and_say_so() {
    let rules = Rules {
        points: vec![RulePoints {
            field: Field::Source,
            value: "event".to_owned(),
            points: 20,
        }],
        decay_per_week: 3,
    };
    let s = score(
        &Frequencies::default(),
        &rules,
        &f("event", "none"),
        at(0),
        at(15),
    );
    // 50 predicted, +20 for the source, -2 weeks x 3.
    assert_eq!(s.value, 64);
    assert_eq!(s.top_reasons().len(), 2);
    let floor = Rules {
        points: Vec::new(),
        decay_per_week: 1_000,
    };
    assert_eq!(
        score(
            &Frequencies::default(),
            &floor,
            &f("web", "none"),
            at(0),
            at(70)
        )
        .value,
        0
    );
}

#[test]
fn forget_takes_back_what_record_added() {
    let mut freq = Frequencies::default();
    freq.record(&f("event", "company"), Outcome::Won);
    let before = freq.clone();
    freq.record(&f("web", "free_mail"), Outcome::Lost);
    freq.forget(&f("web", "free_mail"), Outcome::Lost);
    assert_eq!(freq, before);
}

#[test]
fn evaluation_reads_rankings_and_calibration() {
    use Outcome::{Lost, Won};
    let perfect = evaluate(&[(0.9, Won), (0.8, Won), (0.2, Lost), (0.1, Lost)]);
    assert_eq!(perfect.auc, Some(1.0));
    let reversed = evaluate(&[(0.1, Won), (0.9, Lost)]);
    assert_eq!(reversed.auc, Some(0.0));
    let ties = evaluate(&[(0.5, Won), (0.5, Lost)]);
    assert_eq!(ties.auc, Some(0.5));
    assert_eq!(ties.brier, Some(0.25));
    assert_eq!(evaluate(&[(0.7, Won)]).auc, None);
    assert_eq!(evaluate(&[]).brier, None);
    let d = &perfect.deciles;
    assert_eq!(d.iter().map(|d| d.decile).collect::<Vec<_>>(), [1, 2, 8, 9]);
    assert_eq!((d[3].leads, d[3].observed), (1, 1.0));
}

/// A small history: each lead two of a few values, and its outcome.
fn history() -> impl Strategy<Value = Vec<(Features, Outcome)>> {
    let lead = (0..3u8, 0..3u8, any::<bool>()).prop_map(|(s, e, won)| {
        let outcome = if won { Outcome::Won } else { Outcome::Lost };
        (f(&format!("s{s}"), &format!("e{e}")), outcome)
    });
    proptest::collection::vec(lead, 0..40)
}

proptest! {
    /// Any history (empty, only won, only lost, one lead) gives a score within 0 to 100
    /// and a probability that is a number.
    #[test]
    fn scores_stay_within_bounds(
        h in history(),
        s in 0..4u8,
        e in 0..4u8,
        points in any::<i32>(),
        decay in any::<u32>(),
        days in -400..4000i64,
    ) {
        let freq = Frequencies::rebuild(h.iter().map(|(f, o)| (f, *o)));
        let lead = f(&format!("s{s}"), &format!("e{e}"));
        let rules = Rules {
            points: vec![RulePoints { field: Field::Source, value: "s1".to_owned(), points }],
            decay_per_week: decay,
        };
        let got = score(&freq, &rules, &lead, at(0), at(days));
        prop_assert!(got.value <= 100 && got.predicted <= 100);
        prop_assert!(got.probability.is_finite() && (0.0..=1.0).contains(&got.probability));
    }

    /// Taking a lead back leaves what a rebuild without it gives, whichever lead it is:
    /// incremental upkeep and a rebuild from scratch agree.
    #[test]
    fn forgetting_equals_rebuilding_without(h in history(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!h.is_empty());
        let i = pick.index(h.len());
        let mut freq = Frequencies::rebuild(h.iter().map(|(f, o)| (f, *o)));
        freq.forget(&h[i].0, h[i].1);
        let rest = h.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, (f, o))| (f, *o));
        prop_assert_eq!(freq, Frequencies::rebuild(rest));
    }

    /// The frequencies read back from JSON as they were (stores keep them as JSON).
    #[test]
    fn frequencies_round_trip_as_json(h in history()) {
        let freq = Frequencies::rebuild(h.iter().map(|(f, o)| (f, *o)));
        let json = serde_json::to_string(&freq).unwrap();
        prop_assert_eq!(serde_json::from_str::<Frequencies>(&json).unwrap(), freq);
    }

    /// A calibration never reorders leads, whatever it was fitted on.
    #[test]
    fn calibration_keeps_the_ranking(h in history(), fit in history()) {
        let mut freq = Frequencies::rebuild(h.iter().map(|(f, o)| (f, *o)));
        let leads: Vec<Features> = (0..3u8)
            .flat_map(|s| (0..3u8).map(move |e| f(&format!("s{s}"), &format!("e{e}"))))
            .collect();
        let before: Vec<f64> = leads.iter().map(|l| freq.probability(l)).collect();
        freq.calibrate(fit.iter().map(|(f, o)| (f, *o)));
        prop_assert!(freq.calibration().scale > 0.0 && freq.calibration().shift.is_finite());
        for (i, j) in (0..leads.len()).flat_map(|i| (0..leads.len()).map(move |j| (i, j))) {
            if before[i] < before[j] {
                prop_assert!(freq.probability(&leads[i]) <= freq.probability(&leads[j]));
            }
        }
    }

    /// A won lead with an open lead's values never lowers that lead's probability.
    #[test]
    fn a_win_like_it_never_lowers_a_lead(h in history(), s in 0..4u8, e in 0..4u8) {
        let mut freq = Frequencies::rebuild(h.iter().map(|(f, o)| (f, *o)));
        let lead = f(&format!("s{s}"), &format!("e{e}"));
        let before = freq.probability(&lead);
        freq.record(&lead, Outcome::Won);
        prop_assert!(freq.probability(&lead) >= before - 1e-12);
    }
}
