//! [`Crm::lead_board`] and [`Crm::deal_board`]: the boards ([`crate::board`]).

use super::{Crm, CrmResult};
use crate::board::{
    BoardFilter, DealBoard, LeadBoard, LeadCard, MAX_CARDS, deal_board, lead_board, lead_moves,
    open_value,
};
use crate::error::CrmError;
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::query::LeadQuery;
use crate::report::ReportFilter;
use crate::status::LeadStatus;
use crate::validation::ValidationError;

/// How many leads one read takes when a board reads them all.
const PAGE: u32 = 500;

/// Refuses a column size the board does not show.
fn check_cards(per_column: u32) -> CrmResult<()> {
    if (1..=MAX_CARDS).contains(&per_column) {
        Ok(())
    } else {
        Err(CrmError::Validation(ValidationError::OutOfRange {
            field: "per_column",
            value: i64::from(per_column),
            min: 1,
            max: i64::from(MAX_CARDS),
        }))
    }
}

/// The lead query of a board's filter.
fn query_of(filter: &BoardFilter) -> LeadQuery {
    let mut q = LeadQuery::default();
    if let Some(o) = filter.owner {
        q = q.owner(o);
    }
    if let Some(s) = &filter.source {
        q = q.source(s.clone());
    }
    q
}

impl Crm {
    /// The leads `actor` sees under `filter`, by status: each column's count and its
    /// `per_column` newest cards (1 to [`MAX_CARDS`]), each card with the open value of its
    /// opportunities and the moves `actor` may make ([`crate::board::lead_moves`]). Any
    /// employee in the directory has one (a read).
    pub async fn lead_board(
        &self,
        actor: EmployeeId,
        filter: &BoardFilter,
        per_column: u32,
    ) -> CrmResult<LeadBoard> {
        check_cards(per_column)?;
        let me = self.actor(actor).await?;
        let scope = self.view(&me).await?;
        // The counts are the status x source report's, over the same leads and scope.
        let counts = ReportFilter {
            owner: filter.owner,
            source: filter.source.clone(),
            ..ReportFilter::default()
        };
        let report = self.store.report_in(&counts, &scope).await?;
        let mut shown: Vec<(LeadStatus, Vec<Lead>)> = Vec::new();
        for status in LeadStatus::ALL {
            let q = query_of(filter).status(status).limit(per_column)?;
            shown.push((status, self.store.list_leads_in(&q, &scope).await?.items));
        }
        // Only a lead with an opportunity needs its detail read for its open value.
        let ids: Vec<_> = shown
            .iter()
            .flat_map(|(_, l)| l.iter().map(Lead::id))
            .collect();
        let facts = self.store.score_facts(&ids).await?;
        let mut columns = Vec::new();
        for (status, leads) in shown {
            let mut cards = Vec::with_capacity(leads.len());
            for lead in leads {
                let open = if facts.get(&lead.id()).is_some_and(|f| f.has_opportunity)
                    && let Some(d) = self.store.lead_detail(lead.id()).await?
                {
                    open_value(&d.opportunities)?
                } else {
                    Default::default()
                };
                cards.push(LeadCard {
                    moves: lead_moves(&lead, &me),
                    open_value: open,
                    lead,
                });
            }
            let total = report.by_status.get(&status).copied().unwrap_or(0);
            columns.push((status, total, cards));
        }
        Ok(lead_board(columns))
    }

    /// The opportunities of the leads `actor` sees under `filter`, by stage: each column's
    /// count and value per currency, and its first `per_column` cards (1 to [`MAX_CARDS`];
    /// in an open stage the soonest expected to close). Merged leads' opportunities moved
    /// with them and are counted once, on the lead kept. Any employee in the directory has
    /// one (a read). It reads every lead under the filter and the details of those with an
    /// opportunity, so a team's board costs a read per deal-holding lead.
    pub async fn deal_board(
        &self,
        actor: EmployeeId,
        filter: &BoardFilter,
        per_column: u32,
    ) -> CrmResult<DealBoard> {
        check_cards(per_column)?;
        let me = self.actor(actor).await?;
        let scope = self.view(&me).await?;
        let mut query = query_of(filter).limit(PAGE)?;
        let mut deals = Vec::new();
        loop {
            let page = self.store.list_leads_in(&query, &scope).await?;
            let ids: Vec<_> = page.items.iter().map(Lead::id).collect();
            let facts = self.store.score_facts(&ids).await?;
            for lead in page.items {
                if lead.merged_into().is_some()
                    || !facts.get(&lead.id()).is_some_and(|f| f.has_opportunity)
                {
                    continue;
                }
                if let Some(d) = self.store.lead_detail(lead.id()).await? {
                    deals.extend(d.opportunities.into_iter().map(|o| (o, lead.clone())));
                }
            }
            match page.next {
                Some(c) => query = query.after(c),
                None => break,
            }
        }
        Ok(deal_board(deals, per_column)?)
    }
}
