//! Whether the predictive lead score predicts (issue 24): generates a history of won and
//! lost leads with a planted signal (some sources, e-mail kinds and leads with an
//! opportunity convert more) plus noise, learns the frequencies (and fits their calibration)
//! from the older 80 %, scores
//! the newer 20 % and reports ROC AUC, Brier score and calibration by decile, beside the
//! planted ceiling (the same figures for the probabilities the planted fields alone give:
//! the outcomes were drawn with noise on top, which no score can know). Then times what a conversion costs the scores: recording it, and scoring 100,000
//! open leads from the updated frequencies (no rescan of the history).
//!
//! ```sh
//! cargo run --profile perf -p crm-bench --bin scoring_eval -- --leads 20000
//! ```

use std::time::Instant;

use clap::Parser;
use crm_core::scoring::evaluate::{Evaluation, evaluate};
use crm_core::scoring::{Features, Field, Frequencies, Outcome};

#[derive(Parser)]
struct Args {
    /// Leads in the generated history.
    #[arg(long, default_value_t = 20_000)]
    leads: usize,
    /// Open leads scored after one conversion.
    #[arg(long, default_value_t = 100_000)]
    open: usize,
    /// The generator's seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

/// A small deterministic generator (SplitMix64): the same history for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, values: &[(&'a str, f64)]) -> (&'a str, f64) {
        let i = (self.next() % values.len() as u64) as usize;
        values.get(i).copied().unwrap_or(("", 0.0))
    }
}

/// Each field's values and their planted effect on the log-odds of winning; fields with
/// no effect are noise the model must learn to ignore.
const PLANTED: [(Field, &[(&str, f64)]); 8] = [
    (
        Field::Source,
        &[
            ("event", 1.9),
            ("referral", 1.3),
            ("web", -0.8),
            ("phone", 0.0),
            ("email", -0.5),
            ("other", -1.4),
        ],
    ),
    (
        Field::EmailKind,
        &[("company", 1.1), ("free_mail", -0.9), ("none", -0.4)],
    ),
    (Field::Opportunity, &[("yes", 1.6), ("no", -0.7)]),
    (
        Field::PhoneKind,
        &[("mobile", 0.1), ("landline", -0.1), ("none", 0.0)],
    ),
    (
        Field::PhoneCountry,
        &[("SA", 0.0), ("AE", 0.0), ("EG", 0.0), ("KW", 0.0)],
    ),
    (Field::Language, &[("arabic", 0.0), ("latin", 0.0)]),
    (
        Field::Age,
        &[("0-1", 0.0), ("2-7", 0.0), ("8-30", 0.0), ("31-90", 0.0)],
    ),
    (
        Field::Interactions,
        &[("0", -0.4), ("1", 0.0), ("2-3", 0.3), ("4+", 0.4)],
    ),
];

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A lead: its features, the probability its fields alone say (the best any score from
/// them can know), and the true probability its outcome is drawn with, which adds noise.
fn lead(rng: &mut Rng) -> (Features, f64, f64) {
    let mut odds = -0.6;
    let mut values = Vec::new();
    for (field, choices) in PLANTED {
        let (value, effect) = rng.pick(choices);
        odds += effect;
        values.push((field, value.to_owned()));
    }
    // Noise: what no field says (the salesperson, the customer's budget).
    let noise = (rng.unit() - 0.5) * 2.0;
    (
        Features::new(values),
        logistic(odds),
        logistic(odds + noise),
    )
}

fn print(name: &str, e: &Evaluation) {
    let f = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.3}"));
    println!(
        "{name}: {} leads, AUC {}, Brier {}",
        e.leads,
        f(e.auc),
        f(e.brier)
    );
    for d in &e.deciles {
        println!(
            "  {:>3}-{:>3} %: {:>6} leads, predicted {:>5.1} %, won {:>5.1} %, off by {:>4.1} points",
            u32::from(d.decile) * 10,
            u32::from(d.decile) * 10 + 10,
            d.leads,
            d.predicted * 100.0,
            d.observed * 100.0,
            (d.predicted - d.observed).abs() * 100.0
        );
    }
}

fn main() {
    let args = Args::parse();
    let mut rng = Rng(args.seed);
    let history: Vec<(Features, f64, Outcome)> = (0..args.leads)
        .map(|_| {
            let (features, signal, p) = lead(&mut rng);
            let outcome = if rng.unit() < p {
                Outcome::Won
            } else {
                Outcome::Lost
            };
            (features, signal, outcome)
        })
        .collect();
    // Older 80 % to learn from, newer 20 % to score.
    let (train, test) = history.split_at(args.leads * 4 / 5);
    let mut freq = Frequencies::rebuild(train.iter().map(|(f, _, o)| (f, *o)));
    let raw: Vec<(f64, Outcome)> = test
        .iter()
        .map(|(f, _, o)| (freq.probability(f), *o))
        .collect();
    freq.calibrate(train.iter().map(|(f, _, o)| (f, *o)));
    let scored: Vec<(f64, Outcome)> = test
        .iter()
        .map(|(f, _, o)| (freq.probability(f), *o))
        .collect();
    let ceiling: Vec<(f64, Outcome)> = test.iter().map(|(_, p, o)| (*p, *o)).collect();
    println!(
        "trained on {} leads ({} won), scored {}",
        train.len(),
        freq.totals().won,
        test.len()
    );
    print("model before calibration", &evaluate(&raw));
    let c = freq.calibration();
    println!(
        "calibration fitted on the training leads: scale {:.3}, shift {:.3}",
        c.scale, c.shift
    );
    print("model", &evaluate(&scored));
    print("planted ceiling", &evaluate(&ceiling));

    // A conversion: one record, then every open lead scored from the updated frequencies.
    let open: Vec<Features> = (0..args.open).map(|_| lead(&mut rng).0).collect();
    let started = Instant::now();
    if let Some(won) = open.first() {
        freq.record(won, Outcome::Won);
    }
    let recorded = started.elapsed();
    let started = Instant::now();
    let total: f64 = open.iter().map(|f| freq.probability(f)).sum();
    let scoring = started.elapsed();
    println!(
        "one conversion recorded in {:.1} us; {} open leads scored in {:.1} ms ({:.2} us each; mean {:.3})",
        recorded.as_secs_f64() * 1e6,
        open.len(),
        scoring.as_secs_f64() * 1e3,
        scoring.as_secs_f64() * 1e6 / open.len().max(1) as f64,
        total / open.len().max(1) as f64
    );
}
