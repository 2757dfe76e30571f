//! Visibility scopes and the assignment rules' state, the same on both backends: the owner
//! filter every scoped read appends, the open leads per owner (least-open), and the rotation
//! each rule keeps (`assignment_rotations`, migration `..._teams_and_assignment.sql`).

use std::collections::{BTreeMap, BTreeSet};

use crm_core::{EmployeeId, Scope, StoreError};

use crate::bind::{Binds, Built, args};
use crate::db::Db;
use crate::rows::{self, Cols};

pub(crate) const LAST_TURN: &str = "SELECT last_owner FROM assignment_rotations WHERE rule = $1";
const OPEN_BY_OWNER: &str = concat!(
    "SELECT owner, COUNT(*) AS n FROM leads WHERE ",
    crate::open_lead!()
);

/// Appends ` AND <owner> IN (...)` for `scope` (nothing for every lead; a condition that
/// holds for no row for an empty scope), so the database filters, and pages stay full.
pub(crate) fn scope(b: &mut Built, scope: &Scope, owner: &'static str) {
    let Some(owners) = scope.owners() else {
        return;
    };
    if owners.is_empty() {
        b.sql(" AND 1 = 0");
        return;
    }
    b.sql(" AND ").sql(owner).sql(" IN (").list(owners, |b, o| {
        b.int(o.get());
    });
}

pub(crate) async fn last_turn<D: Db>(
    db: &mut D,
    rule: &str,
) -> Result<Option<EmployeeId>, StoreError> {
    let Some(row) = db
        .one(
            LAST_TURN,
            args(|a| {
                a.str(rule);
            }),
        )
        .await?
    else {
        return Ok(None);
    };
    rows::parse("assignment rotation", || {
        Ok(Some(EmployeeId::new(row.int("last_owner")?)?))
    })
}

pub(crate) async fn open_by_owner<D: Db>(
    db: &mut D,
    owners: &BTreeSet<EmployeeId>,
) -> Result<BTreeMap<EmployeeId, u64>, StoreError> {
    let mut b = Built::head(OPEN_BY_OWNER);
    scope(&mut b, &Scope::Owners(owners.clone()), "owner");
    b.sql(" GROUP BY owner");
    let counts = db
        .read_built(b, "open leads by owner", |r| {
            Ok((
                EmployeeId::new(r.int("owner")?)?,
                u64::try_from(r.int("n")?)?,
            ))
        })
        .await?;
    Ok(counts.into_iter().collect())
}
