//! A chance of winning a deal, in whole percent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// A chance of winning, in whole percent (0 to 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Probability(u8);

impl Probability {
    /// A probability of `percent` (0 to 100).
    pub fn new(percent: u8) -> Result<Self, ValidationError> {
        if percent > 100 {
            return Err(ValidationError::OutOfRange {
                field: "probability (percent)",
                value: i64::from(percent),
                min: 0,
                max: 100,
            });
        }
        Ok(Self(percent))
    }
    /// `percent`, capped at 100 (for constants).
    pub const fn capped(percent: u8) -> Self {
        Self(if percent > 100 { 100 } else { percent })
    }
    /// The percentage.
    pub fn percent(self) -> u8 {
        self.0
    }
}

impl FromStr for Probability {
    type Err = ValidationError;
    /// `40` or `40%`, ASCII or Arabic-Indic digits (`٤٠٪`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_suffix('%')
            .or_else(|| t.strip_suffix('٪'))
            .unwrap_or(t);
        let digits: String = t.chars().map(crate::text::ascii_digit).collect();
        let bad = || ValidationError::InvalidAmount {
            value: s.chars().take(40).collect(),
            reason: "a probability is a whole percentage from 0 to 100",
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 3 {
            return Err(bad());
        }
        Self::new(digits.parse::<u8>().map_err(|_| bad())?)
    }
}

impl TryFrom<u8> for Probability {
    type Error = ValidationError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Probability> for u8 {
    fn from(p: Probability) -> u8 {
        p.0
    }
}

impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}
