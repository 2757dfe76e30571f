//! Duplicate groups and merges, the same on both backends: the grouping queries (grouped
//! by the database, `GROUP BY ... HAVING COUNT(*) > 1`, then the members of those groups
//! read back) and the statements of a merge besides the two lead writes.

use std::collections::BTreeMap;

use crm_core::duplicates::DuplicateKind;
use crm_core::{DuplicateGroup, Lead, LeadId, MergeWrite, Scope, StoreError};

use crate::bind::{Binds, Encoding, Filter};
use crate::db::Db;
use crate::rows::{self, Cols, lead_cols};

/// Open leads not merged away: what duplicate groups are made of. "Open" is written as the
/// partial indexes' predicate says it (see `lead_writes::duplicate_probe!`).
const CANDIDATE: &str = "(status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND merged_into IS NULL";

const HEAD: &str = concat!("SELECT ", lead_cols!(), ", ");

/// The groups of `kinds` among the open leads in `scope`, as
/// [`crm_core::duplicates::duplicate_groups`] orders them.
pub(crate) async fn groups<D: Db>(
    db: &D,
    scope: &Scope,
    fuzzy: bool,
) -> Result<Vec<DuplicateGroup>, StoreError> {
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
        let mut b = D::Built::head(HEAD);
        // The key columns, the rows' filter, and the same filter inside the grouping.
        let (keys, present) = match kind {
            DuplicateKind::Email => ("email, email", "email IS NOT NULL"),
            DuplicateKind::Phone => ("phone, phone", "phone IS NOT NULL"),
            DuplicateKind::Name => (
                <D::Backend as Encoding>::NAME_COMPANY_KEYS,
                "company IS NOT NULL",
            ),
        };
        b.sql(keys)
            .sql(" FROM leads WHERE ")
            .sql(present)
            .sql(" AND ")
            .sql(CANDIDATE);
        crate::assignment::scope(&mut b, scope, "owner");
        b.sql(" AND (").sql(keys).sql(") IN (SELECT ").sql(keys);
        b.sql(" FROM leads WHERE ")
            .sql(present)
            .sql(" AND ")
            .sql(CANDIDATE);
        crate::assignment::scope(&mut b, scope, "owner");
        b.sql(" GROUP BY ").sql(keys).sql(" HAVING COUNT(*) > 1)");
        let mut by_key: BTreeMap<String, Vec<Lead>> = BTreeMap::new();
        for r in db.built(b).await? {
            let lead = rows::lead(&r)?;
            let at = rows::LEAD_COLS;
            let first = r.text(at).map_err(rows::corrupt("duplicate key"))?;
            let key = match kind {
                DuplicateKind::Name => {
                    let company = r.text(at + 1).map_err(rows::corrupt("duplicate key"))?;
                    format!("{first}\n{company}")
                }
                _ => first,
            };
            by_key.entry(key).or_default().push(lead);
        }
        for (key, mut leads) in by_key {
            leads.sort_by_key(|l| (l.created_at(), l.id()));
            out.push(DuplicateGroup { kind, key, leads });
        }
    }
    Ok(out)
}

/// Marks the lead merged away (`$2`) as merged into the lead kept (`$1`).
pub(crate) const SET_MERGED_INTO: &str =
    "UPDATE leads SET merged_into = $1 WHERE id = $2 AND merged_into IS NULL";
/// Leads merged into the lead merged away (`$2`) before now go to the lead kept (`$1`), so
/// every merged lead names a lead that is not merged.
pub(crate) const REPOINT_MERGED: &str = "UPDATE leads SET merged_into = $1 WHERE merged_into = $2";
pub(crate) const MOVE_INTERACTIONS: &str =
    "UPDATE interactions SET lead_id = $1 WHERE lead_id = $2";
pub(crate) const MOVE_OPPORTUNITIES: &str =
    "UPDATE opportunities SET lead_id = $1 WHERE lead_id = $2";
/// The lead kept (`$1`) takes the later last interaction time of the two: an interaction
/// does not move a lead's version, so the stored times are the ones to compare.
pub(crate) const LAST_INTERACTION: &str = "UPDATE leads SET last_interaction_at = \
     (SELECT MAX(l.last_interaction_at) FROM leads l WHERE l.id = $1 OR l.id = $2) \
     WHERE id = $1";

/// The statements above, in order, each with the values `(keep, other)`.
pub(crate) const AFTER_WRITES: [&str; 5] = [
    SET_MERGED_INTO,
    REPOINT_MERGED,
    MOVE_INTERACTIONS,
    MOVE_OPPORTUNITIES,
    LAST_INTERACTION,
];

/// The values of each of [`AFTER_WRITES`].
pub(crate) fn pair(b: &mut impl Binds, w: &MergeWrite) {
    b.uuid(w.keep_id().as_uuid()).uuid(w.other_id().as_uuid());
}

/// The interactions (`0`) and opportunities (`1`) the lead merged away (`$1`) holds, read
/// in the merge's transaction after both leads are locked (adding either locks the lead),
/// to compare with the records decided on ([`crm_core::Moved::is_exactly`]).
pub(crate) const RECORDS_OF: &str = "SELECT id, CAST(0 AS BIGINT) FROM interactions \
     WHERE lead_id = $1 \
     UNION ALL SELECT id, CAST(1 AS BIGINT) FROM opportunities WHERE lead_id = $1";

/// The same comparison as checks of a one-trip script, where nothing can be read before the
/// writes: the lead merged away (`$1`) does not hold `$2` interactions, or does not hold
/// the interaction `$1` (with the lead `$2`). With the count right and every decided record
/// there, the records are exactly the decided ones (ids are unique).
pub(crate) const INTERACTION_COUNT_DIFFERS: &str =
    "(SELECT COUNT(*) FROM interactions WHERE lead_id = $1) <> $2";
pub(crate) const INTERACTION_NOT_HELD: &str =
    "NOT EXISTS (SELECT 1 FROM interactions WHERE id = $1 AND lead_id = $2)";
/// [`INTERACTION_COUNT_DIFFERS`] and [`INTERACTION_NOT_HELD`] for opportunities.
pub(crate) const OPPORTUNITY_COUNT_DIFFERS: &str =
    "(SELECT COUNT(*) FROM opportunities WHERE lead_id = $1) <> $2";
pub(crate) const OPPORTUNITY_NOT_HELD: &str =
    "NOT EXISTS (SELECT 1 FROM opportunities WHERE id = $1 AND lead_id = $2)";

/// The lead `$1` is not at version `$2` (or is missing): a merge's check before its writes.
pub(crate) const NOT_AT_VERSION: &str =
    "NOT EXISTS (SELECT 1 FROM leads WHERE id = $1 AND version = $2)";

/// A lead's version, to explain a refused merge.
pub(crate) const LEAD_VERSION: &str = "SELECT version FROM leads WHERE id = $1";

/// Why a merge was refused, from each lead's stored version before the merge wrote anything
/// (`None`: no such lead), in the order `(keep, other)`. With both versions as decided, the
/// records of the lead merged away were not the decided ones: a conflict on that lead.
pub(crate) fn refused(w: &MergeWrite, stored: [Option<i64>; 2]) -> StoreError {
    let leads = [
        (w.keep_id(), w.keep_version, stored[0]),
        (w.other_id(), w.other_version, stored[1]),
    ];
    for (id, _, v) in leads {
        if v.is_none() {
            return crate::error::not_found(crm_core::Entity::Lead, id);
        }
    }
    let (id, expected) = leads
        .iter()
        .find(|(_, expected, v)| u64::try_from(v.unwrap_or(0)).ok() != Some(*expected))
        .map_or((w.other_id(), w.other_version), |(id, e, _)| (*id, *e));
    crate::error::conflict(crm_core::Entity::Lead, id, expected)
}

/// The ids of a merge, for a lock taken in a fixed order.
pub(crate) fn ids_sorted(w: &MergeWrite) -> [LeadId; 2] {
    let mut ids = [w.keep_id(), w.other_id()];
    ids.sort();
    ids
}

/// Whether the stored versions (`(keep, other)`) are the ones the merge was decided on.
pub(crate) fn at_versions(w: &MergeWrite, stored: [Option<i64>; 2]) -> bool {
    stored[0].and_then(|v| u64::try_from(v).ok()) == Some(w.keep_version)
        && stored[1].and_then(|v| u64::try_from(v).ok()) == Some(w.other_version)
}
