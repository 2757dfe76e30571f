//! The posts a lead's page makes: status, assignment, interactions and opportunities.

use askama::Template;
use axum::extract::{Path, State};
use crm_core::{EmployeeId, LeadId, OpportunityId};
use serde::Deserialize;

use super::lead_page;
use crate::AppState;
use crate::api::{Fields, InteractionIn, OpportunityIn, OpportunityPatchIn, StatusIn};
use crate::input;
use crate::web::kept::Kept;
use crate::web::{Ctx, Form, Viewer, WebResult, fail, id, problem, redirect, render};

/// `back` when it is a path on this site, else the lead's page.
fn back_to(back: Option<String>, lead: LeadId) -> String {
    match back {
        Some(b) if !b.is_empty() => crate::web::auth::local_path(Some(b)),
        _ => format!("/leads/{lead}"),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    version: u64,
    status: String,
    #[serde(default)]
    lost_reason: String,
    #[serde(default)]
    lost_reason_detail: String,
    /// Where to go after (a path on this site; default the lead's page): my day's quick
    /// actions and the board come back to it.
    #[serde(default)]
    back: Option<String>,
    /// `yes` once the viewer confirmed a conversion.
    #[serde(default)]
    confirm: Option<String>,
}

/// The step a move needs before it is made: a conversion is confirmed (it creates a client
/// and cannot be undone), a loss comes with its reason.
#[derive(Template)]
#[template(path = "leads/move.html")]
struct MovePage {
    c: Ctx,
    id: String,
    name: String,
    version: u64,
    /// `converted` or `lost`.
    to: &'static str,
    back: String,
    lost_reasons: Vec<String>,
}

/// Moves the lead to another status. A move to `converted` not yet confirmed, or to
/// `lost` without a reason, shows the page that asks first (whatever form sent it: the
/// board's card, my day, the lead page); a conversion then shows the lead, with the client
/// it created.
pub async fn change_status(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<StatusForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let lead_id: LeadId = id(c, &lead)?;
    let ask = match form.status.trim() {
        "converted" if form.confirm.as_deref() != Some("yes") => Some("converted"),
        "lost" if form.lost_reason.trim().is_empty() => Some("lost"),
        _ => None,
    };
    if let Some(to) = ask {
        // Read as the viewer: a lead outside their view is not found here either.
        let l = (s.crm.lead(v.employee, lead_id).await).map_err(fail(c))?;
        let back = back_to(form.back.clone(), lead_id);
        return Ok(render(&MovePage {
            id: l.id().to_string(),
            name: l.name().to_string(),
            version: form.version,
            to,
            back,
            lost_reasons: (s.crm.lost_reasons().codes().iter())
                .map(ToString::to_string)
                .collect(),
            c: v.ctx,
        }));
    }
    let converting = form.status.trim() == "converted";
    let kept = Kept::new(
        "status",
        [
            ("status", form.status.clone()),
            ("lost_reason", form.lost_reason.clone()),
            ("lost_reason_detail", form.lost_reason_detail.clone()),
        ],
    );
    let mut f = Fields::default();
    let parsed = input::status(
        &mut f,
        &StatusIn {
            status: form.status,
            lost_reason: Some(form.lost_reason),
            lost_reason_detail: Some(form.lost_reason_detail),
        },
    );
    let (to, reason) = match f.done(parsed) {
        Ok(parsed) => parsed,
        Err(p) => return lead_page(&s, v, lead_id, kept.invalid(lang, p)).await,
    };
    match (s.crm)
        .change_status(v.employee, lead_id, form.version, to, reason)
        .await
    {
        Ok(_) => {}
        Err(e) => {
            let kept = kept.refused(c, e, "status")?;
            return lead_page(&s, v, lead_id, kept).await;
        }
    }
    if converting {
        return Ok(redirect(&format!("/leads/{lead_id}")));
    }
    Ok(redirect(&back_to(form.back, lead_id)))
}

#[derive(Deserialize)]
pub struct AssignForm {
    csrf: String,
    version: u64,
    to: String,
}

/// Gives the lead to another employee.
pub async fn assign(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<AssignForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let lead_id: LeadId = id(c, &lead)?;
    let kept = Kept::new("assign", [("to", form.to.clone())]);
    let mut f = Fields::default();
    let to = f.take("to", form.to.trim().parse::<EmployeeId>());
    let to = match f.done(to) {
        Ok(to) => to,
        Err(p) => return lead_page(&s, v, lead_id, kept.invalid(lang, p)).await,
    };
    match (s.crm)
        .assign_lead(v.employee, lead_id, form.version, to)
        .await
    {
        Ok(_) => Ok(redirect(&format!("/leads/{lead_id}"))),
        Err(e) => {
            let kept = kept.refused(c, e, "to")?;
            lead_page(&s, v, lead_id, kept).await
        }
    }
}

#[derive(Deserialize)]
pub struct InteractionForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    notes: String,
    /// Sets the next follow-up time, in the viewer's zone (`YYYY-MM-DDTHH:MM`).
    #[serde(default)]
    next_follow_up: String,
    /// Where to go after, as for a status move.
    #[serde(default)]
    back: Option<String>,
}

/// Logs an interaction.
pub async fn log_interaction(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<InteractionForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let lead_id: LeadId = id(c, &lead)?;
    let kept = Kept::new(
        "interaction",
        [
            ("kind", form.kind.clone()),
            ("notes", form.notes.clone()),
            ("next_follow_up", form.next_follow_up.clone()),
        ],
    );
    let mut f = Fields::default();
    let next_follow_up = match form.next_follow_up.trim() {
        "" => None,
        t => f
            .take("next_follow_up", input::local_time(t, c.tz))
            .map(|t| t.to_rfc3339()),
    };
    let n = input::interaction(
        &mut f,
        &InteractionIn {
            kind: form.kind.clone(),
            occurred_at: None,
            notes: Some(form.notes.clone()),
            next_follow_up,
        },
    );
    let n = match f.done(n) {
        Ok(n) => n,
        Err(p) => return lead_page(&s, v, lead_id, kept.invalid(lang, p)).await,
    };
    match s.crm.log_interaction(v.employee, lead_id, n).await {
        Ok(_) => Ok(redirect(&back_to(form.back, lead_id))),
        // A refusal to show at the form: the form again, as typed (else its error page).
        Err(e) => {
            let kept = kept.refused(c, e, "")?;
            lead_page(&s, v, lead_id, kept).await
        }
    }
}

#[derive(Deserialize)]
pub struct OpportunityForm {
    csrf: String,
    title: String,
    value: String,
    currency: String,
    expected_close: String,
    /// The deal's own probability in percent (blank: its stage's).
    #[serde(default)]
    probability: String,
}

/// An opportunity's probability override as its form field shows it: the percent, or
/// empty when the stage's counts.
pub(super) fn override_text(o: &crm_core::Opportunity) -> String {
    o.probability
        .map_or(String::new(), |p| p.percent().to_string())
}

/// Adds an opportunity.
pub async fn add_opportunity(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<OpportunityForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let lead_id: LeadId = id(c, &lead)?;
    let kept = Kept::new(
        "opportunity",
        [
            ("title", form.title.clone()),
            ("value", form.value.clone()),
            ("currency", form.currency.clone()),
            ("expected_close", form.expected_close.clone()),
            ("probability", form.probability.clone()),
        ],
    );
    let mut f = Fields::default();
    let n = input::new_opportunity(
        &mut f,
        &OpportunityIn {
            title: Some(form.title.clone()),
            value: Some(form.value.clone()),
            currency: Some(form.currency.clone()),
            expected_close: Some(form.expected_close.clone()),
            probability: Some(form.probability.clone()),
        },
    );
    let n = match f.done(n) {
        Ok(n) => n,
        Err(p) => return lead_page(&s, v, lead_id, kept.invalid(lang, p)).await,
    };
    match s.crm.add_opportunity(v.employee, lead_id, n).await {
        Ok(_) => Ok(redirect(&format!("/leads/{lead_id}"))),
        // A refusal to show at the form: the form again, as typed (else its error page).
        Err(e) => {
            let kept = kept.refused(c, e, "")?;
            lead_page(&s, v, lead_id, kept).await
        }
    }
}

#[derive(Deserialize)]
pub struct StageForm {
    csrf: String,
    version: u64,
    stage: String,
    /// The deal's own probability in percent; blank clears it (its stage's counts).
    /// Absent, or as the page showed it: left as it is, so a stage move alone stays one
    /// (the only change a converted lead's opportunity takes).
    #[serde(default)]
    probability: Option<String>,
    /// Where to go after (a path on this site; default the lead's page): the board.
    #[serde(default)]
    back: Option<String>,
}

/// Moves an opportunity to another stage and sets or clears its own probability.
pub async fn update_opportunity(
    State(s): State<AppState>,
    v: Viewer,
    Path(opp): Path<String>,
    Form(form): Form<StageForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lang = c.lang;
    let opp_id: OpportunityId = id(c, &opp)?;
    let current = s
        .crm
        .opportunity(v.employee, opp_id)
        .await
        .map_err(fail(c))?;
    // Shown again on the lead's page, at this opportunity's form.
    let kept = Kept::new(
        "stage",
        [
            ("opportunity", opp_id.to_string()),
            ("stage", form.stage.clone()),
            // The board's card sends no probability: the deal's own stays as shown.
            (
                "probability",
                (form.probability.clone()).unwrap_or_else(|| override_text(&current)),
            ),
        ],
    );
    let lead_id = current.lead_id;
    let mut f = Fields::default();
    let patch = input::opportunity_patch(
        &mut f,
        &OpportunityPatchIn {
            stage: Some(form.stage),
            probability: form
                .probability
                .filter(|p| p.trim() != override_text(&current)),
            ..Default::default()
        },
        current.value.currency(),
    );
    let patch = match f.done(patch) {
        Ok(patch) => patch,
        Err(p) => return lead_page(&s, v, lead_id, kept.invalid(lang, p)).await,
    };
    match (s.crm)
        .update_opportunity(v.employee, opp_id, form.version, patch)
        .await
    {
        Ok(_) => Ok(redirect(&back_to(form.back, lead_id))),
        Err(e) => {
            let kept = kept.refused(c, e, "stage")?;
            lead_page(&s, v, lead_id, kept).await
        }
    }
}

/// The result of a bulk change: each lead changed, and each refused with why.
#[derive(Template)]
#[template(path = "leads/bulk.html")]
struct BulkPage {
    c: Ctx,
    /// (id, name) of each lead changed.
    done: Vec<(String, String)>,
    /// (id, why) of each lead refused, said in the page's language.
    failed: Vec<(String, String)>,
    back: String,
}

/// Applies one change, an assignment or a status move, to the leads selected on the list
/// ([`crm_core::Crm::bulk`]: each lead on its own, at the version the list showed), and
/// shows what became of each.
pub async fn bulk(
    State(s): State<AppState>,
    v: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    // A form of repeated fields (one `lead` per box ticked): read as pairs.
    let get = |k: &str| {
        (pairs.iter())
            .find(|(n, _)| n == k)
            .map_or("", |(_, val)| val.as_str())
    };
    v.check_csrf(get("csrf"))?;
    let c = &v.ctx;
    let mut f = Fields::default();
    let mut targets = Vec::new();
    for (_, val) in pairs.iter().filter(|(n, _)| n == "lead") {
        let target = val.split_once(':').and_then(|(id, ver)| {
            Some(crm_core::BulkTarget {
                id: id.parse().ok()?,
                version: Some(ver.parse().ok()?),
            })
        });
        if let Some(t) = f.take("lead", target.ok_or("not a lead of this list")) {
            targets.push(t);
        }
    }
    let change = match (get("to").trim(), get("status").trim()) {
        ("", "") => f.take::<crm_core::BulkChange, _>("to", Err("choose an employee or a status")),
        (to, "") => f
            .take("to", to.parse::<EmployeeId>())
            .map(|to| crm_core::BulkChange::Assign { to }),
        // A conversion creates a client and asks for a confirmation, one lead at a time.
        ("", "converted") => f.take::<crm_core::BulkChange, _>(
            "status",
            Err("a conversion is confirmed one lead at a time"),
        ),
        ("", status) => input::status(
            &mut f,
            &StatusIn {
                status: status.to_owned(),
                lost_reason: Some(get("lost_reason").to_owned()),
                lost_reason_detail: None,
            },
        )
        .map(|(to, reason)| crm_core::BulkChange::Status { to, reason }),
        _ => f.take::<crm_core::BulkChange, _>("status", Err("one change at a time")),
    };
    let change = f.done(change).map_err(|p| problem(c, p))?;
    let outcome = (s.crm.bulk(v.employee, &targets, &change).await).map_err(fail(c))?;
    let back = crate::web::auth::local_path(Some(get("back").to_owned()));
    Ok(render(&BulkPage {
        done: (outcome.done.iter())
            .map(|l| (l.id().to_string(), l.name().to_string()))
            .collect(),
        failed: (outcome.failed.iter())
            .map(|(id, e)| (id.to_string(), crate::say::crm_error(c.lang, e)))
            .collect(),
        back: if back == "/" {
            "/leads".to_owned()
        } else {
            back
        },
        c: v.ctx,
    }))
}
