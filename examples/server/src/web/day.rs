//! My day, the signed-in employee's start page ([`crm_core::my_day`]): overdue and today's
//! follow-ups, new leads nobody contacted with their days waiting, and open opportunities
//! closing this month, each lead with its quick actions in place (log a call with the next
//! follow-up; move a new lead to contacted), which come back here.

use askama::Template;
use axum::extract::State;

use super::{Ctx, Viewer, WebResult, fail, render};
use crate::AppState;

struct Row {
    id: String,
    name: String,
    company: String,
    phone: String,
    tel: String,
    version: u64,
    status: String,
    /// When the follow-up was due, in the viewer's zone (follow-ups), or empty.
    due: String,
    /// How long it has waited, in words (new leads), or empty.
    days: String,
}

fn row(c: &Ctx, l: &crm_core::Lead) -> Row {
    Row {
        id: l.id().to_string(),
        name: l.name().to_string(),
        company: l.company().map_or(String::new(), ToString::to_string),
        phone: l.phone().map_or(String::new(), |p| p.display().to_owned()),
        tel: l.phone().map_or(String::new(), |p| p.key().to_owned()),
        version: l.version(),
        status: l.status().to_string(),
        due: l.next_follow_up_at().map_or(String::new(), |t| c.time(&t)),
        days: String::new(),
    }
}

/// `n` days, said as the language says a count: Arabic has forms for one, two, three to ten,
/// and eleven and more.
fn days(lang: crate::i18n::Lang, n: i64) -> String {
    match lang {
        crate::i18n::Lang::Ar => match n {
            0 => "اليوم".to_owned(),
            1 => "يوم واحد".to_owned(),
            2 => "يومان".to_owned(),
            3..=10 => format!("{n} أيام"),
            _ => format!("{n} يومًا"),
        },
        crate::i18n::Lang::En => match n {
            0 => "today".to_owned(),
            1 => "1 day".to_owned(),
            _ => format!("{n} days"),
        },
    }
}

struct Deal {
    lead_id: String,
    lead_name: String,
    title: String,
    value: String,
    currency: String,
    close: String,
    stage: String,
}

#[derive(Template)]
#[template(path = "day.html")]
struct DayPage {
    c: Ctx,
    overdue: Vec<Row>,
    today: Vec<Row>,
    waiting: Vec<Row>,
    closing: Vec<Deal>,
}

/// The start page.
pub async fn page(State(s): State<AppState>, v: Viewer) -> WebResult {
    let c = &v.ctx;
    let day = (s.crm.my_day(v.employee, c.tz).await).map_err(fail(c))?;
    let overdue = day.overdue.iter().map(|f| row(c, &f.lead)).collect();
    let today = day.today.iter().map(|f| row(c, &f.lead)).collect();
    let waiting = (day.waiting.iter())
        .map(|w| Row {
            days: days(c.lang, w.days),
            ..row(c, &w.lead)
        })
        .collect();
    let closing = (day.closing.iter())
        .map(|d| Deal {
            lead_id: d.lead.id().to_string(),
            lead_name: d.lead.name().to_string(),
            title: d.opportunity.title.to_string(),
            value: d.opportunity.value.format_amount(),
            currency: d.opportunity.value.currency().code().to_owned(),
            close: d.opportunity.expected_close.to_string(),
            stage: d.opportunity.stage.to_string(),
        })
        .collect();
    Ok(render(&DayPage {
        overdue,
        today,
        waiting,
        closing,
        c: v.ctx,
    }))
}
