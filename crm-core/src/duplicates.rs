//! When is a lead a duplicate: another *open* lead (`new`, `contacted` or `interested`) has
//! the same normalised email, or the same phone key (E.164 plus extension, see
//! [`crate::Phone`]). The lead named is the oldest such lead by `(created_at, id)`, looked for
//! by email first, then by phone. A lead is never its own duplicate; closed leads (converted,
//! lost) never block.
//!
//! [`find_duplicate`] is the reference: the memory store calls it, and the SQL stores' probes
//! are tested against it.

use crate::contact::{Email, Phone};
use serde::{Deserialize, Serialize};

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
        if Some(other.id()) == except || !other.is_open() {
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

/// What the leads of a [`DuplicateGroup`] share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKind {
    /// The normalised email.
    Email,
    /// The phone key (E.164 plus extension).
    Phone,
    /// The name under [`crate::text::search_key`] (Arabic spelling variants folded), within
    /// the same company under the same folding (the `--fuzzy` check).
    Name,
}

impl DuplicateKind {
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateKind::Email => "email",
            DuplicateKind::Phone => "phone",
            DuplicateKind::Name => "name",
        }
    }
}

impl std::fmt::Display for DuplicateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Open leads that share one email, one phone, or (fuzzy) one folded name within one
/// folded company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// What they share.
    pub kind: DuplicateKind,
    /// The shared value: the email, the phone key, or the folded name and the folded
    /// company joined by a line break.
    pub key: String,
    /// Two or more leads, oldest `(created_at, id)` first: the first is the natural one to
    /// keep.
    pub leads: Vec<Lead>,
}

/// The key a lead is grouped under for `kind`, if it has one: only open leads (not merged)
/// have keys; the name key needs a company.
pub fn group_key(lead: &Lead, kind: DuplicateKind) -> Option<String> {
    if !lead.is_open() {
        return None;
    }
    match kind {
        DuplicateKind::Email => lead.email().map(|e| e.as_str().to_owned()),
        DuplicateKind::Phone => lead.phone().map(|p| p.as_str().to_owned()),
        DuplicateKind::Name => lead.company().map(|c| {
            format!(
                "{}\n{}",
                crate::text::search_key(lead.name().as_str()),
                crate::text::search_key(c.as_str())
            )
        }),
    }
}

/// The duplicate groups among `leads` (any order, each lead once): email groups, then phone
/// groups, then, when `fuzzy`, name groups; within a kind by key (byte order), each group's
/// leads oldest first. A lead may be in several groups (its email and its phone). This is
/// the reference the stores' grouping queries are tested against.
pub fn duplicate_groups<'a>(
    leads: impl IntoIterator<Item = &'a Lead>,
    fuzzy: bool,
) -> Vec<DuplicateGroup> {
    let leads: Vec<&Lead> = leads.into_iter().collect();
    let kinds: &[DuplicateKind] = if fuzzy {
        &[
            DuplicateKind::Email,
            DuplicateKind::Phone,
            DuplicateKind::Name,
        ]
    } else {
        &[DuplicateKind::Email, DuplicateKind::Phone]
    };
    let mut out = Vec::new();
    for &kind in kinds {
        let mut by_key: std::collections::BTreeMap<String, Vec<Lead>> = Default::default();
        for l in &leads {
            if let Some(k) = group_key(l, kind) {
                by_key.entry(k).or_default().push((*l).clone());
            }
        }
        for (key, mut group) in by_key {
            if group.len() > 1 {
                group.sort_by_key(|l| (l.created_at(), l.id()));
                out.push(DuplicateGroup {
                    kind,
                    key,
                    leads: group,
                });
            }
        }
    }
    out
}
