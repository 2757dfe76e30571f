//! The lead form: a new lead, and an edit of one.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_core::LeadId;
use serde::Deserialize;

use crate::AppState;
use crate::api::{Fields, LeadPatchIn, NewLeadIn};
use crate::input;
use crate::problem::{FieldError, Problem};
use crate::web::pickers::{Opt, Pickers};
use crate::web::{Ctx, Form, Viewer, WebResult, fail, id, redirect, render};

#[derive(Template)]
#[template(path = "leads/form.html")]
struct LeadFormPage {
    c: Ctx,
    action: String,
    heading: &'static str,
    version: Option<u64>,
    v: LeadForm,
    errors: Vec<FieldError>,
    error: Option<String>,
    /// The host's sources, in the page's language.
    sources: Vec<Opt>,
    /// Whether a source not listed may be typed.
    new_source: bool,
    /// Who may be made responsible (new leads only; blank: the assignment rules, else the
    /// viewer).
    owners: Vec<Opt>,
}

/// The fields the lead form shows, each with its own error line.
const FORM_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "company",
    "source",
    "owner",
    "next_follow_up",
];

impl LeadFormPage {
    /// What is wrong with `field`, said at the field (empty: nothing).
    fn err(&self, field: &str) -> String {
        (self.errors.iter())
            .filter(|e| crate::say::form_field(&e.field) == field)
            .map(|e| e.detail.as_str())
            .collect::<Vec<_>>()
            .join("؛ ")
    }

    /// The errors of fields the form does not show, said above it.
    fn others(&self) -> Vec<&FieldError> {
        (self.errors.iter())
            .filter(|e| !FORM_FIELDS.contains(&crate::say::form_field(&e.field)))
            .collect()
    }

    fn new(c: Ctx, pick: &Pickers, action: String, heading: &'static str, v: LeadForm) -> Self {
        let owners = match v.version {
            Some(_) => Vec::new(),
            None => pick.owners(&v.owner, Some(c.t.owner_auto)),
        };
        Self {
            sources: pick.sources(c.t, &v.source, None),
            new_source: pick.new_source,
            owners,
            version: v.version,
            c,
            action,
            heading,
            v,
            errors: vec![],
            error: None,
        }
    }
}

/// The fields of the lead form.
#[derive(Deserialize, Default)]
pub struct LeadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    source: String,
    /// The responsible employee's id (new leads; blank: the assignment rules or the viewer).
    #[serde(default)]
    owner: String,
    #[serde(default)]
    allow_duplicate: Option<String>,
    /// The next follow-up time in the viewer's zone (`YYYY-MM-DDTHH:MM`), edit form only.
    #[serde(default)]
    next_follow_up: String,
    /// Clears the next follow-up time.
    #[serde(default)]
    clear_follow_up: Option<String>,
}

/// The empty form for a new lead.
pub async fn new_lead(State(s): State<AppState>, v: Viewer) -> Response {
    let pick = Pickers::read(&s, &v).await;
    let heading = v.ctx.t.new_lead;
    render(&LeadFormPage::new(
        v.ctx,
        &pick,
        "/leads".into(),
        heading,
        LeadForm::default(),
    ))
}

/// The form again, with what was typed and what is wrong.
fn form_again(
    v: Viewer,
    pick: &Pickers,
    action: String,
    heading: &'static str,
    form: LeadForm,
    p: Problem,
) -> Response {
    let p = crate::say::problem(v.ctx.lang, p);
    let status = p.status_code();
    let page = LeadFormPage {
        errors: p.errors,
        error: Some(p.detail),
        ..LeadFormPage::new(v.ctx, pick, action, heading, form)
    };
    (status, render(&page)).into_response()
}

/// A moment as a `datetime-local` input shows it, in the viewer's zone.
fn local_input(c: &Ctx, t: DateTime<Utc>) -> String {
    t.with_timezone(&c.tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// Creates a lead and shows it.
pub async fn create_lead(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<LeadForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let pick = Pickers::read(&s, &v).await;
    let mut f = Fields::default();
    let owner = f.opt(
        "owner",
        input::given(&Some(form.owner.clone())),
        str::parse::<i64>,
    );
    let input = NewLeadIn {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        phone: Some(form.phone.clone()),
        company: Some(form.company.clone()),
        source: Some(form.source.clone()),
        owner: owner.flatten(),
        allow_duplicate: form.allow_duplicate.is_some(),
    };
    let lead = input::new_lead(&mut f, &input, s.config.region);
    let heading = v.ctx.t.new_lead;
    let lead = match f.done(lead) {
        Ok(l) => l,
        Err(p) => return Err(form_again(v, &pick, "/leads".into(), heading, form, p)),
    };
    match s.crm.create_lead(v.employee, lead).await {
        Ok(l) => Ok(redirect(&format!("/leads/{}", l.id()))),
        Err(e) => {
            let p = crate::say::error(v.ctx.lang, e);
            Err(form_again(v, &pick, "/leads".into(), heading, form, p))
        }
    }
}

/// The edit form, filled in.
pub async fn edit_lead_page(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
) -> WebResult {
    let lead_id: LeadId = id(&v.ctx, &lead)?;
    let l = s
        .crm
        .lead(v.employee, lead_id)
        .await
        .map_err(fail(&v.ctx))?;
    let heading = v.ctx.t.edit_lead;
    let next_follow_up = l
        .next_follow_up_at()
        .map_or(String::new(), |t| local_input(&v.ctx, t));
    let pick = Pickers::read(&s, &v).await;
    let action = format!("/leads/{lead_id}/edit");
    Ok(render(&LeadFormPage::new(
        v.ctx,
        &pick,
        action,
        heading,
        LeadForm {
            csrf: String::new(),
            version: Some(l.version()),
            name: l.name().to_string(),
            email: l.email().map_or(String::new(), |e| e.to_string()),
            phone: l.phone().map_or(String::new(), |p| p.display().to_owned()),
            company: l.company().map_or(String::new(), |c| c.to_string()),
            source: l.source().to_string(),
            owner: String::new(),
            allow_duplicate: None,
            next_follow_up,
            clear_follow_up: None,
        },
    )))
}

/// Saves an edit made on the version the form was filled from.
pub async fn edit_lead(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<LeadForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let lead_id: LeadId = id(&v.ctx, &lead)?;
    let current = s
        .crm
        .lead(v.employee, lead_id)
        .await
        .map_err(fail(&v.ctx))?;
    // Only what the form changed is sent, so an edit changes exactly the fields touched.
    let changed = |new: &str, old: Option<String>| {
        (new.trim() != old.clone().unwrap_or_default()).then(|| new.to_owned())
    };
    let mut f = Fields::default();
    // The form shows the time in the viewer's zone; the library takes a moment (UTC).
    let was = current
        .next_follow_up_at()
        .map_or(String::new(), |t| local_input(&v.ctx, t));
    let next_follow_up = if form.clear_follow_up.is_some() {
        Some(String::new())
    } else if form.next_follow_up.trim() == was || form.next_follow_up.trim().is_empty() {
        None
    } else {
        f.take(
            "next_follow_up",
            input::local_time(&form.next_follow_up, v.ctx.tz),
        )
        .map(|t| t.to_rfc3339())
    };
    let input = LeadPatchIn {
        next_follow_up,
        name: changed(&form.name, Some(current.name().to_string())),
        email: changed(&form.email, current.email().map(|e| e.to_string())),
        phone: changed(&form.phone, current.phone().map(|p| p.display().to_owned())),
        company: changed(&form.company, current.company().map(|c| c.to_string())),
        source: changed(&form.source, Some(current.source().to_string())),
        allow_duplicate: form.allow_duplicate.is_some(),
    };
    let action = format!("/leads/{lead_id}/edit");
    let heading = v.ctx.t.edit_lead;
    let pick = Pickers::read(&s, &v).await;
    let patch = input::lead_patch(&mut f, &input, s.config.region);
    let patch = match f.done(patch) {
        Ok(p) => p,
        Err(p) => return Err(form_again(v, &pick, action, heading, form, p)),
    };
    let version = form.version.unwrap_or(0);
    match s.crm.edit_lead(v.employee, lead_id, version, patch).await {
        Ok(l) => Ok(redirect(&format!("/leads/{}", l.id()))),
        Err(e) => {
            let p = crate::say::error(v.ctx.lang, e);
            Err(form_again(v, &pick, action, heading, form, p))
        }
    }
}
