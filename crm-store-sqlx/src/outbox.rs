//! The two outboxes, the same on both backends: the conversion outbox (`pending_clients`: a
//! converted lead waits there until the clients system has its client) and the follow-up
//! outbox (`follow_up_notices`). Their reads, and the statements of their writes; a claim
//! (one statement, locking its rows its backend's way) is each backend's own.

use chrono::{DateTime, Utc};
use crm_core::{OutboxEntry, OutboxKind, OutboxRead, StoreError};

use crate::bind::{Binds, args};
use crate::db::Db;
use crate::rows::{self, Cols, pending_cols};

/// Frees a pending client the caller still holds (claimed until `$2`).
pub(crate) const RELEASE_PENDING: &str =
    "UPDATE pending_clients SET claimed_until = NULL WHERE lead_id = $1 AND claimed_until = $2";
pub(crate) const DELETE_PENDING: &str = "DELETE FROM pending_clients WHERE lead_id = $1";
pub(crate) const SET_CLIENT: &str = "UPDATE leads SET client_id = $1 WHERE id = $2";
pub(crate) const CONVERSION_FAILED: &str = "UPDATE pending_clients SET attempts = attempts + 1, \
     last_error = $1, last_attempt_at = $2 WHERE lead_id = $3";

/// Pending clients free at `$2` (never claimed, or their claim ran out), oldest conversion
/// first, at most `$1`.
const CLIENTS: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients WHERE claimed_until IS NULL OR claimed_until <= $2 \
     ORDER BY created_at, lead_id LIMIT $1"
);
/// Notices free at `$2`, oldest first, at most `$1`.
const NOTICES: &str = "SELECT notice, claimed_until FROM follow_up_notices \
     WHERE claimed_until <= $2 ORDER BY id LIMIT $1";

/// The values of a read of either outbox, or of a claim (`$3`: until when).
pub(crate) fn values(b: &mut impl Binds, read: &OutboxRead) {
    // No time filter: every entry is free at the end of time.
    b.int(i64::from(read.limit))
        .time(read.due_at.unwrap_or(DateTime::<Utc>::MAX_UTC));
    if let Some(until) = read.claim_until {
        b.time(until);
    }
}

/// Reads an outbox without claiming.
pub(crate) async fn read<D: Db>(
    db: &mut D,
    read: &OutboxRead,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let sql = match read.kind {
        OutboxKind::FollowUps => NOTICES,
        OutboxKind::Clients => CLIENTS,
    };
    let found = db.all(sql, args(|a| values(a, read))).await?;
    entries(read.kind, &found)
}

/// Rows of the outbox `kind` (`notice, claimed_until` or [`pending_cols!`]) as entries, in
/// the outbox's order (a claim's `RETURNING` rows come in no set order).
pub(crate) fn entries(
    kind: OutboxKind,
    found: &[impl Cols],
) -> Result<Vec<OutboxEntry>, StoreError> {
    match kind {
        OutboxKind::FollowUps => {
            let mut notices = found
                .iter()
                .map(|r| {
                    let text = r
                        .text("notice")
                        .map_err(rows::corrupt("follow-up notice"))?;
                    let until = r
                        .ts("claimed_until")
                        .map_err(rows::corrupt("follow-up notice"))?;
                    Ok((rows::notice(&text)?, until))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            notices.sort_by_key(|(n, _)| n.id);
            Ok(notices
                .into_iter()
                .map(|(notice, claimed_until)| OutboxEntry::Notice {
                    notice,
                    claimed_until,
                })
                .collect())
        }
        OutboxKind::Clients => {
            let mut clients = found
                .iter()
                .map(rows::pending_client)
                .collect::<Result<Vec<_>, _>>()?;
            clients.sort_by_key(|p| (p.created_at, p.request.lead_id));
            Ok(clients.into_iter().map(OutboxEntry::Client).collect())
        }
    }
}
