//! Request input into domain values, shared by the API and the web forms: each field goes
//! through the library's own parser, and every bad one is recorded against its name, so a
//! request with any bad field is refused whole before anything is done.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use crm_core::{
    Currency, Email, Employee, EmployeeId, InteractionKind, LeadPatch, LeadQuery, LeadStatus,
    LostReason, LostReasonCode, Money, Name, NewInteraction, NewLead, NewOpportunity, Note,
    OpportunityPatch, OpportunityStage, Phone, PhoneRegion, PipelineFilter, Probability,
    ReportFilter, Role, Source, Team,
};
use std::collections::BTreeSet;

use super::api::{
    EmployeeIn, Fields, InteractionIn, LeadFilter, LeadPatchIn, NewLeadIn, OpportunityIn,
    OpportunityPatchIn, PipelineParams, ReportParams, StageProbabilityIn, StatusIn,
};
use crm_config::{parse_date, parse_instant};

/// A text that is blank counts as not given (web forms send empty fields).
/// A query value that is present and not blank.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

/// An optional field of an edit: absent keeps, blank clears, else parsed.
fn clearable<T, E: std::fmt::Display + 'static>(
    f: &mut Fields,
    field: &str,
    v: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<Option<Option<T>>> {
    match v.as_deref() {
        None => Some(None),
        Some(s) if s.trim().is_empty() => Some(Some(None)),
        Some(s) => f.take(field, parse(s)).map(|v| Some(Some(v))),
    }
}

/// A moment with its offset (RFC 3339). A time without one could be read in any zone, so
/// it is refused; the web form converts its local time first ([`local_time`]).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.to_utc())
        .map_err(|_| {
            format!(
                "invalid time {s:?}: use RFC 3339 with an offset, e.g. 2026-12-01T09:30:00+03:00"
            )
        })
}

/// A wall-clock time typed in a form (`YYYY-MM-DDTHH:MM`, as `<input type="datetime-local">`
/// sends it) in the zone `tz`. A time the zone skips or passes twice (a daylight-saving
/// change) is refused rather than guessed.
pub fn local_time(s: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("invalid time {s:?}: use YYYY-MM-DDTHH:MM"))?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.to_utc()),
        LocalResult::Ambiguous(..) => Err(format!(
            "{s} happens twice in {} (a clock change): pick another minute",
            tz.name()
        )),
        LocalResult::None => Err(format!(
            "{s} does not exist in {} (a clock change)",
            tz.name()
        )),
    }
}

/// A new lead.
pub fn new_lead(f: &mut Fields, i: &NewLeadIn, region: PhoneRegion) -> Option<NewLead> {
    let name = match given(&i.name) {
        Some(n) => f.take("name", Name::parse(n)),
        None => {
            f.missing("name");
            None
        }
    };
    let email = f.opt("email", given(&i.email), Email::parse);
    let phone = f.opt("phone", given(&i.phone), |s| Phone::parse_in(s, region));
    let company = f.opt("company", given(&i.company), |s| {
        Name::parse_field("company", s)
    });
    let source = f.opt("source", given(&i.source), Source::parse);
    let owner = f.opt("owner", i.owner.map(|o| o.to_string()).as_deref(), |s| {
        s.parse::<EmployeeId>()
    });
    let mut lead = NewLead::new(name?, source?.unwrap_or_else(Source::other));
    lead.email = email?;
    lead.phone = phone?;
    lead.company = company?;
    lead.owner = owner?;
    lead.allow_duplicate = i.allow_duplicate;
    Some(lead)
}

/// Changes to a lead.
pub fn lead_patch(f: &mut Fields, i: &LeadPatchIn, region: PhoneRegion) -> Option<LeadPatch> {
    let name = f.opt("name", i.name.as_deref(), Name::parse);
    let email = clearable(f, "email", &i.email, Email::parse);
    let phone = clearable(f, "phone", &i.phone, |s| Phone::parse_in(s, region));
    let company = clearable(f, "company", &i.company, |s| {
        Name::parse_field("company", s)
    });
    let source = f.opt("source", given(&i.source), Source::parse);
    let next_follow_up = clearable(f, "next_follow_up", &i.next_follow_up, parse_time);
    Some(LeadPatch {
        name: name?,
        email: email?,
        phone: phone?,
        company: company?,
        source: source?,
        allow_duplicate: i.allow_duplicate,
        next_follow_up: next_follow_up?,
    })
}

/// A status move and its reason: a lost-reason code, with optional free-text detail.
pub fn status(f: &mut Fields, i: &StatusIn) -> Option<(LeadStatus, Option<LostReason>)> {
    let to = f.take("status", i.status.parse::<LeadStatus>());
    let code = f.opt("lost_reason", given(&i.lost_reason), LostReasonCode::parse);
    let detail = f.opt("lost_reason_detail", given(&i.lost_reason_detail), |s| {
        Name::parse_field("lost_reason_detail", s)
    });
    let reason = match (code?, detail?) {
        (Some(code), detail) => Some(LostReason { code, detail }),
        (None, Some(_)) => {
            f.take::<(), _>(
                "lost_reason_detail",
                Err("a detail goes with a lost_reason code"),
            );
            return None;
        }
        (None, None) => None,
    };
    Some((to?, reason))
}

/// A new interaction.
pub fn interaction(f: &mut Fields, i: &InteractionIn) -> Option<NewInteraction> {
    let kind = f.take("kind", i.kind.parse::<InteractionKind>());
    let at = f.opt("occurred_at", given(&i.occurred_at), parse_instant);
    let notes = f.take("notes", Note::parse(i.notes.as_deref().unwrap_or_default()));
    let next = f.opt("next_follow_up", given(&i.next_follow_up), parse_time);
    let mut n = NewInteraction::new(kind?).notes(notes?);
    n.occurred_at = at?;
    n.next_follow_up = next?;
    Some(n)
}

/// A new opportunity.
pub fn new_opportunity(f: &mut Fields, i: &OpportunityIn) -> Option<NewOpportunity> {
    let title = match given(&i.title) {
        Some(t) => f.take("title", Name::parse_field("title", t)),
        None => {
            f.missing("title");
            None
        }
    };
    let currency = match given(&i.currency) {
        Some(c) => f.take("currency", Currency::parse(c)),
        None => {
            f.missing("currency");
            None
        }
    };
    let value = match (given(&i.value), currency) {
        (Some(v), Some(c)) => f.take("value", Money::parse(v, c)),
        (None, _) => {
            f.missing("value");
            None
        }
        (Some(_), None) => None,
    };
    let close = match given(&i.expected_close) {
        Some(d) => f.take("expected_close", parse_date(d)),
        None => {
            f.missing("expected_close");
            None
        }
    };
    let probability = f.opt(
        "probability",
        given(&i.probability),
        str::parse::<Probability>,
    );
    Some(NewOpportunity {
        title: title?,
        value: value?,
        expected_close: close?,
        probability: probability?,
    })
}

/// Changes to an opportunity whose value is in `currency`.
pub fn opportunity_patch(
    f: &mut Fields,
    i: &OpportunityPatchIn,
    currency: Currency,
) -> Option<OpportunityPatch> {
    let title = f.opt("title", given(&i.title), |s| Name::parse_field("title", s));
    let value = f.opt("value", given(&i.value), |s| Money::parse(s, currency));
    let close = f.opt("expected_close", given(&i.expected_close), parse_date);
    let stage = f.opt("stage", given(&i.stage), str::parse::<OpportunityStage>);
    let probability = clearable(f, "probability", &i.probability, str::parse::<Probability>);
    Some(OpportunityPatch {
        title: title?,
        value: value?,
        expected_close: close?,
        stage: stage?,
        probability: probability?,
    })
}

/// Which leads to list.
pub fn lead_query(f: &mut Fields, q: &LeadFilter, region: PhoneRegion) -> Option<LeadQuery> {
    lead_query_of(f, q, region, None)
}

/// A lead list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest first, in keyset pages (the default).
    Newest,
    /// The best open leads by score (one list, no next page).
    Score,
    /// A column's order ([`crm_core::sorting`]; one list, no next page).
    By(crm_core::sorting::Sort),
}

impl ListOrder {
    /// As a `sort` parameter.
    pub fn as_param(self) -> String {
        match self {
            ListOrder::Newest => "newest".to_owned(),
            ListOrder::Score => "score".to_owned(),
            ListOrder::By(s) => s.to_string(),
        }
    }
}

/// A lead list's `sort`: `newest` (blank or absent), `score`, or a column (`name`,
/// `-created`, ...); anything else is refused by name.
pub fn list_order(f: &mut Fields, sort: &Option<String>) -> Option<ListOrder> {
    match sort.as_deref().map(str::trim) {
        None | Some("" | "newest") => Some(ListOrder::Newest),
        Some("score") => Some(ListOrder::Score),
        Some(other) => f
            .take("sort", other.parse::<crm_core::sorting::Sort>())
            .map(ListOrder::By),
    }
}

/// [`lead_query`] for `caller`, who may ask for their own leads only (`mine`, not with
/// `owner`).
pub fn lead_query_of(
    f: &mut Fields,
    q: &LeadFilter,
    region: PhoneRegion,
    caller: Option<EmployeeId>,
) -> Option<LeadQuery> {
    let mine = match (q.mine, given(&q.owner), caller) {
        (Some(true), Some(_), _) => f.take("mine", Err("goes without owner")),
        (Some(true), None, Some(me)) => Some(Some(me)),
        _ => Some(None),
    };
    let query = lead_query_filters(f, q, region)?;
    Some(match mine? {
        Some(me) => query.owner(me),
        None => query,
    })
}

fn lead_query_filters(f: &mut Fields, q: &LeadFilter, region: PhoneRegion) -> Option<LeadQuery> {
    let status = f.opt("status", given(&q.status), str::parse::<LeadStatus>);
    let source = f.opt("source", given(&q.source), Source::parse);
    let owner = f.opt("owner", given(&q.owner), str::parse::<EmployeeId>);
    let after = f.opt("after", given(&q.after), str::parse::<crm_core::Cursor>);
    let query = f.take("limit", LeadQuery::default().limit(q.limit.unwrap_or(50)));
    let mut query = query?;
    if let Some(s) = status? {
        query = query.status(s);
    }
    if let Some(s) = source? {
        query = query.source(s);
    }
    if let Some(o) = owner? {
        query = query.owner(o);
    }
    if let Some(a) = after? {
        query = query.after(a);
    }
    if let Some(s) = given(&q.q) {
        // A number in any spelling finds its leads, local forms read in the region.
        query = query.search_in(s, Some(region));
    }
    Some(query)
}

/// Report filters.
pub fn report_filter(f: &mut Fields, p: &ReportParams) -> Option<ReportFilter> {
    let owner = f.opt("owner", given(&p.owner), str::parse::<EmployeeId>);
    let source = f.opt("source", given(&p.source), Source::parse);
    let from = f.opt("from", given(&p.from), parse_instant);
    let to = f.opt("to", given(&p.to), parse_instant);
    Some(ReportFilter {
        owner: owner?,
        source: source?,
        created_from: from?,
        created_to: to?,
        campaign: given(&p.campaign).map(str::to_owned),
    })
}

/// Pipeline filters (the library checks the date range).
pub fn pipeline_filter(f: &mut Fields, p: &PipelineParams) -> Option<PipelineFilter> {
    let owner = f.opt("owner", given(&p.owner), str::parse::<EmployeeId>);
    let from = f.opt("close_from", given(&p.close_from), parse_date);
    let to = f.opt("close_to", given(&p.close_to), parse_date);
    Some(PipelineFilter {
        owner: owner?,
        close_from: from?,
        close_to: to?,
    })
}

/// A stage's new probability in whole percent.
pub fn stage_probability(f: &mut Fields, i: &StageProbabilityIn) -> Option<Probability> {
    let p = u8::try_from(i.probability)
        .map_err(|_| format!("{} is not a whole percentage from 0 to 100", i.probability))
        .and_then(|p| Probability::new(p).map_err(|e| e.to_string()));
    f.take("probability", p)
}

/// An employee to save.
pub fn employee(f: &mut Fields, id: EmployeeId, i: &EmployeeIn) -> Option<Employee> {
    let name = match given(&i.name) {
        Some(n) => f.take("name", Name::parse(n)),
        None => {
            f.missing("name");
            None
        }
    };
    let role = match given(&i.role) {
        Some(r) => f.take("role", r.parse::<Role>()),
        None => {
            f.missing("role");
            None
        }
    };
    let team = f.opt("team", given(&i.team), Team::parse);
    let mut manages = BTreeSet::new();
    for t in i.manages.iter().filter(|t| !t.trim().is_empty()) {
        if let Some(t) = f.take("manages", Team::parse(t)) {
            manages.insert(t);
        }
    }
    let manager = match i.manager {
        Some(m) => f.take("manager", EmployeeId::new(m)).map(Some),
        None => Some(None),
    };
    let mut e = Employee::new(id, name?, role?);
    e.active = i.active.unwrap_or(true);
    e.team = team?;
    e.manages = manages;
    e.manager = manager?;
    Some(e)
}
