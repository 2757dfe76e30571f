//! Sweep and events for management: the sweep's dry run (what would be notified, reminded
//! and escalated now), a real sweep, the dispatch of pending clients, and the outbox of
//! unacknowledged events with its acknowledgement. The library decides who may do each:
//! a viewer it refuses the preview sees the events only.

use std::collections::BTreeMap;

use super::Form;
use askama::Template;
use axum::extract::{Query, State};
use crm_core::{CrmError, NoticeKind};
use serde::Deserialize;

use super::{Ctx, Viewer, redirect, render, urlencode};
use super::{WebResult, fail, names, problem, who};
use crate::AppState;
use crate::api::Fields;

/// How many notices and events the page lists.
const SHOWN: u32 = 200;

/// A notice the sweep would send.
pub struct NoticeView {
    lead_id: String,
    lead_name: String,
    kind: &'static str,
    owner: String,
    recipient: String,
    due: String,
}

/// A pending event.
pub struct EventView {
    seq: u64,
    at: String,
    lead_id: String,
    /// The type's stable name (`lead_created`), which a sales system reads.
    kind: &'static str,
    actor: String,
}

#[derive(Template)]
#[template(path = "automation/page.html")]
struct AutomationPage {
    c: Ctx,
    /// The dry run, when the library lets the viewer sweep.
    preview: Option<Vec<NoticeView>>,
    events: Vec<EventView>,
    last_seq: Option<u64>,
    outcome: Option<String>,
}

/// What the last action did, carried in the redirect (POST, redirect, GET).
#[derive(Deserialize, Default)]
pub struct Outcome {
    done: Option<String>,
}

fn notice_kind(c: &Ctx, k: &NoticeKind) -> &'static str {
    match k {
        NoticeKind::FirstContact => c.t.notice_first_contact,
        NoticeKind::Overdue { .. } => c.t.notice_overdue,
        NoticeKind::Escalation { .. } => c.t.notice_escalation,
        NoticeKind::Captured { .. } => c.t.notice_captured,
    }
}

/// The dry run, the sweep and dispatch buttons, and the outbox.
pub async fn automation(
    State(s): State<AppState>,
    v: Viewer,
    Query(o): Query<Outcome>,
) -> WebResult {
    let c = &v.ctx;
    let names: BTreeMap<i64, String> = names(&s, &v).await;
    let preview = match s.crm.sweep_preview(v.employee, s.clock.now(), SHOWN).await {
        Ok(list) => Some(
            list.iter()
                .map(|n| NoticeView {
                    lead_id: n.lead_id.to_string(),
                    lead_name: n.lead_name.to_string(),
                    kind: notice_kind(c, &n.kind),
                    owner: who(&names, n.owner.get()),
                    recipient: n
                        .recipient()
                        .map_or_else(|| "-".to_owned(), |r| who(&names, r.get())),
                    due: match &n.kind {
                        NoticeKind::Overdue { due_at } => c.time(due_at),
                        NoticeKind::Escalation { notified_at, .. } => c.time(notified_at),
                        _ => c.time(&n.created_at),
                    },
                })
                .collect(),
        ),
        Err(CrmError::Forbidden { .. }) => None,
        Err(e) => return Err(fail(c)(e)),
    };
    let events = s
        .crm
        .pending_events(v.employee, 0, SHOWN)
        .await
        .map_err(fail(c))?;
    let last_seq = events.last().map(|e| e.seq);
    let events = events
        .iter()
        .map(|e| EventView {
            seq: e.seq,
            at: c.time(&e.event.at),
            lead_id: e.event.lead_id.to_string(),
            kind: e.event.kind.name(),
            actor: e
                .event
                .actor
                .map_or_else(|| "-".to_owned(), |a| who(&names, a.get())),
        })
        .collect();
    Ok(render(&AutomationPage {
        preview,
        events,
        last_seq,
        outcome: o.done,
        c: v.ctx,
    }))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn back_with(summary: &str) -> axum::response::Response {
    redirect(&format!("/automation?done={}", urlencode(summary)))
}

/// Runs the sweep now (management) and says what it did.
pub async fn sweep(State(s): State<AppState>, v: Viewer, Form(f): Form<CsrfForm>) -> WebResult {
    v.check_csrf(&f.csrf)?;
    let c = &v.ctx;
    let r = s.crm.sweep_now(v.employee).await.map_err(fail(c))?;
    Ok(back_with(&format!(
        "{}: {} {}, {} {}, {} {}, {} {}",
        c.t.swept,
        c.t.notified,
        r.notified.len(),
        c.t.reminded,
        r.reminded.len(),
        c.t.escalated,
        r.escalated.len(),
        c.t.failed,
        r.failed.len()
    )))
}

/// Retries pending client creations (management).
pub async fn dispatch(State(s): State<AppState>, v: Viewer, Form(f): Form<CsrfForm>) -> WebResult {
    v.check_csrf(&f.csrf)?;
    let c = &v.ctx;
    let r = s.crm.dispatch_pending(v.employee).await.map_err(fail(c))?;
    Ok(back_with(&format!(
        "{}: {}, {}: {}",
        c.t.dispatched,
        r.created.len(),
        c.t.failed,
        r.failed.len()
    )))
}

#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
    up_to: String,
}

/// Acknowledges the events up to a sequence number (management).
pub async fn ack(State(s): State<AppState>, v: Viewer, Form(form): Form<AckForm>) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let mut f = Fields::default();
    // Sequence numbers are stored as signed 64-bit integers.
    let up_to = f.take(
        "up_to",
        form.up_to
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or("not a sequence number"),
    );
    let up_to = f.done(up_to).map_err(|p| problem(c, p))?;
    let n = s.crm.ack_events(v.employee, up_to).await.map_err(fail(c))?;
    Ok(back_with(&format!("{}: {n}", c.t.acknowledged)))
}
