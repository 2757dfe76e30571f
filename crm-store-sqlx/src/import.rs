//! Import batches, the same on both backends: every lead of a batch inserted by multi-row
//! statements (the single-row statements of `lead_writes` and `records`, their `VALUES`
//! tuple repeated), checked, and the import keys stored, in one transaction the backend
//! opens. What differs (appending events, locking contact data) is [`ImportTx`]'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;

use crm_core::{
    Entity, HistoryEntry, ImportBatch, ImportKey, ImportLookup, Lead, LeadId, LeadWrite, NewEvent,
    StoreError,
};

use crate::bind::{Binds, Filter};
use crate::db::Db;
use crate::error::{conflict, db, is_unique_violation, not_found};
use crate::lead_writes as lw;
use crate::rows::{self, Cols, lead_cols, to_i64};
use crate::{assignment, records};

/// At most this many values in one statement (SQLite as bundled takes 250,000, PostgreSQL
/// 65,535): 1,300 leads of 23 columns.
const MAX_VALUES: usize = 30_000;
/// At most this many keys or contact values in one lookup.
const LOOKUP_CHUNK: usize = 1_000;

const KEYS_STORED: &str = "SELECT key, lead_id FROM import_keys WHERE key IN (";
const INSERT_KEY: &str = "INSERT INTO import_keys (key, lead_id) VALUES ($1, $2)";
const OPEN_BY_EMAIL: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE (status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND email IN ("
);
const OPEN_BY_PHONE: &str = concat!(
    "SELECT ",
    lead_cols!(),
    " FROM leads WHERE (status = 'new' OR status = 'contacted' OR status = 'interested') \
     AND phone IN ("
);
/// Of the leads named (`IN (...)` follows), one that another open lead duplicates: the
/// probes of `lead_writes::DUPLICATE`, on the same partial indexes, for a whole batch.
const DUPLICATED: &str = "SELECT b.id FROM leads b WHERE (\
     EXISTS (SELECT 1 FROM leads o WHERE o.email = b.email AND o.id <> b.id \
       AND (o.status = 'new' OR o.status = 'contacted' OR o.status = 'interested')) \
     OR EXISTS (SELECT 1 FROM leads o WHERE o.phone = b.phone AND o.id <> b.id \
       AND (o.status = 'new' OR o.status = 'contacted' OR o.status = 'interested'))) \
     AND b.id IN (";

/// A write transaction an import batch runs in.
pub(crate) trait ImportTx: Send {
    /// A statement's arguments.
    type Args: Binds + Default + Send;
    /// A result row.
    type Row: Cols + Send;
    /// Runs `sql`: how many rows it changed.
    fn exec(
        &mut self,
        sql: &str,
        args: Self::Args,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Every row `sql` returns.
    fn all(
        &mut self,
        sql: &str,
        args: Self::Args,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;
    /// Appends events in this order.
    fn append_events(
        &mut self,
        events: &[&NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Holds off concurrent writers of the same contact data until the transaction ends,
    /// before the duplicate checks of `leads`.
    fn lock_contacts(
        &mut self,
        leads: &[&Lead],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes, in one order, whatever the inserts of `created` lock row by row in an order of
    /// their own (PostgreSQL's report count rows), after the contact locks: two concurrent
    /// batches then wait for each other instead of deadlocking.
    fn lock_counts(
        &mut self,
        created: &[&Lead],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The open leads with one of `emails` (normalised) or `phones` (phone keys): how a backend
/// finds them is its own (PostgreSQL's plan must not depend on statistics a fresh table
/// does not have yet).
pub(crate) trait OpenLookup: Db {
    /// The open leads with one of `emails` or `phones`, each once.
    fn open_with_contacts(
        &self,
        emails: &[String],
        phones: &[String],
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
}

/// `single` (an `INSERT ... VALUES ($1, ..., $k) tail` statement) with its tuple repeated
/// for `rows` rows, parameters numbered on; `None` if `single` has no `VALUES` tuple.
pub(crate) fn multi_row(single: &str, rows: usize) -> Option<String> {
    let (head, rest) = single.split_once(" VALUES (")?;
    let (tuple, tail) = rest.split_once(')')?;
    let cols = tuple.matches('$').count();
    Some(tuples(&format!("{head} VALUES "), cols, rows, tail))
}

/// `head` then `rows` tuples of `cols` parameters each, then `tail`.
pub(crate) fn tuples(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let mut s = String::with_capacity(head.len() + tail.len() + rows * cols * 7);
    s.push_str(head);
    let mut n = 0;
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            n += 1;
            // Writing to a String cannot fail.
            let _ = write!(s, "{}${n}", if c == 0 { "" } else { ", " });
        }
        s.push(')');
    }
    s.push_str(tail);
    s
}

/// `head` (ending in `IN (`) with `n` parameters and the closing parenthesis.
fn in_list(head: &str, n: usize) -> String {
    numbered_list(head, 1, n)
}

/// `head` (ending in `IN (`) with `n` parameters numbered from `$first`, and the closing
/// parenthesis.
pub(crate) fn numbered_list(head: &str, first: usize, n: usize) -> String {
    let mut s = String::from(head);
    for i in first..first + n {
        // Writing to a String cannot fail.
        let _ = write!(s, "{}${i}", if i == first { "" } else { ", " });
    }
    s.push(')');
    s
}

/// How many rows of `cols` values fit one statement.
pub(crate) fn per_statement(cols: usize) -> usize {
    (MAX_VALUES / cols.max(1)).max(1)
}

fn no_tuple(sql: &str) -> StoreError {
    StoreError::Backend(format!("not a one-row insert: {sql}").into())
}

/// Runs `single` for every item of `items` as multi-row statements, binding each with `bind`.
async fn insert_all<T: ImportTx, I>(
    t: &mut T,
    single: &'static str,
    items: &[I],
    bind: impl Fn(&mut T::Args, &I) -> Result<(), StoreError>,
    failed: impl Fn(sqlx::Error) -> StoreError,
) -> Result<(), StoreError> {
    let Some(first) = multi_row(single, 1) else {
        return Err(no_tuple(single));
    };
    let cols = first.matches('$').count();
    for chunk in items.chunks(per_statement(cols)) {
        let sql = multi_row(single, chunk.len()).ok_or_else(|| no_tuple(single))?;
        let mut a = T::Args::default();
        for i in chunk {
            bind(&mut a, i)?;
        }
        t.exec(&sql, a).await.map_err(&failed)?;
    }
    Ok(())
}

/// `Duplicate` naming the oldest open lead other than `lead` with its email, else phone.
async fn duplicate_of<T: ImportTx>(t: &mut T, lead: &Lead) -> Result<(), StoreError> {
    let mut a = T::Args::default();
    lw::duplicate(&mut a, lead);
    let found = t.all(lw::DUPLICATE, a).await.map_err(db)?;
    match lw::duplicate_found(&found)? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes `batch` in the open transaction `t` (see [`crm_core::LeadStore::import_batch`]).
pub(crate) async fn write<T: ImportTx>(t: &mut T, batch: &ImportBatch) -> Result<(), StoreError> {
    for turn in &batch.turns {
        let mut a = T::Args::default();
        assignment::turn_values(&mut a, turn);
        if t.exec(assignment::take_turn(turn), a).await.map_err(db)? == 0 {
            return Err(assignment::turn_taken());
        }
    }
    let keys: Vec<(&ImportKey, LeadId)> = batch
        .writes
        .iter()
        .filter_map(|w| w.key.as_ref().map(|k| (k, w.write.lead.id())))
        .collect();
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        let mut a = T::Args::default();
        for (k, _) in chunk {
            a.str(k.as_str());
        }
        if !t
            .all(&in_list(KEYS_STORED, chunk.len()), a)
            .await
            .map_err(db)?
            .is_empty()
        {
            return Err(taken_meanwhile());
        }
    }
    let creates: Vec<&LeadWrite> = batch
        .writes
        .iter()
        .filter(|w| w.expected_version.is_none())
        .map(|w| &w.write)
        .collect();
    let checked: Vec<&Lead> = batch
        .writes
        .iter()
        .filter(|w| w.write.check_duplicates)
        .map(|w| &w.write.lead)
        .collect();
    t.lock_contacts(&checked).await?;
    let created: Vec<&Lead> = creates.iter().map(|w| &w.lead).collect();
    t.lock_counts(&created).await?;
    insert_all(
        t,
        lw::INSERT_LEAD,
        &creates,
        |a, w| lw::insert_lead(a, &w.lead),
        |e| {
            if is_unique_violation(&e) {
                StoreError::Conflict {
                    entity: Entity::Lead,
                    id: "of an import batch".to_owned(),
                    expected: 0,
                }
            } else {
                db(e)
            }
        },
    )
    .await?;
    let created_checked: Vec<&Lead> = creates
        .iter()
        .filter(|w| w.check_duplicates)
        .map(|w| &w.lead)
        .collect();
    for chunk in created_checked.chunks(LOOKUP_CHUNK) {
        let mut a = T::Args::default();
        for l in chunk {
            a.uuid(l.id().as_uuid());
        }
        let found = t
            .all(&in_list(DUPLICATED, chunk.len()), a)
            .await
            .map_err(db)?;
        if let Some(row) = found.first() {
            let id = LeadId::from_uuid(row.uuid(0).map_err(rows::corrupt("lead id"))?);
            if let Some(lead) = chunk.iter().find(|l| l.id() == id) {
                duplicate_of(t, lead).await?;
            }
            return Err(StoreError::Backend(
                format!("lead {id} of the batch has a duplicate the probe did not name").into(),
            ));
        }
    }
    for w in &batch.writes {
        let Some(expected) = w.expected_version else {
            continue;
        };
        let lead = &w.write.lead;
        let mut a = T::Args::default();
        lw::update_lead(&mut a, expected, lead)?;
        let changed = if expected.checked_add(1) == Some(lead.version()) {
            t.exec(lw::UPDATE_LEAD, a).await.map_err(db)?
        } else {
            0
        };
        if changed == 0 {
            let mut a = T::Args::default();
            a.uuid(lead.id().as_uuid());
            let exists = !t.all(lw::LEAD_EXISTS, a).await.map_err(db)?.is_empty();
            return Err(if exists {
                conflict(Entity::Lead, lead.id(), expected)
            } else {
                not_found(Entity::Lead, lead.id())
            });
        }
        if w.write.check_duplicates {
            duplicate_of(t, lead).await?;
        }
    }
    let mut history: Vec<(i64, i64, &HistoryEntry)> = Vec::new();
    for w in &batch.writes {
        let v = to_i64(w.write.lead.version())?;
        history.extend((0i64..).zip(&w.write.history).map(|(ord, e)| (v, ord, e)));
    }
    insert_all(
        t,
        lw::INSERT_HISTORY,
        &history,
        |a, (v, ord, e)| lw::history(a, *v, *ord, e.lead_id, e),
        |e| {
            if is_unique_violation(&e) {
                StoreError::Conflict {
                    entity: Entity::Lead,
                    id: "of an import batch".to_owned(),
                    expected: 0,
                }
            } else {
                db(e)
            }
        },
    )
    .await?;
    let periods: Vec<lw::StatusPeriod> = batch
        .writes
        .iter()
        .filter_map(|w| lw::StatusPeriod::of(&w.write))
        .collect();
    for (w, p) in batch
        .writes
        .iter()
        .filter_map(|w| lw::StatusPeriod::of(&w.write).map(|p| (w, p)))
    {
        // Only an update can end a period; a created lead has none yet.
        if w.expected_version.is_some() {
            let mut a = T::Args::default();
            p.close(&mut a);
            t.exec(lw::CLOSE_STATUS_PERIOD, a).await.map_err(db)?;
        }
    }
    insert_all(
        t,
        lw::OPEN_STATUS_PERIOD,
        &periods,
        |a, p| {
            p.open(a);
            Ok(())
        },
        db,
    )
    .await?;
    for w in &batch.writes {
        if let Some(p) = &w.write.pending_client {
            let mut a = T::Args::default();
            lw::pending(&mut a, p)?;
            t.exec(lw::UPSERT_PENDING, a).await.map_err(db)?;
        }
    }
    for (i, _) in &batch.notes {
        let mut a = T::Args::default();
        records::touch(&mut a, i);
        if t.exec(records::TOUCH_INTERACTION, a).await.map_err(db)? == 0 {
            let mut a = T::Args::default();
            a.uuid(i.lead_id.as_uuid());
            let status = t.all(lw::LEAD_STATUS, a).await.map_err(db)?;
            let status = status
                .first()
                .map(|r| r.text(0).map_err(rows::corrupt("lead status")))
                .transpose()?;
            return Err(lw::not_writable(i.lead_id, status.as_deref())?);
        }
    }
    let interactions: Vec<_> = batch.notes.iter().map(|(i, _)| i).collect();
    insert_all(
        t,
        records::INSERT_INTERACTION,
        &interactions,
        |a, i| {
            records::interaction(a, i);
            Ok(())
        },
        |e| {
            if is_unique_violation(&e) {
                conflict(Entity::Interaction, "of an import batch", 0)
            } else {
                db(e)
            }
        },
    )
    .await?;
    let events: Vec<&NewEvent> = batch
        .writes
        .iter()
        .flat_map(|w| &w.write.events)
        .chain(batch.notes.iter().map(|(_, e)| e))
        .collect();
    t.append_events(&events).await?;
    insert_all(
        t,
        INSERT_KEY,
        &keys,
        |a, (k, id)| {
            a.str(k.as_str()).uuid(id.as_uuid());
            Ok(())
        },
        |e| {
            if is_unique_violation(&e) {
                taken_meanwhile()
            } else {
                db(e)
            }
        },
    )
    .await
}

/// A concurrent run of the same file stored some of the batch's rows first.
fn taken_meanwhile() -> StoreError {
    StoreError::Busy("a run of the same file imported rows of this batch meanwhile".into())
}

/// The stored keys among `keys`, and the open leads with one of `emails` or `phones`.
pub(crate) async fn lookup<D: OpenLookup>(
    d: &D,
    keys: &[ImportKey],
    emails: &[String],
    phones: &[String],
) -> Result<ImportLookup, StoreError> {
    let mut imported = BTreeMap::new();
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        let mut b = D::Built::head(KEYS_STORED);
        list(&mut b, chunk.iter().map(ImportKey::as_str));
        for r in d.built(b).await? {
            let read = || -> Result<_, crm_core::BoxError> {
                Ok((
                    ImportKey::from_stored(r.text(0)?),
                    LeadId::from_uuid(r.uuid(1)?),
                ))
            };
            let (k, id) = read().map_err(rows::corrupt("import key"))?;
            imported.insert(k, id);
        }
    }
    let mut open: BTreeMap<LeadId, Lead> = BTreeMap::new();
    for l in d.open_with_contacts(emails, phones).await? {
        open.insert(l.id(), l);
    }
    Ok(ImportLookup {
        imported,
        open: open.into_values().collect(),
    })
}

/// The open leads with one of `emails` or `phones`, through `IN (...)` lists of at most
/// [`LOOKUP_CHUNK`] values (SQLite searches its indexes for each value of a list).
pub(crate) async fn open_in_lists<D: Db>(
    d: &D,
    emails: &[String],
    phones: &[String],
) -> Result<Vec<Lead>, StoreError> {
    let mut open = Vec::new();
    for (head, values) in [(OPEN_BY_EMAIL, emails), (OPEN_BY_PHONE, phones)] {
        for chunk in values.chunks(LOOKUP_CHUNK) {
            let mut b = D::Built::head(head);
            list(&mut b, chunk.iter().map(String::as_str));
            for r in d.built(b).await? {
                open.push(rows::lead(&r)?);
            }
        }
    }
    Ok(open)
}

/// Binds `values` separated by commas, then closes the `IN (` list.
fn list<'a>(b: &mut impl Filter, values: impl Iterator<Item = &'a str>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            b.sql(", ");
        }
        b.str(v);
    }
    b.sql(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_row_insert_repeats_its_tuple() {
        assert_eq!(
            multi_row(
                "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                2
            )
            .as_deref(),
            Some("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING")
        );
        for single in [
            lw::INSERT_LEAD,
            lw::INSERT_HISTORY,
            lw::OPEN_STATUS_PERIOD,
            records::INSERT_INTERACTION,
            INSERT_KEY,
        ] {
            let one = multi_row(single, 1);
            assert_eq!(one.as_deref(), Some(single), "{single}");
        }
        assert_eq!(in_list("x IN (", 2), "x IN ($1, $2)");
    }
}
