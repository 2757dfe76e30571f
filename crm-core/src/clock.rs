//! Clocks: the system clock for production, a manual one for tests, imports and benchmarks.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// The source of the current time. Domain code never reads the system clock.
///
/// [`SystemClock`] is the default and [`ManualClock`] is for tests; a host implements the
/// port for a clock of its own, e.g. one shared with the rest of its application:
///
/// ```
/// use chrono::{DateTime, TimeDelta, Utc};
/// use crm_core::Clock;
///
/// /// The host's clock, which runs a fixed offset behind the system clock (a replay).
/// struct Replay {
///     behind: TimeDelta,
/// }
///
/// impl Clock for Replay {
///     fn now(&self) -> DateTime<Utc> {
///         Utc::now() - self.behind
///     }
/// }
///
/// let clock = Replay { behind: TimeDelta::days(1) };
/// assert!(clock.now() < Utc::now());
/// ```
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates to whole microseconds: what every store keeps, so a value read back equals the
/// value written.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The system clock, in UTC.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told: set it, advance it.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }
    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
