//! Leads that arrive by themselves: a web form's submission, a mailbox's message.
//!
//! A host names each of its capture channels when it builds the service
//! ([`crate::CrmBuilder::capture_channel`]): a [`SystemActor`] that may do one thing,
//! [`Action::CaptureLead`](crate::Action::CaptureLead), and the [`AssignmentRule`] its new
//! leads go by (a mailbox's team, a form's). [`crate::Crm::capture`] takes one [`Capture`]:
//!
//! - when an open lead has its e-mail or phone (the duplicate rule's match), it is logged on
//!   that lead as an interaction, the owner unchanged, whatever the submitter or the message
//!   says: a customer writing again is not a new lead;
//! - otherwise a lead is created, given by the channel's rule, with the capture as its first
//!   interaction;
//! - either way the owner is notified ([`crate::NoticeKind::Captured`], delivered by the
//!   next sweep), and the capture's key is stored in the same commit, so the same message or
//!   submission taken again (a re-run, a crash in the middle of a batch, two fetchers) changes
//!   nothing and answers [`Captured::Taken`].
//!
//! Who did it is recorded as the channel: the lead's history has a
//! [`Change::Captured`](crate::Change::Captured)
//! entry beside its `Created` one, the interaction its [`Interaction::captured_by`]. The
//! employee fields (`created_by`, `logged_by`, the history's actor) name the owner the
//! channel gave the lead to, the employee it was taken in for. A captured interaction is the
//! lead speaking, not a follow-up: it leaves the follow-up rule's clock alone.

pub use crate::origin::{CaptureDetails, Consent};

use crate::assignment::{AssignmentRule, Turn};
use crate::events::NewEvent;
use crate::follow_up::FollowUpNotice;
use crate::ids::LeadId;
use crate::importing::ImportKey;
use crate::interaction::{Interaction, NewInteraction};
use crate::lead::{Lead, NewLead};
use crate::permissions::SystemActor;
use crate::validation::ValidationError;
use crate::write::LeadWrite;

/// The longest capture key ([`Capture::key`]).
pub const MAX_KEY: usize = 300;

/// A capture channel: who takes leads in, and whom its new leads go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureChannel {
    /// Its name, the actor its writes are recorded under (`mail.riyadh`, `form.contact`).
    pub actor: SystemActor,
    /// The rule its new leads are given by.
    pub rule: AssignmentRule,
}

impl CaptureChannel {
    /// The channel `actor`, giving its new leads by `rule`.
    pub fn new(actor: SystemActor, rule: AssignmentRule) -> Self {
        Self { actor, rule }
    }
}

/// One thing a channel took in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// What makes it the same on another run, across channels: a message's
    /// [`crate::mail::MailKey`], a submission's id (prefixed by its kind, so a message's and a
    /// submission's never meet). 1 to [`MAX_KEY`] characters.
    pub key: String,
    /// The lead it would be, when no open lead has its e-mail or phone. Its owner is the
    /// channel's rule's pick (an owner given here is not used).
    pub lead: NewLead,
    /// What it says: logged on the lead it comes from, or as the new lead's first
    /// interaction.
    pub interaction: NewInteraction,
    /// Where it came from and what the person agreed to, kept with a new lead.
    pub details: CaptureDetails,
}

/// What [`crate::Crm::capture`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Captured {
    /// A new lead, with the capture as its first interaction.
    Created {
        /// The lead.
        lead: Box<Lead>,
        /// Its first interaction.
        interaction: Box<Interaction>,
    },
    /// Logged on the open lead it comes from.
    Logged {
        /// The lead.
        lead: LeadId,
        /// The interaction.
        interaction: Box<Interaction>,
    },
    /// Taken before (its key is stored): nothing changed.
    Taken {
        /// The lead it went to then.
        lead: LeadId,
    },
}

impl Captured {
    /// The lead it went to.
    pub fn lead(&self) -> LeadId {
        match self {
            Captured::Created { lead, .. } => lead.id(),
            Captured::Logged { lead, .. } | Captured::Taken { lead } => *lead,
        }
    }
}

/// The key a capture is stored under. Not the channel's: one message copied to two team
/// mailboxes is still one message, taken once by whichever reads it first.
pub fn capture_key(key: &str) -> Result<ImportKey, ValidationError> {
    let k = key.trim();
    if k.is_empty() || k.chars().count() > MAX_KEY || k.chars().any(char::is_control) {
        return Err(ValidationError::InvalidId {
            kind: "capture key (1 to 300 characters, no control characters)",
            value: key.chars().take(64).collect(),
        });
    }
    Ok(ImportKey::from_stored(format!("capture:{k}")))
}

/// What a capture writes, in one commit ([`crate::Changeset::capture`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureWrite {
    /// The capture's key, refused when stored already.
    pub key: ImportKey,
    /// The new lead and the assignment turn it takes, when it creates one.
    pub created: Option<(LeadWrite, Turn)>,
    /// The interaction.
    pub interaction: Interaction,
    /// Its event.
    pub event: NewEvent,
    /// The owner's notice.
    pub notice: FollowUpNotice,
}

impl CaptureWrite {
    /// What it did, once committed.
    pub fn captured(self) -> Captured {
        let interaction = Box::new(self.interaction);
        match self.created {
            Some((w, _)) => Captured::Created {
                lead: Box::new(w.lead),
                interaction,
            },
            None => Captured::Logged {
                lead: interaction.lead_id,
                interaction,
            },
        }
    }
}
