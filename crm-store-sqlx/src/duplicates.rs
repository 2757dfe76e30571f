//! Duplicate groups and merges, the same on both backends: the grouping queries (grouped
//! by the database, `GROUP BY ... HAVING COUNT(*) > 1`, then the members of those groups
//! read back) and the statements of a merge besides the two lead writes.

use crm_core::{DuplicateGroup, Scope, StoreError};

use crate::bind::Built;
use crate::db::Db;
use crate::rows::{self, lead_cols};

/// Open leads not merged away: what duplicate groups are made of.
const OPEN: &str = crate::open_lead!();

/// The open leads in `scope` that share a key with another, grouped by the core's own
/// [`crm_core::duplicates::duplicate_groups`] (same groups, same order): the database finds
/// the keys held more than once (`GROUP BY ... HAVING COUNT(*) > 1`, on the contact indexes)
/// and the leads that hold them.
pub(crate) async fn groups<D: Db>(
    db: &mut D,
    scope: &Scope,
    fuzzy: bool,
) -> Result<Vec<DuplicateGroup>, StoreError> {
    let mut b = Built::head(concat!("SELECT ", lead_cols!(), " FROM leads WHERE "));
    b.sql(OPEN);
    crate::assignment::scope(&mut b, scope, "owner");
    b.sql(" AND (email IN (SELECT email FROM leads WHERE email IS NOT NULL AND ")
        .sql(OPEN);
    crate::assignment::scope(&mut b, scope, "owner");
    b.sql(" GROUP BY email HAVING COUNT(*) > 1)")
        .sql(" OR phone IN (SELECT phone FROM leads WHERE phone IS NOT NULL AND ")
        .sql(OPEN);
    crate::assignment::scope(&mut b, scope, "owner");
    b.sql(" GROUP BY phone HAVING COUNT(*) > 1)");
    if fuzzy {
        // The folded name and company, as the index `leads_open_name_company` has them.
        let keys = D::NAME_COMPANY_KEYS;
        b.sql(" OR (company IS NOT NULL AND (")
            .sql(keys)
            .sql(") IN (SELECT ")
            .sql(keys)
            .sql(" FROM leads WHERE company IS NOT NULL AND ")
            .sql(OPEN);
        crate::assignment::scope(&mut b, scope, "owner");
        b.sql(" GROUP BY 1, 2 HAVING COUNT(*) > 1))");
    }
    b.sql(")");
    let leads = db
        .built(b)
        .await?
        .iter()
        .map(rows::lead)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crm_core::duplicates::duplicate_groups(leads.iter(), fuzzy))
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
pub(crate) const RECORDS_OF: &str = "SELECT id, CAST(0 AS BIGINT) AS kind FROM interactions \
     WHERE lead_id = $1 \
     UNION ALL SELECT id, CAST(1 AS BIGINT) AS kind FROM opportunities WHERE lead_id = $1";
