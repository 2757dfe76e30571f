//! The preconditions of a commit: each a read checked here, in Rust, against the state the
//! steps before it left, refused as [`Precondition::refusal`] says (the duplicate and the
//! read-only lead of an opportunity named by the store itself).

use crm_core::{ContactField, Entity, Lead, LeadId, LeadStatus, Precondition, StoreError};
use rusqlite::{Row, Transaction, named_params};
use uuid::Uuid;

use super::commit::{int, not_found};
use super::read::{all, one, opt_us, parse};

const LEAD_STATE: &str = "SELECT version, status, merged_into FROM leads WHERE id = :id";
/// The lead is still as read where a follow-up claim looks (`IS`: NULL equals NULL).
const SAME_FOLLOW_UP_STATE: &str = "SELECT 1 FROM leads WHERE id = :id AND version = :version \
     AND last_interaction_at IS :last AND next_follow_up_at IS :next \
     AND follow_up_notified_at IS :notified AND follow_up_reminded_for IS :reminded \
     AND owner_notified_at IS :owner_notified AND escalated_for IS :escalated";
/// The oldest open lead other than `:id` with the email; then the same with the phone key.
/// Both on the partial indexes `leads_open_email` and `leads_open_phone`, whose predicate
/// ("open" as three comparisons) they repeat.
const DUPLICATE_EMAIL: &str = "SELECT id FROM leads WHERE email = :email \
     AND (status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND merged_into IS NULL AND id <> :id ORDER BY created_at, id LIMIT 1";
const DUPLICATE_PHONE: &str = "SELECT id FROM leads WHERE phone = :phone \
     AND (status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND merged_into IS NULL AND id <> :id ORDER BY created_at, id LIMIT 1";
const OPPORTUNITY_STATE: &str = "SELECT o.version, o.lead_id, l.status, l.merged_into, \
     l.id IS NOT NULL AS lead_found \
     FROM opportunities o LEFT JOIN leads l ON l.id = o.lead_id WHERE o.id = :id";
const TURN: &str = "SELECT last_owner FROM assignment_rotations WHERE rule = :rule";
const KEY_STORED: &str = "SELECT 1 FROM import_keys WHERE key = :key";
const INTERACTIONS_OF: &str = "SELECT id FROM interactions WHERE lead_id = :lead";
const OPPORTUNITIES_OF: &str = "SELECT id FROM opportunities WHERE lead_id = :lead";
const CLIENT_PENDING: &str = "SELECT 1 FROM pending_clients WHERE lead_id = :lead";

/// A lead's version and whether it is read-only (converted, or merged into another).
fn lead_state(tx: &Transaction, id: LeadId) -> Result<Option<(u64, bool)>, StoreError> {
    one(tx, LEAD_STATE, named_params! {":id": id.as_uuid()}, |r| {
        parse("lead", || {
            let status: LeadStatus = r.get::<_, String>("status")?.parse()?;
            let merged: Option<Uuid> = r.get("merged_into")?;
            let version = u64::try_from(r.get::<_, i64>("version")?)?;
            Ok((version, status.is_read_only() || merged.is_some()))
        })
    })
}

/// Checks `p` against the state as the steps so far left it.
pub(super) fn require(tx: &Transaction, p: &Precondition) -> Result<(), StoreError> {
    let id_of = |r: &Row<'_>| parse("id", || Ok(r.get::<_, Uuid>("id")?));
    let found = |sql, params: &[(&str, &dyn rusqlite::ToSql)]| -> Result<bool, StoreError> {
        Ok(one(tx, sql, params, |_| Ok(()))?.is_some())
    };
    let (holds, found) = match p {
        Precondition::LeadAbsent(id) => {
            let state = lead_state(tx, *id)?;
            (state.is_none(), state.is_some())
        }
        Precondition::LeadVersion { id, version } => match lead_state(tx, *id)? {
            Some((v, _)) => (v == *version, true),
            None => (false, false),
        },
        Precondition::LeadWritable(id) => match lead_state(tx, *id)? {
            Some((_, read_only)) => (!read_only, true),
            None => (false, false),
        },
        Precondition::FollowUpState(lead) => {
            let r = lead.record();
            let p = named_params! {
                ":id": r.id.as_uuid(),
                ":version": int(r.version)?,
                ":last": opt_us(r.last_interaction_at),
                ":next": opt_us(r.next_follow_up_at),
                ":notified": opt_us(r.follow_up_notified_at),
                ":reminded": opt_us(r.follow_up_reminded_for),
                ":owner_notified": opt_us(r.owner_notified_at),
                ":escalated": opt_us(r.escalated_for),
            };
            let same = found(SAME_FOLLOW_UP_STATE, p)?;
            (same, same || lead_state(tx, r.id)?.is_some())
        }
        Precondition::NoDuplicateOf(lead) => return no_duplicate_of(tx, lead),
        Precondition::OpportunityAbsent(id) => {
            let f = found(OPPORTUNITY_STATE, named_params! {":id": id.as_uuid()})?;
            (!f, f)
        }
        Precondition::OpportunityVersion { id, version } => {
            let params = named_params! {":id": id.as_uuid()};
            let stored = one(tx, OPPORTUNITY_STATE, params, |r| {
                parse("opportunity", || {
                    Ok(u64::try_from(r.get::<_, i64>("version")?)?)
                })
            })?;
            (stored == Some(*version), stored.is_some())
        }
        Precondition::OpportunityLeadWritable(id) => {
            let params = named_params! {":id": id.as_uuid()};
            let stored = one(tx, OPPORTUNITY_STATE, params, |r| {
                parse("opportunity", || {
                    let lead = LeadId::from_uuid(r.get("lead_id")?);
                    let status: Option<String> = r.get("status")?;
                    let merged: Option<Uuid> = r.get("merged_into")?;
                    let status = status.map(|s| s.parse::<LeadStatus>()).transpose()?;
                    let read_only =
                        status.is_some_and(LeadStatus::is_read_only) || merged.is_some();
                    Ok((lead, r.get::<_, bool>("lead_found")?, read_only))
                })
            })?;
            match stored {
                None => (false, false),
                Some((lead, false, _)) => return Err(not_found(Entity::Lead, lead)),
                Some((lead, true, true)) => return Err(StoreError::ReadOnly { lead }),
                Some(_) => (true, true),
            }
        }
        Precondition::TurnIs { rule, after } => {
            let stored = one(tx, TURN, named_params! {":rule": rule}, |r| {
                parse("assignment rotation", || Ok(r.get::<_, i64>("last_owner")?))
            })?;
            (stored == after.map(|a| a.get()), true)
        }
        Precondition::KeyFree(key) => {
            let f = found(KEY_STORED, named_params! {":key": key.as_str()})?;
            (!f, f)
        }
        Precondition::HoldsExactly { lead, moved, .. } => {
            let params = named_params! {":lead": lead.as_uuid()};
            let interactions = all(tx, INTERACTIONS_OF, params, id_of)?;
            let opportunities = all(tx, OPPORTUNITIES_OF, params, id_of)?;
            let holds = moved.is_exactly(
                interactions
                    .into_iter()
                    .map(crm_core::InteractionId::from_uuid),
                opportunities
                    .into_iter()
                    .map(crm_core::OpportunityId::from_uuid),
            );
            (holds, holds || lead_state(tx, *lead)?.is_some())
        }
        Precondition::ClientPending(id) => {
            let f = found(CLIENT_PENDING, named_params! {":lead": id.as_uuid()})?;
            (f, f)
        }
    };
    if holds { Ok(()) } else { Err(p.refusal(found)) }
}

/// [`Precondition::NoDuplicateOf`]: the oldest other open lead with the email, else with
/// the phone key ([`crm_core::duplicates::find_duplicate`]).
fn no_duplicate_of(tx: &Transaction, lead: &Lead) -> Result<(), StoreError> {
    let id = lead.id().as_uuid();
    let existing = |r: &Row<'_>| parse("lead id", || Ok(LeadId::from_uuid(r.get("id")?)));
    if let Some(email) = lead.email() {
        let p = named_params! {":email": email.as_str(), ":id": id};
        if let Some(existing) = one(tx, DUPLICATE_EMAIL, p, existing)? {
            let field = ContactField::Email;
            return Err(StoreError::Duplicate { existing, field });
        }
    }
    if let Some(phone) = lead.phone() {
        let p = named_params! {":phone": phone.as_str(), ":id": id};
        if let Some(existing) = one(tx, DUPLICATE_PHONE, p, existing)? {
            let field = ContactField::Phone;
            return Err(StoreError::Duplicate { existing, field });
        }
    }
    Ok(())
}
