//! Conformance bodies of the stored stage probabilities (issue 10): management changes a
//! stage's probability through the service, every store keeps it with who and when (and the
//! earlier changes as history), and the pipeline report weighs open deals with it. Stamped
//! out for every adapter by [`crate::conformance_suite!`].

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use crm_core::{
    Action, Clock, CrmError, Currency, LeadStatus, LeadStore, Money, Name, NewOpportunity,
    OpportunityPatch, OpportunityStage, PipelineFilter, Probability, StageProbabilities,
    ValidationError,
};

use crate::harness::{Harness, inactive, manager, other, sales, t0, unknown};

fn p(n: u8) -> Probability {
    Probability::new(n).unwrap()
}

/// The probabilities in force per configurable stage, in pipeline order.
async fn in_force(crm: &crm_core::Crm) -> Vec<(OpportunityStage, u8, u8, bool)> {
    crm.pipeline_stages(other())
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.stage,
                s.probability.percent(),
                s.default.percent(),
                s.set.is_some(),
            )
        })
        .collect()
}

/// Nothing stored: the host's values (and the documented defaults under them) are in force.
/// Management sets a stage; it is stored with who and when, read back by every reader and by
/// a new service over the same store (a restart), and weighs the pipeline report; a later
/// change wins and the earlier one stays as history. Sales staff, read-only, inactive and
/// unknown employees are refused, as are `won` and `lost`, and a refusal stores nothing.
pub async fn stage_probabilities_are_stored_by_management(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let crm = h.crm_with(|b| b.stage_probabilities(StageProbabilities::parse("open=5").unwrap()));
    use OpportunityStage::*;
    assert_eq!(
        in_force(&crm).await,
        [
            (Open, 5, 5, false),
            (Qualified, 25, 25, false),
            (Proposal, 50, 50, false),
            (Negotiation, 75, 75, false)
        ]
    );

    // An opportunity of 1,000.00 SAR in proposal, no override: weighted at the stage's.
    let lead = h.lead_in(LeadStatus::Contacted, 1).await;
    let o = crm
        .add_opportunity(
            sales(),
            lead.id(),
            NewOpportunity {
                title: Name::parse("توريد").unwrap(),
                value: Money::from_minor(100_000, Currency::parse("SAR").unwrap()).unwrap(),
                expected_close: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
                probability: None,
            },
        )
        .await
        .unwrap();
    crm.update_opportunity(
        sales(),
        o.id,
        o.version,
        OpportunityPatch {
            stage: Some(Proposal),
            ..OpportunityPatch::default()
        },
    )
    .await
    .unwrap();
    let weighted = |crm: crm_core::Crm| async move {
        let r = crm
            .pipeline(sales(), &PipelineFilter::default())
            .await
            .unwrap();
        r.currency("SAR").unwrap().totals.weighted_minor
    };
    assert_eq!(weighted(crm.clone()).await, 50_000);

    // Refused: not management, or a fixed stage. Nothing stored.
    for who in [sales(), other(), inactive()] {
        assert!(
            matches!(
                crm.set_stage_probability(who, Proposal, p(60)).await,
                Err(CrmError::Forbidden {
                    action: Action::SetStageProbability,
                    ..
                })
            ),
            "{who} may not change a stage probability"
        );
    }
    assert!(matches!(
        crm.set_stage_probability(unknown(), Proposal, p(60)).await,
        Err(CrmError::UnknownActor(_))
    ));
    for fixed in [Won, Lost] {
        assert!(matches!(
            crm.set_stage_probability(manager(), fixed, p(60)).await,
            Err(CrmError::Validation(ValidationError::UnknownName { .. }))
        ));
    }
    assert!(h.store.stage_probabilities().await.unwrap().is_empty());
    assert!(
        h.store
            .stage_probability_history(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(weighted(crm.clone()).await, 50_000);

    // Management sets proposal to 60 %: stored with who and when (the clock's time), in
    // force for the report.
    let before = h.clock.now();
    let c = crm
        .set_stage_probability(manager(), Proposal, p(60))
        .await
        .unwrap();
    assert_eq!(
        (c.stage, c.probability, c.changed_by),
        (Proposal, p(60), manager())
    );
    assert!(c.changed_at >= before && c.changed_at <= h.clock.now());
    assert_eq!(
        h.store.stage_probabilities().await.unwrap(),
        std::slice::from_ref(&c)
    );
    assert_eq!(weighted(crm.clone()).await, 60_000);
    let stages = crm.pipeline_stages(sales()).await.unwrap();
    assert_eq!(stages[2].set.as_ref(), Some(&c));
    assert_eq!((stages[2].probability, stages[2].default), (p(60), p(50)));

    // A later change wins; 0 % is a value like any other; the first stays as history.
    h.advance(TimeDelta::hours(1));
    let c2 = crm
        .set_stage_probability(manager(), Proposal, p(0))
        .await
        .unwrap();
    let c3 = crm
        .set_stage_probability(manager(), Negotiation, p(90))
        .await
        .unwrap();
    assert!(c2.changed_at >= t0() + TimeDelta::hours(1));
    assert_eq!(weighted(crm.clone()).await, 0);
    let mut stored = h.store.stage_probabilities().await.unwrap();
    stored.sort_by_key(|c| c.stage.as_str());
    assert_eq!(stored, [c3.clone(), c2.clone()]);
    assert_eq!(
        h.store.stage_probability_history(10).await.unwrap(),
        [c3.clone(), c2.clone(), c.clone()],
        "newest first"
    );
    assert_eq!(
        crm.stage_probability_history(other(), 2).await.unwrap(),
        [c3, c2]
    );

    // A new service over the same store (a restart) reads the stored values, over whatever
    // the host configures now.
    let restarted = h.crm_with(|b| {
        b.stage_probabilities(StageProbabilities::parse("open=7,proposal=45").unwrap())
    });
    assert_eq!(
        in_force(&restarted).await,
        [
            (Open, 7, 7, false),
            (Qualified, 25, 25, false),
            (Proposal, 0, 45, true),
            (Negotiation, 90, 75, true)
        ]
    );
    assert_eq!(weighted(restarted.clone()).await, 0);
    // Reading needs an employee in the directory.
    assert!(matches!(
        restarted.pipeline_stages(unknown()).await,
        Err(CrmError::UnknownActor(_))
    ));
}
