//! Stored stage probabilities, the same on both backends: one row per change in
//! `stage_probability_changes` (migration `..._stage_probabilities.sql`), the newest per
//! stage in force.

use crm_core::{EmployeeId, Probability, StageProbabilityChange, StoreError};

use crate::bind::{Args, Binds, args};
use crate::db::Db;
use crate::rows::{self, Cols};

/// The newest change of each stage (the index on `(stage, seq)` finds each).
const IN_FORCE: &str = "SELECT stage, probability, changed_by, changed_at \
     FROM stage_probability_changes c \
     WHERE seq = (SELECT MAX(seq) FROM stage_probability_changes n WHERE n.stage = c.stage)";
pub(crate) const INSERT: &str = "INSERT INTO stage_probability_changes \
     (stage, probability, changed_by, changed_at) VALUES ($1, $2, $3, $4)";
const HISTORY: &str = "SELECT stage, probability, changed_by, changed_at \
     FROM stage_probability_changes ORDER BY seq DESC LIMIT $1";

/// A change row: stage, probability, changed_by, changed_at.
pub(crate) fn change(r: &impl Cols) -> Result<StageProbabilityChange, StoreError> {
    rows::parse("stage probability", || {
        Ok(StageProbabilityChange {
            stage: r.text("stage")?.parse()?,
            probability: Probability::new(u8::try_from(r.int("probability")?)?)?,
            changed_by: EmployeeId::new(r.int("changed_by")?)?,
            changed_at: r.ts("changed_at")?,
        })
    })
}

pub(crate) async fn in_force<D: Db>(db: &mut D) -> Result<Vec<StageProbabilityChange>, StoreError> {
    db.all(IN_FORCE, Args::default())
        .await?
        .iter()
        .map(change)
        .collect()
}

/// [`INSERT`]'s values.
pub(crate) fn values(b: &mut impl Binds, c: &StageProbabilityChange) {
    b.str(c.stage.as_str())
        .int(i64::from(c.probability.percent()))
        .int(c.changed_by.get())
        .time(c.changed_at);
}

pub(crate) async fn history<D: Db>(
    db: &mut D,
    limit: u32,
) -> Result<Vec<StageProbabilityChange>, StoreError> {
    db.all(
        HISTORY,
        args(|a| {
            a.int(i64::from(limit));
        }),
    )
    .await?
    .iter()
    .map(change)
    .collect()
}
