//! Lead scoring's tables, the same on both backends: the counts each decision changes in
//! its commit, each team's calibration, and the facts a score needs.

use std::collections::BTreeMap;

use crm_core::scoring::{Calibration, CountChange, Counted, Facts, Frequencies};
use crm_core::{Entity, LeadId, StoreError};

use crate::bind::{Binds, Built, args};
use crate::commit::Tx;
use crate::db::Db;
use crate::rows::{self, Cols, json, to_i64};

/// Adds a change to a count, created at zero when it is not stored yet.
const ADD_COUNT: &str = "INSERT INTO score_counts (team, field, value, won, lost) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (team, field, value) DO UPDATE \
     SET won = score_counts.won + excluded.won, lost = score_counts.lost + excluded.lost";

/// Counts a decided lead that was never counted, at the version it was read at, and moves
/// the version (see `Write::Count`).
const COUNT_LEAD: &str = "UPDATE leads SET counted_as = $1, version = version + 1 \
     WHERE id = $2 AND version = $3 AND counted_as IS NULL";

const SET_CALIBRATION: &str = "INSERT INTO score_calibrations (team, calibration) \
     VALUES ($1, $2) ON CONFLICT (team) DO UPDATE SET calibration = excluded.calibration";

const COUNTS: &str = "SELECT field, value, won, lost FROM score_counts WHERE team = $1";
const CALIBRATION: &str = "SELECT calibration FROM score_calibrations WHERE team = $1";

/// Each listed lead's interactions and opportunities, counted on their `lead_id` indexes.
const FACTS: &str = "SELECT l.id, \
       (SELECT COUNT(*) FROM interactions i WHERE i.lead_id = l.id) AS interactions, \
       (SELECT COUNT(*) FROM opportunities o WHERE o.lead_id = l.id) AS opportunities \
     FROM leads l WHERE l.id IN (";

/// [`crm_core::changeset::Write::ScoreCounts`].
pub(crate) async fn add_counts<T: Tx>(
    t: &mut T,
    changes: &[CountChange],
) -> Result<(), StoreError> {
    for c in changes {
        let a = args(|a| {
            a.str(&c.team)
                .str(&c.field)
                .str(&c.value)
                .int(c.won)
                .int(c.lost);
        });
        t.exec(ADD_COUNT, a).await?;
    }
    Ok(())
}

/// [`crm_core::changeset::Write::Count`]: a conflict when the lead is at another version or
/// counted already, not found when it is not stored.
pub(crate) async fn count_lead<T: Tx>(
    t: &mut T,
    lead: LeadId,
    version: u64,
    counted: &Counted,
) -> Result<(), StoreError> {
    let (counted, at) = (json(counted)?, to_i64(version)?);
    let a = args(|a| {
        a.str(&counted).uuid(lead.as_uuid()).int(at);
    });
    if t.exec(COUNT_LEAD, a).await? == 1 {
        return Ok(());
    }
    let found = t.one(crate::reads::GET_LEAD, crate::bind::id_arg(lead.as_uuid()));
    Err(match found.await? {
        None => StoreError::NotFound {
            entity: Entity::Lead,
            id: lead.to_string(),
        },
        Some(_) => StoreError::Conflict {
            entity: Entity::Lead,
            id: lead.to_string(),
            expected: version,
        },
    })
}

/// [`crm_core::changeset::Write::Calibration`].
pub(crate) async fn set_calibration<T: Tx>(
    t: &mut T,
    team: &str,
    calibration: &Calibration,
) -> Result<(), StoreError> {
    let calibration = json(calibration)?;
    let a = args(|a| {
        a.str(team).str(&calibration);
    });
    t.exec(SET_CALIBRATION, a).await?;
    Ok(())
}

/// A team's stored counts and calibration.
pub(crate) async fn frequencies<D: Db>(d: &mut D, team: &str) -> Result<Frequencies, StoreError> {
    let team_arg = || {
        args(|a| {
            a.str(team);
        })
    };
    let mut counts = Vec::new();
    for r in d.all(COUNTS, team_arg()).await? {
        counts.push(rows::parse("score count", || {
            Ok((
                r.text("field")?,
                r.text("value")?,
                r.int("won")?,
                r.int("lost")?,
            ))
        })?);
    }
    let calibration = match d.one(CALIBRATION, team_arg()).await? {
        Some(r) => rows::parse("score calibration", || {
            Ok(serde_json::from_str(&r.text("calibration")?)?)
        })?,
        None => Calibration::default(),
    };
    Ok(Frequencies::from_counts(counts, calibration))
}

/// The facts of each stored lead of `leads`.
pub(crate) async fn facts<D: Db>(
    d: &mut D,
    leads: &[LeadId],
) -> Result<BTreeMap<LeadId, Facts>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in leads.chunks(crate::bind::IN_LIST) {
        let mut b = Built::head(FACTS);
        b.list(chunk, |b, id| {
            b.uuid(id.as_uuid());
        });
        let read = |r: &D::Row| {
            Ok((
                LeadId::from_uuid(r.uuid("id")?),
                Facts {
                    interactions: u32::try_from(r.int("interactions")?).unwrap_or(u32::MAX),
                    has_opportunity: r.int("opportunities")? > 0,
                },
            ))
        };
        out.extend(d.read_built(b, "score facts", read).await?);
    }
    Ok(out)
}
