//! Import lookups, the same on both backends: which row keys are stored already, and the
//! open leads with some emails or phones (what an import decides a batch over). The batch
//! itself is one commit (`crate::commit`).

use std::collections::BTreeMap;
use std::future::Future;

use crm_core::{ImportKey, ImportLookup, Lead, LeadId, StoreError};

use crate::bind::{Binds, Built};
use crate::db::Db;
use crate::rows::{self, Cols};

const KEYS_STORED: &str = "SELECT key, lead_id FROM import_keys WHERE key IN (";
/// The open leads with one of `emails` (normalised) or `phones` (phone keys): how a backend
/// finds them is its own (PostgreSQL's plan must not depend on statistics a fresh table
/// does not have yet).
pub(crate) trait OpenLookup: Db {
    /// The open leads with one of `emails` or `phones`, each once.
    fn open_with_contacts(
        &mut self,
        emails: &[String],
        phones: &[String],
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>>;
}

/// The stored keys among `keys`, with the lead each wrote.
pub(crate) async fn imported<D: Db>(
    d: &mut D,
    keys: &[ImportKey],
) -> Result<BTreeMap<ImportKey, LeadId>, StoreError> {
    let mut imported = BTreeMap::new();
    for chunk in keys.chunks(crate::bind::IN_LIST) {
        let mut b = Built::head(KEYS_STORED);
        b.list(chunk, |b, k| {
            b.str(k.as_str());
        });
        for r in d.built(b).await? {
            let (k, id) = rows::parse("import key", || {
                Ok((
                    ImportKey::from_stored(r.text("key")?),
                    LeadId::from_uuid(r.uuid("lead_id")?),
                ))
            })?;
            imported.insert(k, id);
        }
    }
    Ok(imported)
}

/// The stored keys among `keys`, and the open leads with one of `emails` or `phones`.
pub(crate) async fn lookup<D: OpenLookup>(
    d: &mut D,
    keys: &[ImportKey],
    emails: &[String],
    phones: &[String],
) -> Result<ImportLookup, StoreError> {
    let imported = imported(d, keys).await?;
    let mut open: BTreeMap<LeadId, Lead> = BTreeMap::new();
    for l in d.open_with_contacts(emails, phones).await? {
        open.insert(l.id(), l);
    }
    Ok(ImportLookup {
        imported,
        open: open.into_values().collect(),
    })
}
