//! The writes of a commit: one plain statement (or a few) per [`Write`].

use crm_core::changeset::{Precondition, Write};
use crm_core::{Change, Entity, HistoryEntry, StoreError};

use super::require::lead_state;
use super::{HistoryRow, Stored, Tx, exec, id_arg};
use crate::bind::{Args, Binds, args};
use crate::error::{conflict, not_found};
use crate::lead_writes as lw;
use crate::rows;
use crate::{duplicates, events, follow_up, outbox, records};

const INSERT_KEY: &str = "INSERT INTO import_keys (key, lead_id) VALUES ($1, $2)";
const SET_TURN: &str = "INSERT INTO assignment_rotations (rule, last_owner) VALUES ($1, $2) \
     ON CONFLICT (rule) DO UPDATE SET last_owner = excluded.last_owner";
const PUT_NOTICE: &str = "INSERT INTO follow_up_notices (id, lead_id, notice, claimed_until) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET notice = excluded.notice, \
     claimed_until = excluded.claimed_until";

/// Ends the lead's current status period and opens the one the history entry `h` enters.
pub(super) async fn status_period<T: Tx>(t: &mut T, h: &HistoryEntry) -> Result<(), StoreError> {
    let Some(p) = lw::StatusPeriod::of_entry(h) else {
        return Ok(());
    };
    // A lead's first period has none before it to end.
    if !matches!(h.change, Change::Created { .. }) {
        t.exec(lw::CLOSE_STATUS_PERIOD, args(|a| p.close(a)))
            .await?;
    }
    t.exec(lw::OPEN_STATUS_PERIOD, args(|a| p.open(a))).await?;
    Ok(())
}

/// Appends history rows one statement each (a backend may batch them).
pub(crate) async fn insert_history<T: Tx>(
    t: &mut T,
    rows: &[HistoryRow<'_>],
) -> Result<(), StoreError> {
    for r in rows {
        let mut a = Args::default();
        lw::history(&mut a, r.write_version, r.ord, r.entry.lead_id, r.entry)?;
        exec(t, lw::INSERT_HISTORY, a, || r.taken()).await?;
    }
    Ok(())
}

/// Applies one write (events and history have their own paths in [`run`]).
pub(super) async fn write<T: Tx>(
    t: &mut T,
    w: &Write,
    stored: &mut Stored,
) -> Result<(), StoreError> {
    match w {
        Write::InsertLead(lead) => {
            let mut a = Args::default();
            lw::insert_lead(&mut a, lead)?;
            exec(t, lw::INSERT_LEAD, a, || {
                conflict(Entity::Lead, lead.id(), 0)
            })
            .await?;
            stored.leads.insert(lead.id());
        }
        Write::UpdateLead(lead) => {
            let mut a = Args::default();
            lw::update_lead(&mut a, lead)?;
            require_changed(t.exec(lw::UPDATE_LEAD, a).await?, Entity::Lead, lead.id())?;
        }
        Write::PendingClient(p) => {
            let mut a = Args::default();
            lw::pending(&mut a, p)?;
            t.exec(lw::UPSERT_PENDING, a).await?;
        }
        Write::Interaction(i) => {
            let a = args(|a| records::touch(a, i));
            require_changed(
                t.exec(records::TOUCH_INTERACTION, a).await?,
                Entity::Lead,
                i.lead_id,
            )?;
            let a = args(|a| records::interaction(a, i));
            exec(t, records::INSERT_INTERACTION, a, || {
                conflict(Entity::Interaction, i.id, 0)
            })
            .await?;
        }
        Write::InsertOpportunity(o) => {
            let mut a = Args::default();
            records::opportunity(&mut a, o)?;
            exec(t, records::INSERT_OPPORTUNITY, a, || {
                conflict(Entity::Opportunity, o.id, 0)
            })
            .await?;
        }
        Write::UpdateOpportunity(o) => {
            let mut a = Args::default();
            records::update(&mut a, o)?;
            let updated = t.exec(records::UPDATE_OPPORTUNITY, a).await?;
            require_changed(updated, Entity::Opportunity, o.id)?;
        }
        Write::Turn { rule, owner } => {
            let a = args(|a| {
                a.str(rule).int(owner.get());
            });
            t.exec(SET_TURN, a).await?;
        }
        Write::ImportKey { key, lead } => {
            let a = args(|a| {
                a.str(key.as_str()).uuid(lead.as_uuid());
            });
            exec(t, INSERT_KEY, a, || {
                Precondition::KeyFree(key.clone()).refusal(true)
            })
            .await?;
            stored.keys.insert(key.as_str().to_owned());
        }
        Write::StageProbability(c) => {
            let a = args(|a| crate::stage_probabilities::values(a, c));
            t.exec(crate::stage_probabilities::INSERT, a).await?;
        }
        Write::MoveRecords { from, to } => {
            for id in [from, to] {
                if lead_state(t, *id).await?.is_none() {
                    return Err(not_found(Entity::Lead, id));
                }
            }
            for sql in duplicates::MOVE_RECORDS {
                let a = args(|a| {
                    a.uuid(to.as_uuid()).uuid(from.as_uuid());
                });
                t.exec(sql, a).await?;
            }
        }
        Write::FollowUpMarks(lead) => {
            let a = args(|a| follow_up::mark(a, lead.record()));
            require_changed(
                t.exec(follow_up::MARK_LEAD, a).await?,
                Entity::Lead,
                lead.id(),
            )?;
        }
        Write::Notice {
            notice,
            claimed_until,
        } => {
            let json = rows::json(notice.as_ref())?;
            let a = args(|a| {
                a.uuid(notice.id.as_uuid())
                    .uuid(notice.lead_id.as_uuid())
                    .str(&json)
                    .time(*claimed_until);
            });
            t.exec(PUT_NOTICE, a).await?;
        }
        // `commit::run` gathers runs of these into one `drop_notices`.
        Write::DropNotice(id) => t.drop_notices(&[id.as_uuid()]).await?,
        Write::ReleaseNotice {
            id,
            claimed_until,
            error,
            at,
        } => {
            let a = args(|a| follow_up::release(a, *id, *claimed_until, error.as_deref(), *at));
            t.exec(follow_up::RELEASE_NOTICE, a).await?;
        }
        Write::ReleaseClient {
            lead,
            claimed_until,
        } => {
            let a = args(|a| {
                a.uuid(lead.as_uuid()).time(*claimed_until);
            });
            t.exec(outbox::RELEASE_PENDING, a).await?;
        }
        Write::ClientFailed { lead, error, at } => {
            let a = args(|a| {
                a.str(error).time(*at).uuid(lead.as_uuid());
            });
            t.exec(outbox::CONVERSION_FAILED, a).await?;
        }
        Write::ClientCreated { lead, client } => {
            t.exec(outbox::DELETE_PENDING, id_arg(lead.as_uuid()))
                .await?;
            let a = args(|a| {
                a.str(client.as_ref()).uuid(lead.as_uuid());
            });
            require_changed(t.exec(outbox::SET_CLIENT, a).await?, Entity::Lead, lead)?;
        }
        Write::ScoreCounts(changes) => crate::scoring::add_counts(t, changes).await?,
        Write::Count {
            lead,
            version,
            counted,
        } => crate::scoring::count_lead(t, *lead, *version, counted).await?,
        Write::Calibration { team, calibration } => {
            crate::scoring::set_calibration(t, team, calibration).await?;
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
pub(super) async fn ack_events<T: Tx>(t: &mut T, up_to: u64) -> Result<u64, StoreError> {
    let state = t.all(T::ACK_STATE, Args::default()).await?;
    let row = state
        .first()
        .ok_or_else(|| StoreError::Backend("the event watermark row is missing".into()))?;
    let Some((new, passed)) = events::next_ack(row, up_to)? else {
        return Ok(0);
    };
    let a = args(|a| {
        a.int(new);
    });
    t.exec(events::SET_ACK, a).await?;
    Ok(passed)
}
