//! Lead writes, the same on both backends: the statements (`$n` parameters) and their
//! values, and what a duplicate probe found. `crate::commit` runs them.

use crm_core::{ContactField, HistoryEntry, Lead, LeadId, PendingClient, StoreError};

use crate::bind::Binds;
use crate::rows::{self, Cols, json, to_i64};

pub(crate) const INSERT_LEAD: &str = "INSERT INTO leads (id, name, email, phone, company, \
     source, status, owner, created_by, created_at, updated_at, version, client_id, \
     lost_reason, last_interaction_at, follow_up_notified_at, search_text, phone_display, \
     lost_reason_code, next_follow_up_at, follow_up_reminded_for, owner_notified_at, \
     escalated_for, merged_into, counted_as, campaign) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26)";

/// The fields a lead write changes. `client_id`, `last_interaction_at` and the follow-up
/// marks (`follow_up_notified_at`, `follow_up_reminded_for`, `owner_notified_at`,
/// `escalated_for`) belong to their own operations and are not overwritten, so a concurrent
/// interaction or follow-up claim (which do not bump the version) is not lost. The version
/// was checked by the changeset's precondition before.
pub(crate) const UPDATE_LEAD: &str = "UPDATE leads SET name = $1, email = $2, phone = $3, \
     phone_display = $4, company = $5, source = $6, status = $7, owner = $8, \
     updated_at = $9, version = $10, lost_reason = $11, search_text = $12, \
     lost_reason_code = $13, next_follow_up_at = $14, merged_into = $15, counted_as = $16 \
     WHERE id = $17";

/// Ends the lead's (`$1`) current status period at `$2` (unix µs) and opens one in status
/// `$3`: the periods time in status is computed from.
pub(crate) const CLOSE_STATUS_PERIOD: &str = "UPDATE lead_status_periods SET left_us = $2 \
     WHERE lead_id = $1 AND left_us IS NULL";
pub(crate) const OPEN_STATUS_PERIOD: &str = "INSERT INTO lead_status_periods \
     (lead_id, entered_us, status) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// The oldest open lead (other than the one written) with the email (`$1`, tagged 0), and
/// with the phone (`$2`, tagged 1): both probes on the partial indexes `leads_open_email`
/// and `leads_open_phone`.
pub(crate) const DUPLICATE: &str = concat!(
    "SELECT CAST(0 AS BIGINT) AS probe, id FROM (SELECT id FROM leads WHERE email = $1 AND ",
    crate::open_lead!(),
    " AND id <> $3 ORDER BY created_at, id LIMIT 1) AS by_email \
     UNION ALL \
     SELECT CAST(1 AS BIGINT) AS probe, id FROM (SELECT id FROM leads WHERE phone = $2 AND ",
    crate::open_lead!(),
    " AND id <> $3 ORDER BY created_at, id LIMIT 1) AS by_phone"
);

pub(crate) const INSERT_HISTORY: &str = "INSERT INTO lead_history \
     (lead_id, write_version, ord, version, at, actor, change) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const UPSERT_PENDING: &str = "INSERT INTO pending_clients \
     (lead_id, request, created_at, attempts, last_error, last_attempt_at, claimed_until) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (lead_id) DO UPDATE SET request = excluded.request, \
     created_at = excluded.created_at, attempts = excluded.attempts, \
     last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, \
     claimed_until = excluded.claimed_until";

/// The status period a history entry opens (`crm_core::time_in_status::status_entered`),
/// if it enters a status: lead, entry time (unix µs) and status.
pub(crate) struct StatusPeriod(uuid::Uuid, i64, &'static str);

impl StatusPeriod {
    pub(crate) fn of_entry(h: &HistoryEntry) -> Option<Self> {
        let (status, at) = crm_core::time_in_status::status_entered(std::slice::from_ref(h))?;
        Some(Self(
            h.lead_id.as_uuid(),
            at.timestamp_micros(),
            status.as_str(),
        ))
    }
    /// [`CLOSE_STATUS_PERIOD`]'s values.
    pub(crate) fn close(&self, b: &mut impl Binds) {
        b.uuid(self.0).int(self.1);
    }
    /// [`OPEN_STATUS_PERIOD`]'s values.
    pub(crate) fn open(&self, b: &mut impl Binds) {
        b.uuid(self.0).int(self.1).str(self.2);
    }
}

/// [`INSERT_LEAD`]'s values.
pub(crate) fn insert_lead(b: &mut impl Binds, lead: &Lead) -> Result<(), StoreError> {
    let r = lead.record();
    b.uuid(r.id.as_uuid())
        .str(r.name.as_str())
        .opt_str(r.email.as_ref().map(|e| e.as_str()))
        .opt_str(r.phone.as_ref().map(|p| p.as_str()))
        .opt_str(r.company.as_ref().map(|n| n.as_str()))
        .str(r.source.as_str())
        .str(r.status.as_str())
        .int(r.owner.get())
        .int(r.created_by.get())
        .time(r.created_at)
        .time(r.updated_at)
        .int(to_i64(r.version)?)
        .opt_str(r.client_id.as_ref().map(|c| -> &str { c.as_ref() }))
        .opt_str(r.lost_reason.as_ref().map(|n| n.as_str()))
        .opt_time(r.last_interaction_at)
        .opt_time(r.follow_up_notified_at)
        .str(&lead.search_text())
        .opt_str(r.phone.as_ref().map(|p| p.display()))
        .opt_str(r.lost_reason_code.as_ref().map(|c| c.as_str()))
        .opt_time(r.next_follow_up_at)
        .opt_time(r.follow_up_reminded_for)
        .opt_time(r.owner_notified_at)
        .opt_time(r.escalated_for)
        .opt_uuid(r.merged_into.map(|m| m.as_uuid()))
        .opt_str(counted(lead)?.as_deref())
        .opt_str(r.campaign.as_deref());
    Ok(())
}

/// [`UPDATE_LEAD`]'s values.
pub(crate) fn update_lead(b: &mut impl Binds, lead: &Lead) -> Result<(), StoreError> {
    let r = lead.record();
    b.str(r.name.as_str())
        .opt_str(r.email.as_ref().map(|e| e.as_str()))
        .opt_str(r.phone.as_ref().map(|p| p.as_str()))
        .opt_str(r.phone.as_ref().map(|p| p.display()))
        .opt_str(r.company.as_ref().map(|n| n.as_str()))
        .str(r.source.as_str())
        .str(r.status.as_str())
        .int(r.owner.get())
        .time(r.updated_at)
        .int(to_i64(r.version)?)
        .opt_str(r.lost_reason.as_ref().map(|n| n.as_str()))
        .str(&lead.search_text())
        .opt_str(r.lost_reason_code.as_ref().map(|c| c.as_str()))
        .opt_time(r.next_follow_up_at)
        .opt_uuid(r.merged_into.map(|m| m.as_uuid()))
        .opt_str(counted(lead)?.as_deref())
        .uuid(r.id.as_uuid());
    Ok(())
}

/// What the lead was counted as, as the `counted_as` column's JSON.
fn counted(lead: &Lead) -> Result<Option<String>, StoreError> {
    lead.counted_as().map(json).transpose()
}

/// [`DUPLICATE`]'s values.
pub(crate) fn duplicate(b: &mut impl Binds, lead: &Lead) {
    b.opt_str(lead.email().map(|e| e.as_str()))
        .opt_str(lead.phone().map(|p| p.as_str()))
        .uuid(lead.id().as_uuid());
}

/// [`INSERT_HISTORY`]'s values: entry number `ord` of the write that made `write_version`.
pub(crate) fn history(
    b: &mut impl Binds,
    write_version: i64,
    ord: i64,
    lead_id: LeadId,
    e: &HistoryEntry,
) -> Result<(), StoreError> {
    b.uuid(lead_id.as_uuid())
        .int(write_version)
        .int(ord)
        .int(to_i64(e.version)?)
        .time(e.at)
        .int(e.actor.get())
        .str(&json(&e.change)?);
    Ok(())
}

/// [`UPSERT_PENDING`]'s values.
pub(crate) fn pending(b: &mut impl Binds, p: &PendingClient) -> Result<(), StoreError> {
    b.uuid(p.request.lead_id.as_uuid())
        .str(&json(&p.request)?)
        .time(p.created_at)
        .int(i64::from(p.attempts))
        .opt_str(p.last_error.as_deref())
        .opt_time(p.last_attempt_at)
        .opt_time(p.claimed_until);
    Ok(())
}

/// What [`DUPLICATE`] found: `Duplicate` naming the oldest open lead with the email, else
/// with the phone; `None` when it found none.
pub(crate) fn duplicate_found(found: &[impl Cols]) -> Result<Option<StoreError>, StoreError> {
    let found = found
        .iter()
        .map(|row| {
            let probe = row.int("probe").map_err(rows::corrupt("duplicate probe"))?;
            let existing = row.uuid("id").map_err(rows::corrupt("lead id"))?;
            Ok((probe, LeadId::from_uuid(existing)))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(duplicate_among(found))
}

/// `Duplicate` naming the lead of the lowest probe (0: email, 1: phone) among `found`.
pub(crate) fn duplicate_among(
    found: impl IntoIterator<Item = (i64, LeadId)>,
) -> Option<StoreError> {
    let mut best: Option<(i64, LeadId)> = None;
    for (probe, existing) in found {
        if best.is_none_or(|(p, _)| probe < p) {
            best = Some((probe, existing));
        }
    }
    best.map(|(probe, existing)| StoreError::Duplicate {
        existing,
        field: if probe == 0 {
            ContactField::Email
        } else {
            ContactField::Phone
        },
    })
}
