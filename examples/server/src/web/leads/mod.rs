//! Leads: the list, a lead's page, its forms (`form`) and the posts that act on it
//! (`actions`). A form's handler checks the CSRF token, parses the fields with the API's
//! parsers, calls the one `Crm` method as the signed-in employee, and redirects to the page
//! that shows the result (POST, redirect, GET), or shows the error with its status.

mod actions;
mod form;

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use crm_core::LeadId;

pub use actions::{
    add_opportunity, assign, bulk, change_status, log_interaction, update_opportunity,
};
pub use form::{create_lead, edit_lead, edit_lead_page, new_lead};

use actions::override_text;

use super::kept::Kept;
use super::pickers::{Opt, Pickers};
use super::{
    Ctx, Viewer, WebResult, cookie, fail, id, names, problem, render, set_cookie, urlencode, who,
    with_cookie,
};
use crate::AppState;
use crate::api::{Fields, LeadFilter};
use crate::i18n;
use crate::input::{self, ListOrder};
use crate::problem::Problem;

/// A lead as a row or a header.
pub struct LeadView {
    id: String,
    name: String,
    email: String,
    phone: String,
    /// The phone as a `tel:` link target (E.164, with `;ext=` when it has one), or empty.
    tel: String,
    /// The phone's WhatsApp chat link (`https://wa.me/` and the E.164 digits), or empty.
    whatsapp: String,
    company: String,
    source: String,
    status: String,
    owner: String,
    created: String,
    version: u64,
    lost_reason: String,
    client: String,
    read_only: bool,
    /// The next follow-up time in the viewer's zone, or empty.
    next_follow_up: String,
    /// Whether that time has passed with nothing done since.
    overdue: bool,
    /// The lead this one was merged into, or empty.
    merged_into: String,
    /// Its score, or empty (a converted or lost lead has none).
    score: String,
    /// What moves its score most, said in the page's language.
    why: Vec<String>,
    /// The part of the score predicted from the history.
    predicted: String,
}

impl LeadView {
    /// The view with `score` shown.
    fn scored(mut self, c: &Ctx, score: Option<&crm_core::scoring::Score>) -> Self {
        if let Some(sc) = score {
            let locale = c.lang.locale();
            self.score = sc.value.to_string();
            self.predicted = sc.predicted.to_string();
            self.why = sc
                .top_reasons()
                .iter()
                .map(|r| r.describe(locale))
                .collect();
        }
        self
    }
}

fn lead_view(
    c: &Ctx,
    l: &crm_core::Lead,
    names: &BTreeMap<i64, String>,
    now: DateTime<Utc>,
) -> LeadView {
    LeadView {
        next_follow_up: l.next_follow_up_at().map_or(String::new(), |t| c.time(&t)),
        // The library's own test of "nobody followed it up since": open, and no
        // interaction at or after the planned time.
        overdue: l
            .next_follow_up_at()
            .is_some_and(|t| t <= now && crm_core::follow_up::still_unanswered(l, t)),
        id: l.id().to_string(),
        name: l.name().to_string(),
        email: l.email().map_or(String::new(), |e| e.to_string()),
        phone: l.phone().map_or(String::new(), |p| p.display().to_owned()),
        tel: l.phone().map_or(String::new(), |p| p.key().to_owned()),
        whatsapp: l.phone().map_or(String::new(), |p| {
            let digits: String = (p.key().split(";ext=").next().unwrap_or_default().chars())
                .filter(char::is_ascii_digit)
                .collect();
            format!("https://wa.me/{digits}")
        }),
        company: l.company().map_or(String::new(), |e| e.to_string()),
        source: l.source().to_string(),
        status: l.status().to_string(),
        owner: who(names, l.owner().get()),
        created: c.time(&l.created_at()),
        version: l.version(),
        // The code in the page's words, then the detail typed.
        lost_reason: l.lost().map_or(String::new(), |r| {
            let label = c.t.reason_label(r.code.as_str());
            match &r.detail {
                Some(d) => format!("{label}: {d}"),
                None => label,
            }
        }),
        client: l.client_id().map_or(String::new(), |c| c.to_string()),
        read_only: l.is_read_only(),
        merged_into: l.merged_into().map_or(String::new(), |m| m.to_string()),
        score: String::new(),
        why: Vec::new(),
        predicted: String::new(),
    }
}

#[derive(Template)]
#[template(path = "leads/list.html")]
struct LeadsPage {
    c: Ctx,
    rows: Vec<LeadView>,
    q: String,
    status: String,
    next: Option<String>,
    statuses: &'static [&'static str],
    /// `newest`, `score` or a column (`name`, `-created`, ...).
    sort: String,
    /// The column headings, each a link that sorts by it.
    heads: Vec<Head>,
    /// How many leads the filters match, over all pages.
    total: u64,
    /// Who the selected leads may be given to (blank: no assignment).
    bulk_owners: Vec<Opt>,
    /// The lost-reason codes, for a bulk move to lost.
    lost_reasons: Vec<String>,
    /// The viewer's saved filters: id, name, and the list with them.
    saved: Vec<(String, String, String)>,
    /// The list's filters as a query string, to save them.
    query: String,
    /// Only the viewer's own leads (remembered).
    mine: bool,
    /// The source filter's choices: any, then the host's.
    sources: Vec<Opt>,
    /// The owner filter's choices: anyone, then everyone in the directory.
    owners: Vec<Opt>,
    csv_href: String,
    xlsx_href: String,
}

/// The lead list: filters, search and keyset pages.
pub async fn leads(
    State(s): State<AppState>,
    v: Viewer,
    headers: axum::http::HeaderMap,
    q: Result<Query<LeadFilter>, axum::extract::rejection::QueryRejection>,
) -> WebResult {
    let c = &v.ctx;
    // An unknown parameter (the API refuses it too) is shown as a page, not as axum's text.
    let Query(q) = q.map_err(|e| problem(c, Problem::from(e)))?;
    let mut f = Fields::default();
    let order = input::list_order(&mut f, &q.sort);
    // "Only mine" sticks: asked for, it is remembered in a cookie; not asked, the cookie says.
    let asked = q.mine;
    let mine = asked.unwrap_or_else(|| cookie(&headers, MINE_COOKIE) == Some("1"));
    let q = LeadFilter {
        mine: Some(mine && input::given(&q.owner).is_none()),
        ..q
    };
    let query = input::lead_query_of(&mut f, &q, s.config.region, Some(v.employee));
    let (query, order) = f.done(query.zip(order)).map_err(|p| problem(c, p))?;
    let (page, scores) = crate::api::list_in_order(&s, v.employee, &query, order)
        .await
        .map_err(fail(c))?;
    let (items, next_cursor) = (page.items, page.next);
    let total = crate::api::list_total(&s, v.employee, &query, order)
        .await
        .map_err(fail(c))?;
    let names = names(&s, &v).await;
    let pick = Pickers::read(&s, &v).await;
    let any = Some(c.t.anyone);
    let sources = pick.sources(c.t, q.source.as_deref().unwrap_or_default().trim(), any);
    let owners = pick.people(q.owner.as_deref().unwrap_or_default().trim(), any);
    let keep = |k: &str, val: &Option<String>| {
        val.as_deref()
            .filter(|x| !x.is_empty())
            .map(|x| format!("&{k}={}", urlencode(x)))
            .unwrap_or_default()
    };
    let next = next_cursor.map(|n| {
        format!(
            "/leads?after={}{}{}{}{}",
            urlencode(&n.to_string()),
            keep("q", &q.q),
            keep("status", &q.status),
            keep("source", &q.source),
            keep("owner", &q.owner)
        )
    });
    let now = s.clock.now();
    let rows = (items.iter().zip(&scores))
        .map(|(l, sc)| lead_view(c, l, &names, now).scored(c, sc.as_ref()))
        .collect();
    // "Only mine" gives way to a chosen owner, here as in the list's own query.
    let mine_in_query = q.mine == Some(true);
    let export = |format: &str| {
        format!(
            "/leads/export?format={format}&mine={mine_in_query}{}",
            super::reports::kept_query(&[
                ("q", &q.q),
                ("status", &q.status),
                ("source", &q.source),
                ("owner", &q.owner),
            ])
        )
    };
    let page = render(&LeadsPage {
        csv_href: export("csv"),
        xlsx_href: export("xlsx"),
        mine,
        sources,
        owners,
        rows,
        q: q.q.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        next,
        statuses: i18n::STATUSES,
        sort: order.as_param(),
        heads: heads(c, &q, order),
        total,
        bulk_owners: pick.owners("", Some("—")),
        saved: (s
            .auth
            .saved_filters(v.employee)
            .await
            .unwrap_or_default()
            .into_iter())
        .map(|f| (f.id, f.name, format!("/leads?{}", f.query)))
        .collect(),
        query: format!(
            "mine={mine_in_query}&sort={}{}",
            order.as_param(),
            super::reports::kept_query(&[
                ("q", &q.q),
                ("status", &q.status),
                ("source", &q.source),
                ("owner", &q.owner),
            ])
        ),
        lost_reasons: (s.crm.lost_reasons().codes().iter())
            .map(ToString::to_string)
            .collect(),
        c: v.ctx,
    });
    Ok(remember_mine(&s, page, asked))
}

/// `page`, remembering "only mine" when the request asked for it (on or off): the list
/// and the boards share the one setting.
pub(super) fn remember_mine(
    s: &AppState,
    page: axum::response::Response,
    asked: Option<bool>,
) -> axum::response::Response {
    match asked {
        Some(on) => with_cookie(
            page,
            set_cookie(
                MINE_COOKIE,
                if on { "1" } else { "0" },
                Some(365 * 86_400),
                s.config.secure_cookies,
            ),
        ),
        None => page,
    }
}

/// A column heading of the lead list.
struct Head {
    label: &'static str,
    /// The list sorted by this column (the other way when it is sorted by it already), or
    /// empty for a column that does not sort.
    href: String,
    /// `ascending`, `descending` or `none` (`aria-sort`).
    state: &'static str,
}

/// The list's headings for filter `q` sorted by `order`.
fn heads(c: &Ctx, q: &LeadFilter, order: ListOrder) -> Vec<Head> {
    use crm_core::sorting::{Sort, SortKey};
    let kept = super::reports::kept_query(&[
        ("q", &q.q),
        ("status", &q.status),
        ("source", &q.source),
        ("owner", &q.owner),
    ]);
    let t = c.t;
    let col = |label: &'static str, key: Option<SortKey>| {
        let Some(key) = key else {
            return Head {
                label,
                href: String::new(),
                state: "none",
            };
        };
        let now = match order {
            ListOrder::By(s) if s.key == key => Some(s),
            _ => None,
        };
        let next = now.map_or(
            Sort {
                key,
                descending: matches!(key, SortKey::Created | SortKey::Updated),
            },
            Sort::reversed,
        );
        Head {
            label,
            href: format!("/leads?sort={next}{kept}"),
            state: match now {
                Some(s) if s.descending => "descending",
                Some(_) => "ascending",
                None => "none",
            },
        }
    };
    let mut heads = vec![
        col(t.name, Some(SortKey::Name)),
        col(t.status, Some(SortKey::Status)),
        col(t.contact, None),
        col(t.company, Some(SortKey::Company)),
        col(t.source, Some(SortKey::Source)),
        col(t.owner, Some(SortKey::Owner)),
        col(t.created, Some(SortKey::Created)),
        col(t.next_follow_up, Some(SortKey::FollowUp)),
    ];
    heads.push(Head {
        label: t.score,
        href: format!("/leads?sort=score{kept}"),
        state: if order == ListOrder::Score {
            "descending"
        } else {
            "none"
        },
    });
    heads
}

/// Where the lead list remembers "only mine".
pub(super) const MINE_COOKIE: &str = "crm_mine";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: String,
    q: Option<String>,
    status: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    mine: Option<bool>,
}

/// The lead list as filtered, downloaded (CSV or XLSX, in the page's language and zone):
/// every lead it matches, not a page.
pub async fn export(
    State(s): State<AppState>,
    v: Viewer,
    Query(e): Query<ExportQuery>,
) -> WebResult {
    let c = &v.ctx;
    let filter = LeadFilter {
        q: e.q,
        status: e.status,
        source: e.source,
        owner: e.owner,
        mine: e.mine,
        ..LeadFilter::default()
    };
    let mut f = Fields::default();
    let query = input::lead_query_of(&mut f, &filter, s.config.region, Some(v.employee));
    let query = f.done(query).map_err(|p| problem(c, p))?;
    super::reports::download(c, "leads", &e.format, |format, opts| async move {
        let mut body = Vec::new();
        crm_core::export::write_leads(&s.crm, v.employee, &query, format, &opts, &mut body).await?;
        Ok(body)
    })
    .await
}

/// One entry of the lead's timeline ([`crate::timeline::say`]).
struct TimelineView {
    kind: &'static str,
    at: String,
    by: String,
    text: String,
}

struct OpportunityView {
    id: String,
    title: String,
    value: String,
    currency: String,
    close: String,
    stage: String,
    /// The deal's own probability in percent, or empty (its stage's counts).
    probability: String,
    version: u64,
    /// What is wrong with the stage form sent back for it (empty: nothing).
    error: String,
}

#[derive(Template)]
#[template(path = "leads/lead.html")]
struct LeadPage {
    c: Ctx,
    l: LeadView,
    pending: bool,
    timeline: Vec<TimelineView>,
    opportunities: Vec<OpportunityView>,
    /// Each status held and how long, in words.
    time_in_status: Vec<(String, String)>,
    targets: Vec<String>,
    kinds: &'static [&'static str],
    stages: &'static [&'static str],
    lost_reasons: Vec<String>,
    /// Who the lead may be given to (its owner chosen).
    owners: Vec<Opt>,
    /// The host's currencies (or suggestions, when any is taken).
    currencies: Vec<Opt>,
    any_currency: bool,
    /// The currency a new opportunity starts in.
    first_currency: String,
    /// A form of this page sent back with what was typed and what is wrong.
    kept: Kept,
}

/// A lead with its history, interactions, opportunities and the forms that act on it.
pub async fn lead(State(s): State<AppState>, v: Viewer, Path(lead): Path<String>) -> WebResult {
    let lead_id: LeadId = id(&v.ctx, &lead)?;
    lead_page(&s, v, lead_id, Kept::default()).await
}

/// The lead page, with `kept` (a form sent back) in place, under its refusal's status.
pub(super) async fn lead_page(s: &AppState, v: Viewer, lead_id: LeadId, kept: Kept) -> WebResult {
    let c = &v.ctx;
    let d = s
        .crm
        .lead_detail(v.employee, lead_id)
        .await
        .map_err(fail(c))?;
    let names = names(s, &v).await;
    let score = (s.crm.lead_score(v.employee, lead_id).await).map_err(fail(c))?;
    let pick = Pickers::read(s, &v).await;
    let first_currency = (s.crm.currencies().listed())
        .and_then(|l| l.first())
        .map_or("SAR", |c| c.code())
        .to_owned();
    let currency = match (kept.form, kept.typed.get("currency")) {
        ("opportunity", Some(typed)) => typed.clone(),
        _ => first_currency.clone(),
    };
    let spent = crm_core::history::time_in_status(&d.history, s.clock.now());
    let page = LeadPage {
        l: lead_view(c, &d.lead, &names, s.clock.now()).scored(c, score.as_ref()),
        pending: d.pending_client.is_some(),
        timeline: (crm_core::timeline::timeline(&d).iter())
            .map(|e| {
                let said = crate::timeline::say(c.lang, c.tz, &names, e);
                TimelineView {
                    kind: said.kind,
                    at: said.at,
                    by: said.by,
                    text: said.text,
                }
            })
            .collect(),
        opportunities: d
            .opportunities
            .iter()
            .map(|o| {
                let id = o.id.to_string();
                // A stage form sent back: as typed, with what is wrong.
                let sent = kept.typed("stage", "opportunity", "") == id;
                let or_typed = |field: &str, shown: String| match sent {
                    true => kept.typed("stage", field, &shown),
                    false => shown,
                };
                OpportunityView {
                    title: o.title.to_string(),
                    value: o.value.format_amount(),
                    currency: o.value.currency().code().to_owned(),
                    close: o.expected_close.to_string(),
                    stage: or_typed("stage", o.stage.to_string()),
                    probability: or_typed("probability", override_text(o)),
                    version: o.version,
                    error: match sent {
                        true => kept.others("stage", &[]).join("؛ "),
                        false => String::new(),
                    },
                    id,
                }
            })
            .collect(),
        time_in_status: spent
            .iter()
            .map(|(st, d)| (st.to_string(), i18n::duration(c.lang, *d)))
            .collect(),
        targets: d
            .lead
            .status()
            .allowed_targets()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        kinds: i18n::KINDS,
        stages: i18n::STAGES,
        owners: pick.owners(
            &kept.typed("assign", "to", &d.lead.owner().to_string()),
            None,
        ),
        currencies: pick.currencies(&currency),
        any_currency: pick.any_currency,
        first_currency: currency,
        lost_reasons: s
            .crm
            .lost_reasons()
            .codes()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        c: v.ctx,
        kept,
    };
    Ok((page.kept.status(), render(&page)).into_response())
}
