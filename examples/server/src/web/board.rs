//! The boards ([`crm_core::board`]): leads by status (`/board`) and deals by stage
//! (`/board/deals`), a column each. Every card carries a plain form that moves it (its
//! list of places and a button), which is the keyboard's way and works without JavaScript;
//! `app.js` adds dragging, which fills in the same form and submits it. The form posts to
//! the lead's status or the deal's stage like the lead page does, with every rule: a move
//! to `lost` asks for the reason and one to `converted` for a confirmation
//! (`leads::actions`), and each comes back to the board.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use crm_core::board::Totals;

use super::leads::{MINE_COOKIE, remember_mine};
use super::{Ctx, Viewer, WebResult, cookie, fail, names, problem, render, who};
use crate::AppState;
use crate::api::{BoardParams, Fields, board_filter};
use crate::problem::Problem;

/// Each currency's total as the page shows it (`1,250.500 KWD`).
fn amounts(t: &Totals) -> Vec<String> {
    t.iter()
        .map(|m| {
            format!(
                "{} {}",
                crate::i18n::grouped(&m.format_amount()),
                m.currency().code()
            )
        })
        .collect()
}

/// A lead's card.
struct LeadCardView {
    id: String,
    name: String,
    company: String,
    owner: String,
    value: Vec<String>,
    follow_up: String,
    overdue: bool,
    version: u64,
    /// The statuses it may move to, in pipeline order.
    moves: Vec<String>,
}

struct LeadColumnView {
    status: String,
    total: u64,
    cards: Vec<LeadCardView>,
    /// The list of all its leads, when the column shows fewer than it has.
    more: String,
}

#[derive(Template)]
#[template(path = "board/leads.html")]
struct LeadBoardPage {
    c: Ctx,
    columns: Vec<LeadColumnView>,
    mine: bool,
    /// Where a moved card comes back to: this board as filtered.
    back: String,
}

/// The filter the page was asked for, "mine" remembered like the lead list's, and whether
/// to remember it.
fn filter_of(
    c: &Ctx,
    p: BoardParams,
    headers: &HeaderMap,
    me: crm_core::EmployeeId,
) -> Result<(crm_core::board::BoardFilter, u32, bool, Option<bool>), axum::response::Response> {
    let asked = p.mine;
    let mine = asked.unwrap_or_else(|| cookie(headers, MINE_COOKIE) == Some("1"))
        && crate::input::given(&p.owner).is_none();
    let p = BoardParams {
        mine: Some(mine),
        ..p
    };
    let mut f = Fields::default();
    let filter = board_filter(&mut f, &p, me);
    let (filter, cards) = f.done(filter).map_err(|e| problem(c, e))?;
    Ok((filter, cards, mine, asked))
}

fn parse_params(
    c: &Ctx,
    q: Result<Query<BoardParams>, axum::extract::rejection::QueryRejection>,
) -> Result<BoardParams, axum::response::Response> {
    q.map(|Query(p)| p)
        .map_err(|e| problem(c, Problem::from(e)))
}

/// The leads by status.
pub async fn leads(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    q: Result<Query<BoardParams>, axum::extract::rejection::QueryRejection>,
) -> WebResult {
    let c = &v.ctx;
    let (filter, cards, mine, asked) = filter_of(c, parse_params(c, q)?, &headers, v.employee)?;
    let board = (s.crm.lead_board(v.employee, &filter, cards).await).map_err(fail(c))?;
    let names = names(&s, &v).await;
    let now: DateTime<Utc> = s.clock.now();
    let columns = (board.columns.iter())
        .map(|col| LeadColumnView {
            status: col.status.to_string(),
            total: col.total,
            more: if col.total > col.cards.len() as u64 {
                let owner = filter
                    .owner
                    .map_or(String::new(), |o| format!("&owner={o}"));
                let source = (filter.source.as_ref()).map_or(String::new(), |src| {
                    format!("&source={}", super::urlencode(src.as_str()))
                });
                format!("/leads?status={}{owner}{source}", col.status)
            } else {
                String::new()
            },
            cards: (col.cards.iter())
                .map(|k| {
                    let l = &k.lead;
                    LeadCardView {
                        id: l.id().to_string(),
                        name: l.name().to_string(),
                        company: l.company().map_or(String::new(), ToString::to_string),
                        owner: who(&names, l.owner().get()),
                        value: amounts(&k.open_value),
                        follow_up: l.next_follow_up_at().map_or(String::new(), |t| c.time(&t)),
                        overdue: l.next_follow_up_at().is_some_and(|t| {
                            t <= now && crm_core::follow_up::still_unanswered(l, t)
                        }),
                        version: l.version(),
                        moves: k.moves.iter().map(ToString::to_string).collect(),
                    }
                })
                .collect(),
        })
        .collect();
    let back = c.path.clone();
    let page = render(&LeadBoardPage {
        columns,
        mine,
        back,
        c: v.ctx,
    });
    Ok(remember_mine(&s, page, asked))
}

/// A deal's card.
struct DealCardView {
    id: String,
    title: String,
    lead_id: String,
    lead_name: String,
    owner: String,
    value: String,
    close: String,
    /// Its close date has passed while it is open.
    late: bool,
    version: u64,
    stage: String,
}

struct StageColumnView {
    stage: String,
    total: u64,
    value: Vec<String>,
    cards: Vec<DealCardView>,
}

#[derive(Template)]
#[template(path = "board/deals.html")]
struct DealBoardPage {
    c: Ctx,
    columns: Vec<StageColumnView>,
    stages: &'static [&'static str],
    mine: bool,
    /// Whether the viewer may move deals at all (the library still decides each move).
    can_move: bool,
    back: String,
}

/// The deals by stage.
pub async fn deals(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    q: Result<Query<BoardParams>, axum::extract::rejection::QueryRejection>,
) -> WebResult {
    let c = &v.ctx;
    let (filter, cards, mine, asked) = filter_of(c, parse_params(c, q)?, &headers, v.employee)?;
    let board = (s.crm.deal_board(v.employee, &filter, cards).await).map_err(fail(c))?;
    let names = names(&s, &v).await;
    let today = s.clock.now().with_timezone(&c.tz).date_naive();
    let columns = (board.columns.iter())
        .map(|col| StageColumnView {
            stage: col.stage.to_string(),
            total: col.total,
            value: amounts(&col.value),
            cards: (col.cards.iter())
                .map(|d| {
                    let o = &d.opportunity;
                    DealCardView {
                        id: o.id.to_string(),
                        title: o.title.to_string(),
                        lead_id: d.lead.id().to_string(),
                        lead_name: d.lead.name().to_string(),
                        owner: who(&names, d.lead.owner().get()),
                        value: format!(
                            "{} {}",
                            crate::i18n::grouped(&o.value.format_amount()),
                            o.value.currency().code()
                        ),
                        close: o.expected_close.to_string(),
                        late: o.stage.is_open() && o.expected_close < today,
                        version: o.version,
                        stage: o.stage.to_string(),
                    }
                })
                .collect(),
        })
        .collect();
    let can_move =
        c.me.as_ref()
            .is_some_and(|e| e.active && e.role != crm_core::Role::Other);
    let back = c.path.clone();
    let page = render(&DealBoardPage {
        columns,
        stages: crate::i18n::STAGES,
        mine,
        can_move,
        back,
        c: v.ctx,
    });
    Ok(remember_mine(&s, page, asked))
}
