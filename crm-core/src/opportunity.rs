//! Sales opportunities on a lead.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::ids::{EmployeeId, LeadId, OpportunityId};
use crate::money::Money;
use crate::probability::Probability;
use crate::validation::ValidationError;

/// Where an opportunity stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OpportunityStage {
    /// Being worked, not yet qualified (the first stage).
    Open,
    /// Qualified: a real need, budget and decision maker.
    Qualified,
    /// A proposal or quote was sent.
    Proposal,
    /// Terms are being negotiated.
    Negotiation,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

impl OpportunityStage {
    /// Every stage, in pipeline order.
    pub const ALL: [OpportunityStage; 6] = [
        OpportunityStage::Open,
        OpportunityStage::Qualified,
        OpportunityStage::Proposal,
        OpportunityStage::Negotiation,
        OpportunityStage::Won,
        OpportunityStage::Lost,
    ];
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityStage::Open => "open",
            OpportunityStage::Qualified => "qualified",
            OpportunityStage::Proposal => "proposal",
            OpportunityStage::Negotiation => "negotiation",
            OpportunityStage::Won => "won",
            OpportunityStage::Lost => "lost",
        }
    }
    /// Whether the deal is still being worked (neither won nor lost): it counts in the open
    /// pipeline.
    pub fn is_open(self) -> bool {
        !matches!(self, OpportunityStage::Won | OpportunityStage::Lost)
    }
}

impl FromStr for OpportunityStage {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::text::parse_name(
            "opportunity stage",
            s,
            &OpportunityStage::ALL,
            OpportunityStage::as_str,
            "open, qualified, proposal, negotiation, won, lost",
        )
    }
}

impl fmt::Display for OpportunityStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sales opportunity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Id.
    pub id: OpportunityId,
    /// The lead.
    pub lead_id: LeadId,
    /// Short title.
    pub title: Name,
    /// Expected value.
    pub value: Money,
    /// Expected close date.
    pub expected_close: NaiveDate,
    /// Stage.
    pub stage: OpportunityStage,
    /// The chance of winning this deal, overriding its stage's probability while it is open.
    #[serde(default)]
    pub probability: Option<Probability>,
    /// Creator.
    pub created_by: EmployeeId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency version.
    pub version: u64,
}

/// What a caller gives to add an opportunity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOpportunity {
    /// Short title.
    pub title: Name,
    /// Expected value.
    pub value: Money,
    /// Expected close date.
    pub expected_close: NaiveDate,
    /// A probability overriding the stage's (see [`Opportunity::probability`]).
    #[serde(default)]
    pub probability: Option<Probability>,
}

/// An edit of an opportunity; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityPatch {
    /// New title.
    pub title: Option<Name>,
    /// New value.
    pub value: Option<Money>,
    /// New expected close date.
    pub expected_close: Option<NaiveDate>,
    /// New stage.
    pub stage: Option<OpportunityStage>,
    /// Set the probability override, or clear it (back to the stage's).
    #[serde(default)]
    pub probability: Option<Option<Probability>>,
}

impl Opportunity {
    /// Builds a new open opportunity, version 1.
    pub fn create(
        id: OpportunityId,
        lead_id: LeadId,
        input: NewOpportunity,
        actor: EmployeeId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            lead_id,
            title: input.title,
            value: input.value,
            expected_close: input.expected_close,
            stage: OpportunityStage::Open,
            probability: input.probability,
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Applies an edit; fails if it changes nothing.
    pub fn edited(
        &self,
        patch: &OpportunityPatch,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let mut o = self.clone();
        if let Some(t) = &patch.title {
            o.title = t.clone();
        }
        if let Some(v) = patch.value {
            o.value = v;
        }
        if let Some(d) = patch.expected_close {
            o.expected_close = d;
        }
        if let Some(s) = patch.stage {
            o.stage = s;
        }
        if let Some(p) = patch.probability {
            o.probability = p;
        }
        if o == *self {
            return Err(ValidationError::NothingToChange);
        }
        o.version += 1;
        o.updated_at = now.max(o.updated_at);
        Ok(o)
    }
}

impl OpportunityPatch {
    /// Whether the patch touches nothing but the stage.
    pub fn is_stage_only(&self) -> bool {
        self.title.is_none()
            && self.value.is_none()
            && self.expected_close.is_none()
            && self.probability.is_none()
    }
}
