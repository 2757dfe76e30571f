//! [`crm_core::LeadStore::commit`], the same on both backends: the changeset's steps in
//! order inside one transaction the backend opened ([`Tx`]), one ordinary statement (or a
//! few) per step, each precondition read by a `SELECT` and decided here in Rust.
//!
//! What differs per backend is [`Tx`]'s: how it runs a statement, how it locks what a
//! precondition read until the commit (PostgreSQL row locks and advisory locks; SQLite
//! needs none, its writers take turns), and how it numbers appended events.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use crm_core::changeset::{Changeset, Committed, Precondition, Step, Write};
use crm_core::{Entity, HistoryEntry, Lead, LeadId, NewEvent, StoreError};

mod require;
mod write;

use require::require;
pub(crate) use write::insert_history;
use write::{ack_events, status_period, write};

pub(super) use crate::bind::id_arg;
use crate::bind::{Args, Binds, Built};
use crate::db::Db;
use crate::error::conflict;
use crate::rows::{Cols, to_i64};

/// An open write transaction of one backend.
pub(crate) trait Tx: Db {
    /// `version, status, merged_into, last_interaction_at, next_follow_up_at,
    /// follow_up_notified_at, follow_up_reminded_for, owner_notified_at, escalated_for` of
    /// the lead `$1`, kept from concurrent writers until the commit.
    const LEAD_STATE: &'static str;
    /// `version` of the opportunity `$1`, kept from concurrent writers until the commit.
    const OPPORTUNITY_VERSION: &'static str;
    /// `id, status, merged_into` of the lead of the opportunity `$1`, kept from a concurrent
    /// conversion or merge until the commit.
    const OPPORTUNITY_LEAD: &'static str;
    /// Whether a client is pending for the lead `$1`, kept until the commit.
    const CLIENT_PENDING: &'static str;
    /// The event watermark and the newest event (`events::ack_state!`), kept until the
    /// commit.
    const ACK_STATE: &'static str;

    /// Holds off, until the commit, every writer that checks the same contact data or takes
    /// the same assignment turn (`keys`, sorted): taken before anything else, so two commits
    /// never wait on each other's keys in opposite orders.
    fn lock_keys(&mut self, keys: &[i64]) -> impl Future<Output = Result<(), StoreError>>;

    /// Keeps the stored leads `ids` (sorted) from concurrent writers until the commit, in this
    /// order, before the preconditions read them one by one: two commits that both name the
    /// same leads (two merges of one pair) then wait for each other instead of deadlocking.
    fn lock_leads(&mut self, ids: &[LeadId]) -> impl Future<Output = Result<(), StoreError>>;

    /// Takes, in one order, whatever the inserts of `created` lock row by row in an order of
    /// their own (PostgreSQL's report count rows), after the keys: two concurrent commits
    /// creating several leads then wait for each other instead of deadlocking.
    fn lock_counts(&mut self, created: &[&Lead]) -> impl Future<Output = Result<(), StoreError>>;

    /// Appends `rows` to the lead history (nothing a precondition reads, so a commit appends
    /// them after its other writes).
    fn append_history(
        &mut self,
        rows: &[HistoryRow<'_>],
    ) -> impl Future<Output = Result<(), StoreError>>;

    /// Deletes the follow-up notices `ids` (a run of [`Write::DropNotice`] steps: a
    /// delivered batch).
    fn drop_notices(&mut self, ids: &[uuid::Uuid]) -> impl Future<Output = Result<(), StoreError>>;

    /// Appends `events` in this order, numbered after every event committed before.
    fn append_events(
        &mut self,
        events: &[&NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>>;
}

/// Runs `changes` in the open transaction `t`; the caller commits on `Ok` and rolls back on
/// `Err`. Events are appended after the other writes (in their order): on PostgreSQL the
/// events lock is then held only for the end of the transaction.
pub(crate) async fn run<T: Tx>(t: &mut T, changes: &Changeset) -> Result<Committed, StoreError> {
    t.lock_keys(&lock_keys(changes)).await?;
    let leads = leads_read(changes);
    if leads.len() > 1 {
        t.lock_leads(&leads).await?;
    }
    let created: Vec<&Lead> = changes
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Write(Write::InsertLead(lead)) => Some(lead.as_ref()),
            _ => None,
        })
        .collect();
    if created.len() > 1 {
        t.lock_counts(&created).await?;
    }
    let mut done = Committed::default();
    let mut stored = Stored::read(t, changes).await?;
    let mut events: Vec<&NewEvent> = Vec::new();
    let mut history: Vec<HistoryRow> = Vec::new();
    let mut ords: HashMap<(LeadId, u64), i64> = HashMap::new();
    // A run of notice deletions (a delivered batch) is one statement, run before the step
    // that ends the run.
    let mut drops: Vec<uuid::Uuid> = Vec::new();
    for (i, step) in changes.steps.iter().enumerate() {
        if let Step::Write(Write::DropNotice(id)) = step {
            drops.push(id.as_uuid());
            continue;
        }
        if !drops.is_empty() {
            t.drop_notices(&drops).await?;
            drops.clear();
        }
        match step {
            Step::Require(p) => require(t, p, &stored).await?,
            Step::Write(Write::Event(e)) => events.push(e),
            Step::Write(Write::AckEvents(up_to)) => {
                t.append_events(&events).await?;
                events.clear();
                done.events_acked += ack_events(t, *up_to).await?;
            }
            Step::Write(Write::History(h)) => {
                let ord = ords.entry((h.lead_id, h.version)).or_insert(0);
                history.push(HistoryRow {
                    write_version: to_i64(h.version)?,
                    ord: *ord,
                    entry: h,
                });
                *ord += 1;
                if opens_period(&changes.steps, i) {
                    status_period(t, h).await?;
                }
            }
            Step::Write(w) => write(t, w, &mut stored).await?,
        }
    }
    if !drops.is_empty() {
        t.drop_notices(&drops).await?;
    }
    t.append_history(&history).await?;
    t.append_events(&events).await?;
    Ok(done)
}

/// A history entry as stored: entry `ord` of the write that made `write_version`.
pub(crate) struct HistoryRow<'a> {
    pub(crate) write_version: i64,
    pub(crate) ord: i64,
    pub(crate) entry: &'a HistoryEntry,
}

impl HistoryRow<'_> {
    /// A taken history key: another write made this version of the lead first.
    pub(crate) fn taken(&self) -> StoreError {
        let e = self.entry;
        conflict(Entity::Lead, e.lead_id, e.version.saturating_sub(1))
    }
}

/// Which of the leads and import keys that the changeset's `LeadAbsent` and `KeyFree` ask
/// about are stored: read once before the steps (one statement, not one per row of an import
/// batch), then kept up to date with what the steps store themselves. A concurrent writer
/// of the same id or key loses at its insert: the unique key refuses it with the same error
/// the precondition names.
pub(super) struct Stored {
    pub(super) leads: HashSet<LeadId>,
    pub(super) keys: HashSet<String>,
}

impl Stored {
    async fn read<T: Tx>(t: &mut T, changes: &Changeset) -> Result<Self, StoreError> {
        let (mut leads, mut keys) = (Vec::new(), Vec::new());
        for step in &changes.steps {
            match step {
                Step::Require(Precondition::LeadAbsent(id)) => leads.push(*id),
                Step::Require(Precondition::KeyFree(key)) => keys.push(key.as_str()),
                _ => {}
            }
        }
        let mut stored = Self {
            leads: HashSet::new(),
            keys: HashSet::new(),
        };
        for chunk in leads.chunks(crate::bind::IN_LIST) {
            let mut b = Built::head("SELECT id FROM leads WHERE id IN (");
            b.list(chunk, |b, id| {
                b.uuid(id.as_uuid());
            });
            let found = t.read_built(b, "lead id", |r| r.uuid("id")).await?;
            stored
                .leads
                .extend(found.into_iter().map(LeadId::from_uuid));
        }
        for chunk in keys.chunks(crate::bind::IN_LIST) {
            let mut b = Built::head("SELECT key FROM import_keys WHERE key IN (");
            b.list(chunk, |b, k| {
                b.str(k);
            });
            stored
                .keys
                .extend(t.read_built(b, "import key", |r| r.text("key")).await?);
        }
        Ok(stored)
    }
}

/// A stable 64-bit key (FNV-1a) of one value for an advisory lock.
pub(crate) fn lock_key(field: &str, value: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in field.bytes().chain([0]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// The keys of the contact data the changeset checks for duplicates and of the turns it
/// relies on, sorted.
fn lock_keys(changes: &Changeset) -> Vec<i64> {
    let mut keys = Vec::new();
    for step in &changes.steps {
        match step {
            Step::Require(Precondition::NoDuplicateOf(lead)) => {
                keys.extend(lead.email().map(|e| lock_key("email", e.as_str())));
                keys.extend(lead.phone().map(|p| lock_key("phone", p.as_str())));
            }
            Step::Require(Precondition::TurnIs { rule, .. }) => keys.push(lock_key("turn", rule)),
            _ => {}
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The stored leads the changeset's preconditions read, sorted.
fn leads_read(changes: &Changeset) -> Vec<LeadId> {
    let mut ids: Vec<LeadId> = changes
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Require(
                Precondition::LeadVersion { id, .. } | Precondition::LeadWritable(id),
            ) => Some(*id),
            Step::Require(Precondition::FollowUpState(lead)) => Some(lead.id()),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether the history entry at `at` is the last one of its lead's run of entries that
/// enters a status: the one that opens the lead's next status period
/// (`crm_core::time_in_status::status_entered`).
fn opens_period(steps: &[Step], at: usize) -> bool {
    let Some(Step::Write(Write::History(h))) = steps.get(at) else {
        return false;
    };
    if crm_core::time_in_status::status_entered(std::slice::from_ref(h)).is_none() {
        return false;
    }
    !steps[at + 1..]
        .iter()
        .map_while(|s| match s {
            Step::Write(Write::History(next)) if next.lead_id == h.lead_id => Some(next),
            _ => None,
        })
        .any(|next| crm_core::time_in_status::status_entered(std::slice::from_ref(next)).is_some())
}

/// Runs a write; a taken unique key is `taken`.
pub(super) async fn exec<T: Tx>(
    t: &mut T,
    sql: &'static str,
    a: Args,
    taken: impl FnOnce() -> StoreError,
) -> Result<u64, StoreError> {
    t.exec(sql, a)
        .await
        .map_err(|f| if f.unique { taken() } else { f.error })
}
