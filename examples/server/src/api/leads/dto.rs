//! The JSON shapes of leads, their interactions and opportunities: what requests carry
//! (plain strings, parsed by the handler into domain values so each bad field is named) and
//! what responses return (built from the domain values, so the document says exactly what
//! is sent).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::history::Change;
use crm_core::timeline::Happening;
use crm_core::{Interaction, Lead, LeadDetail, Opportunity};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A lead.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadOut {
    /// Id (UUID v7).
    pub id: String,
    /// The person's name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number in E.164 (with `;ext=` when it has an extension).
    pub phone: Option<String>,
    /// The phone as typed.
    pub phone_display: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Source slug.
    pub source: String,
    /// new, contacted, interested, converted or lost.
    pub status: String,
    /// Responsible employee.
    pub owner: i64,
    /// Who created it.
    pub created_by: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: u64,
    /// The client created on conversion.
    pub client_id: Option<String>,
    /// Why it was lost: the lost-reason code.
    pub lost_reason: Option<String>,
    /// Free-text detail of the lost reason.
    pub lost_reason_detail: Option<String>,
    /// The latest interaction.
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// When the lead is next to be followed up.
    pub next_follow_up: Option<DateTime<Utc>>,
    /// The lead this one was merged into (it is read-only then); absent when not merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// The campaign it came from (a web form's `utm_campaign`); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Its score and why, on the reads that score (the list, one lead, the detail); absent
    /// for a converted or lost lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScoreOut>,
}

/// A lead's score: which open lead to call first, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScoreOut {
    /// The shown score, 0 to 100: the predicted score plus the rule points, less the decay.
    pub value: u8,
    /// The part predicted from the history of converted and lost leads, 0 to 100.
    pub predicted: u8,
    /// The probability of winning the predicted part is, 0 to 1.
    pub probability: f64,
    /// Every part of the score, largest effect first (show the first three).
    pub reasons: Vec<ReasonOut>,
}

/// One part of a score.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReasonOut {
    /// learned (what the history says of a value), rule (management's points) or decay
    /// (weeks without an interaction).
    pub kind: String,
    /// The field (learned and rule): source, email_kind, phone_kind, phone_country,
    /// language, age, interactions or opportunity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The lead's value of the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Days without an interaction (decay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Its effect in points (negative: it lowered the score).
    pub points: i32,
    /// The reason as a sentence in the language asked for (`Accept-Language`: Arabic or
    /// English).
    pub text: String,
}

impl ScoreOut {
    /// `s` with its reasons said in `locale`.
    pub fn new(s: &crm_core::scoring::Score, locale: crm_core::export::Locale) -> Self {
        use crm_core::scoring::Reason;
        let reasons = (s.reasons.iter())
            .map(|r| {
                let (kind, field, value, days) = match r {
                    Reason::Learned { field, value, .. } => {
                        ("learned", Some(field.as_str()), Some(value.clone()), None)
                    }
                    Reason::Rule { field, value, .. } => {
                        ("rule", Some(field.as_str()), Some(value.clone()), None)
                    }
                    Reason::Decay { days, .. } => ("decay", None, None, Some(*days)),
                };
                ReasonOut {
                    kind: kind.to_owned(),
                    field: field.map(str::to_owned),
                    value,
                    days,
                    points: r.points(),
                    text: r.describe(locale),
                }
            })
            .collect();
        Self {
            value: s.value,
            predicted: s.predicted,
            probability: s.probability,
            reasons,
        }
    }
}

impl LeadOut {
    /// The lead with its score, if it has one.
    pub fn scored(
        l: &Lead,
        score: Option<&crm_core::scoring::Score>,
        locale: crm_core::export::Locale,
    ) -> Self {
        let mut out = Self::from(l);
        out.score = score.map(|s| ScoreOut::new(s, locale));
        out
    }
}

impl From<&Lead> for LeadOut {
    fn from(l: &Lead) -> Self {
        Self {
            id: l.id().to_string(),
            name: l.name().to_string(),
            email: l.email().map(|e| e.to_string()),
            phone: l.phone().map(|p| p.key().to_owned()),
            phone_display: l.phone().map(|p| p.display().to_owned()),
            company: l.company().map(|c| c.to_string()),
            source: l.source().to_string(),
            status: l.status().to_string(),
            owner: l.owner().get(),
            created_by: l.created_by().get(),
            created_at: l.created_at(),
            updated_at: l.updated_at(),
            version: l.version(),
            client_id: l.client_id().map(|c| c.to_string()),
            lost_reason: l.lost_reason_code().map(|r| r.to_string()),
            lost_reason_detail: l.lost_reason().map(|r| r.to_string()),
            last_interaction_at: l.last_interaction_at(),
            next_follow_up: l.next_follow_up_at(),
            merged_into: l.merged_into().map(|m| m.to_string()),
            campaign: l.campaign().map(str::to_owned),
            score: None,
        }
    }
}

/// One page of leads, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadPage {
    /// The leads.
    pub items: Vec<LeadOut>,
    /// The cursor of the next page (`after=`), when there is one.
    pub next: Option<String>,
    /// How many leads the filters match, over all pages.
    pub total: u64,
}

/// Which leads to list. An unknown parameter is refused: a misspelt cursor (`cursor=`
/// for `after=`) would otherwise start the list over, page after page.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this responsible employee.
    pub owner: Option<String>,
    /// Search name, email, phone and company.
    pub q: Option<String>,
    /// Continue after this cursor (`next` of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `newest` (the default: newest first, in pages with `after`), `score` (the open
    /// leads matching, highest score first: the best `limit` of them, no further pages), or
    /// a column: `name`, `company`, `status`, `source`, `owner`, `created`, `follow_up`,
    /// `updated`, `-` first for largest first (the first `limit` of all the matches in
    /// that order, no further pages).
    pub sort: Option<String>,
    /// `true`: only the caller's own leads (not with `owner`).
    pub mine: Option<bool>,
}

/// A new lead.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct NewLeadIn {
    /// The person's name.
    pub name: Option<String>,
    /// Email address (an email or a phone is required).
    pub email: Option<String>,
    /// Phone, local (in the server's region) or international, ASCII or Arabic-Indic digits.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Source slug (default `other`).
    pub source: Option<String>,
    /// Responsible employee (default: the caller).
    #[schema(minimum = 1)]
    pub owner: Option<i64>,
    /// Accept an email or phone an open lead already has.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Changes to a lead's contact data; an empty string clears an optional field.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct LeadPatchIn {
    /// New name.
    pub name: Option<String>,
    /// New email ("" clears).
    pub email: Option<String>,
    /// New phone ("" clears).
    pub phone: Option<String>,
    /// New company ("" clears).
    pub company: Option<String>,
    /// New source.
    pub source: Option<String>,
    /// Accept an email or phone an open lead already has.
    #[serde(default)]
    pub allow_duplicate: bool,
    /// The next follow-up time, RFC 3339, not in the past ("" clears).
    pub next_follow_up: Option<String>,
}

/// A new responsible employee.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignIn {
    /// The employee's id.
    #[schema(minimum = 1)]
    pub to: i64,
}

/// A status move.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusIn {
    /// new, contacted, interested, converted or lost.
    pub status: String,
    /// Why the lead was lost: a lost-reason code (required for lost, refused otherwise).
    pub lost_reason: Option<String>,
    /// Free-text detail of the lost reason (only with `lost_reason`).
    pub lost_reason_detail: Option<String>,
}

/// The result of a status move.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusOut {
    /// The lead after the move.
    pub lead: LeadOut,
    /// The client created on conversion.
    pub client_id: Option<String>,
    /// Why the client's creation was deferred (retried by the dispatch).
    pub client_deferred: Option<String>,
}

/// A new interaction.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct InteractionIn {
    /// call, visit, follow_up, email, meeting or note.
    pub kind: String,
    /// When it happened (RFC 3339; default now).
    pub occurred_at: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Sets the lead's next follow-up time (RFC 3339, not in the past).
    pub next_follow_up: Option<String>,
}

/// An interaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InteractionOut {
    /// Id.
    pub id: String,
    /// The lead.
    pub lead_id: String,
    /// Kind.
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who logged it.
    pub logged_by: i64,
    /// When it was logged.
    pub logged_at: DateTime<Utc>,
    /// Notes.
    pub notes: String,
}

impl From<&Interaction> for InteractionOut {
    fn from(i: &Interaction) -> Self {
        Self {
            id: i.id.to_string(),
            lead_id: i.lead_id.to_string(),
            kind: i.kind.to_string(),
            occurred_at: i.occurred_at,
            logged_by: i.logged_by.get(),
            logged_at: i.logged_at,
            notes: i.notes.to_string(),
        }
    }
}

/// A new opportunity.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct OpportunityIn {
    /// Title.
    pub title: Option<String>,
    /// Value, e.g. `1250.500` or `١٬٢٥٠٫٥٠٠`.
    pub value: Option<String>,
    /// ISO 4217 currency, e.g. SAR.
    pub currency: Option<String>,
    /// Expected close date, YYYY-MM-DD.
    pub expected_close: Option<String>,
    /// A probability of winning in whole percent (`40`, `40%`, `٤٠٪`) that overrides the
    /// stage's while the deal is open; absent or "": the stage's counts.
    pub probability: Option<String>,
}

/// Changes to an opportunity.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct OpportunityPatchIn {
    /// New title.
    pub title: Option<String>,
    /// New value in the opportunity's currency.
    pub value: Option<String>,
    /// New expected close date.
    pub expected_close: Option<String>,
    /// open, qualified, proposal, negotiation, won or lost.
    pub stage: Option<String>,
    /// The probability override in whole percent (`40`, `40%`, `٤٠٪`), counted instead of
    /// the stage's while the deal is open ("" clears: back to the stage's).
    pub probability: Option<String>,
}

/// An opportunity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpportunityOut {
    /// Id.
    pub id: String,
    /// The lead.
    pub lead_id: String,
    /// Title.
    pub title: String,
    /// Value as a decimal string in the currency's minor digits.
    pub value: String,
    /// Value in minor units.
    pub value_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Expected close date.
    pub expected_close: NaiveDate,
    /// open, qualified, proposal, negotiation, won or lost.
    pub stage: String,
    /// The probability override in percent (absent: the stage's counts).
    #[schema(minimum = 0, maximum = 100)]
    pub probability: Option<u8>,
    /// Who created it.
    pub created_by: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: u64,
}

impl From<&Opportunity> for OpportunityOut {
    fn from(o: &Opportunity) -> Self {
        Self {
            id: o.id.to_string(),
            lead_id: o.lead_id.to_string(),
            title: o.title.to_string(),
            value: o.value.format_amount(),
            value_minor: o.value.minor(),
            currency: o.value.currency().code().to_owned(),
            expected_close: o.expected_close,
            stage: o.stage.to_string(),
            probability: o.probability.map(|p| p.percent()),
            created_by: o.created_by.get(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

/// One change in a lead's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryOut {
    /// The lead's version after the change.
    pub version: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: i64,
    /// What changed (`type` names the change).
    #[schema(value_type = Object)]
    pub change: serde_json::Value,
}

/// A lead with everything about it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DetailOut {
    /// The lead.
    pub lead: LeadOut,
    /// Its history, oldest first.
    pub history: Vec<HistoryOut>,
    /// Its interactions.
    pub interactions: Vec<InteractionOut>,
    /// Its opportunities.
    pub opportunities: Vec<OpportunityOut>,
    /// Seconds spent in each status so far.
    pub time_in_status: BTreeMap<String, i64>,
    /// Whether the client's creation is pending (the dispatch retries it).
    pub client_pending: bool,
    /// Everything in one list, newest first, the next follow-up still to do on top: changes,
    /// interactions and opportunities, each with a sentence in the language of
    /// `Accept-Language` and its time in `tz` (the server's zone by default).
    pub timeline: Vec<TimelineOut>,
}

/// One entry of a lead's timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineOut {
    /// `follow_up_due`, `created`, `status`, `reassigned`, `edited`, `merged_from`,
    /// `merged_into`, `captured`, `interaction` or `opportunity`.
    pub kind: String,
    /// When (a follow-up: when it is due).
    pub at: DateTime<Utc>,
    /// The same time in the zone asked for, `YYYY-MM-DD HH:MM`.
    pub local_time: String,
    /// Who (absent for a follow-up still to do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<i64>,
    /// The capture channel that did it, when it was one (`mail.NAME`, `form.NAME`): a
    /// captured lead's taking in and its captured interactions. `actor` is then the owner
    /// it was taken in for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The lead it is recorded on (another one when merged into this).
    pub lead_id: String,
    /// What, as a sentence.
    pub text: String,
}

impl DetailOut {
    /// The timeline said in `lang` for a viewer in `tz`, employees named from `names`.
    pub fn with_timeline(
        mut self,
        d: &LeadDetail,
        lang: crate::i18n::Lang,
        tz: chrono_tz::Tz,
        names: &std::collections::BTreeMap<i64, String>,
    ) -> Self {
        self.timeline = (crm_core::timeline::timeline(d).iter())
            .map(|e| {
                let said = crate::timeline::say(lang, tz, names, e);
                TimelineOut {
                    kind: said.kind.to_owned(),
                    at: e.at,
                    local_time: said.at,
                    actor: e.actor.map(|a| a.get()),
                    channel: match &e.happening {
                        Happening::Interaction(i) => i.captured_by.as_ref(),
                        Happening::Change(Change::Captured { by, .. }) => Some(by),
                        _ => None,
                    }
                    .map(ToString::to_string),
                    lead_id: e.lead.to_string(),
                    text: said.text,
                }
            })
            .collect();
        self
    }

    /// The detail as of `now`.
    pub fn new(d: &LeadDetail, now: DateTime<Utc>) -> Self {
        Self {
            lead: (&d.lead).into(),
            history: d
                .history
                .iter()
                .map(|h| HistoryOut {
                    version: h.version,
                    at: h.at,
                    actor: h.actor.get(),
                    change: serde_json::to_value(&h.change).unwrap_or_default(),
                })
                .collect(),
            interactions: d.interactions.iter().map(Into::into).collect(),
            opportunities: d.opportunities.iter().map(Into::into).collect(),
            time_in_status: crm_core::history::time_in_status(&d.history, now)
                .into_iter()
                .map(|(s, t)| (s.to_string(), t.num_seconds()))
                .collect(),
            client_pending: d.pending_client.is_some(),
            timeline: Vec::new(),
        }
    }
}
