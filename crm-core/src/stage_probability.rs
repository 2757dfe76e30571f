//! Stored stage probabilities: management changes the probability of an open opportunity
//! stage, the store keeps every change (the newest per stage is in force, the older ones are
//! its history), and the pipeline report reads them over the host's configured
//! [`StageProbabilities`] (whose own defaults are documented there). A stage with nothing
//! stored keeps the host's value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::employee::Employee;
use crate::error::CrmError;
use crate::ids::EmployeeId;
use crate::opportunity::OpportunityStage;
use crate::permissions::{Action, authorize};
use crate::pipeline::StageProbabilities;
use crate::probability::Probability;
use crate::validation::ValidationError;

/// One change of a stage's probability, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageProbabilityChange {
    /// The stage (never `won` or `lost`).
    pub stage: OpportunityStage,
    /// Its probability from then on.
    pub probability: Probability,
    /// Who changed it.
    pub changed_by: EmployeeId,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// A stage's probability as it stands: the value in force, the host's default, and the
/// stored change that set it (none: the default is in force).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSetting {
    /// The stage.
    pub stage: OpportunityStage,
    /// The probability in force.
    pub probability: Probability,
    /// The host's configured value, in force when nothing is stored.
    pub default: Probability,
    /// The stored change in force, if any.
    pub set: Option<StageProbabilityChange>,
}

/// The stages whose probability is configurable (`won` is 100 % and `lost` 0 %, always).
pub const CONFIGURABLE_STAGES: [OpportunityStage; 4] = [
    OpportunityStage::Open,
    OpportunityStage::Qualified,
    OpportunityStage::Proposal,
    OpportunityStage::Negotiation,
];

/// Decides a change of `stage`'s probability to `probability` by `actor` at `now`:
/// management only, and only for an open stage.
pub fn decide_stage_probability(
    actor: &Employee,
    stage: OpportunityStage,
    probability: Probability,
    now: DateTime<Utc>,
) -> Result<StageProbabilityChange, CrmError> {
    authorize(actor, Action::SetStageProbability, None)?;
    // The same refusal as the host's configuration gives for `won` and `lost`.
    StageProbabilities::default().set(stage, probability)?;
    Ok(StageProbabilityChange {
        stage,
        probability,
        changed_by: actor.id,
        changed_at: now,
    })
}

/// The probabilities in force: `defaults` with each stored change (the newest per stage, as
/// the store returns them) applied. A stored change for `won` or `lost` is refused as
/// corrupt data rather than ignored.
pub fn in_force(
    defaults: &StageProbabilities,
    stored: &[StageProbabilityChange],
) -> Result<StageProbabilities, ValidationError> {
    stored
        .iter()
        .try_fold(defaults.clone(), |p, c| p.set(c.stage, c.probability))
}

/// Each configurable stage's setting, in pipeline order.
pub fn settings(
    defaults: &StageProbabilities,
    stored: &[StageProbabilityChange],
) -> Result<Vec<StageSetting>, ValidationError> {
    let force = in_force(defaults, stored)?;
    Ok(CONFIGURABLE_STAGES
        .into_iter()
        .map(|stage| StageSetting {
            stage,
            probability: force.of(stage),
            default: defaults.of(stage),
            set: stored.iter().rev().find(|c| c.stage == stage).cloned(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::contact::Name;
    use crate::employee::Role;

    fn emp(role: Role, active: bool) -> Employee {
        let mut e = Employee::new(EmployeeId::new(3).unwrap(), Name::parse("م").unwrap(), role);
        e.active = active;
        e
    }

    fn p(n: u8) -> Probability {
        Probability::new(n).unwrap()
    }

    #[test]
    fn only_active_management_changes_a_stage() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let ok = decide_stage_probability(
            &emp(Role::Manager, true),
            OpportunityStage::Proposal,
            p(60),
            now,
        )
        .unwrap();
        assert_eq!(
            (ok.stage, ok.probability, ok.changed_at),
            (OpportunityStage::Proposal, p(60), now)
        );
        for e in [
            emp(Role::Sales, true),
            emp(Role::Other, true),
            emp(Role::Manager, false),
        ] {
            assert!(matches!(
                decide_stage_probability(&e, OpportunityStage::Proposal, p(60), now),
                Err(CrmError::Forbidden {
                    action: Action::SetStageProbability,
                    ..
                })
            ));
        }
    }

    #[test]
    fn won_and_lost_are_fixed() {
        let m = emp(Role::Manager, true);
        for s in [OpportunityStage::Won, OpportunityStage::Lost] {
            assert!(matches!(
                decide_stage_probability(&m, s, p(50), DateTime::<Utc>::UNIX_EPOCH),
                Err(CrmError::Validation(ValidationError::UnknownName { .. }))
            ));
        }
    }

    #[test]
    fn stored_changes_override_the_defaults_newest_last() {
        let c = |stage, n| StageProbabilityChange {
            stage,
            probability: p(n),
            changed_by: EmployeeId::new(3).unwrap(),
            changed_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let defaults = StageProbabilities::parse("open=5").unwrap();
        let stored = [
            c(OpportunityStage::Proposal, 60),
            c(OpportunityStage::Proposal, 65),
        ];
        let f = in_force(&defaults, &stored).unwrap();
        assert_eq!(f.of(OpportunityStage::Open), p(5));
        assert_eq!(f.of(OpportunityStage::Proposal), p(65));
        assert_eq!(f.of(OpportunityStage::Won), p(100));
        let s = settings(&defaults, &stored).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[2].probability, p(65));
        assert_eq!(s[2].default, p(50));
        assert_eq!(s[2].set.as_ref().map(|c| c.probability), Some(p(65)));
        assert!(s[0].set.is_none());
        assert!(in_force(&defaults, &[c(OpportunityStage::Won, 3)]).is_err());
    }
}
