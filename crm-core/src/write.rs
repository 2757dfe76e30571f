//! The values a decision returns for the store to write: a lead with its history, events and
//! pending client ([`LeadWrite`]), an opportunity ([`OpportunityWrite`]), an import batch
//! ([`ImportBatch`]). [`crate::Changeset`] turns each into the steps a store commits.

use crate::assignment::Turn;
use crate::conversion::PendingClient;
use crate::counting::CountChange;
use crate::events::NewEvent;
use crate::history::HistoryEntry;
use crate::importing::ImportKey;
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::opportunity::Opportunity;

/// One atomic write of a lead: its new state, the history entries and events describing the
/// change, and, on conversion, the pending client record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadWrite {
    /// The lead as it is after the change.
    pub lead: Lead,
    /// History entries to append.
    pub history: Vec<HistoryEntry>,
    /// Events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// A pending client record to insert (conversion).
    pub pending_client: Option<PendingClient>,
    /// Refuse the write with [`StoreError::Duplicate`](crate::StoreError::Duplicate) when another open lead has the same
    /// email or phone as `lead` (the rule of [`crate::duplicates`]).
    pub check_duplicates: bool,
    /// The changes of the scoring frequencies the write makes (a lead converted, lost or
    /// reopened: [`crate::counting::recount`]), stored in the same commit.
    pub score_changes: Vec<CountChange>,
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

/// One lead an import batch writes: created (`expected_version` `None`) or updated over
/// `expected_version`, remembered under `key` when the import has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWrite {
    /// The row's key ([`crate::ImportKey`]); stored with the lead id, refused if stored
    /// already.
    pub key: Option<ImportKey>,
    /// `None` to insert the lead; the version the update is written over otherwise.
    pub expected_version: Option<u64>,
    /// The lead, its history and events, and whether to check duplicates, as for
    /// [`crate::ports::StoreWrites::insert_lead`] and [`crate::ports::StoreWrites::update_lead`].
    pub write: LeadWrite,
}

/// One batch of an import, written in one transaction: the lead writes in order (a lead
/// created by the batch may be updated later in it), then the notes logged with them, and
/// the assignment turns the batch took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportBatch {
    /// The lead writes, in row order.
    pub writes: Vec<ImportWrite>,
    /// Interactions (a row's notes) and their events, logged as
    /// [`crate::ports::StoreWrites::insert_interaction`] does, after the writes.
    pub notes: Vec<(Interaction, NewEvent)>,
    /// For each assignment rule the batch gave leads by: its last owner goes from
    /// `turn.after` (as read) to `turn.owner`, refused with `Busy` if it moved meanwhile.
    pub turns: Vec<Turn>,
}
