//! Boards: the leads by status and the opportunities by stage, a column each, as a sales
//! team works them. A card is moved by the same status change or stage move as anywhere
//! else ([`crate::Crm::change_status`], [`crate::Crm::update_opportunity`]), with every rule;
//! the board only says which moves to offer ([`lead_moves`]) and what each column holds.
//!
//! [`lead_board`] and [`deal_board`] are the pure rules that lay cards out;
//! [`crate::Crm::lead_board`] and [`crate::Crm::deal_board`] read what they need.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::employee::Employee;
use crate::ids::EmployeeId;
use crate::lead::Lead;
use crate::money::{Currency, Money};
use crate::opportunity::{Opportunity, OpportunityStage};
use crate::permissions::{Action, authorize};
use crate::source::Source;
use crate::status::{LeadStatus, MoveRule};
use crate::validation::ValidationError;

/// The most cards a column can be asked to show.
pub const MAX_CARDS: u32 = 200;

/// Which leads a board shows (of those the actor sees).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoardFilter {
    /// Only this responsible employee's leads.
    pub owner: Option<EmployeeId>,
    /// Only this source.
    pub source: Option<Source>,
}

/// Each currency's total of some opportunities, by currency code (never added across
/// currencies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals(BTreeMap<&'static str, Money>);

impl Totals {
    /// Adds `m` to its currency's total; fails when the total leaves the range of money.
    pub fn add(&mut self, m: Money) -> Result<(), ValidationError> {
        let code = m.currency().code();
        let sum = match self.0.get(code) {
            None => m,
            Some(t) => {
                let minor = t.minor().checked_add(m.minor()).ok_or_else(|| {
                    ValidationError::InvalidAmount {
                        value: format!("{t} + {m}"),
                        reason: "the total does not fit",
                    }
                })?;
                Money::from_minor(minor, m.currency())?
            }
        };
        self.0.insert(code, sum);
        Ok(())
    }

    /// The totals, by currency code.
    pub fn iter(&self) -> impl Iterator<Item = &Money> {
        self.0.values()
    }

    /// One currency's total, if any of its opportunities was added.
    pub fn of(&self, currency: Currency) -> Option<&Money> {
        self.0.get(currency.code())
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A lead as its card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeadCard {
    /// The lead.
    pub lead: Lead,
    /// What its open opportunities are worth, per currency.
    pub open_value: Totals,
    /// The statuses the viewer may move it to, in pipeline order ([`lead_moves`]).
    pub moves: Vec<LeadStatus>,
}

/// One status's column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeadColumn {
    /// The status.
    pub status: LeadStatus,
    /// How many leads are in it (under the filter), shown or not.
    pub total: u64,
    /// The newest of them, at most the number asked for.
    pub cards: Vec<LeadCard>,
}

/// The leads by status, a column for every status in pipeline order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeadBoard {
    /// The columns.
    pub columns: Vec<LeadColumn>,
}

/// The statuses `actor` may move `lead` to: the table's moves from its status that the
/// actor's role allows (reopening a lost lead is management's), none for a read-only
/// (converted) or merged lead. The decision itself is still
/// [`crate::decide::decide_status_change`]'s; this only keeps a board from offering a move
/// it would refuse.
pub fn lead_moves(lead: &Lead, actor: &Employee) -> Vec<LeadStatus> {
    if lead.is_read_only() || lead.merged_into().is_some() {
        return Vec::new();
    }
    let from = lead.status();
    from.allowed_targets()
        .into_iter()
        .filter(|to| {
            let action = match from.move_rule(*to) {
                Some(MoveRule::Management) => Action::ReopenLead,
                _ => Action::ChangeStatus,
            };
            authorize(actor, action, Some(lead.owner())).is_ok()
        })
        .collect()
}

/// What `opportunities` (any leads') that are still open are worth, per currency.
pub fn open_value<'a>(
    opportunities: impl IntoIterator<Item = &'a Opportunity>,
) -> Result<Totals, ValidationError> {
    let mut t = Totals::default();
    for o in opportunities.into_iter().filter(|o| o.stage.is_open()) {
        t.add(o.value)?;
    }
    Ok(t)
}

/// Lays out the lead board: `columns` holds, for each status, how many leads it has and
/// its newest cards; the result has every status in pipeline order (a status missing from
/// `columns` is an empty column).
pub fn lead_board(columns: Vec<(LeadStatus, u64, Vec<LeadCard>)>) -> LeadBoard {
    let mut by_status: BTreeMap<LeadStatus, (u64, Vec<LeadCard>)> = columns
        .into_iter()
        .map(|(s, total, cards)| (s, (total, cards)))
        .collect();
    LeadBoard {
        columns: LeadStatus::ALL
            .iter()
            .map(|s| {
                let (total, cards) = by_status.remove(s).unwrap_or_default();
                LeadColumn {
                    status: *s,
                    // A store's count and its page are two reads: never say fewer than shown.
                    total: total.max(cards.len() as u64),
                    cards,
                }
            })
            .collect(),
    }
}

/// An opportunity as its card shows it, with its lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DealCard {
    /// The opportunity.
    pub opportunity: Opportunity,
    /// Its lead.
    pub lead: Lead,
}

/// One stage's column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageColumn {
    /// The stage.
    pub stage: OpportunityStage,
    /// How many opportunities are in it, shown or not.
    pub total: u64,
    /// What all of them are worth, per currency.
    pub value: Totals,
    /// The cards shown: in an open stage the soonest expected to close first (the ones to
    /// work now), in `won` and `lost` the latest first (what just happened).
    pub cards: Vec<DealCard>,
}

/// The opportunities by stage, a column for every stage in pipeline order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DealBoard {
    /// The columns.
    pub columns: Vec<StageColumn>,
}

/// Lays out the opportunity board from `deals` (each with its lead), at most `per_column`
/// cards a column. Fails when a column's total leaves the range of money.
pub fn deal_board(
    deals: Vec<(Opportunity, Lead)>,
    per_column: u32,
) -> Result<DealBoard, ValidationError> {
    let mut by_stage: Vec<Vec<DealCard>> =
        OpportunityStage::ALL.iter().map(|_| Vec::new()).collect();
    for (opportunity, lead) in deals {
        let at = OpportunityStage::ALL
            .iter()
            .position(|s| *s == opportunity.stage);
        if let Some(column) = at.and_then(|i| by_stage.get_mut(i)) {
            column.push(DealCard { opportunity, lead });
        }
    }
    let columns = OpportunityStage::ALL
        .iter()
        .zip(by_stage)
        .map(|(stage, mut cards)| {
            let value = open_or_closed_value(&cards)?;
            // The id last, so that equal dates keep one order between two reads.
            let key = |c: &DealCard| (c.opportunity.expected_close, c.opportunity.id);
            if stage.is_open() {
                cards.sort_by_key(key);
            } else {
                cards.sort_by_key(|c| std::cmp::Reverse(key(c)));
            }
            let total = cards.len() as u64;
            cards.truncate(per_column as usize);
            Ok(StageColumn {
                stage: *stage,
                total,
                value,
                cards,
            })
        })
        .collect::<Result<_, ValidationError>>()?;
    Ok(DealBoard { columns })
}

/// The total of one column's cards, whatever its stage.
fn open_or_closed_value(cards: &[DealCard]) -> Result<Totals, ValidationError> {
    let mut t = Totals::default();
    for c in cards {
        t.add(c.opportunity.value)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::contact::{Email, Name};
    use crate::employee::Role;
    use crate::ids::{LeadId, OpportunityId};
    use crate::lead::NewLead;

    fn employee(id: i64, role: Role) -> Employee {
        let name = Name::parse(&format!("موظف {id}")).unwrap_or_else(|e| panic!("{e}"));
        Employee::new(
            EmployeeId::new(id).unwrap_or_else(|e| panic!("{e}")),
            name,
            role,
        )
    }

    fn lead(owner: i64, status: LeadStatus) -> Lead {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let owner = EmployeeId::new(owner).unwrap_or_else(|e| panic!("{e}"));
        let input = NewLead::new(
            Name::parse("سارة").unwrap_or_else(|e| panic!("{e}")),
            Source::web(),
        )
        .email(Email::parse("sara@example.sa").unwrap_or_else(|e| panic!("{e}")));
        let l = Lead::create(LeadId::new_at(now), input, owner, owner, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = l.record().clone();
        r.status = status;
        if status == LeadStatus::Lost {
            let price = crate::LostReasonCode::parse("price");
            r.lost_reason_code = Some(price.unwrap_or_else(|e| panic!("{e}")));
        }
        Lead::from_record(r).unwrap_or_else(|e| panic!("{e}"))
    }

    fn deal(
        lead: &Lead,
        stage: OpportunityStage,
        minor: i64,
        cur: &str,
        close: u32,
    ) -> Opportunity {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        Opportunity {
            id: OpportunityId::new_at(now),
            lead_id: lead.id(),
            title: Name::parse("عرض").unwrap(),
            value: Money::from_minor(minor, Currency::parse(cur).unwrap()).unwrap(),
            expected_close: NaiveDate::from_ymd_opt(2026, 12, close).unwrap(),
            stage,
            probability: None,
            created_by: lead.owner(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn a_card_offers_only_the_moves_the_viewer_may_make() {
        let sales = employee(1, Role::Sales);
        let boss = employee(2, Role::Manager);
        let other = employee(3, Role::Other);
        use LeadStatus::*;
        assert_eq!(
            lead_moves(&lead(1, New), &sales),
            vec![Contacted, Interested, Lost]
        );
        assert_eq!(
            lead_moves(&lead(1, Interested), &sales),
            vec![Converted, Lost]
        );
        // Reopening is management's: a salesperson's lost card has no move.
        assert!(lead_moves(&lead(1, Lost), &sales).is_empty());
        assert_eq!(lead_moves(&lead(1, Lost), &boss), vec![New]);
        // A converted lead is read-only, even for management.
        assert!(lead_moves(&lead(1, Converted), &boss).is_empty());
        // Someone who may only read gets no move at all.
        assert!(lead_moves(&lead(1, New), &other).is_empty());
        let mut gone = sales.clone();
        gone.active = false;
        assert!(lead_moves(&lead(1, New), &gone).is_empty());
    }

    #[test]
    fn the_lead_board_has_every_status_in_order_and_never_counts_fewer_than_it_shows() {
        let l = lead(1, LeadStatus::Contacted);
        let card = LeadCard {
            lead: l,
            open_value: Totals::default(),
            moves: vec![],
        };
        let b = lead_board(vec![
            (LeadStatus::Lost, 7, vec![]),
            (LeadStatus::Contacted, 0, vec![card]),
        ]);
        let got: Vec<_> = b.columns.iter().map(|c| (c.status, c.total)).collect();
        use LeadStatus::*;
        assert_eq!(
            got,
            vec![
                (New, 0),
                (Contacted, 1),
                (Interested, 0),
                (Converted, 0),
                (Lost, 7)
            ]
        );
    }

    #[test]
    fn deals_are_sorted_capped_and_totalled_per_currency() {
        let l = lead(1, LeadStatus::Interested);
        let deals = vec![
            deal(&l, OpportunityStage::Proposal, 1_500, "KWD", 20),
            deal(&l, OpportunityStage::Proposal, 250_000, "SAR", 5),
            deal(&l, OpportunityStage::Proposal, 2_250, "KWD", 12),
            deal(&l, OpportunityStage::Won, 100, "SAR", 2),
            deal(&l, OpportunityStage::Won, 200, "SAR", 9),
        ];
        let deals = deals.into_iter().map(|o| (o, l.clone())).collect();
        let b = deal_board(deals, 2).unwrap();
        let stages: Vec<_> = b.columns.iter().map(|c| c.stage).collect();
        assert_eq!(stages, OpportunityStage::ALL.to_vec());
        let proposal = &b.columns[2];
        assert_eq!(proposal.total, 3);
        // Open stage: soonest close first, capped at two.
        let closes: Vec<_> = proposal
            .cards
            .iter()
            .map(|c| c.opportunity.expected_close.to_string())
            .collect();
        assert_eq!(closes, vec!["2026-12-05", "2026-12-12"]);
        // Every deal of the column counts in its value, shown or not, per currency.
        let kwd = Currency::parse("KWD").unwrap();
        let sar = Currency::parse("SAR").unwrap();
        assert_eq!(proposal.value.of(kwd).unwrap().minor(), 3_750);
        assert_eq!(proposal.value.of(sar).unwrap().minor(), 250_000);
        // Closed stage: latest first.
        let won = &b.columns[4];
        assert_eq!(won.cards[0].opportunity.value.minor(), 200);
        assert!(b.columns[0].cards.is_empty() && b.columns[0].value.is_empty());
    }

    #[test]
    fn a_total_too_large_is_refused_not_wrapped() {
        let l = lead(1, LeadStatus::Interested);
        let deals = vec![
            deal(&l, OpportunityStage::Open, i64::MAX - 1, "SAR", 1),
            deal(&l, OpportunityStage::Open, 5, "SAR", 2),
        ];
        let deals = deals.into_iter().map(|o| (o, l.clone())).collect();
        assert!(deal_board(deals, 10).is_err());
    }

    #[test]
    fn open_value_leaves_out_won_and_lost_deals() {
        let l = lead(1, LeadStatus::Interested);
        let deals = [
            deal(&l, OpportunityStage::Negotiation, 1_000, "AED", 1),
            deal(&l, OpportunityStage::Won, 9_000, "AED", 1),
            deal(&l, OpportunityStage::Lost, 9_000, "AED", 1),
        ];
        let v = open_value(deals.iter()).unwrap();
        assert_eq!(v.iter().map(Money::minor).collect::<Vec<_>>(), vec![1_000]);
    }
}
