//! Sales opportunities on a lead.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::employee::Employee;
use crate::error::{CrmError, Entity, ValidationError};
use crate::events::{EventKind, NewEvent};
use crate::ids::{EmployeeId, LeadId, OpportunityId};
use crate::lead::{Lead, check_change};
use crate::money::Money;
use crate::permissions::{Action, authorize};

/// Where an opportunity stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OpportunityStage {
    /// Being worked.
    Open,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

impl OpportunityStage {
    /// Every stage.
    pub const ALL: [OpportunityStage; 3] = [
        OpportunityStage::Open,
        OpportunityStage::Won,
        OpportunityStage::Lost,
    ];
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityStage::Open => "open",
            OpportunityStage::Won => "won",
            OpportunityStage::Lost => "lost",
        }
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
            "open, won, lost",
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
        if o == *self {
            return Err(ValidationError::NothingToChange);
        }
        o.version += 1;
        o.updated_at = now.max(o.updated_at);
        Ok(o)
    }
}

/// One atomic write of an opportunity: its new state and the events describing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpportunityWrite {
    /// The opportunity after the change.
    pub opportunity: Opportunity,
    /// Events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// The write must be refused with `ReadOnly` if the lead is converted by then. `false`
    /// only for a change of the stage alone: a converted lead's opportunities can still be
    /// won or lost.
    pub lead_must_be_open: bool,
}

impl OpportunityPatch {
    /// Whether the patch touches nothing but the stage.
    pub fn is_stage_only(&self) -> bool {
        self.title.is_none() && self.value.is_none() && self.expected_close.is_none()
    }
}

/// Decides adding an opportunity to `lead` by `actor` at `now`. The lead must not be
/// converted.
pub fn decide_add_opportunity(
    lead: &Lead,
    actor: &Employee,
    input: NewOpportunity,
    now: DateTime<Utc>,
) -> Result<(Opportunity, NewEvent), CrmError> {
    check_change(lead, actor, Action::AddOpportunity, None)?;
    let o = Opportunity::create(OpportunityId::new_at(now), lead.id(), input, actor.id, now);
    let event = NewEvent::new(
        lead.id(),
        Some(actor.id),
        now,
        EventKind::OpportunityCreated {
            opportunity_id: o.id,
            value: o.value,
            stage: o.stage,
            expected_close: o.expected_close,
        },
    );
    Ok((o, event))
}

/// Decides a change of `current` (an opportunity of `lead`) by `actor`. On a converted lead
/// only the stage may change (the deal is still won or lost after the lead became a client);
/// anything else is refused as read-only, like the lead itself.
pub fn decide_opportunity_update(
    lead: &Lead,
    current: &Opportunity,
    actor: &Employee,
    expected_version: u64,
    patch: &OpportunityPatch,
    now: DateTime<Utc>,
) -> Result<OpportunityWrite, CrmError> {
    let stage_only = patch.is_stage_only();
    if lead.status().is_read_only() && stage_only {
        authorize(actor, Action::EditOpportunity, Some(lead.owner())).map_err(CrmError::from)?;
    } else {
        check_change(lead, actor, Action::EditOpportunity, None)?;
    }
    if current.version != expected_version {
        return Err(CrmError::Conflict {
            entity: Entity::Opportunity,
            id: current.id.to_string(),
            expected: expected_version,
        });
    }
    let new = current.edited(patch, now)?;
    let event = NewEvent::new(
        lead.id(),
        Some(actor.id),
        now,
        EventKind::OpportunityUpdated {
            opportunity_id: new.id,
            value: new.value,
            stage: new.stage,
            expected_close: new.expected_close,
        },
    );
    Ok(OpportunityWrite {
        opportunity: new,
        events: vec![event],
        lead_must_be_open: !stage_only,
    })
}
