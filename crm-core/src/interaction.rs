//! Interactions logged against a lead.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Note;
use crate::ids::{EmployeeId, InteractionId, LeadId};
use crate::permissions::SystemActor;
use crate::validation::ValidationError;

/// What kind of contact took place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InteractionKind {
    /// A phone call.
    Call,
    /// A visit.
    Visit,
    /// A follow-up.
    FollowUp,
    /// An email.
    Email,
    /// A meeting.
    Meeting,
    /// A note.
    Note,
}

impl InteractionKind {
    /// Every kind.
    pub const ALL: [InteractionKind; 6] = [
        InteractionKind::Call,
        InteractionKind::Visit,
        InteractionKind::FollowUp,
        InteractionKind::Email,
        InteractionKind::Meeting,
        InteractionKind::Note,
    ];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Call => "call",
            InteractionKind::Visit => "visit",
            InteractionKind::FollowUp => "follow_up",
            InteractionKind::Email => "email",
            InteractionKind::Meeting => "meeting",
            InteractionKind::Note => "note",
        }
    }
}

impl FromStr for InteractionKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::text::parse_name(
            "interaction kind",
            s,
            &InteractionKind::ALL,
            InteractionKind::as_str,
            "call, visit, follow_up, email, meeting, note",
        )
    }
}

impl fmt::Display for InteractionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A logged interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// Id.
    pub id: InteractionId,
    /// The lead.
    pub lead_id: LeadId,
    /// What kind.
    pub kind: InteractionKind,
    /// When it happened (never after it was logged).
    pub occurred_at: DateTime<Utc>,
    /// Who logged it: an employee, or for a captured message or submission the owner of
    /// the lead it was captured on (the channel that took it in is `captured_by`).
    pub logged_by: EmployeeId,
    /// When it was logged.
    pub logged_at: DateTime<Utc>,
    /// Free text.
    pub notes: Note,
    /// The next follow-up time this interaction set on its lead, if any.
    #[serde(default)]
    pub next_follow_up_at: Option<DateTime<Utc>>,
    /// The capture channel (a web form, a mailbox) that took this in from the lead; `None`
    /// for one an employee logged. A captured interaction is
    /// the lead speaking, not a follow-up: it does not move the lead's last interaction time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_by: Option<SystemActor>,
}

/// What a caller gives to log an interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInteraction {
    /// What kind.
    pub kind: InteractionKind,
    /// When it happened; the clock's now when `None`.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Free text.
    #[serde(default)]
    pub notes: Note,
    /// Sets the lead's next follow-up time (not in the past); `None` leaves it as it is.
    #[serde(default)]
    pub next_follow_up: Option<DateTime<Utc>>,
}

impl NewInteraction {
    /// An interaction of `kind` that happened now, without notes.
    pub fn new(kind: InteractionKind) -> Self {
        Self {
            kind,
            occurred_at: None,
            notes: Note::default(),
            next_follow_up: None,
        }
    }
    /// Sets the lead's next follow-up time.
    pub fn follow_up_at(mut self, at: DateTime<Utc>) -> Self {
        self.next_follow_up = Some(at);
        self
    }
    /// Sets when it happened.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.occurred_at = Some(at);
        self
    }
    /// Sets the notes.
    pub fn notes(mut self, notes: Note) -> Self {
        self.notes = notes;
        self
    }
}

impl Interaction {
    /// Builds an interaction; refuses one that happened after `now`, or a next follow-up
    /// time before `now`.
    pub fn create(
        id: InteractionId,
        lead_id: LeadId,
        input: NewInteraction,
        actor: EmployeeId,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let occurred_at = crate::clock::to_micros(input.occurred_at.unwrap_or(now));
        if occurred_at > now {
            return Err(ValidationError::InFuture {
                field: "occurred_at",
                at: occurred_at,
                now,
            });
        }
        let next_follow_up_at = input.next_follow_up.map(crate::clock::to_micros);
        crate::follow_up::check_next_follow_up(next_follow_up_at, now)?;
        Ok(Self {
            id,
            lead_id,
            kind: input.kind,
            occurred_at,
            logged_by: actor,
            logged_at: now,
            notes: input.notes,
            next_follow_up_at,
            captured_by: None,
        })
    }
}
