//! Interactions and opportunities, the records hanging off a lead: their statements and
//! values, the same on both backends. Inserting one also checks its lead (it must exist and
//! not be converted); how that is locked is each backend's own.

use crm_core::{Interaction, Opportunity, OpportunityId, OpportunityWrite, StoreError};

use crate::bind::Binds;
use crate::db::{Db, args};
use crate::rows::{self, opportunity_cols, to_i64};

/// Moves the lead's last interaction forward (never back), and sets its next follow-up time
/// when the interaction gives one (`$3`), unless the lead is converted.
pub(crate) const TOUCH_INTERACTION: &str = "UPDATE leads SET last_interaction_at = \
     CASE WHEN last_interaction_at IS NULL OR last_interaction_at < $1 THEN $1 \
     ELSE last_interaction_at END, \
     next_follow_up_at = COALESCE($3, next_follow_up_at) \
     WHERE id = $2 AND status <> 'converted' AND merged_into IS NULL";

pub(crate) const INSERT_INTERACTION: &str = "INSERT INTO interactions \
     (id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The insert of an opportunity while its lead (`$11`) exists and is not converted: no
/// separate read. A backend may append a locking clause.
macro_rules! insert_opportunity {
    () => {
        "INSERT INTO opportunities (id, lead_id, title, value_minor, currency, \
         expected_close, stage, created_by, created_at, updated_at, version, probability) \
         SELECT $1, id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12 FROM leads \
         WHERE id = $11 AND status <> 'converted' AND merged_into IS NULL"
    };
}
pub(crate) use insert_opportunity;

/// An update of an opportunity (`$8`) at a version (`$9`).
macro_rules! update_opportunity {
    () => {
        "UPDATE opportunities SET title = $1, value_minor = $2, currency = $3, \
         expected_close = $4, stage = $5, updated_at = $6, version = $7, probability = $10 \
         WHERE id = $8 AND version = $9"
    };
}
pub(crate) use update_opportunity;
pub(crate) const UPDATE_OPPORTUNITY: &str = update_opportunity!();

const GET_OPPORTUNITY: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE id = $1"
);

/// [`TOUCH_INTERACTION`]'s values.
pub(crate) fn touch(b: &mut impl Binds, i: &Interaction) {
    b.time(i.occurred_at)
        .uuid(i.lead_id.as_uuid())
        .opt_time(i.next_follow_up_at);
}

/// [`INSERT_INTERACTION`]'s values.
pub(crate) fn interaction(b: &mut impl Binds, i: &Interaction) {
    b.uuid(i.id.as_uuid())
        .uuid(i.lead_id.as_uuid())
        .str(i.kind.as_str())
        .time(i.occurred_at)
        .int(i.logged_by.get())
        .time(i.logged_at)
        .str(i.notes.as_str())
        .opt_time(i.next_follow_up_at);
}

/// [`insert_opportunity!`]'s values.
pub(crate) fn opportunity(b: &mut impl Binds, o: &Opportunity) -> Result<(), StoreError> {
    b.uuid(o.id.as_uuid())
        .str(o.title.as_str())
        .int(o.value.minor())
        .str(o.value.currency().code())
        .day(o.expected_close)
        .str(o.stage.as_str())
        .int(o.created_by.get())
        .time(o.created_at)
        .time(o.updated_at)
        .int(to_i64(o.version)?)
        .uuid(o.lead_id.as_uuid())
        .opt_int(o.probability.map(|p| i64::from(p.percent())));
    Ok(())
}

/// [`UPDATE_OPPORTUNITY`]'s values: the opportunity, written over version `expected`.
pub(crate) fn update(
    b: &mut impl Binds,
    expected: u64,
    w: &OpportunityWrite,
) -> Result<(), StoreError> {
    let o = &w.opportunity;
    b.str(o.title.as_str())
        .int(o.value.minor())
        .str(o.value.currency().code())
        .day(o.expected_close)
        .str(o.stage.as_str())
        .time(o.updated_at)
        .int(to_i64(o.version)?)
        .uuid(o.id.as_uuid())
        .int(to_i64(expected)?)
        .opt_int(o.probability.map(|p| i64::from(p.percent())));
    Ok(())
}

/// The opportunity `id`, if there is one.
pub(crate) async fn get_opportunity<D: Db>(
    db: &D,
    id: OpportunityId,
) -> Result<Option<Opportunity>, StoreError> {
    db.optional(
        GET_OPPORTUNITY,
        args::<D>(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?
    .map(|r| rows::opportunity(&r))
    .transpose()
}
