//! Events for a sales system: written in the same atomic write as the change they describe
//! (an outbox), read in order, and acknowledged by the consumer.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::history::LeadField;
use crate::ids::{ClientId, EmployeeId, EventId, InteractionId, LeadId, OpportunityId};
use crate::interaction::InteractionKind;
use crate::money::Money;
use crate::opportunity::OpportunityStage;
use crate::probability::Probability;
use crate::source::Source;
use crate::status::LeadStatus;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A lead was created.
    LeadCreated {
        /// Name.
        name: Name,
        /// Source.
        source: Source,
        /// Responsible employee.
        owner: EmployeeId,
    },
    /// A lead's contact data changed.
    LeadEdited {
        /// The fields that changed.
        fields: Vec<LeadField>,
    },
    /// A lead got a (new) responsible employee.
    LeadAssigned {
        /// The previous owner.
        from: EmployeeId,
        /// The new owner.
        to: EmployeeId,
    },
    /// A lead's status moved.
    StatusChanged {
        /// Old status.
        from: LeadStatus,
        /// New status.
        to: LeadStatus,
    },
    /// The clients system created the client for a converted lead.
    LeadConverted {
        /// The client.
        client_id: ClientId,
    },
    /// An interaction was logged.
    InteractionLogged {
        /// The interaction.
        interaction_id: InteractionId,
        /// Its kind.
        kind: InteractionKind,
        /// When it happened.
        occurred_at: DateTime<Utc>,
        /// The lead's next follow-up time it set, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_follow_up_at: Option<DateTime<Utc>>,
    },
    /// An opportunity was added.
    OpportunityCreated {
        /// The opportunity.
        opportunity_id: OpportunityId,
        /// Its value.
        value: Money,
        /// Its stage.
        stage: OpportunityStage,
        /// Expected close date.
        expected_close: NaiveDate,
        /// Its probability override, if any (absent: its stage's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probability: Option<Probability>,
    },
    /// An opportunity changed.
    OpportunityUpdated {
        /// The opportunity.
        opportunity_id: OpportunityId,
        /// Its value.
        value: Money,
        /// Its stage.
        stage: OpportunityStage,
        /// Expected close date.
        expected_close: NaiveDate,
        /// Its probability override, if any (absent: its stage's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probability: Option<Probability>,
    },
    /// Another lead was merged into this one ([`crate::merge`]).
    LeadMerged {
        /// The lead merged away (now read-only, `merged_into` this one).
        from: LeadId,
        /// The fields this lead took from it (those it had empty).
        fields: Vec<LeadField>,
    },
    /// A write on the lead moved its score ([`crate::scoring`]) by
    /// [`crate::scoring::EVENT_MOVE`] points or more.
    ScoreChanged {
        /// The score before the write.
        from: u8,
        /// The score after it.
        to: u8,
        /// What moves the new score most (at most three), in the order shown.
        reasons: Vec<crate::counting::Reason>,
    },
}

impl EventKind {
    /// The stable name of the event type (the JSON `type` tag).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::LeadCreated { .. } => "lead_created",
            EventKind::LeadEdited { .. } => "lead_edited",
            EventKind::LeadAssigned { .. } => "lead_assigned",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::LeadConverted { .. } => "lead_converted",
            EventKind::InteractionLogged { .. } => "interaction_logged",
            EventKind::OpportunityCreated { .. } => "opportunity_created",
            EventKind::OpportunityUpdated { .. } => "opportunity_updated",
            EventKind::LeadMerged { .. } => "lead_merged",
            EventKind::ScoreChanged { .. } => "score_changed",
        }
    }
}

/// An event before the store gave it its place in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique id (consumers deduplicate on it).
    pub id: EventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The lead it concerns.
    pub lead_id: LeadId,
    /// Who caused it (`None` for the library's own work, e.g. a conversion retry).
    pub actor: Option<EmployeeId>,
    /// What happened (flattened on the wire: `type` and its fields sit beside `id`).
    #[serde(flatten)]
    pub kind: EventKind,
}

impl NewEvent {
    /// An event about `lead_id` by `actor` at `at`, with a fresh id.
    pub fn new(
        lead_id: LeadId,
        actor: Option<EmployeeId>,
        at: DateTime<Utc>,
        kind: EventKind,
    ) -> Self {
        Self {
            id: EventId::new_at(at),
            at,
            lead_id,
            actor,
            kind,
        }
    }
}

/// A stored event, with its position in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log: strictly increasing in write order.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: NewEvent,
}
