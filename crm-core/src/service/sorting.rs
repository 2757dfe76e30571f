//! [`Crm::leads_sorted`]: a lead list in any column's order ([`crate::sorting`]).

use std::collections::BTreeMap;

use super::{Crm, CrmResult};
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::query::LeadQuery;
use crate::sorting::{Sort, compare, keep_first};

/// How many leads one read takes.
const PAGE: u32 = 500;

impl Crm {
    /// The first `query.page_size()` leads the actor sees that `query` matches, in
    /// `sort`'s order (owners by their names in the directory). Every match is read, a page
    /// at a time, and only the first kept: there is no next page (narrow the filters, or
    /// use the newest-first list's pages).
    pub async fn leads_sorted(
        &self,
        actor: EmployeeId,
        query: &LeadQuery,
        sort: Sort,
    ) -> CrmResult<Vec<Lead>> {
        let me = self.actor(actor).await?;
        let scope = self.view(&me).await?;
        let by_owner = sort.key == crate::sorting::SortKey::Owner;
        let mut names: BTreeMap<EmployeeId, String> = BTreeMap::new();
        let keep = usize::try_from(query.page_size()).unwrap_or(usize::MAX);
        let mut page_query = query.clone().from_start().limit(PAGE)?;
        let mut kept = Vec::new();
        loop {
            let page = self.store.list_leads_in(&page_query, &scope).await?;
            // Each owner's name read once from the directory (one not in it sorts by id).
            for owner in page.items.iter().map(Lead::owner) {
                if by_owner && !names.contains_key(&owner) {
                    let name = self.employees.employee(owner).await?;
                    names.insert(owner, name.map_or(String::new(), |e| e.name.to_string()));
                }
            }
            keep_first(&mut kept, page.items, sort, &names, keep, PAGE as usize);
            match page.next {
                Some(c) => page_query = page_query.after(c),
                None => break,
            }
        }
        kept.sort_by(|a, b| compare(sort, &names, a, b));
        kept.truncate(keep);
        Ok(kept)
    }
}
