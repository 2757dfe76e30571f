//! What the pipeline is worth: each opportunity stage has a probability of winning (the host
//! configures them; [`StageProbabilities::default`] documents the defaults), an opportunity
//! may override its stage's, and the pipeline report sums values per currency (never across
//! currencies) into open, weighted, won and lost totals, by owner, stage and expected-close
//! month.
//!
//! Rounding: an opportunity's weighted value is `value × probability / 100` in minor units,
//! rounded half up (half away from zero: values are never negative) per opportunity, by
//! [`weighted_minor`]; a group's weighted total is the sum of its opportunities' weighted
//! values, so the totals by owner, by stage and by month add up to the currency's total
//! exactly.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ids::EmployeeId;
use crate::money::{Currency, Money};
use crate::opportunity::{Opportunity, OpportunityStage};
pub use crate::probability::Probability;
use crate::validation::ValidationError;

/// The probability of each open stage. Won deals count 100 % and lost ones 0 %, always.
///
/// Defaults: `open` 10 %, `qualified` 25 %, `proposal` 50 %, `negotiation` 75 %.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageProbabilities {
    open: Probability,
    qualified: Probability,
    proposal: Probability,
    negotiation: Probability,
}

impl Default for StageProbabilities {
    fn default() -> Self {
        Self {
            open: Probability::capped(10),
            qualified: Probability::capped(25),
            proposal: Probability::capped(50),
            negotiation: Probability::capped(75),
        }
    }
}

impl StageProbabilities {
    /// The probability of a stage.
    pub fn of(&self, stage: OpportunityStage) -> Probability {
        match stage {
            OpportunityStage::Open => self.open,
            OpportunityStage::Qualified => self.qualified,
            OpportunityStage::Proposal => self.proposal,
            OpportunityStage::Negotiation => self.negotiation,
            OpportunityStage::Won => Probability::capped(100),
            OpportunityStage::Lost => Probability::capped(0),
        }
    }

    /// Sets an open stage's probability; refused for `won` and `lost`, which are 100 % and
    /// 0 % by definition.
    pub fn set(mut self, stage: OpportunityStage, p: Probability) -> Result<Self, ValidationError> {
        let slot = match stage {
            OpportunityStage::Open => &mut self.open,
            OpportunityStage::Qualified => &mut self.qualified,
            OpportunityStage::Proposal => &mut self.proposal,
            OpportunityStage::Negotiation => &mut self.negotiation,
            _ => {
                return Err(ValidationError::UnknownName {
                    kind: "stage with a configurable probability",
                    value: stage.to_string(),
                    expected: "open, qualified, proposal, negotiation",
                });
            }
        };
        *slot = p;
        Ok(self)
    }

    /// Parses `stage=percent` pairs separated by commas (`open=5,proposal=60`) over the
    /// defaults.
    pub fn parse(list: &str) -> Result<Self, ValidationError> {
        let mut out = Self::default();
        for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
            let (stage, p) = pair
                .split_once('=')
                .ok_or_else(|| ValidationError::InvalidList {
                    field: "stage probabilities",
                    reason: format!("{:?} is not stage=percent", pair.trim()),
                })?;
            out = out.set(stage.parse()?, p.parse()?)?;
        }
        Ok(out)
    }

    /// The probability that counts for `o`: its override while open, else its stage's.
    pub fn for_opportunity(&self, o: &Opportunity) -> Probability {
        match o.probability {
            Some(p) if o.stage.is_open() => p,
            _ => self.of(o.stage),
        }
    }
}

/// `value_minor × probability / 100`, rounded half up, without overflow for any `i64`
/// value (the value is split at 100 first). SQL adapters compute exactly this expression.
pub fn weighted_minor(value_minor: i64, p: Probability) -> i64 {
    let p = i64::from(p.percent());
    (value_minor / 100) * p + ((value_minor % 100) * p + 50) / 100
}

/// Which opportunities the pipeline report counts: the lead's owner, and the expected close
/// date between `close_from` and `close_to`, both inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineFilter {
    /// Only opportunities on this employee's leads.
    pub owner: Option<EmployeeId>,
    /// Expected to close on or after.
    pub close_from: Option<NaiveDate>,
    /// Expected to close on or before.
    pub close_to: Option<NaiveDate>,
}

impl PipelineFilter {
    /// Checks the date range.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match (self.close_from, self.close_to) {
            (Some(f), Some(t)) if f > t => Err(ValidationError::InvalidRange {
                field: "close_from/close_to",
            }),
            _ => Ok(()),
        }
    }

    /// Whether an opportunity on a lead owned by `owner` passes (the reference for SQL).
    pub fn matches(&self, o: &Opportunity, owner: EmployeeId) -> bool {
        self.owner.is_none_or(|w| w == owner)
            && self.close_from.is_none_or(|f| o.expected_close >= f)
            && self.close_to.is_none_or(|t| o.expected_close <= t)
    }
}

/// The first day of `d`'s month: the key of the by-month totals.
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// One group of opportunities, as a store returns it: same currency, lead owner, stage and
/// expected-close month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRow {
    /// Currency.
    pub currency: Currency,
    /// The leads' owner.
    pub owner: EmployeeId,
    /// Stage.
    pub stage: OpportunityStage,
    /// The first day of the expected-close month.
    pub month: NaiveDate,
    /// Opportunities in the group.
    pub count: u64,
    /// Their values, in minor units.
    pub total_minor: i64,
    /// The sum of their [`weighted_minor`] values.
    pub weighted_minor: i64,
}

impl PipelineRow {
    /// The rows of `opportunities` (each with its lead's owner) under `filter`: the reference
    /// computation that SQL adapters match. Fails when a sum leaves `i64`.
    pub fn from_opportunities<'a>(
        opportunities: impl IntoIterator<Item = (&'a Opportunity, EmployeeId)>,
        filter: &PipelineFilter,
        probabilities: &StageProbabilities,
    ) -> Result<Vec<PipelineRow>, ValidationError> {
        type Key = (String, EmployeeId, usize, NaiveDate);
        let mut groups: BTreeMap<Key, PipelineRow> = BTreeMap::new();
        for (o, owner) in opportunities {
            if !filter.matches(o, owner) {
                continue;
            }
            let currency = o.value.currency();
            let stage_rank = OpportunityStage::ALL
                .iter()
                .position(|s| *s == o.stage)
                .unwrap_or(usize::MAX);
            let month = month_of(o.expected_close);
            let row = groups
                .entry((currency.code().to_owned(), owner, stage_rank, month))
                .or_insert(PipelineRow {
                    currency,
                    owner,
                    stage: o.stage,
                    month,
                    count: 0,
                    total_minor: 0,
                    weighted_minor: 0,
                });
            row.count += 1;
            row.total_minor = add(row.total_minor, o.value.minor())?;
            row.weighted_minor = add(
                row.weighted_minor,
                weighted_minor(o.value.minor(), probabilities.for_opportunity(o)),
            )?;
        }
        Ok(groups.into_values().collect())
    }
}

fn add(a: i64, b: i64) -> Result<i64, ValidationError> {
    a.checked_add(b).ok_or(ValidationError::OutOfRange {
        field: "pipeline total (minor units)",
        value: b,
        min: 0,
        max: i64::MAX,
    })
}

/// Totals of a set of opportunities in one currency, in minor units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineTotals {
    /// Open opportunities (any stage but won and lost).
    pub open_count: u64,
    /// Their value.
    pub open_minor: i64,
    /// Their weighted value (see the module's rounding rule).
    pub weighted_minor: i64,
    /// Won opportunities.
    pub won_count: u64,
    /// Their value.
    pub won_minor: i64,
    /// Lost opportunities.
    pub lost_count: u64,
    /// Their value.
    pub lost_minor: i64,
}

impl PipelineTotals {
    fn add(&mut self, r: &PipelineRow) -> Result<(), ValidationError> {
        match r.stage {
            OpportunityStage::Won => {
                self.won_count += r.count;
                self.won_minor = add(self.won_minor, r.total_minor)?;
            }
            OpportunityStage::Lost => {
                self.lost_count += r.count;
                self.lost_minor = add(self.lost_minor, r.total_minor)?;
            }
            _ => {
                self.open_count += r.count;
                self.open_minor = add(self.open_minor, r.total_minor)?;
                self.weighted_minor = add(self.weighted_minor, r.weighted_minor)?;
            }
        }
        Ok(())
    }
}

/// The pipeline of one currency: its totals, and the same totals by owner, by stage and by
/// expected-close month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyPipeline {
    /// The currency; every amount below is in its minor units.
    pub currency: Currency,
    /// All opportunities in this currency.
    pub totals: PipelineTotals,
    /// By the leads' owner, by id.
    pub by_owner: Vec<(EmployeeId, PipelineTotals)>,
    /// By stage, in pipeline order.
    pub by_stage: Vec<(OpportunityStage, PipelineTotals)>,
    /// By expected-close month (its first day), oldest first.
    pub by_month: Vec<(NaiveDate, PipelineTotals)>,
}

impl CurrencyPipeline {
    /// An amount of this currency, for display.
    pub fn money(&self, minor: i64) -> Option<Money> {
        Money::from_minor(minor, self.currency).ok()
    }
}

/// The pipeline report: one [`CurrencyPipeline`] per currency, by currency code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// Per currency, by code; amounts are never added across currencies.
    pub currencies: Vec<CurrencyPipeline>,
}

impl PipelineReport {
    /// Rolls up the rows a store returned (in any order). Fails when a sum leaves `i64`.
    pub fn from_rows(rows: &[PipelineRow]) -> Result<Self, ValidationError> {
        type Rollup = (
            PipelineTotals,
            BTreeMap<EmployeeId, PipelineTotals>,
            BTreeMap<usize, PipelineTotals>,
            BTreeMap<NaiveDate, PipelineTotals>,
        );
        let mut by: BTreeMap<&'static str, (Currency, Rollup)> = BTreeMap::new();
        for r in rows {
            let (_, (all, owners, stages, months)) = by
                .entry(r.currency.code())
                .or_insert_with(|| (r.currency, Rollup::default()));
            all.add(r)?;
            owners.entry(r.owner).or_default().add(r)?;
            let rank = OpportunityStage::ALL
                .iter()
                .position(|s| *s == r.stage)
                .unwrap_or(usize::MAX);
            stages.entry(rank).or_default().add(r)?;
            months.entry(r.month).or_default().add(r)?;
        }
        Ok(Self {
            currencies: by
                .into_values()
                .map(
                    |(currency, (totals, owners, stages, months))| CurrencyPipeline {
                        currency,
                        totals,
                        by_owner: owners.into_iter().collect(),
                        by_stage: stages
                            .into_iter()
                            .filter_map(|(i, t)| OpportunityStage::ALL.get(i).map(|s| (*s, t)))
                            .collect(),
                        by_month: months.into_iter().collect(),
                    },
                )
                .collect(),
        })
    }

    /// The pipeline of one currency, if it has any opportunity.
    pub fn currency(&self, code: &str) -> Option<&CurrencyPipeline> {
        self.currencies.iter().find(|c| c.currency.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(n: u8) -> Probability {
        Probability::new(n).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn weighted_rounds_half_up_per_opportunity() {
        assert_eq!(weighted_minor(1, p(50)), 1); // 0.5 -> 1
        assert_eq!(weighted_minor(1, p(49)), 0); // 0.49 -> 0
        assert_eq!(weighted_minor(3, p(50)), 2); // 1.5 -> 2
        assert_eq!(weighted_minor(12_345, p(10)), 1_235); // 1234.5 -> 1235
        assert_eq!(weighted_minor(12_345, p(100)), 12_345);
        assert_eq!(weighted_minor(12_345, p(0)), 0);
        assert_eq!(weighted_minor(i64::MAX, p(100)), i64::MAX);
    }

    proptest! {
        #[test]
        fn weighted_is_the_exactly_rounded_product(v in 0..i64::MAX, n in 0u8..=100) {
            let exact = i128::from(v) * i128::from(n);
            let rounded = (exact + 50) / 100;
            prop_assert_eq!(i128::from(weighted_minor(v, p(n))), rounded);
        }
    }

    #[test]
    fn stage_probabilities_parse_over_the_defaults() {
        let s = StageProbabilities::parse("open=5, proposal=٦٠٪").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.of(OpportunityStage::Open), p(5));
        assert_eq!(s.of(OpportunityStage::Qualified), p(25));
        assert_eq!(s.of(OpportunityStage::Proposal), p(60));
        assert_eq!(s.of(OpportunityStage::Won), p(100));
        assert!(StageProbabilities::parse("won=50").is_err());
        assert!(StageProbabilities::parse("open=101").is_err());
        assert!(StageProbabilities::parse("open").is_err());
        assert!(StageProbabilities::parse("open=-1").is_err());
        assert!(StageProbabilities::parse("open=1.5").is_err());
    }
}
