//! What the stored frequencies count: each decided lead once, as it was when it was decided.
//!
//! A converted or lost lead carries what it was counted as ([`Counted`]: the outcome, the
//! team and the features at that moment, [`crate::Lead::counted_as`]). The frequencies a
//! store keeps are the sum over those leads, changed in the same commit as the lead
//! ([`recount`] gives the changes: a conversion adds the lead, reopening a lost lead takes
//! it back out as it was counted, not as it is now). So the kept counts always equal a
//! rebuild from scratch over the leads ([`Frequencies::rebuild`]), which the conformance
//! suite checks on every store.

use super::{Calibration, Counted, Counts, Field, Frequencies};
use crate::counting::{CountRow, TOTAL};

/// A team's own frequencies are used once it has decided this many leads; before that its
/// leads are scored on everyone's (a team's first ten outcomes say little).
pub const MIN_TEAM_HISTORY: u64 = 30;

/// A write that moves a lead's score by this many points or more says so in an event
/// ([`crate::EventKind::ScoreChanged`]).
pub const EVENT_MOVE: u8 = 10;

impl Frequencies {
    /// A team's frequencies from its stored counts and calibration. Rows of fields this
    /// version does not know are skipped; a negative count (only a damaged store has one)
    /// reads as zero.
    pub fn from_counts(rows: impl IntoIterator<Item = CountRow>, calibration: Calibration) -> Self {
        let mut f = Frequencies {
            calibration,
            ..Self::default()
        };
        for (field, value, won, lost) in rows {
            let counts = Counts {
                won: u64::try_from(won).unwrap_or(0),
                lost: u64::try_from(lost).unwrap_or(0),
            };
            if field == TOTAL {
                f.totals = counts;
            } else if let Some(field) = Field::parse(&field)
                && counts != Counts::default()
            {
                f.values.entry(field).or_default().insert(value, counts);
            }
        }
        f
    }

    /// The frequencies of `team` ([`crate::scoring::ALL_TEAMS`] for everyone's) over decided leads as they
    /// were counted: what the stored counts must equal.
    pub fn of_counted<'a>(team: &str, counted: impl IntoIterator<Item = &'a Counted>) -> Self {
        let mut f = Self::default();
        for c in counted {
            if c.keys().any(|k| k == team) {
                f.record(&c.features, c.outcome);
            }
        }
        f
    }

    /// The same frequencies with `calibration`.
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.calibration = calibration;
        self
    }

    /// Whether both count the same leads (calibrations aside).
    pub fn same_counts(&self, other: &Frequencies) -> bool {
        self.totals == other.totals && self.values == other.values
    }

    /// Decided leads counted.
    pub fn decided(&self) -> u64 {
        self.totals.won.saturating_add(self.totals.lost)
    }
}
