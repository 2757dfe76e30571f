//! Import lookups on PostgreSQL: the open leads with some emails or phones, one index
//! search per value whatever the planner knows.

use crm_core::{Lead, StoreError};

use std::ops::DerefMut;

use sqlx::PgConnection;

use super::PgConn;
use crate::error::db;
use crate::import::OpenLookup;
use crate::rows::{self, lead_cols};

/// The open leads with one of the emails (`$1`), one index search per email whatever the
/// planner knows: the `LATERAL` subquery runs once per value (`OFFSET 0` keeps it from being
/// flattened into a join), and each run can only be a search of `leads_open_email`. An
/// `email IN ($1, ..., $1000)` was planned from statistics: on a table never analysed it
/// became a scan of every lead, 7.9 s per batch of 1,000 at 115,000 leads.
const OPEN_BY_EMAIL: &str = concat!(
    "SELECT l.* FROM unnest($1::text[]) AS u (v) CROSS JOIN LATERAL (SELECT ",
    lead_cols!(),
    " FROM leads WHERE email = u.v AND ",
    crate::open_lead!(),
    " OFFSET 0) AS l"
);
/// [`OPEN_BY_EMAIL`] for the phone keys, on `leads_open_phone`.
const OPEN_BY_PHONE: &str = concat!(
    "SELECT l.* FROM unnest($1::text[]) AS u (v) CROSS JOIN LATERAL (SELECT ",
    lead_cols!(),
    " FROM leads WHERE phone = u.v AND ",
    crate::open_lead!(),
    " OFFSET 0) AS l"
);

impl<C: DerefMut<Target = PgConnection> + Send> OpenLookup for PgConn<C> {
    async fn open_with_contacts(
        &mut self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Lead>, StoreError> {
        let mut open = Vec::new();
        for (sql, values) in [(OPEN_BY_EMAIL, emails), (OPEN_BY_PHONE, phones)] {
            if values.is_empty() {
                continue;
            }
            let found = sqlx::query(sql)
                .bind(values)
                .fetch_all(self.conn())
                .await
                .map_err(db)?;
            for r in &found {
                open.push(rows::lead(r)?);
            }
        }
        Ok(open)
    }
}
