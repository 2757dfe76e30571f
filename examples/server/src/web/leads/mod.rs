//! One handler per page or form, each with its template. A form's handler checks the CSRF
//! token, parses the fields with the API's parsers, calls the one `Crm` method as the
//! signed-in employee, and redirects to the page that shows the result (POST, redirect,
//! GET), or shows the error with its status.

use std::collections::BTreeMap;

use super::Form;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_core::export::{self as export, ExportError, ExportOptions, Format, Locale};
use crm_core::{Change, CrmError, EmployeeId, LeadId, OpportunityId};
use serde::Deserialize;

use super::{
    Ctx, LANG_COOKIE, PRE_CSRF_COOKIE, SESSION_COOKIE, TZ_COOKIE, Viewer, cookie, error_page,
    redirect, render, set_cookie, urlencode, with_cookie, with_retry_after,
};
use crate::AppState;
use crate::api::{
    EmployeeIn, Fields, InteractionIn, LeadFilter, LeadPatchIn, NewLeadIn, OpportunityIn,
    OpportunityPatchIn, ReportParams, StatusIn,
};
use crate::auth::{AuthError, Credential, Proof, same_secret};
use crate::i18n::{self, Lang, Strings};
use crate::input;
use crate::problem::{FieldError, Problem};

pub(super) type WebResult = Result<Response, Response>;

/// The error page for a failure, in the viewer's language.
pub(super) fn fail(ctx: &Ctx) -> impl Fn(CrmError) -> Response + '_ {
    move |e| error_page(ctx.lang, Problem::from(e))
}

pub(super) fn problem(ctx: &Ctx, p: Problem) -> Response {
    error_page(ctx.lang, p)
}

/// An id in a path; one that does not parse is a 404 page.
pub(super) fn id<T: std::str::FromStr>(ctx: &Ctx, s: &str) -> Result<T, Response> {
    s.parse()
        .map_err(|_| problem(ctx, Problem::not_found(ctx.t.not_found)))
}

/// Employees' names by id, for showing owners and actors.
pub(super) async fn names(s: &AppState, v: &Viewer) -> BTreeMap<i64, String> {
    match s.crm.employees(v.employee).await {
        Ok(list) => list
            .into_iter()
            .map(|e| (e.id.get(), e.name.to_string()))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

pub(super) fn who(names: &BTreeMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .map_or_else(|| id.to_string(), |n| format!("{n} ({id})"))
}

// ---- sign-in ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Ctx,
    error: Option<String>,
    employee_id: String,
}

fn anonymous(s: &AppState, lang: Lang, csrf: String, path: &str) -> Ctx {
    Ctx {
        t: lang.strings(),
        lang,
        me: None,
        csrf,
        manager: false,
        tz: s.config.time_zone,
        path: path.to_owned(),
    }
}

/// The sign-in form. Before there is a session its CSRF token travels in a cookie of its
/// own (double submit), so no other site can sign a browser in.
pub async fn sign_in_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_code(cookie(&headers, LANG_COOKIE));
    let token = match cookie(&headers, PRE_CSRF_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => t.to_owned(),
        _ => crate::auth::new_secret(),
    };
    let page = SignInPage {
        c: anonymous(&s, lang, token.clone(), "/sign-in"),
        error: None,
        employee_id: String::new(),
    };
    with_cookie(
        render(&page),
        set_cookie(PRE_CSRF_COOKIE, &token, None, s.config.secure_cookies),
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    employee_id: String,
    password: String,
}

/// Signs in: checks the password (slowed down and locked after repeated failures), starts
/// a session in the database and sets its cookie.
pub async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let lang = Lang::from_code(cookie(&headers, LANG_COOKIE));
    let t = lang.strings();
    let pre = cookie(&headers, PRE_CSRF_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let again = |status: StatusCode, error: String| {
        let page = SignInPage {
            c: anonymous(&s, lang, pre.clone(), "/sign-in"),
            error: Some(error),
            employee_id: f.employee_id.clone(),
        };
        (status, render(&page)).into_response()
    };
    if pre.is_empty() || !same_secret(&f.csrf, &pre) {
        return redirect("/sign-in");
    }
    let Ok(id) = f.employee_id.trim().parse::<EmployeeId>() else {
        return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
    };
    match s.auth.check_password(id, &f.password).await {
        Ok(()) => {}
        Err(AuthError::Locked { until, retry_after }) => {
            let when = until.with_timezone(&s.config.time_zone).format("%H:%M");
            return with_retry_after(
                again(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("{} {when}", t.locked),
                ),
                retry_after,
            );
        }
        Err(AuthError::BadCredentials) => {
            return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
        }
        Err(e) => return error_page(lang, e.into()),
    }
    match s.crm.employee(id, id).await {
        Ok(Some(e)) if e.active => {}
        // Someone who has left signs in no more (the library would let them read).
        Ok(_) => return again(StatusCode::FORBIDDEN, t.account_inactive.to_owned()),
        Err(CrmError::UnknownActor(_)) => {
            return again(StatusCode::UNAUTHORIZED, t.bad_credentials.to_owned());
        }
        Err(e) => return error_page(lang, e.into()),
    }
    match s.auth.start_session(id).await {
        Ok((cookie_value, _)) => {
            let age = s.auth.policy().session_ttl.num_seconds();
            with_cookie(
                redirect("/leads"),
                set_cookie(
                    SESSION_COOKIE,
                    &cookie_value,
                    Some(age),
                    s.config.secure_cookies,
                ),
            )
        }
        Err(e) => error_page(lang, e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Signs out: ends the session in the database and clears the cookie.
pub async fn sign_out(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> WebResult {
    v.check_csrf(&f.csrf)?;
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        s.auth
            .end_session(c)
            .await
            .map_err(|e| problem(&v.ctx, e.into()))?;
    }
    Ok(with_cookie(
        redirect("/sign-in"),
        set_cookie(SESSION_COOKIE, "", Some(0), s.config.secure_cookies),
    ))
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// Switches the interface language and goes back to the page (a local path only).
pub async fn switch_lang(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(b): Query<Back>,
) -> Response {
    let lang = Lang::from_code(Some(&code));
    let back = local_path(b.back);
    with_cookie(
        redirect(&back),
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(365 * 86400),
            s.config.secure_cookies,
        ),
    )
}

#[derive(Deserialize)]
pub struct ZoneChoice {
    zone: String,
    back: Option<String>,
}

/// Shows dates in another time zone (an IANA name) and goes back to the page.
pub async fn switch_zone(State(s): State<AppState>, Query(q): Query<ZoneChoice>) -> Response {
    let back = local_path(q.back);
    match q.zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => with_cookie(
            redirect(&back),
            set_cookie(
                TZ_COOKIE,
                tz.name(),
                Some(365 * 86400),
                s.config.secure_cookies,
            ),
        ),
        Err(_) => error_page(
            Lang::Ar,
            Problem::invalid(vec![FieldError {
                field: "zone".into(),
                detail: format!("unknown time zone {:?}", q.zone),
            }]),
        ),
    }
}

/// A path on this site to go back to; anything else goes to the lead list.
fn local_path(back: Option<String>) -> String {
    back.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/leads".to_owned())
}

// ---- leads -----------------------------------------------------------------------------

/// A lead as a row or a header.
pub struct LeadView {
    id: String,
    name: String,
    email: String,
    phone: String,
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
        company: l.company().map_or(String::new(), |e| e.to_string()),
        source: l.source().to_string(),
        status: l.status().to_string(),
        owner: who(names, l.owner().get()),
        created: c.time(&l.created_at()),
        version: l.version(),
        lost_reason: l.lost().map_or(String::new(), |r| r.to_string()),
        client: l.client_id().map_or(String::new(), |c| c.to_string()),
        read_only: l.is_read_only(),
        merged_into: l.merged_into().map_or(String::new(), |m| m.to_string()),
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    c: Ctx,
    rows: Vec<LeadView>,
    q: String,
    status: String,
    source: String,
    owner: String,
    next: Option<String>,
    statuses: &'static [&'static str],
}

/// The lead list: filters, search and keyset pages.
pub async fn leads(
    State(s): State<AppState>,
    v: Viewer,
    q: Result<Query<LeadFilter>, axum::extract::rejection::QueryRejection>,
) -> WebResult {
    let c = &v.ctx;
    // An unknown parameter (the API refuses it too) is shown as a page, not as axum's text.
    let Query(q) = q.map_err(|e| problem(c, Problem::from(e)))?;
    let mut f = Fields::default();
    let query = input::lead_query(&mut f, &q, s.config.region);
    let query = f.done(query).map_err(|p| problem(c, p))?;
    let page = s
        .crm
        .list_leads(v.employee, &query)
        .await
        .map_err(fail(c))?;
    let names = names(&s, &v).await;
    let keep = |k: &str, val: &Option<String>| {
        val.as_deref()
            .filter(|x| !x.is_empty())
            .map(|x| format!("&{k}={}", urlencode(x)))
            .unwrap_or_default()
    };
    let next = page.next.map(|n| {
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
    let rows = page
        .items
        .iter()
        .map(|l| lead_view(c, l, &names, now))
        .collect();
    Ok(render(&LeadsPage {
        rows,
        q: q.q.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        source: q.source.clone().unwrap_or_default(),
        owner: q.owner.clone().unwrap_or_default(),
        next,
        statuses: i18n::STATUSES,
        c: v.ctx,
    }))
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct LeadFormPage {
    c: Ctx,
    action: String,
    heading: &'static str,
    version: Option<u64>,
    v: LeadForm,
    errors: Vec<FieldError>,
    error: Option<String>,
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
pub async fn new_lead(v: Viewer) -> Response {
    let heading = v.ctx.t.new_lead;
    render(&LeadFormPage {
        c: v.ctx,
        action: "/leads".into(),
        heading,
        version: None,
        v: LeadForm::default(),
        errors: vec![],
        error: None,
    })
}

/// The form again, with what was typed and what is wrong.
fn form_again(
    v: Viewer,
    action: String,
    heading: &'static str,
    form: LeadForm,
    p: Problem,
) -> Response {
    let status = p.status_code();
    let page = LeadFormPage {
        c: v.ctx,
        action,
        heading,
        version: form.version,
        errors: p.errors,
        error: Some(p.detail),
        v: form,
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
    let input = NewLeadIn {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        phone: Some(form.phone.clone()),
        company: Some(form.company.clone()),
        source: Some(form.source.clone()),
        owner: None,
        allow_duplicate: form.allow_duplicate.is_some(),
    };
    let mut f = Fields::default();
    let lead = input::new_lead(&mut f, &input, s.config.region);
    let heading = v.ctx.t.new_lead;
    let lead = match f.done(lead) {
        Ok(l) => l,
        Err(p) => return Err(form_again(v, "/leads".into(), heading, form, p)),
    };
    match s.crm.create_lead(v.employee, lead).await {
        Ok(l) => Ok(redirect(&format!("/leads/{}", l.id()))),
        Err(e) => Err(form_again(v, "/leads".into(), heading, form, e.into())),
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
    Ok(render(&LeadFormPage {
        c: v.ctx,
        action: format!("/leads/{lead_id}/edit"),
        heading,
        version: Some(l.version()),
        v: LeadForm {
            csrf: String::new(),
            version: Some(l.version()),
            name: l.name().to_string(),
            email: l.email().map_or(String::new(), |e| e.to_string()),
            phone: l.phone().map_or(String::new(), |p| p.display().to_owned()),
            company: l.company().map_or(String::new(), |c| c.to_string()),
            source: l.source().to_string(),
            allow_duplicate: None,
            next_follow_up,
            clear_follow_up: None,
        },
        errors: vec![],
        error: None,
    }))
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
    let patch = input::lead_patch(&mut f, &input, s.config.region);
    let patch = match f.done(patch) {
        Ok(p) => p,
        Err(p) => return Err(form_again(v, action, heading, form, p)),
    };
    let version = form.version.unwrap_or(0);
    match s.crm.edit_lead(v.employee, lead_id, version, patch).await {
        Ok(l) => Ok(redirect(&format!("/leads/{}", l.id()))),
        Err(e) => Err(form_again(v, action, heading, form, e.into())),
    }
}

struct HistoryView {
    at: String,
    by: String,
    what: String,
}

struct InteractionView {
    at: String,
    kind: String,
    by: String,
    notes: String,
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
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Ctx,
    l: LeadView,
    pending: bool,
    history: Vec<HistoryView>,
    interactions: Vec<InteractionView>,
    opportunities: Vec<OpportunityView>,
    time_in_status: Vec<(String, i64)>,
    targets: Vec<String>,
    kinds: &'static [&'static str],
    stages: &'static [&'static str],
    lost_reasons: Vec<String>,
}

fn describe(t: &Strings, names: &BTreeMap<i64, String>, ch: &Change) -> String {
    match ch {
        Change::Created { .. } => t.ev_created.to_owned(),
        Change::StatusChanged {
            from,
            to,
            lost_reason,
            ..
        } => {
            let mut s = format!(
                "{} ← {}",
                t.status_label(to.as_str()),
                t.status_label(from.as_str())
            );
            if let Some(r) = lost_reason {
                s.push_str(&format!(" ({r})"));
            }
            s
        }
        Change::Reassigned { from, to } => format!(
            "{}: {} ← {}",
            t.ev_reassigned,
            who(names, to.get()),
            who(names, from.get())
        ),
        Change::Edited { field, old, new } => format!(
            "{} {field}: {} ← {}",
            t.ev_edited,
            new.as_deref().unwrap_or("-"),
            old.as_deref().unwrap_or("-")
        ),
        Change::MergedFrom { from, .. } => format!("{} {from}", t.ev_merged_from),
        Change::MergedInto { into } => format!("{} {into}", t.ev_merged_into),
    }
}

/// A lead with its history, interactions, opportunities and the forms that act on it.
pub async fn lead(State(s): State<AppState>, v: Viewer, Path(lead): Path<String>) -> WebResult {
    let c = &v.ctx;
    let lead_id: LeadId = id(c, &lead)?;
    let d = s
        .crm
        .lead_detail(v.employee, lead_id)
        .await
        .map_err(fail(c))?;
    let names = names(&s, &v).await;
    let spent = crm_core::history::time_in_status(&d.history, s.clock.now());
    let page = LeadPage {
        l: lead_view(c, &d.lead, &names, s.clock.now()),
        pending: d.pending_client.is_some(),
        history: d
            .history
            .iter()
            .map(|h| HistoryView {
                at: c.time(&h.at),
                by: who(&names, h.actor.get()),
                what: describe(c.t, &names, &h.change),
            })
            .collect(),
        interactions: d
            .interactions
            .iter()
            .map(|i| InteractionView {
                at: c.time(&i.occurred_at),
                kind: i.kind.to_string(),
                by: who(&names, i.logged_by.get()),
                notes: i.notes.to_string(),
            })
            .collect(),
        opportunities: d
            .opportunities
            .iter()
            .map(|o| OpportunityView {
                id: o.id.to_string(),
                title: o.title.to_string(),
                value: o.value.format_amount(),
                currency: o.value.currency().code().to_owned(),
                close: o.expected_close.to_string(),
                stage: o.stage.to_string(),
                probability: override_text(o),
                version: o.version,
            })
            .collect(),
        time_in_status: spent
            .iter()
            .map(|(st, d)| (st.to_string(), d.num_hours()))
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
        lost_reasons: s
            .crm
            .lost_reasons()
            .codes()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        c: v.ctx,
    };
    Ok(render(&page))
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
}

/// Moves the lead to another status.
pub async fn change_status(
    State(s): State<AppState>,
    v: Viewer,
    Path(lead): Path<String>,
    Form(form): Form<StatusForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let lead_id: LeadId = id(c, &lead)?;
    let mut f = Fields::default();
    let parsed = input::status(
        &mut f,
        &StatusIn {
            status: form.status,
            lost_reason: Some(form.lost_reason),
            lost_reason_detail: Some(form.lost_reason_detail),
        },
    );
    let (to, reason) = f.done(parsed).map_err(|p| problem(c, p))?;
    s.crm
        .change_status(v.employee, lead_id, form.version, to, reason)
        .await
        .map_err(fail(c))?;
    Ok(redirect(&format!("/leads/{lead_id}")))
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
    let lead_id: LeadId = id(c, &lead)?;
    let mut f = Fields::default();
    let to = f.take("to", form.to.trim().parse::<EmployeeId>());
    let to = f.done(to).map_err(|p| problem(c, p))?;
    s.crm
        .assign_lead(v.employee, lead_id, form.version, to)
        .await
        .map_err(fail(c))?;
    Ok(redirect(&format!("/leads/{lead_id}")))
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
    let lead_id: LeadId = id(c, &lead)?;
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
            kind: form.kind,
            occurred_at: None,
            notes: Some(form.notes),
            next_follow_up,
        },
    );
    let n = f.done(n).map_err(|p| problem(c, p))?;
    s.crm
        .log_interaction(v.employee, lead_id, n)
        .await
        .map_err(fail(c))?;
    Ok(redirect(&format!("/leads/{lead_id}")))
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
fn override_text(o: &crm_core::Opportunity) -> String {
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
    let lead_id: LeadId = id(c, &lead)?;
    let mut f = Fields::default();
    let n = input::new_opportunity(
        &mut f,
        &OpportunityIn {
            title: Some(form.title),
            value: Some(form.value),
            currency: Some(form.currency),
            expected_close: Some(form.expected_close),
            probability: Some(form.probability),
        },
    );
    let n = f.done(n).map_err(|p| problem(c, p))?;
    s.crm
        .add_opportunity(v.employee, lead_id, n)
        .await
        .map_err(fail(c))?;
    Ok(redirect(&format!("/leads/{lead_id}")))
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
    let opp_id: OpportunityId = id(c, &opp)?;
    let current = s
        .crm
        .opportunity(v.employee, opp_id)
        .await
        .map_err(fail(c))?;
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
    let patch = f.done(patch).map_err(|p| problem(c, p))?;
    s.crm
        .update_opportunity(v.employee, opp_id, form.version, patch)
        .await
        .map_err(fail(c))?;
    Ok(redirect(&format!("/leads/{}", current.lead_id)))
}

// ---- report ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    owner: Option<String>,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Ctx,
    statuses: &'static [&'static str],
    rows: Vec<(String, Vec<u64>, u64)>,
    totals: Vec<u64>,
    total: u64,
    from: String,
    to: String,
    source: String,
    csv_href: String,
    xlsx_href: String,
    pdf_href: String,
}

/// How the library's exporters write for this viewer: the page's language, and the
/// viewer's time zone (each date at the offset in force on it).
pub(super) fn export_options(c: &Ctx) -> ExportOptions {
    ExportOptions {
        locale: match c.lang {
            i18n::Lang::Ar => Locale::Ar,
            i18n::Lang::En => Locale::En,
        },
        zone: c.tz,
        bom: true,
    }
}

/// A download named `name` in `format` (`csv`, `xlsx` or `pdf`; anything else is a 404),
/// its bytes written by `write`, one of the library's exporters, with [`export_options`].
pub(super) async fn download<F, Fut>(c: &Ctx, name: &str, format: &str, write: F) -> WebResult
where
    F: FnOnce(Format, ExportOptions) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, ExportError>>,
{
    let format: Format = format
        .parse()
        .map_err(|_| problem(c, Problem::not_found(c.t.not_found)))?;
    let body = write(format, export_options(c))
        .await
        .map_err(|e| match e {
            ExportError::Crm(e) => fail(c)(e),
            other => problem(
                c,
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "export",
                    other.to_string(),
                ),
            ),
        })?;
    let mime = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Pdf => "application/pdf",
    };
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.as_str());
    Ok((
        [
            (CONTENT_TYPE, mime.to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The non-empty filters of a page as query pairs (`&k=v...`), for its download links.
pub(super) fn kept_query(pairs: &[(&str, &Option<String>)]) -> String {
    let mut query = String::new();
    for (k, val) in pairs {
        if let Some(x) = val.as_deref().filter(|x| !x.is_empty()) {
            query.push_str(&format!("&{k}={}", urlencode(x)));
        }
    }
    query
}

/// The status x source report, as a table or a download (CSV, XLSX, PDF).
pub async fn report(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let c = &v.ctx;
    let params = ReportParams {
        owner: q.owner.clone(),
        source: q.source.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
    };
    let mut f = Fields::default();
    let filter = input::report_filter(&mut f, &params);
    let filter = f.done(filter).map_err(|p| problem(c, p))?;
    if let Some(format) = q.format.as_deref() {
        return download(c, "report", format, |format, opts| async move {
            let mut body = Vec::new();
            export::write_report(&s.crm, v.employee, &filter, format, &opts, &mut body).await?;
            Ok(body)
        })
        .await;
    }
    let r = s.crm.report(v.employee, &filter).await.map_err(fail(c))?;
    let statuses = i18n::STATUSES;
    let rows = r
        .by_source
        .iter()
        .map(|(src, total)| {
            let counts = crm_core::LeadStatus::ALL
                .iter()
                .map(|st| r.count(*st, src))
                .collect();
            (src.to_string(), counts, *total)
        })
        .collect();
    let totals = crm_core::LeadStatus::ALL
        .iter()
        .map(|st| r.by_status.get(st).copied().unwrap_or(0))
        .collect();
    let query = kept_query(&[
        ("owner", &q.owner),
        ("source", &q.source),
        ("from", &q.from),
        ("to", &q.to),
    ]);
    let href = |format: &str| format!("/report?format={format}{query}");
    Ok(render(&ReportPage {
        statuses,
        rows,
        totals,
        total: r.total,
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        source: q.source.unwrap_or_default(),
        csv_href: href("csv"),
        xlsx_href: href("xlsx"),
        pdf_href: href("pdf"),
        c: v.ctx,
    }))
}

// ---- employees -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "employees.html")]
struct EmployeesPage {
    c: Ctx,
    list: Vec<crm_core::Employee>,
    roles: &'static [&'static str],
}

/// The employee list, with the forms managers use.
pub async fn employees(State(s): State<AppState>, v: Viewer) -> WebResult {
    let list = s.crm.employees(v.employee).await.map_err(fail(&v.ctx))?;
    Ok(render(&EmployeesPage {
        c: v.ctx,
        list,
        roles: i18n::ROLES,
    }))
}

#[derive(Deserialize)]
pub struct EmployeeForm {
    csrf: String,
    id: String,
    name: String,
    role: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    team: Option<String>,
    /// The teams a manager leads, separated by commas.
    #[serde(default)]
    manages: Option<String>,
    /// Their manager's id (blank: none).
    #[serde(default)]
    manager: Option<String>,
}

/// Adds or changes an employee (the library lets only management do so).
pub async fn save_employee(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<EmployeeForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let mut f = Fields::default();
    let emp_id = f.take("id", form.id.trim().parse::<EmployeeId>());
    let manager = match form.manager.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => f.take("manager", m.parse::<i64>()),
        _ => None,
    };
    let e = emp_id.and_then(|emp_id| {
        input::employee(
            &mut f,
            emp_id,
            &EmployeeIn {
                name: Some(form.name),
                role: Some(form.role),
                active: Some(form.active.is_some()),
                team: form.team,
                manages: form
                    .manages
                    .unwrap_or_default()
                    .split([',', '،'])
                    .map(str::to_owned)
                    .collect(),
                manager,
            },
        )
    });
    let e = f.done(e).map_err(|p| problem(c, p))?;
    let e = s.crm.save_employee(v.employee, e).await.map_err(fail(c))?;
    crate::api::end_if_inactive(&s, &e)
        .await
        .map_err(|p| problem(c, p))?;
    Ok(redirect("/employees"))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    password: String,
    /// The viewer's current password, when the password is their own.
    #[serde(default)]
    current_password: Option<String>,
}

/// Sets an employee's password (themself, with the current one, or management); the
/// employee's other sessions and tokens end.
pub async fn set_password(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(emp): Path<String>,
    Form(form): Form<PasswordForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let target: EmployeeId = id(c, &emp)?;
    let proof = Proof::CurrentPassword(form.current_password.as_deref());
    let keep = Credential::Session(
        cookie(&headers, SESSION_COOKIE)
            .unwrap_or_default()
            .to_owned(),
    );
    crate::api::set_password_as(&s, v.employee, target, &form.password, proof, &keep)
        .await
        .map_err(|p| problem(c, p))?;
    Ok(redirect("/employees"))
}
