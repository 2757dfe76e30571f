//! The event outbox: events are appended in the transaction of the write they describe,
//! read in sequence order, and acknowledged up to a watermark. Appending (its ordering
//! lock) is each backend's own; the rest is the same on both.

use crm_core::{Event, Scope, StoreError};

use crate::bind::{Binds, Built, args};
use crate::db::Db;
use crate::rows::{self, Cols, clamp_i64};

const PENDING_EVENTS: &str = "SELECT seq, id, at, lead_id, actor, kind FROM events \
     WHERE seq > $1 AND seq > (SELECT acked FROM event_ack WHERE id = 1) \
     ORDER BY seq LIMIT $2";
/// [`PENDING_EVENTS`] about the leads of some owners only (the owner filter and the rest
/// follow, built at run time): each event joined to its lead's current owner.
const PENDING_EVENTS_OF: &str = "SELECT e.seq, e.id, e.at, e.lead_id, e.actor, e.kind \
     FROM events e JOIN leads l ON l.id = e.lead_id \
     WHERE e.seq > (SELECT acked FROM event_ack WHERE id = 1)";
/// The watermark and the newest sequence number.
macro_rules! ack_state {
    () => {
        "SELECT acked, (SELECT COALESCE(MAX(seq), 0) FROM events) AS last FROM event_ack WHERE id = 1"
    };
}
pub(crate) use ack_state;
pub(crate) const SET_ACK: &str = "UPDATE event_ack SET acked = $1 WHERE id = 1";

/// Events after `after` and after the watermark about leads in `scope`, in sequence order.
pub(crate) async fn pending<D: Db>(
    db: &mut D,
    after: u64,
    limit: u32,
    scope: &Scope,
) -> Result<Vec<Event>, StoreError> {
    let found = if scope.owners().is_none() {
        db.all(
            PENDING_EVENTS,
            args(|a| {
                a.int(clamp_i64(after)).int(i64::from(limit));
            }),
        )
        .await?
    } else {
        let mut b = Built::head(PENDING_EVENTS_OF);
        b.sql(" AND e.seq > ").int(clamp_i64(after));
        crate::assignment::scope(&mut b, scope, "l.owner");
        b.sql(" ORDER BY e.seq LIMIT ").int(i64::from(limit));
        db.built(b).await?
    };
    found.iter().map(rows::event).collect()
}

/// Where an acknowledgement up to `up_to` moves the watermark, from the [`ack_state!`]
/// row: the new watermark and how many events it passes, or `None` when it stays.
pub(crate) fn next_ack(state: &impl Cols, up_to: u64) -> Result<Option<(i64, u64)>, StoreError> {
    let (acked, last) = (|| -> Result<(i64, i64), crm_core::BoxError> {
        Ok((state.int("acked")?, state.int("last")?))
    })()
    .map_err(rows::corrupt("event watermark"))?;
    let new = clamp_i64(up_to).min(last);
    if new <= acked {
        return Ok(None);
    }
    let passed = u64::try_from(new - acked).map_err(|e| StoreError::Backend(e.into()))?;
    Ok(Some((new, passed)))
}
