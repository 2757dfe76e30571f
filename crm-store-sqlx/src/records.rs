//! Interactions and opportunities, the records hanging off a lead: their statements and
//! values, the same on both backends.

use crm_core::{Interaction, Opportunity, OpportunityId, StoreError};

use crate::bind::{Binds, args};
use crate::db::Db;
use crate::rows::{self, opportunity_cols, to_i64};

/// Moves the lead's last interaction forward (never back), unless the interaction was
/// captured (`$4` = 1: the lead speaking, not a follow-up), and sets its next follow-up time
/// when the interaction gives one (`$3`).
pub(crate) const TOUCH_INTERACTION: &str = "UPDATE leads SET last_interaction_at = \
     CASE WHEN $4 = 0 AND (last_interaction_at IS NULL OR last_interaction_at < $1) THEN $1 \
     ELSE last_interaction_at END, \
     next_follow_up_at = COALESCE($3, next_follow_up_at) \
     WHERE id = $2";

pub(crate) const INSERT_INTERACTION: &str = "INSERT INTO interactions \
     (id, lead_id, kind, occurred_at, logged_by, logged_at, notes, next_follow_up_at, \
     captured_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const INSERT_OPPORTUNITY: &str = "INSERT INTO opportunities (id, title, value_minor, \
     currency, expected_close, stage, created_by, created_at, updated_at, version, lead_id, \
     probability) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Replaces the opportunity `$8` (its lead stays the stored one).
pub(crate) const UPDATE_OPPORTUNITY: &str = "UPDATE opportunities SET title = $1, \
     value_minor = $2, currency = $3, expected_close = $4, stage = $5, updated_at = $6, \
     version = $7, probability = $9 WHERE id = $8";

const GET_OPPORTUNITY: &str = concat!(
    "SELECT ",
    opportunity_cols!(),
    " FROM opportunities WHERE id = $1"
);

/// [`TOUCH_INTERACTION`]'s values.
pub(crate) fn touch(b: &mut impl Binds, i: &Interaction) {
    b.time(i.occurred_at)
        .uuid(i.lead_id.as_uuid())
        .opt_time(i.next_follow_up_at)
        .int(i64::from(i.captured_by.is_some()));
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
        .opt_time(i.next_follow_up_at)
        .opt_str(i.captured_by.as_ref().map(|c| c.as_str()));
}

/// [`INSERT_OPPORTUNITY`]'s values.
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

/// [`UPDATE_OPPORTUNITY`]'s values.
pub(crate) fn update(b: &mut impl Binds, o: &Opportunity) -> Result<(), StoreError> {
    b.str(o.title.as_str())
        .int(o.value.minor())
        .str(o.value.currency().code())
        .day(o.expected_close)
        .str(o.stage.as_str())
        .time(o.updated_at)
        .int(to_i64(o.version)?)
        .uuid(o.id.as_uuid())
        .opt_int(o.probability.map(|p| i64::from(p.percent())));
    Ok(())
}

/// The opportunity `id`, if there is one.
pub(crate) async fn get_opportunity<D: Db>(
    db: &mut D,
    id: OpportunityId,
) -> Result<Option<Opportunity>, StoreError> {
    db.one(
        GET_OPPORTUNITY,
        args(|a| {
            a.uuid(id.as_uuid());
        }),
    )
    .await?
    .map(|r| rows::opportunity(&r))
    .transpose()
}
