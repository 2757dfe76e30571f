//! Lead scoring: which open lead to call first, and why.
//!
//! A lead's score (0 to 100) combines
//! - a **predictive score** from the host's own history: naive Bayes over how often each
//!   value of each [`Field`] came with a won (converted) or a lost lead ([`Frequencies`],
//!   kept per team or for all), the team's win rate as the prior, and smoothing so a value
//!   never seen does not zero the product (Odoo's `crm.lead.scoring.frequency`);
//! - **rule points** management sets ([`Rules`]): points for a field's value, and a decay
//!   per full week without an interaction.
//!
//! The shown score is the predictive score plus the rule points, minus the decay, kept
//! within 0 to 100. Each score comes with its reasons ([`Reason`]): every field's, rule's and
//! the decay's effect in points, largest first, which [`Reason::describe`] says in the
//! viewer's language.
//!
//! Everything here is pure: the features of a lead ([`features`]), the frequencies (built
//! incrementally with [`Frequencies::record`] or from scratch with
//! [`Frequencies::rebuild`], the same either way), and the score ([`score`]).
//! [`evaluate`] measures whether scores predict outcomes (ROC AUC, Brier score,
//! calibration by decile).

mod counted;
pub mod evaluate;
mod features;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::counting::{
    ALL_TEAMS, Calibration, CountChange, CountRow, Counted, Counting, Features, Field, Outcome,
    Reason, recount,
};
pub use counted::{EVENT_MOVE, MIN_TEAM_HISTORY};
pub use features::{Facts, features};

/// Won and lost leads with one value of one field (or, as [`Frequencies::totals`], in all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Won leads.
    pub won: u64,
    /// Lost leads.
    pub lost: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Won => self.won = self.won.saturating_add(1),
            Outcome::Lost => self.lost = self.lost.saturating_add(1),
        }
    }

    fn remove(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Won => self.won = self.won.saturating_sub(1),
            Outcome::Lost => self.lost = self.lost.saturating_sub(1),
        }
    }
}

/// The smoothing: a value's count in a class starts at this much times the class's share of
/// all leads, so an unseen value does not zero the product. In proportion to the class, not
/// the same for both: with the same `+0.1` for both classes, a value never seen read as
/// evidence against the larger class and cancelled the prior (a new source of a team that
/// loses nine leads in ten scored near 50).
const SMOOTHING: f64 = 0.1;

/// How often each value of each field came with a won or a lost lead, for one team (or for
/// all leads when teams are not used).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Frequencies {
    totals: Counts,
    values: BTreeMap<Field, BTreeMap<String, Counts>>,
    /// How the summed log-odds map to a probability ([`Frequencies::calibrate`]).
    #[serde(default)]
    calibration: Calibration,
}

impl Frequencies {
    /// Adds a lead that ended with `outcome`.
    pub fn record(&mut self, features: &Features, outcome: Outcome) {
        self.totals.add(outcome);
        for (field, value) in features.iter() {
            let of_field = self.values.entry(field).or_default();
            of_field.entry(value.to_owned()).or_default().add(outcome);
        }
    }

    /// Takes back a lead recorded with `outcome` (a lost lead reopened); counts never go
    /// below zero.
    pub fn forget(&mut self, features: &Features, outcome: Outcome) {
        self.totals.remove(outcome);
        for (field, value) in features.iter() {
            let Some(of_field) = self.values.get_mut(&field) else {
                continue;
            };
            if let Some(c) = of_field.get_mut(value) {
                c.remove(outcome);
                if *c == Counts::default() {
                    of_field.remove(value);
                }
            }
            if of_field.is_empty() {
                self.values.remove(&field);
            }
        }
    }

    /// The frequencies of a whole history, from scratch.
    pub fn rebuild<'a>(history: impl IntoIterator<Item = (&'a Features, Outcome)>) -> Self {
        let mut f = Self::default();
        for (features, outcome) in history {
            f.record(features, outcome);
        }
        f
    }

    /// Won and lost leads in all.
    pub fn totals(&self) -> Counts {
        self.totals
    }

    /// Won and lost leads with `value` of `field`.
    pub fn counts(&self, field: Field, value: &str) -> Counts {
        (self.values.get(&field).and_then(|f| f.get(value)).copied()).unwrap_or_default()
    }

    /// How many values of `field` were seen.
    fn seen(&self, field: Field) -> usize {
        self.values.get(&field).map_or(0, BTreeMap::len)
    }

    /// The prior log-odds of winning: the win rate, smoothed.
    fn prior(&self) -> f64 {
        let c = self.totals;
        ((c.won as f64 + SMOOTHING) / (c.lost as f64 + SMOOTHING)).ln()
    }

    /// How much `value` of `field` moves the log-odds of winning: the log of
    /// P(value | won) / P(value | lost), each smoothed over the field's values (an unseen
    /// value counts as one more) in proportion to its class ([`SMOOTHING`]).
    fn log_odds(&self, field: Field, value: &str) -> f64 {
        let c = self.counts(field, value);
        let values = (self.seen(field) + usize::from(c == Counts::default())) as f64;
        let all = self.totals.won as f64 + self.totals.lost as f64;
        let given = |n: u64, of: u64| {
            let start = SMOOTHING * (of as f64 + 1.0) / (all + 2.0);
            (n as f64 + start) / (of as f64 + start * values)
        };
        (given(c.won, self.totals.won) / given(c.lost, self.totals.lost)).ln()
    }

    /// The probability that a lead with `features` is won.
    pub fn probability(&self, features: &Features) -> f64 {
        let c = self.calibration;
        logistic(c.scale * self.odds(features) + c.shift)
    }

    /// The summed log-odds of winning of a lead with `features`, before calibration.
    fn odds(&self, features: &Features) -> f64 {
        (features.iter()).fold(self.prior(), |sum, (f, v)| sum + self.log_odds(f, v))
    }

    /// The calibration in use.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// Fits the calibration to `history` (the leads these frequencies were built from, or a
    /// later set): the logistic regression of each outcome on its lead's log-odds, by
    /// Newton's method. Kept as it was when the fit does not converge to a positive scale
    /// (too few leads, or only one outcome). Recording and forgetting leads leave it as is.
    pub fn calibrate<'a>(&mut self, history: impl IntoIterator<Item = (&'a Features, Outcome)>) {
        let points: Vec<(f64, f64)> = history
            .into_iter()
            .map(|(f, o)| (self.odds(f), f64::from(u8::from(o == Outcome::Won))))
            .collect();
        let (mut a, mut b) = (1.0_f64, 0.0_f64);
        for _ in 0..50 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (z, y) in &points {
                let p = logistic(a * z + b);
                let w = p * (1.0 - p) + 1e-9;
                ga += (p - y) * z;
                gb += p - y;
                haa += w * z * z;
                hab += w * z;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if !(det.is_finite() && det > 1e-9) {
                return;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            a -= da;
            b -= db;
            if da.abs() + db.abs() < 1e-9 {
                break;
            }
        }
        if a.is_finite() && b.is_finite() && a > 0.0 {
            self.calibration = Calibration {
                scale: a.min(10.0),
                shift: b,
            };
        }
    }
}

fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A probability as a score from 0 to 100.
fn points(probability: f64) -> i32 {
    if probability.is_finite() {
        (probability.clamp(0.0, 1.0) * 100.0).round() as i32
    } else {
        50
    }
}

/// Points for a value of a field, set by management (`+10` for the source `website`, `-5`
/// for a free-mail address).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePoints {
    /// The field.
    pub field: Field,
    /// Its value, as [`features`] names it.
    pub value: String,
    /// Points added (or, negative, taken).
    pub points: i32,
}

/// The rules management sets on top of the predictive score.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// Points for values of fields.
    pub points: Vec<RulePoints>,
    /// Points taken per full week without an interaction (since the last one, or since
    /// creation).
    pub decay_per_week: u32,
}

impl std::str::FromStr for RulePoints {
    type Err = crate::validation::ValidationError;

    /// `FIELD:VALUE=POINTS`, e.g. `source:event=20` or `email_kind:free_mail=-5`: a field
    /// [`Field::as_str`] names, one of its values as [`features`] names them (a source in
    /// any spelling [`crate::Source::parse`] reads), and -100 to 100 points.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        use crate::validation::ValidationError;
        let invalid = |reason: &str| ValidationError::InvalidList {
            field: "scoring rule",
            reason: format!(
                "{:?}: {reason} (expected FIELD:VALUE=POINTS, e.g. source:event=20)",
                raw.chars().take(80).collect::<String>()
            ),
        };
        let (rule, points) = raw.rsplit_once('=').ok_or_else(|| invalid("no points"))?;
        let (field, value) = rule.split_once(':').ok_or_else(|| invalid("no field"))?;
        let field = Field::parse(field.trim()).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
            invalid(&format!("the field is one of {}", known.join(", ")))
        })?;
        let points: i32 = (points.trim().parse().ok())
            .filter(|p: &i32| (-100..=100).contains(p))
            .ok_or_else(|| invalid("points are a whole number from -100 to 100"))?;
        let value = match field {
            Field::Source => crate::source::Source::parse(value)?.as_str().to_owned(),
            _ => value.trim().to_owned(),
        };
        if value.is_empty() {
            return Err(invalid("no value"));
        }
        Ok(RulePoints {
            field,
            value,
            points,
        })
    }
}

impl Reason {
    /// The reason's effect in points (negative: it lowered the score).
    pub fn points(&self) -> i32 {
        match self {
            Reason::Learned { points, .. }
            | Reason::Rule { points, .. }
            | Reason::Decay { points, .. } => *points,
        }
    }
}

/// A lead's score and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The shown score, 0 to 100.
    pub value: u8,
    /// The predictive score alone, 0 to 100.
    pub predicted: u8,
    /// The probability of winning the predictive score is, 0 to 1.
    pub probability: f64,
    /// Every part of the score, largest effect first.
    pub reasons: Vec<Reason>,
}

impl Score {
    /// The three reasons that moved the score most.
    pub fn top_reasons(&self) -> &[Reason] {
        &self.reasons[..self.reasons.len().min(3)]
    }
}

/// The score of a lead with `features` (see [`features`]) whose last interaction (or
/// creation) was at `since`, at `now`.
pub fn score(
    frequencies: &Frequencies,
    rules: &Rules,
    features: &Features,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Score {
    let probability = frequencies.probability(features);
    let predicted = points(probability);
    let mut reasons: Vec<Reason> = features
        .iter()
        .map(|(field, value)| {
            let without = frequencies.probability(&features.without(field));
            Reason::Learned {
                field,
                value: value.to_owned(),
                points: predicted - points(without),
            }
        })
        .collect();
    for r in &rules.points {
        if features.get(r.field) == Some(r.value.as_str()) {
            reasons.push(Reason::Rule {
                field: r.field,
                value: r.value.clone(),
                points: r.points,
            });
        }
    }
    let days = (now - since).num_days().max(0);
    let weeks = i32::try_from(days / 7).unwrap_or(i32::MAX);
    let decay = weeks.saturating_mul(i32::try_from(rules.decay_per_week).unwrap_or(i32::MAX));
    if decay > 0 {
        reasons.push(Reason::Decay {
            days,
            points: -decay,
        });
    }
    let total = reasons
        .iter()
        .filter(|r| !matches!(r, Reason::Learned { .. }))
        .fold(predicted, |sum, r| sum.saturating_add(r.points()));
    // Largest effect first; a stable sort keeps the fields' order among equals.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.points().unsigned_abs()));
    reasons.retain(|r| r.points() != 0);
    Score {
        value: u8::try_from(total.clamp(0, 100)).unwrap_or(0),
        predicted: u8::try_from(predicted).unwrap_or(50),
        probability,
        reasons,
    }
}

#[cfg(test)]
mod tests;
