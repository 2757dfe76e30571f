//! The web forms' pages ([`crate::forms`]): a form's public page at `/forms/NAME` (no
//! sign-in, no JavaScript needed, Arabic or English by `?lang=`), what posting it answers,
//! and for staff the list of forms with the snippet a website pastes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_config::form::{FieldKind, FormSpec};
use serde::Deserialize;

use super::{Ctx, Form, Viewer, WebResult, render, with_retry_after};
use crate::AppState;
use crate::forms::{Outcome, Refused, Submission};
use crate::i18n::{Lang, Strings};

/// One field of a form's page, as shown.
pub struct FieldView {
    key: &'static str,
    label: &'static str,
    required: bool,
    value: String,
    input_type: &'static str,
    autocomplete: &'static str,
    ltr: bool,
    max: usize,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "forms/public.html")]
struct PublicPage {
    t: &'static Strings,
    lang: Lang,
    name: String,
    title: String,
    token: String,
    fields: Vec<FieldView>,
    consent: Option<String>,
    consented: bool,
    consent_error: Option<String>,
    /// Where the person came from, carried to the submission.
    carried: Vec<(&'static str, String)>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "forms/thanks.html")]
struct ThanksPage {
    t: &'static Strings,
    lang: Lang,
    title: String,
    thanks: String,
}

/// `?lang=` and the UTM parameters a link to the page carries.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
}

fn field_label(t: &Strings, k: FieldKind) -> &'static str {
    match k {
        FieldKind::Name => t.name,
        FieldKind::Email => t.email,
        FieldKind::Phone => t.phone,
        FieldKind::Company => t.company,
        FieldKind::Message => t.form_message,
    }
}

fn refusal(t: &Strings, r: Refused) -> String {
    match r {
        Refused::Required => t.form_required.to_owned(),
        Refused::NoContact => t.form_no_contact.to_owned(),
        Refused::NoConsent => t.form_no_consent.to_owned(),
        Refused::TooLong(max) => format!("{} ({max})", t.form_too_long),
        Refused::Invalid => t.form_invalid.to_owned(),
    }
}

/// The page of `form` in `lang`, filled with `sub`, each field's refusal at it. A page shown
/// again (to confirm, or with refusals) holds what the person typed already: its signed
/// time is set back by the fill time, so sending it at once is no robot's speed.
fn public_page(
    s: &AppState,
    form: &FormSpec,
    lang: Lang,
    sub: &Submission,
    errors: &[(&'static str, Refused, Option<String>)],
    notice: Option<String>,
) -> PublicPage {
    let again = notice.is_some() || !errors.is_empty();
    let served = match again {
        true => s.clock.now() - crate::forms::MIN_FILL,
        false => s.clock.now(),
    };
    let t = lang.strings();
    let error_of = |key: &str| {
        (errors.iter())
            .find(|(f, _, _)| *f == key)
            .map(|(_, r, _)| refusal(t, *r))
    };
    let fields = (form.fields.iter())
        .map(|f| {
            let (input_type, autocomplete, ltr, max) = match f.kind {
                FieldKind::Name => ("text", "name", false, crm_core::Name::MAX),
                FieldKind::Email => ("email", "email", true, 254),
                FieldKind::Phone => ("tel", "tel", true, 40),
                FieldKind::Company => ("text", "organization", false, crm_core::Name::MAX),
                FieldKind::Message => ("text", "off", false, crm_core::Note::MAX),
            };
            FieldView {
                key: f.kind.as_str(),
                label: field_label(t, f.kind),
                required: f.required,
                value: sub.value(f.kind).unwrap_or_default().to_owned(),
                input_type,
                autocomplete,
                ltr,
                max,
                error: error_of(f.kind.as_str()),
            }
        })
        .collect();
    let carried = [
        ("utm_source", &sub.utm_source),
        ("utm_medium", &sub.utm_medium),
        ("utm_campaign", &sub.utm_campaign),
        ("utm_term", &sub.utm_term),
        ("utm_content", &sub.utm_content),
        ("referrer", &sub.referrer),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    let other = errors
        .iter()
        .find(|(f, _, _)| {
            !matches!(
                *f,
                "name" | "email" | "phone" | "company" | "message" | "consent"
            )
        })
        .map(|(_, r, _)| refusal(t, *r));
    PublicPage {
        t,
        lang,
        name: form.name.clone(),
        title: form
            .title
            .clone()
            .unwrap_or_else(|| t.form_title.to_owned()),
        token: s.forms.token(&form.name, served),
        fields,
        consent: form.consent.clone(),
        consented: sub.consented(),
        consent_error: error_of("consent"),
        carried,
        notice,
        error: other,
    }
}

fn not_found(lang: Lang) -> Response {
    super::error_page(
        lang,
        crate::problem::Problem::not_found(lang.strings().form_unknown),
    )
}

/// A form's public page; the UTM parameters of the link and the page the person came from
/// are carried to the submission.
pub async fn page(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let Some(form) = s.forms.get(&name) else {
        return not_found(lang);
    };
    let referrer = headers
        .get(axum::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .map(str::to_owned);
    let sub = Submission {
        utm_source: q.utm_source,
        utm_medium: q.utm_medium,
        utm_campaign: q.utm_campaign,
        utm_term: q.utm_term,
        utm_content: q.utm_content,
        referrer,
        ..Submission::default()
    };
    render(&public_page(&s, form, lang, &sub, &[], None))
}

/// A form posted: thanked, shown again (to confirm, or with its refusals), or refused.
pub async fn submit(
    State(s): State<AppState>,
    Path(name): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(sub): Form<Submission>,
) -> Response {
    let lang = Lang::from_code(sub.lang.as_deref());
    let t = lang.strings();
    let address = crate::forms::address(&extensions);
    let outcome = crate::forms::receive(&s, &name, &headers, &address, sub.clone()).await;
    let Some(form) = s.forms.get(&name) else {
        return not_found(lang);
    };
    let again = |status: StatusCode, errors: &[_], notice: Option<String>| {
        (
            status,
            render(&public_page(&s, form, lang, &sub, errors, notice)),
        )
            .into_response()
    };
    match outcome {
        Outcome::Thanks => render(&ThanksPage {
            t,
            lang,
            title: form
                .title
                .clone()
                .unwrap_or_else(|| t.form_title.to_owned()),
            thanks: form
                .thanks
                .clone()
                .unwrap_or_else(|| t.form_thanks.to_owned()),
        }),
        Outcome::Unknown => not_found(lang),
        Outcome::OtherSite => super::error_page(
            lang,
            crate::problem::Problem::new(StatusCode::FORBIDDEN, "other_site", t.form_other_site),
        ),
        Outcome::TooMany(wait) => with_retry_after(
            again(
                StatusCode::TOO_MANY_REQUESTS,
                &[],
                Some(t.form_too_many.to_owned()),
            ),
            wait,
        ),
        Outcome::Confirm => again(StatusCode::OK, &[], Some(t.form_confirm.to_owned())),
        Outcome::Refused(errors) => again(StatusCode::UNPROCESSABLE_ENTITY, &errors, None),
        Outcome::Failed(e) => super::error_page(lang, e.into()),
    }
}

/// A form as the staff page lists it.
pub struct FormView {
    name: String,
    href: String,
    team: String,
    origins: String,
    snippet: String,
}

#[derive(Template)]
#[template(path = "forms/list.html")]
struct ListPage {
    c: Ctx,
    forms: Vec<FormView>,
}

/// `s` with the characters HTML gives a meaning escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML a website pastes: a plain form posting to `base`, in the viewer's language,
/// with the honeypot; no script. Its first post is answered with the form's page to confirm
/// (it carries no signed time).
fn snippet(c: &Ctx, form: &FormSpec, base: &str) -> String {
    let t = c.t;
    let mut s = format!(
        "<form action=\"{base}/forms/{}\" method=\"post\" accept-charset=\"utf-8\" dir=\"{}\">\n",
        form.name,
        c.dir()
    );
    s.push_str(&format!(
        "  <input type=\"hidden\" name=\"lang\" value=\"{}\">\n",
        c.lang_code()
    ));
    for f in &form.fields {
        let required = if f.required { " required" } else { "" };
        let label = escape(field_label(t, f.kind));
        let key = f.kind.as_str();
        s.push_str(&match f.kind {
            FieldKind::Message => {
                format!("  <label>{label}<br><textarea name=\"{key}\" rows=\"5\"{required}></textarea></label><br>\n")
            }
            FieldKind::Email => format!(
                "  <label>{label}<br><input name=\"{key}\" type=\"email\" dir=\"ltr\"{required}></label><br>\n"
            ),
            FieldKind::Phone => format!(
                "  <label>{label}<br><input name=\"{key}\" type=\"tel\" dir=\"ltr\"{required}></label><br>\n"
            ),
            _ => format!("  <label>{label}<br><input name=\"{key}\"{required}></label><br>\n"),
        });
    }
    if let Some(consent) = &form.consent {
        s.push_str(&format!(
            "  <label><input type=\"checkbox\" name=\"consent\" value=\"on\" required> {}</label><br>\n",
            escape(consent)
        ));
    }
    s.push_str(&format!(
        "  <label style=\"position:absolute;left:-10000px\" aria-hidden=\"true\">{}<input name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></label>\n",
        escape(t.form_honeypot)
    ));
    s.push_str(&format!(
        "  <button type=\"submit\">{}</button>\n</form>\n",
        escape(t.form_send)
    ));
    s
}

/// The forms, each with its page's address and the snippet to paste (staff).
pub async fn list(State(s): State<AppState>, v: Viewer, headers: HeaderMap) -> WebResult {
    let scheme = if s.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base = format!("{scheme}://{host}");
    let forms = (s.forms.all().iter())
        .map(|f| FormView {
            name: f.title.clone().unwrap_or_else(|| f.name.clone()),
            href: format!("{base}/forms/{}?lang={}", f.name, v.ctx.lang_code()),
            team: f.rule.team.to_string(),
            origins: f.origins.join("، "),
            snippet: snippet(&v.ctx, f, &base),
        })
        .collect();
    Ok(render(&ListPage { c: v.ctx, forms }))
}
