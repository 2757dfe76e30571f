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
use crm_core::{
    BoxError, Change, Entity, HistoryEntry, InteractionId, Lead, LeadId, NewEvent, OpportunityId,
    StoreError,
};

use crate::bind::Binds;
use crate::error::{conflict, db, is_unique_violation, not_found, status_of};
use crate::lead_writes as lw;
use crate::rows::{self, Cols, to_i64};
use crate::{duplicates, events, follow_up, outbox, records};

/// An open write transaction of one backend.
pub(crate) trait Tx: Send {
    /// A statement's arguments.
    type Args: Binds + Default + Send;
    /// A result row.
    type Row: Cols + Send;

    /// `version, status, merged_into, last_interaction_at, next_follow_up_at,
    /// follow_up_notified_at, follow_up_reminded_for, owner_notified_at, escalated_for` of
    /// the lead `$1`, kept from concurrent writers until the commit.
    const LEAD_STATE: &'static str;
    /// `version` of the opportunity `$1`, kept from concurrent writers until the commit.
    const OPPORTUNITY_VERSION: &'static str;
    /// `id, status, merged_into` of the lead of the opportunity `$1`, kept from a concurrent
    /// conversion or merge until the commit.
    const OPPORTUNITY_LEAD: &'static str;
    /// `last_owner` of the assignment rule `$1`.
    const LAST_TURN: &'static str;
    /// Whether a client is pending for the lead `$1`, kept until the commit.
    const CLIENT_PENDING: &'static str;
    /// The event watermark and the newest event (`events::ack_state!`), kept until the
    /// commit.
    const ACK_STATE: &'static str;

    /// Runs `sql`: how many rows it changed.
    fn exec(
        &mut self,
        sql: &'static str,
        args: Self::Args,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Every row `sql` returns.
    fn all(
        &mut self,
        sql: &'static str,
        args: Self::Args,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// Holds off, until the commit, every writer that checks the same contact data or takes
    /// the same assignment turn (`keys`, sorted): taken before anything else, so two commits
    /// never wait on each other's keys in opposite orders.
    fn lock_keys(&mut self, keys: &[i64]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps the stored leads `ids` (sorted) from concurrent writers until the commit, in this
    /// order, before the preconditions read them one by one: two commits that both name the
    /// same leads (two merges of one pair) then wait for each other instead of deadlocking.
    fn lock_leads(&mut self, ids: &[LeadId])
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes, in one order, whatever the inserts of `created` lock row by row in an order of
    /// their own (PostgreSQL's report count rows), after the keys: two concurrent commits
    /// creating several leads then wait for each other instead of deadlocking.
    fn lock_counts(
        &mut self,
        created: &[&Lead],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The leads among `ids` that are stored.
    fn stored_leads(
        &mut self,
        ids: &[LeadId],
    ) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;

    /// The import keys among `keys` that are stored.
    fn stored_keys(
        &mut self,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Appends `rows` to the lead history (nothing a precondition reads, so a commit appends
    /// them after its other writes).
    fn append_history(
        &mut self,
        rows: &[HistoryRow<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends `events` in this order, numbered after every event committed before.
    fn append_events(
        &mut self,
        events: &[&NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    for (i, step) in changes.steps.iter().enumerate() {
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
struct Stored {
    leads: HashSet<LeadId>,
    keys: HashSet<String>,
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
        Ok(Self {
            leads: t.stored_leads(&leads).await?.into_iter().collect(),
            keys: t.stored_keys(&keys).await?.into_iter().collect(),
        })
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

fn args<T: Tx>(f: impl FnOnce(&mut T::Args)) -> T::Args {
    let mut a = T::Args::default();
    f(&mut a);
    a
}

fn id_arg<T: Tx>(id: uuid::Uuid) -> T::Args {
    args::<T>(|a| {
        a.uuid(id);
    })
}

async fn all<T: Tx>(t: &mut T, sql: &'static str, a: T::Args) -> Result<Vec<T::Row>, StoreError> {
    t.all(sql, a).await.map_err(db)
}

/// Runs a write; a taken unique key is `taken`.
async fn exec<T: Tx>(
    t: &mut T,
    sql: &'static str,
    a: T::Args,
    taken: impl FnOnce() -> StoreError,
) -> Result<u64, StoreError> {
    t.exec(sql, a).await.map_err(|e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            db(e)
        }
    })
}

async fn exec_plain<T: Tx>(t: &mut T, sql: &'static str, a: T::Args) -> Result<u64, StoreError> {
    t.exec(sql, a).await.map_err(db)
}

/// A lead as a precondition reads it ([`Tx::LEAD_STATE`]).
struct LeadState {
    version: i64,
    read_only: bool,
    /// `last_interaction_at`, `next_follow_up_at` and the four follow-up marks, in unix µs.
    follow_up: [Option<i64>; 6],
}

async fn lead_state<T: Tx>(t: &mut T, id: LeadId) -> Result<Option<LeadState>, StoreError> {
    let found = all(t, T::LEAD_STATE, id_arg::<T>(id.as_uuid())).await?;
    let Some(r) = found.first() else {
        return Ok(None);
    };
    let read = || -> Result<_, BoxError> {
        let mut follow_up = [None; 6];
        for (slot, col) in follow_up.iter_mut().zip(3..) {
            *slot = r.opt_ts(col)?.map(|t| t.timestamp_micros());
        }
        Ok((r.int(0)?, r.text(1)?, r.opt_uuid(2)?, follow_up))
    };
    let (version, status, merged_into, follow_up) = read().map_err(rows::corrupt("lead"))?;
    Ok(Some(LeadState {
        version,
        read_only: merged_into.is_some() || status_of(&status)?.is_read_only(),
        follow_up,
    }))
}

fn follow_up_state(lead: &Lead) -> [Option<i64>; 6] {
    let r = lead.record();
    [
        r.last_interaction_at,
        r.next_follow_up_at,
        r.follow_up_notified_at,
        r.follow_up_reminded_for,
        r.owner_notified_at,
        r.escalated_for,
    ]
    .map(|t| t.map(|t| t.timestamp_micros()))
}

fn at_version(version: i64, expected: u64) -> bool {
    u64::try_from(version).ok() == Some(expected)
}

/// Checks `p` against the state the steps before it left.
async fn require<T: Tx>(t: &mut T, p: &Precondition, stored: &Stored) -> Result<(), StoreError> {
    let found = match p {
        Precondition::LeadAbsent(id) => Some(!stored.leads.contains(id)),
        Precondition::LeadVersion { id, version } => lead_state(t, *id)
            .await?
            .map(|s| at_version(s.version, *version)),
        Precondition::LeadWritable(id) => lead_state(t, *id).await?.map(|s| !s.read_only),
        Precondition::FollowUpState(lead) => lead_state(t, lead.id())
            .await?
            .map(|s| at_version(s.version, lead.version()) && s.follow_up == follow_up_state(lead)),
        Precondition::NoDuplicateOf(lead) => {
            let found = all(t, lw::DUPLICATE, args::<T>(|a| lw::duplicate(a, lead))).await?;
            return match lw::duplicate_found(&found)? {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        Precondition::OpportunityAbsent(id) => {
            let found = all(t, T::OPPORTUNITY_VERSION, id_arg::<T>(id.as_uuid())).await?;
            Some(found.is_empty())
        }
        Precondition::OpportunityVersion { id, version } => {
            let found = all(t, T::OPPORTUNITY_VERSION, id_arg::<T>(id.as_uuid())).await?;
            found
                .first()
                .map(|r| r.int(0).map_err(rows::corrupt("opportunity version")))
                .transpose()?
                .map(|v| at_version(v, *version))
        }
        Precondition::OpportunityLeadWritable(id) => {
            return opportunity_lead_writable(t, *id).await;
        }
        Precondition::TurnIs { rule, after } => {
            let found = all(
                t,
                T::LAST_TURN,
                args::<T>(|a| {
                    a.str(rule);
                }),
            )
            .await?;
            let last = found
                .first()
                .map(|r| r.int(0).map_err(rows::corrupt("assignment rotation")))
                .transpose()?;
            Some(last == after.map(|a| a.get()))
        }
        Precondition::KeyFree(key) => Some(!stored.keys.contains(key.as_str())),
        Precondition::HoldsExactly { lead, moved, .. } => {
            if lead_state(t, *lead).await?.is_none() {
                return Err(p.refusal(false));
            }
            let held = all(t, duplicates::RECORDS_OF, id_arg::<T>(lead.as_uuid())).await?;
            let (mut interactions, mut opportunities) = (Vec::new(), Vec::new());
            for r in &held {
                let read = || -> Result<_, BoxError> { Ok((r.uuid(0)?, r.int(1)?)) };
                match read().map_err(rows::corrupt("merged record"))? {
                    (id, 0) => interactions.push(InteractionId::from_uuid(id)),
                    (id, _) => opportunities.push(OpportunityId::from_uuid(id)),
                }
            }
            Some(moved.is_exactly(interactions, opportunities))
        }
        Precondition::ClientPending(lead) => {
            let found = all(t, T::CLIENT_PENDING, id_arg::<T>(lead.as_uuid())).await?;
            Some(!found.is_empty())
        }
    };
    match found {
        Some(true) => Ok(()),
        Some(false) => Err(p.refusal(true)),
        None => Err(p.refusal(false)),
    }
}

/// [`Precondition::OpportunityLeadWritable`]: `ReadOnly` naming the opportunity's lead when
/// that lead is converted or merged.
async fn opportunity_lead_writable<T: Tx>(t: &mut T, id: OpportunityId) -> Result<(), StoreError> {
    let found = all(t, T::OPPORTUNITY_LEAD, id_arg::<T>(id.as_uuid())).await?;
    let Some(r) = found.first() else {
        return Err(Precondition::OpportunityLeadWritable(id).refusal(false));
    };
    let read = || -> Result<_, BoxError> { Ok((r.uuid(0)?, r.text(1)?, r.opt_uuid(2)?)) };
    let (lead, status, merged_into) = read().map_err(rows::corrupt("lead"))?;
    let lead = LeadId::from_uuid(lead);
    if merged_into.is_some() || status_of(&status)?.is_read_only() {
        return Err(StoreError::ReadOnly { lead });
    }
    Ok(())
}

const INSERT_KEY: &str = "INSERT INTO import_keys (key, lead_id) VALUES ($1, $2)";
const SET_TURN: &str = "INSERT INTO assignment_rotations (rule, last_owner) VALUES ($1, $2) \
     ON CONFLICT (rule) DO UPDATE SET last_owner = excluded.last_owner";
const PUT_NOTICE: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET notice = excluded.notice, \
     claimed_until = excluded.claimed_until";

/// A history entry, and the status period it opens when it is the one that does.
/// Ends the lead's current status period and opens the one the history entry `h` enters.
async fn status_period<T: Tx>(t: &mut T, h: &HistoryEntry) -> Result<(), StoreError> {
    let Some(p) = lw::StatusPeriod::of_entry(h) else {
        return Ok(());
    };
    // A lead's first period has none before it to end.
    if !matches!(h.change, Change::Created { .. }) {
        exec_plain(t, lw::CLOSE_STATUS_PERIOD, args::<T>(|a| p.close(a))).await?;
    }
    exec_plain(t, lw::OPEN_STATUS_PERIOD, args::<T>(|a| p.open(a))).await?;
    Ok(())
}

/// Appends history rows one statement each (a backend may batch them).
pub(crate) async fn insert_history<T: Tx>(
    t: &mut T,
    rows: &[HistoryRow<'_>],
) -> Result<(), StoreError> {
    for r in rows {
        let mut a = T::Args::default();
        lw::history(&mut a, r.write_version, r.ord, r.entry.lead_id, r.entry)?;
        exec(t, lw::INSERT_HISTORY, a, || r.taken()).await?;
    }
    Ok(())
}

/// Applies one write (events and history have their own paths in [`run`]).
async fn write<T: Tx>(t: &mut T, w: &Write, stored: &mut Stored) -> Result<(), StoreError> {
    match w {
        Write::InsertLead(lead) => {
            let mut a = T::Args::default();
            lw::insert_lead(&mut a, lead)?;
            exec(t, lw::INSERT_LEAD, a, || {
                conflict(Entity::Lead, lead.id(), 0)
            })
            .await?;
            stored.leads.insert(lead.id());
        }
        Write::UpdateLead(lead) => {
            let mut a = T::Args::default();
            lw::update_lead(&mut a, lead)?;
            require_changed(
                exec_plain(t, lw::UPDATE_LEAD, a).await?,
                Entity::Lead,
                lead.id(),
            )?;
        }
        Write::PendingClient(p) => {
            let mut a = T::Args::default();
            lw::pending(&mut a, p)?;
            exec_plain(t, lw::UPSERT_PENDING, a).await?;
        }
        Write::Interaction(i) => {
            let a = args::<T>(|a| records::touch(a, i));
            require_changed(
                exec_plain(t, records::TOUCH_INTERACTION, a).await?,
                Entity::Lead,
                i.lead_id,
            )?;
            let a = args::<T>(|a| records::interaction(a, i));
            exec(t, records::INSERT_INTERACTION, a, || {
                conflict(Entity::Interaction, i.id, 0)
            })
            .await?;
        }
        Write::InsertOpportunity(o) => {
            let mut a = T::Args::default();
            records::opportunity(&mut a, o)?;
            exec(t, records::INSERT_OPPORTUNITY, a, || {
                conflict(Entity::Opportunity, o.id, 0)
            })
            .await?;
        }
        Write::UpdateOpportunity(o) => {
            let mut a = T::Args::default();
            records::update(&mut a, o)?;
            let updated = exec_plain(t, records::UPDATE_OPPORTUNITY, a).await?;
            require_changed(updated, Entity::Opportunity, o.id)?;
        }
        Write::Turn { rule, owner } => {
            let a = args::<T>(|a| {
                a.str(rule).int(owner.get());
            });
            exec_plain(t, SET_TURN, a).await?;
        }
        Write::ImportKey { key, lead } => {
            let a = args::<T>(|a| {
                a.str(key.as_str()).uuid(lead.as_uuid());
            });
            exec(t, INSERT_KEY, a, || {
                Precondition::KeyFree(key.clone()).refusal(true)
            })
            .await?;
            stored.keys.insert(key.as_str().to_owned());
        }
        Write::StageProbability(c) => {
            let a = args::<T>(|a| crate::stage_probabilities::values(a, c));
            exec_plain(t, crate::stage_probabilities::INSERT, a).await?;
        }
        Write::MoveRecords { from, to } => {
            for id in [from, to] {
                if lead_state(t, *id).await?.is_none() {
                    return Err(not_found(Entity::Lead, id));
                }
            }
            for sql in duplicates::MOVE_RECORDS {
                let a = args::<T>(|a| {
                    a.uuid(to.as_uuid()).uuid(from.as_uuid());
                });
                exec_plain(t, sql, a).await?;
            }
        }
        Write::FollowUpMarks(lead) => {
            let a = args::<T>(|a| follow_up::mark(a, lead.record()));
            require_changed(
                exec_plain(t, follow_up::MARK_LEAD, a).await?,
                Entity::Lead,
                lead.id(),
            )?;
        }
        Write::Notice {
            notice,
            claimed_until,
        } => {
            let json = rows::json(notice.as_ref())?;
            let a = args::<T>(|a| {
                a.uuid(notice.id.as_uuid())
                    .uuid(notice.lead_id.as_uuid())
                    .str(&json)
                    .time(*claimed_until);
            });
            exec_plain(t, PUT_NOTICE, a).await?;
        }
        Write::DropNotice(id) => {
            exec_plain(t, follow_up::DELETE_NOTICE, id_arg::<T>(id.as_uuid())).await?;
        }
        Write::ReleaseNotice {
            id,
            claimed_until,
            error,
            at,
        } => {
            let a =
                args::<T>(|a| follow_up::release(a, *id, *claimed_until, error.as_deref(), *at));
            exec_plain(t, follow_up::RELEASE_NOTICE, a).await?;
        }
        Write::ReleaseClient {
            lead,
            claimed_until,
        } => {
            let a = args::<T>(|a| {
                a.uuid(lead.as_uuid()).time(*claimed_until);
            });
            exec_plain(t, outbox::RELEASE_PENDING, a).await?;
        }
        Write::ClientFailed { lead, error, at } => {
            let a = args::<T>(|a| {
                a.str(error).time(*at).uuid(lead.as_uuid());
            });
            exec_plain(t, outbox::CONVERSION_FAILED, a).await?;
        }
        Write::ClientCreated { lead, client } => {
            exec_plain(t, outbox::DELETE_PENDING, id_arg::<T>(lead.as_uuid())).await?;
            let a = args::<T>(|a| {
                a.str(client.as_ref()).uuid(lead.as_uuid());
            });
            require_changed(
                exec_plain(t, outbox::SET_CLIENT, a).await?,
                Entity::Lead,
                lead,
            )?;
        }
        // Run by `run` itself.
        Write::History(_) | Write::Event(_) | Write::AckEvents(_) => {}
    }
    Ok(())
}

/// `NotFound` when a write on a stored record changed no row: the record is not stored (the
/// changesets of `StoreWrites` check a precondition first; a hand-built one may not).
fn require_changed(changed: u64, entity: Entity, id: impl ToString) -> Result<(), StoreError> {
    if changed == 0 {
        return Err(not_found(entity, id));
    }
    Ok(())
}

/// Moves the event watermark up to `up_to` (never past the newest event); how many events
/// it passed.
async fn ack_events<T: Tx>(t: &mut T, up_to: u64) -> Result<u64, StoreError> {
    let state = all(t, T::ACK_STATE, T::Args::default()).await?;
    let row = state
        .first()
        .ok_or_else(|| StoreError::Backend("the event watermark row is missing".into()))?;
    let Some((new, passed)) = events::next_ack(row, up_to)? else {
        return Ok(0);
    };
    let a = args::<T>(|a| {
        a.int(new);
    });
    exec_plain(t, events::SET_ACK, a).await?;
    Ok(passed)
}
