//! The conversion outbox (`pending_clients`): a converted lead waits there until the
//! clients system has its client. The statements are the same on both backends; claiming
//! (locking) and completing (one script, or a transaction) are each backend's own.

use chrono::{DateTime, Utc};
use crm_core::{LeadId, PendingClient, StoreError};

use crate::bind::Binds;
use crate::db::{Db, args};
use crate::rows::{self, pending_cols};

const PENDING_CLIENTS: &str = concat!(
    "SELECT ",
    pending_cols!(),
    " FROM pending_clients ORDER BY created_at, lead_id LIMIT $1"
);
/// Frees a pending client the caller still holds (claimed until `$2`).
const RELEASE_PENDING: &str =
    "UPDATE pending_clients SET claimed_until = NULL WHERE lead_id = $1 AND claimed_until = $2";
pub(crate) const DELETE_PENDING: &str = "DELETE FROM pending_clients WHERE lead_id = $1";
pub(crate) const SET_CLIENT: &str = "UPDATE leads SET client_id = $1 WHERE id = $2";
const CONVERSION_FAILED: &str = "UPDATE pending_clients SET attempts = attempts + 1, \
     last_error = $1, last_attempt_at = $2 WHERE lead_id = $3";

/// The pending clients, oldest conversion first.
pub(crate) async fn pending_clients<D: Db>(
    db: &D,
    limit: u32,
) -> Result<Vec<PendingClient>, StoreError> {
    db.all(
        PENDING_CLIENTS,
        args::<D>(|a| {
            a.int(i64::from(limit));
        }),
    )
    .await?
    .iter()
    .map(rows::pending_client)
    .collect()
}

/// Frees a pending client the caller still holds.
pub(crate) async fn release<D: Db>(
    db: &D,
    lead_id: LeadId,
    claimed_until: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.write(
        RELEASE_PENDING,
        args::<D>(|a| {
            a.uuid(lead_id.as_uuid()).time(claimed_until);
        }),
    )
    .await?;
    Ok(())
}

/// Counts a failed attempt to create the client.
pub(crate) async fn failed<D: Db>(
    db: &D,
    lead_id: LeadId,
    error: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.write(
        CONVERSION_FAILED,
        args::<D>(|a| {
            a.str(error).time(at).uuid(lead_id.as_uuid());
        }),
    )
    .await?;
    Ok(())
}
