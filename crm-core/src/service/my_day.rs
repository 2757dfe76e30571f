//! [`Crm::my_day`]: the employee's day ([`crate::my_day`]).

use chrono_tz::Tz;

use super::{Crm, CrmResult};
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::my_day::{MyDay, plan};
use crate::query::LeadQuery;
use crate::status::LeadStatus;

/// How many leads one read takes.
const PAGE: u32 = 500;

impl Crm {
    /// `actor`'s day at the clock's time, the day and month being those of `tz` (the
    /// viewer's zone): of the leads they own and see, the overdue and today's follow-ups,
    /// the new leads nobody contacted, and their open opportunities expected to close this
    /// month ([`crate::my_day::plan`]). Any employee in the directory has one (a read).
    pub async fn my_day(&self, actor: EmployeeId, tz: Tz) -> CrmResult<MyDay> {
        let me = self.actor(actor).await?;
        let scope = self.view(&me).await?;
        let mut query = LeadQuery::default().owner(me.id).limit(PAGE)?;
        let mut leads: Vec<Lead> = Vec::new();
        loop {
            let page = self.store.list_leads_in(&query, &scope).await?;
            // Lost leads have nothing to do today; converted ones may still have deals.
            leads.extend(
                page.items
                    .into_iter()
                    .filter(|l| l.status() != LeadStatus::Lost),
            );
            match page.next {
                Some(c) => query = query.after(c),
                None => break,
            }
        }
        let ids: Vec<_> = leads.iter().map(Lead::id).collect();
        let facts = self.store.score_facts(&ids).await?;
        let mut opportunities = Vec::new();
        for lead in &leads {
            if !facts.get(&lead.id()).is_some_and(|f| f.has_opportunity) {
                continue;
            }
            if let Some(d) = self.store.lead_detail(lead.id()).await? {
                opportunities.extend(d.opportunities.into_iter().map(|o| (o, lead.clone())));
            }
        }
        Ok(plan(&leads, &opportunities, self.now(), tz))
    }
}
