//! When is a lead a duplicate: another *open* lead (`new`, `contacted` or `interested`) has
//! the same normalised email, or the same phone key (E.164 plus extension, see
//! [`crate::Phone`]). The lead named is the oldest such lead by `(created_at, id)`, looked for
//! by email first, then by phone. A lead is never its own duplicate; closed leads (converted,
//! lost) never block.
//!
//! [`find_duplicate`] is the reference: the memory store calls it, and the SQL stores' probes
//! are tested against it.

use crate::contact::{Email, Phone};
use crate::error::ContactField;
use crate::ids::LeadId;
use crate::lead::Lead;

/// The open lead that `lead` duplicates, and the field that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateOf {
    /// The oldest open lead with the same contact data.
    pub existing: LeadId,
    /// Which field matched.
    pub field: ContactField,
}

/// Whether `other` can block `lead` as its duplicate on `field` (ignoring age).
pub fn blocks(lead: &Lead, other: &Lead, field: ContactField) -> bool {
    find_duplicate_of(
        lead.email().filter(|_| field == ContactField::Email),
        lead.phone().filter(|_| field == ContactField::Phone),
        Some(lead.id()),
        [other],
    )
    .is_some()
}

/// The duplicate of `lead` among `others` (any leads, in any order; `lead` itself may be among
/// them), or `None`.
pub fn find_duplicate<'a>(
    lead: &Lead,
    others: impl IntoIterator<Item = &'a Lead> + Clone,
) -> Option<DuplicateOf> {
    find_duplicate_of(lead.email(), lead.phone(), Some(lead.id()), others)
}

/// The duplicate, among `others`, of contact data not yet a lead (an imported row): the
/// oldest open lead with `email`, else with `phone`, leaving out the lead `except` (the one
/// being written, if any). [`find_duplicate`] is this for a lead.
pub fn find_duplicate_of<'a>(
    email: Option<&Email>,
    phone: Option<&Phone>,
    except: Option<LeadId>,
    others: impl IntoIterator<Item = &'a Lead> + Clone,
) -> Option<DuplicateOf> {
    let blocks = |other: &Lead, field: ContactField| {
        if Some(other.id()) == except || !other.status().is_open() {
            return false;
        }
        match field {
            ContactField::Email => email.is_some_and(|e| other.email() == Some(e)),
            ContactField::Phone => {
                phone.is_some_and(|p| other.phone().is_some_and(|o| o.as_str() == p.as_str()))
            }
        }
    };
    [ContactField::Email, ContactField::Phone]
        .into_iter()
        .find_map(|field| {
            others
                .clone()
                .into_iter()
                .filter(|o| blocks(o, field))
                .min_by_key(|o| (o.created_at(), o.id()))
                .map(|o| DuplicateOf {
                    existing: o.id(),
                    field,
                })
        })
}
