//! The one write a store knows: a [`Changeset`], committed all-or-nothing.
//!
//! A decision ([`crate::decide`], [`crate::follow_up`], [`crate::merge`], ...) returns what to
//! store; the service turns it into a changeset: an ordered list of [`Step`]s, each either a
//! [`Precondition`] the store checks against the state as the steps before it left it, or a
//! [`Write`] it applies. The store runs the steps in order inside one transaction and either
//! commits all of them or, at the first precondition that does not hold, changes nothing and
//! answers with the [`StoreError`] that precondition names ([`Precondition::refusal`]).
//!
//! Steps are ordered so one changeset can hold several lead writes that depend on each other
//! (an import batch may create a lead and update it a few rows later): a version check on the
//! second write sees the first.
//!
//! Constructors below build the changeset of each use case from the decision's value
//! ([`Changeset::insert_lead`], [`Changeset::merge`], ...); [`crate::ports::StoreWrites`]
//! commits them under the names the store port used to have.

use chrono::{DateTime, Utc};

use crate::assignment::Turn;
use crate::conversion::PendingClient;
use crate::counting::{Calibration, CountChange, Counted};
use crate::error::{Entity, StoreError};
use crate::events::NewEvent;
use crate::follow_up::FollowUpNotice;
use crate::history::HistoryEntry;
use crate::ids::{ClientId, EmployeeId, LeadId, NoticeId, OpportunityId};
use crate::importing::ImportKey;
use crate::interaction::Interaction;
use crate::lead::Lead;
use crate::merge::{MergeWrite, Moved};
use crate::opportunity::Opportunity;
use crate::stage_probability::StageProbabilityChange;
use crate::write::{ImportBatch, LeadWrite, OpportunityWrite};

/// One atomic write: [`Step`]s applied in order, all of them or none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changeset {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a [`Changeset`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Must hold over the state the steps before it left; otherwise nothing is written.
    Require(Precondition),
    /// A change to apply.
    Write(Write),
}

/// What a changeset relies on. Each names the refusal the store answers with when it does
/// not hold ([`Precondition::refusal`]), so the caller learns which one failed by its value,
/// never by parsing a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// No lead has this id (refused as a conflict over version 0).
    LeadAbsent(LeadId),
    /// The lead is stored at exactly this version (refused as not found, or a conflict).
    LeadVersion {
        /// The lead.
        id: LeadId,
        /// The version the caller read.
        version: u64,
    },
    /// The lead is stored and neither converted nor merged (refused as not found, or
    /// read-only).
    LeadWritable(LeadId),
    /// The lead's follow-up state is still as read: the same version, last interaction,
    /// next follow-up time and follow-up marks (refused as a conflict). An interaction or
    /// a sweep changes these without moving the version.
    FollowUpState(Box<Lead>),
    /// No open lead other than this one has its email or its phone key
    /// ([`crate::duplicates::find_duplicate`]; refused as a duplicate naming the oldest).
    NoDuplicateOf(Box<Lead>),
    /// No opportunity has this id (refused as a conflict over version 0).
    OpportunityAbsent(OpportunityId),
    /// The opportunity is stored at exactly this version (not found, or a conflict).
    OpportunityVersion {
        /// The opportunity.
        id: OpportunityId,
        /// The version the caller read.
        version: u64,
    },
    /// The lead the stored opportunity belongs to is writable (read-only otherwise).
    OpportunityLeadWritable(OpportunityId),
    /// The assignment rule's last lead still went to `after` (refused as busy: a concurrent
    /// create took the turn).
    TurnIs {
        /// [`crate::AssignmentRule::rotation_key`].
        rule: String,
        /// Its last owner as read (`None`: it never gave a lead).
        after: Option<EmployeeId>,
    },
    /// No row was imported under this key (refused as busy: imported meanwhile).
    KeyFree(ImportKey),
    /// The lead holds exactly these interactions and opportunities ([`Moved::is_exactly`];
    /// refused as a conflict over `version`).
    HoldsExactly {
        /// The lead.
        lead: LeadId,
        /// The version of it the caller read.
        version: u64,
        /// The records it must hold.
        moved: Moved,
    },
    /// A client is still to be created for this lead (refused as not found).
    ClientPending(LeadId),
}

impl Precondition {
    /// The error a store answers with when this precondition does not hold, given what it
    /// found: `found` is `false` when the record is missing altogether. Two refusals name a
    /// record only the store knows, and it builds them itself: [`StoreError::Duplicate`]
    /// for [`Precondition::NoDuplicateOf`], and [`StoreError::ReadOnly`] naming the lead for
    /// a found [`Precondition::OpportunityLeadWritable`].
    pub fn refusal(&self, found: bool) -> StoreError {
        let conflict = |entity, id: String, expected| StoreError::Conflict {
            entity,
            id,
            expected,
        };
        let missing = |entity, id: String| StoreError::NotFound { entity, id };
        match self {
            Precondition::LeadAbsent(id) => conflict(Entity::Lead, id.to_string(), 0),
            Precondition::LeadVersion { id, version } if found => {
                conflict(Entity::Lead, id.to_string(), *version)
            }
            Precondition::LeadWritable(id) if found => StoreError::ReadOnly { lead: *id },
            Precondition::LeadVersion { id, .. } | Precondition::LeadWritable(id) => {
                missing(Entity::Lead, id.to_string())
            }
            Precondition::FollowUpState(lead) if found => {
                conflict(Entity::Lead, lead.id().to_string(), lead.version())
            }
            Precondition::FollowUpState(lead) => missing(Entity::Lead, lead.id().to_string()),
            // The store builds the duplicate error itself (it knows the existing lead).
            Precondition::NoDuplicateOf(lead) => conflict(Entity::Lead, lead.id().to_string(), 0),
            Precondition::OpportunityAbsent(id) => conflict(Entity::Opportunity, id.to_string(), 0),
            Precondition::OpportunityVersion { id, version } if found => {
                conflict(Entity::Opportunity, id.to_string(), *version)
            }
            Precondition::OpportunityVersion { id, .. } => {
                missing(Entity::Opportunity, id.to_string())
            }
            Precondition::OpportunityLeadWritable(id) => {
                missing(Entity::Opportunity, id.to_string())
            }
            Precondition::TurnIs { .. } => {
                StoreError::Busy("a concurrent create took this assignment turn".into())
            }
            Precondition::KeyFree(key) => {
                StoreError::Busy(format!("row {key} was imported meanwhile").into())
            }
            Precondition::HoldsExactly { lead, version, .. } if found => {
                conflict(Entity::Lead, lead.to_string(), *version)
            }
            Precondition::HoldsExactly { lead, .. } => missing(Entity::Lead, lead.to_string()),
            Precondition::ClientPending(id) => missing(Entity::Lead, id.to_string()),
        }
    }
}

/// A change a [`Changeset`] applies. A write on a record that is not stored (a lead for
/// `UpdateLead`, `Interaction`, `MoveRecords`, `FollowUpMarks` or `ClientCreated`, an
/// opportunity for `UpdateOpportunity`) is refused as not found and nothing is written; the
/// named changesets check a precondition first, so only a hand-built one meets this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Stores a new lead, every field as given.
    InsertLead(Box<Lead>),
    /// Replaces the lead's versioned fields (everything but `client_id`,
    /// `last_interaction_at` and the four follow-up marks, which have writes of their own
    /// and do not move the version).
    UpdateLead(Box<Lead>),
    /// Appends a history entry.
    History(HistoryEntry),
    /// Appends an event to the outbox the sales system reads.
    Event(NewEvent),
    /// Stores a client still to be created for a converted lead.
    PendingClient(Box<PendingClient>),
    /// Stores an interaction; its lead's last interaction time moves forward to it (unless
    /// it was captured, [`Interaction::captured_by`]: the lead speaking is no follow-up), and
    /// its next follow-up time becomes the interaction's when that has one.
    Interaction(Box<Interaction>),
    /// Stores a new opportunity.
    InsertOpportunity(Box<Opportunity>),
    /// Replaces an opportunity (its lead stays the stored one).
    UpdateOpportunity(Box<Opportunity>),
    /// The assignment rule's last lead went to `owner`.
    Turn {
        /// [`crate::AssignmentRule::rotation_key`].
        rule: String,
        /// Whom it gave the lead to.
        owner: EmployeeId,
    },
    /// Remembers that the import row `key` wrote `lead`.
    ImportKey {
        /// The row's key.
        key: ImportKey,
        /// The lead it wrote.
        lead: LeadId,
    },
    /// Stores a change of a stage's probability.
    StageProbability(StageProbabilityChange),
    /// Moves every interaction and opportunity of `from` to `to`, points leads merged into
    /// `from` at `to`, and moves `to`'s last interaction time forward to `from`'s.
    MoveRecords {
        /// The lead merged away.
        from: LeadId,
        /// The lead kept.
        to: LeadId,
    },
    /// Sets the lead's follow-up marks (`follow_up_notified_at`, `follow_up_reminded_for`,
    /// `owner_notified_at`, `escalated_for`) to this lead's.
    FollowUpMarks(Box<Lead>),
    /// Puts a notice in the follow-up outbox (or replaces the one with its id), claimed
    /// until `claimed_until`.
    Notice {
        /// The notice.
        notice: Box<FollowUpNotice>,
        /// Until when it is the caller's to send.
        claimed_until: DateTime<Utc>,
    },
    /// Takes a notice out of the outbox (delivered, or moot). Unknown ids are ignored.
    DropNotice(NoticeId),
    /// Frees a notice claimed until `claimed_until` for the next sweep, counting `error` as
    /// a failed attempt at `at`; nothing when the claim is no longer that one.
    ReleaseNotice {
        /// The notice.
        id: NoticeId,
        /// The claim being released.
        claimed_until: DateTime<Utc>,
        /// Why it was not delivered.
        error: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Frees a pending client claimed until `claimed_until`; nothing when the claim is no
    /// longer that one, or the record is gone.
    ReleaseClient {
        /// The converted lead.
        lead: LeadId,
        /// The claim being released.
        claimed_until: DateTime<Utc>,
    },
    /// Counts a failed attempt at creating the client (its claim stays).
    ClientFailed {
        /// The converted lead.
        lead: LeadId,
        /// What went wrong, for operators.
        error: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Stores the client's id on the converted lead and removes its pending record.
    ClientCreated {
        /// The converted lead.
        lead: LeadId,
        /// The client.
        client: ClientId,
    },
    /// Adds each change to its stored count of the scoring frequencies (a count not stored
    /// yet starts at zero).
    ScoreCounts(Vec<CountChange>),
    /// Records what a decided lead that was never counted is counted as, and moves its
    /// version by one (no other field changes): a write decided on the lead as read before
    /// would put back what it read, so it must be refused as a conflict. Refused as a
    /// conflict over `version` when the lead is at another version or is counted already
    /// (the write that counts it also adds it to the frequencies, so it must happen once);
    /// not found when the lead is not stored.
    Count {
        /// The lead.
        lead: LeadId,
        /// The version it was read at.
        version: u64,
        /// What it is counted as.
        counted: Box<Counted>,
    },
    /// Sets the calibration of a team's frequencies ([`crate::scoring::ALL_TEAMS`] for
    /// everyone's). A store that answers [`crate::LeadStore::score_frequencies`] from its
    /// leads (the default) may ignore it.
    Calibration {
        /// The team.
        team: String,
        /// The calibration fitted on its decided leads.
        calibration: Calibration,
    },
    /// Acknowledges every event with `seq <= up_to` ([`Committed::events_acked`] says how
    /// many were newly acknowledged).
    AckEvents(u64),
}

/// What a commit reports back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Events newly acknowledged by a [`Write::AckEvents`].
    pub events_acked: u64,
}

impl Changeset {
    /// An empty changeset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a precondition.
    pub fn require(mut self, p: Precondition) -> Self {
        self.steps.push(Step::Require(p));
        self
    }

    /// Adds a write.
    pub fn write(mut self, w: Write) -> Self {
        self.steps.push(Step::Write(w));
        self
    }

    /// Appends another changeset's steps.
    pub fn then(mut self, other: Changeset) -> Self {
        self.steps.extend(other.steps);
        self
    }

    /// Whether it has no step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The writes of a lead write after its preconditions: the lead row (inserted or
    /// updated), its history, pending client and events.
    fn lead_rows(mut self, write: &LeadWrite, insert: bool) -> Self {
        if write.check_duplicates {
            self = self.require(Precondition::NoDuplicateOf(Box::new(write.lead.clone())));
        }
        let lead = Box::new(write.lead.clone());
        self = self.write(if insert {
            Write::InsertLead(lead)
        } else {
            Write::UpdateLead(lead)
        });
        for h in &write.history {
            self = self.write(Write::History(h.clone()));
        }
        if let Some(p) = &write.pending_client {
            self = self.write(Write::PendingClient(Box::new(p.clone())));
        }
        if !write.score_changes.is_empty() {
            self = self.write(Write::ScoreCounts(write.score_changes.clone()));
        }
        self.events(&write.events)
    }

    fn events(mut self, events: &[NewEvent]) -> Self {
        for e in events {
            self = self.write(Write::Event(e.clone()));
        }
        self
    }

    /// A new lead (version 1): refused when its id is taken, or (when asked) when an open
    /// lead has its email or phone.
    pub fn insert_lead(write: &LeadWrite) -> Self {
        Self::new()
            .require(Precondition::LeadAbsent(write.lead.id()))
            .lead_rows(write, true)
    }

    /// A new lead given by an assignment rule: as [`Changeset::insert_lead`], taking `turn`.
    pub fn insert_lead_taking_turn(write: &LeadWrite, turn: &Turn) -> Self {
        Self::new()
            .require(Precondition::LeadAbsent(write.lead.id()))
            .require(Precondition::TurnIs {
                rule: turn.rule.clone(),
                after: turn.after,
            })
            .lead_rows(write, true)
            .write(Write::Turn {
                rule: turn.rule.clone(),
                owner: turn.owner,
            })
    }

    /// A change of a lead read at `expected_version`. The write carries the new version,
    /// `expected_version + 1` ([`crate::ports::StoreWrites::update_lead`] refuses any other
    /// before committing; the decisions always move it by one).
    pub fn update_lead(expected_version: u64, write: &LeadWrite) -> Self {
        Self::new()
            .require(Precondition::LeadVersion {
                id: write.lead.id(),
                version: expected_version,
            })
            .lead_rows(write, false)
    }

    /// An interaction and its events, on a writable lead.
    pub fn interaction(interaction: &Interaction, events: &[NewEvent]) -> Self {
        Self::new()
            .require(Precondition::LeadWritable(interaction.lead_id))
            .write(Write::Interaction(Box::new(interaction.clone())))
            .events(events)
    }

    /// A capture ([`crate::capture`]): its key, refused when stored; the new lead taking its
    /// turn, when it makes one; the interaction on the lead, which must be writable; the
    /// owner's notice, free for the next sweep at once.
    pub fn capture(w: &crate::capture::CaptureWrite) -> Self {
        let mut c = Self::new().require(Precondition::KeyFree(w.key.clone()));
        if let Some((lead, turn)) = &w.created {
            c = c.then(Self::insert_lead_taking_turn(lead, turn));
        }
        c.then(Self::interaction(
            &w.interaction,
            std::slice::from_ref(&w.event),
        ))
        .write(Write::Notice {
            notice: Box::new(w.notice.clone()),
            claimed_until: w.notice.now,
        })
        .write(Write::ImportKey {
            key: w.key.clone(),
            lead: w.interaction.lead_id,
        })
    }

    /// A new opportunity and its events, on a writable lead.
    pub fn insert_opportunity(opportunity: &Opportunity, events: &[NewEvent]) -> Self {
        Self::new()
            .require(Precondition::LeadWritable(opportunity.lead_id))
            .require(Precondition::OpportunityAbsent(opportunity.id))
            .write(Write::InsertOpportunity(Box::new(opportunity.clone())))
            .events(events)
    }

    /// A change of an opportunity read at `expected_version` (the write carries
    /// `expected_version + 1`, as for [`Changeset::update_lead`]).
    pub fn update_opportunity(expected_version: u64, write: &OpportunityWrite) -> Self {
        let id = write.opportunity.id;
        let mut c = Self::new().require(Precondition::OpportunityVersion {
            id,
            version: expected_version,
        });
        if write.lead_must_be_open {
            c = c.require(Precondition::OpportunityLeadWritable(id));
        }
        c.write(Write::UpdateOpportunity(Box::new(
            write.opportunity.clone(),
        )))
        .events(&write.events)
    }

    /// An import batch: its turns, then each lead write in row order with its key, then the
    /// notes.
    pub fn import(batch: &ImportBatch) -> Self {
        let mut c = Self::new();
        for t in &batch.turns {
            c = c
                .require(Precondition::TurnIs {
                    rule: t.rule.clone(),
                    after: t.after,
                })
                .write(Write::Turn {
                    rule: t.rule.clone(),
                    owner: t.owner,
                });
        }
        for w in &batch.writes {
            let lead = &w.write.lead;
            c = match w.expected_version {
                None => c
                    .require(Precondition::LeadAbsent(lead.id()))
                    .lead_rows(&w.write, true),
                Some(v) => c
                    .require(Precondition::LeadWritable(lead.id()))
                    .then(Self::update_lead(v, &w.write)),
            };
            if let Some(k) = &w.key {
                c = c
                    .require(Precondition::KeyFree(k.clone()))
                    .write(Write::ImportKey {
                        key: k.clone(),
                        lead: lead.id(),
                    });
            }
        }
        for (i, e) in &batch.notes {
            c = c.then(Self::interaction(i, std::slice::from_ref(e)));
        }
        c
    }

    /// A merge: both lead writes over the versions read, while `other` holds exactly the
    /// records decided on, then the records moved.
    pub fn merge(write: &MergeWrite) -> Self {
        let other = write.other_id();
        Self::new()
            .then(Self::update_lead(write.keep_version, &write.keep))
            .then(Self::update_lead(write.other_version, &write.other))
            .require(Precondition::HoldsExactly {
                lead: other,
                version: write.other_version,
                moved: write.moved.clone(),
            })
            .write(Write::MoveRecords {
                from: other,
                to: write.keep_id(),
            })
    }

    /// The client of a converted lead was created: its id stored, the pending record gone,
    /// `event` appended. Refused (as not found) when nothing was pending.
    pub fn client_created(lead: LeadId, client: &ClientId, event: &NewEvent) -> Self {
        Self::new()
            .require(Precondition::ClientPending(lead))
            .write(Write::ClientCreated {
                lead,
                client: client.clone(),
            })
            .write(Write::Event(event.clone()))
    }
}
