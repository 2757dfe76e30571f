//! Duplicate groups and merges, the same on both backends: the grouping queries (grouped
//! by the database, `GROUP BY ... HAVING COUNT(*) > 1`, then the members of those groups
//! read back) and the statements of a merge besides the two lead writes.

use std::collections::BTreeMap;

use crm_core::duplicates::DuplicateKind;
use crm_core::{DuplicateGroup, Lead, Scope, StoreError};

use crate::bind::{Encoding, Filter};
use crate::db::Db;
use crate::rows::{self, Cols, lead_cols};

/// Open leads not merged away: what duplicate groups are made of.
const CANDIDATE: &str = crate::open_lead!();

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

/// Leads merged into the lead merged away (`$2`) before now go to the lead kept (`$1`), so
/// every merged lead names a lead that is not merged.
const REPOINT_MERGED: &str = "UPDATE leads SET merged_into = $1 WHERE merged_into = $2";
const MOVE_INTERACTIONS: &str = "UPDATE interactions SET lead_id = $1 WHERE lead_id = $2";
const MOVE_OPPORTUNITIES: &str = "UPDATE opportunities SET lead_id = $1 WHERE lead_id = $2";
/// The lead kept (`$1`) takes the later last interaction time of the two: an interaction
/// does not move a lead's version, so the stored times are the ones to compare.
const LAST_INTERACTION: &str = "UPDATE leads SET last_interaction_at = \
     (SELECT MAX(l.last_interaction_at) FROM leads l WHERE l.id = $1 OR l.id = $2) \
     WHERE id = $1";

/// The statements of `Write::MoveRecords`, in order, each with the values `(to, from)`.
pub(crate) const MOVE_RECORDS: [&str; 4] = [
    REPOINT_MERGED,
    MOVE_INTERACTIONS,
    MOVE_OPPORTUNITIES,
    LAST_INTERACTION,
];

/// The interactions (`0`) and opportunities (`1`) a lead (`$1`) holds, to compare with the
/// records a merge decided on ([`crm_core::Moved::is_exactly`]).
pub(crate) const RECORDS_OF: &str = "SELECT id, CAST(0 AS BIGINT) FROM interactions \
     WHERE lead_id = $1 \
     UNION ALL SELECT id, CAST(1 AS BIGINT) FROM opportunities WHERE lead_id = $1";
