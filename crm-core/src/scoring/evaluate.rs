//! Whether scores predict outcomes: ROC AUC, Brier score and calibration by decile, over
//! leads whose outcome is known.

use serde::{Deserialize, Serialize};

use super::Outcome;

/// How well predicted probabilities matched outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Leads evaluated.
    pub leads: usize,
    /// The probability that a won lead scored above a lost one (ties count half): 0.5 is a
    /// coin, 1.0 a perfect ranking; `None` without both won and lost leads.
    pub auc: Option<f64>,
    /// The mean squared error of the probabilities (0 is perfect; always saying 0.5 gives
    /// 0.25); `None` without leads.
    pub brier: Option<f64>,
    /// Predicted against observed, by tenths of predicted probability.
    pub deciles: Vec<Decile>,
}

/// The leads whose predicted probability fell in one tenth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    /// The tenth: 0 is `[0, 0.1)`, 9 is `[0.9, 1]`.
    pub decile: u8,
    /// Leads in it.
    pub leads: usize,
    /// Their mean predicted probability.
    pub predicted: f64,
    /// The share of them won.
    pub observed: f64,
}

/// The evaluation of `(probability, outcome)` pairs. Probabilities outside 0 to 1, or not
/// numbers, are clamped (not a number reads as 0.5).
pub fn evaluate(scored: &[(f64, Outcome)]) -> Evaluation {
    let p = |x: f64| if x.is_nan() { 0.5 } else { x.clamp(0.0, 1.0) };
    let won = |o: Outcome| o == Outcome::Won;
    let n = scored.len();
    let brier = (n > 0).then(|| {
        let sum: f64 = scored
            .iter()
            .map(|(x, o)| (p(*x) - f64::from(u8::from(won(*o)))).powi(2))
            .sum();
        sum / n as f64
    });
    let mut deciles: Vec<Decile> = Vec::new();
    for d in 0..10u8 {
        let in_d: Vec<&(f64, Outcome)> = scored
            .iter()
            .filter(|(x, _)| ((p(*x) * 10.0).floor() as u8).min(9) == d)
            .collect();
        if in_d.is_empty() {
            continue;
        }
        let k = in_d.len() as f64;
        deciles.push(Decile {
            decile: d,
            leads: in_d.len(),
            predicted: in_d.iter().map(|(x, _)| p(*x)).sum::<f64>() / k,
            observed: in_d.iter().filter(|(_, o)| won(*o)).count() as f64 / k,
        });
    }
    Evaluation {
        leads: n,
        auc: auc(scored.iter().map(|(x, o)| (p(*x), won(*o)))),
        brier,
        deciles,
    }
}

/// The Mann-Whitney form of the ROC AUC: rank all probabilities (ties share their mean
/// rank), then (sum of the won leads' ranks - w(w+1)/2) / (w * l).
fn auc(scored: impl Iterator<Item = (f64, bool)>) -> Option<f64> {
    let mut v: Vec<(f64, bool)> = scored.collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut won) = (0.0, 0usize);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 shared.
        let mean_rank = (i + j + 2) as f64 / 2.0;
        for item in &v[i..=j] {
            if item.1 {
                rank_sum += mean_rank;
                won += 1;
            }
        }
        i = j + 1;
    }
    let lost = v.len() - won;
    if won == 0 || lost == 0 {
        return None;
    }
    let (w, l) = (won as f64, lost as f64);
    Some((rank_sum - w * (w + 1.0) / 2.0) / (w * l))
}
