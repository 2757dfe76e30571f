//! The duplicates page: the groups of open leads the viewer sees that share an email or a
//! phone (with "fuzzy", a name within a company), and for management a merge form per pair
//! (a plain form with the CSRF token and both versions read: it works without JavaScript).
//! The library decides who may merge; the form only shows where it would succeed.

use super::Form;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use crm_core::{DuplicateGroup, Lead, LeadId};
use serde::Deserialize;

use super::{Ctx, Viewer, error_page, redirect, render};
use crate::AppState;
use crate::api::Fields;
use crate::problem::Problem;

type WebResult = Result<Response, Response>;

/// `?fuzzy=1`.
#[derive(Deserialize)]
pub struct DuplicatesQuery {
    #[serde(default)]
    fuzzy: Option<String>,
}

/// One lead of a group, as the page shows it.
pub struct Row {
    id: String,
    name: String,
    contact: String,
    company: String,
    status: &'static str,
    version: u64,
}

impl From<&Lead> for Row {
    fn from(l: &Lead) -> Self {
        Self {
            id: l.id().to_string(),
            name: l.name().to_string(),
            contact: l.email().map_or_else(
                || l.phone().map_or(String::new(), |p| p.display().to_owned()),
                |e| e.to_string(),
            ),
            company: l.company().map_or(String::new(), |c| c.to_string()),
            status: l.status().as_str(),
            version: l.version(),
        }
    }
}

/// A group: what it shares, and its leads, the first being the one to keep.
pub struct Group {
    label: &'static str,
    key: String,
    keep: Row,
    others: Vec<Row>,
}

#[derive(Template)]
#[template(path = "duplicates/page.html")]
struct DuplicatesPage {
    c: Ctx,
    fuzzy: bool,
    groups: Vec<Group>,
    can_merge: bool,
}

fn group(c: &Ctx, g: &DuplicateGroup) -> Option<Group> {
    let (first, rest) = g.leads.split_first()?;
    Some(Group {
        label: match g.kind {
            crm_core::DuplicateKind::Email => c.t.dup_by_email,
            crm_core::DuplicateKind::Phone => c.t.dup_by_phone,
            _ => c.t.dup_by_name,
        },
        key: g.key.replace('\n', " / "),
        keep: Row::from(first),
        others: rest.iter().map(Row::from).collect(),
    })
}

/// The duplicates page.
pub async fn page(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<DuplicatesQuery>,
) -> WebResult {
    let c = v.ctx;
    let fuzzy = q
        .fuzzy
        .as_deref()
        .is_some_and(|f| !f.is_empty() && f != "0");
    let groups = s
        .crm
        .duplicates(v.employee, fuzzy)
        .await
        .map_err(|e| error_page(c.lang, Problem::from(e)))?;
    let can_merge = c.me.as_ref().is_some_and(|e| {
        crm_core::permissions::authorize(e, crm_core::Action::MergeLeads, None).is_ok()
    });
    let groups = groups.iter().filter_map(|g| group(&c, g)).collect();
    Ok(render(&DuplicatesPage {
        c,
        fuzzy,
        groups,
        can_merge,
    }))
}

/// The merge form: both leads and the versions the page showed.
#[derive(Deserialize)]
pub struct MergeForm {
    csrf: String,
    keep: String,
    keep_version: u64,
    other: String,
    other_version: u64,
}

/// Merges one lead of a group into the group's first; back to the kept lead's page.
pub async fn merge(State(s): State<AppState>, v: Viewer, Form(form): Form<MergeForm>) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let mut f = Fields::default();
    let keep = f.take("keep", form.keep.trim().parse::<LeadId>());
    let other = f.take("other", form.other.trim().parse::<LeadId>());
    let (keep, other) = f.done(keep.zip(other)).map_err(|p| error_page(c.lang, p))?;
    s.crm
        .merge_leads(
            v.employee,
            keep,
            form.keep_version,
            other,
            form.other_version,
        )
        .await
        .map_err(|e| error_page(c.lang, Problem::from(e)))?;
    Ok(redirect(&format!("/leads/{keep}")))
}
