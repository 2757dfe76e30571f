//! The JSON shapes of the API: what requests carry (plain strings, parsed by the handler
//! into domain values so each bad field is named) and what responses return (built from
//! the domain values, so the document says exactly what is sent).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use crm_core::{
    CurrencyPipeline, Employee, EmployeeId, Interaction, Lead, LeadDetail, Opportunity,
    PipelineReport, PipelineTotals, Report, StageProbabilityChange, StageSetting,
};
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
}

/// Which leads to list. An unknown parameter is refused: a misspelt cursor (`cursor=`
/// for `after=`) would otherwise start the list over, page after page.
#[derive(Debug, Default, Deserialize, IntoParams)]
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
}

impl DetailOut {
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
        }
    }
}

/// Report filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Only this responsible employee's leads.
    pub owner: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Created on or after (YYYY-MM-DD or RFC 3339).
    pub from: Option<String>,
    /// Created before (YYYY-MM-DD or RFC 3339).
    pub to: Option<String>,
}

/// One cell of the report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportCellOut {
    /// Status.
    pub status: String,
    /// Source.
    pub source: String,
    /// Leads.
    pub count: u64,
}

/// A source's total.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceTotal {
    /// Source.
    pub source: String,
    /// Leads.
    pub total: u64,
}

/// Lead counts by status x source.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportOut {
    /// Non-empty cells.
    pub cells: Vec<ReportCellOut>,
    /// Totals by status.
    pub by_status: BTreeMap<String, u64>,
    /// Totals by source, in report order.
    pub by_source: Vec<SourceTotal>,
    /// All leads counted.
    pub total: u64,
}

impl From<&Report> for ReportOut {
    fn from(r: &Report) -> Self {
        Self {
            cells: r
                .cells
                .iter()
                .map(|c| ReportCellOut {
                    status: c.status.to_string(),
                    source: c.source.to_string(),
                    count: c.count,
                })
                .collect(),
            by_status: r
                .by_status
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            by_source: r
                .by_source
                .iter()
                .map(|(s, n)| SourceTotal {
                    source: s.to_string(),
                    total: *n,
                })
                .collect(),
            total: r.total,
        }
    }
}

/// A lead a sweep or dispatch could not handle.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeadFailure {
    /// The lead.
    pub lead_id: String,
    /// Why.
    pub error: String,
}

/// What a sweep did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SweepOut {
    /// Leads whose owner was notified that nobody contacted them.
    pub notified: Vec<String>,
    /// Leads whose owner was reminded of an overdue follow-up time.
    pub reminded: Vec<String>,
    /// Leads escalated to their owner's manager.
    pub escalated: Vec<String>,
    /// Notifications that failed (retried by the next sweep).
    pub failed: Vec<LeadFailure>,
}

/// What a sweep at a time would send (the dry run).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The sweep's time, RFC 3339, not later than now (default now).
    pub at: Option<String>,
    /// At most this many notices (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// A notice a sweep would send.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeOut {
    /// The lead.
    pub lead_id: String,
    /// Its name.
    pub lead_name: String,
    /// The lead's owner.
    pub owner: i64,
    /// Who receives it: the owner, or their manager for an escalation (none when the owner
    /// has no manager).
    pub recipient: Option<i64>,
    /// What it is about (`type`: first_contact, overdue or escalation).
    #[schema(value_type = Object)]
    pub kind: serde_json::Value,
}

impl From<&crm_core::FollowUpNotice> for NoticeOut {
    fn from(n: &crm_core::FollowUpNotice) -> Self {
        Self {
            lead_id: n.lead_id.to_string(),
            lead_name: n.lead_name.to_string(),
            owner: n.owner.get(),
            recipient: n.recipient().map(EmployeeId::get),
            kind: serde_json::to_value(&n.kind).unwrap_or_default(),
        }
    }
}

/// A team of the directory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamOut {
    /// Its name.
    pub team: String,
    /// Its members' ids, active or not.
    pub members: Vec<i64>,
    /// The ids of the managers who lead it.
    pub managers: Vec<i64>,
}

impl From<&crm_core::TeamSummary> for TeamOut {
    fn from(t: &crm_core::TeamSummary) -> Self {
        Self {
            team: t.team.to_string(),
            members: t.members.iter().map(|e| e.get()).collect(),
            managers: t.managers.iter().map(|e| e.get()).collect(),
        }
    }
}

/// A client created by the dispatch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    /// The lead.
    pub lead_id: String,
    /// The client.
    pub client_id: String,
}

/// What a dispatch did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DispatchOut {
    /// Clients created.
    pub created: Vec<CreatedClient>,
    /// Attempts that failed (retried by the next dispatch).
    pub failed: Vec<LeadFailure>,
}

/// Which events to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only events after this sequence number.
    pub after: Option<u64>,
    /// At most this many (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// An event for a sales system.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Sequence number (acknowledge up to it).
    pub seq: u64,
    /// Id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The lead.
    pub lead_id: String,
    /// Who (none for the system).
    pub actor: Option<i64>,
    /// What happened (`type` names it).
    #[schema(value_type = Object)]
    pub kind: serde_json::Value,
}

/// Acknowledge events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AckIn {
    /// Up to and including this sequence number.
    pub up_to: u64,
}

/// How many events were acknowledged.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AckOut {
    /// Events acknowledged by this call.
    pub acknowledged: u64,
}

/// An employee.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmployeeOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// sales, manager or other.
    pub role: String,
    /// Whether active.
    pub active: bool,
    /// The team the employee works in, if any.
    pub team: Option<String>,
    /// The teams a manager leads.
    pub manages: Vec<String>,
    /// Their manager's id (who hears of their leads left without follow-up), if any.
    pub manager: Option<i64>,
}

impl From<&Employee> for EmployeeOut {
    fn from(e: &Employee) -> Self {
        Self {
            id: e.id.get(),
            name: e.name.to_string(),
            role: e.role.to_string(),
            active: e.active,
            team: e.team.as_ref().map(|t| t.to_string()),
            manages: e.manages.iter().map(|t| t.to_string()).collect(),
            manager: e.manager.map(EmployeeId::get),
        }
    }
}

/// An employee's data to save.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct EmployeeIn {
    /// Name.
    pub name: Option<String>,
    /// sales, manager or other.
    pub role: Option<String>,
    /// Whether active (default true).
    pub active: Option<bool>,
    /// The team the employee works in (none when absent or empty).
    pub team: Option<String>,
    /// The teams a manager leads (only managers may lead a team).
    #[serde(default)]
    pub manages: Vec<String>,
    /// Their manager's id (who hears of their leads left without follow-up; none when
    /// absent).
    #[schema(minimum = 1)]
    pub manager: Option<i64>,
}

/// A new password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordIn {
    /// 10 to 256 characters.
    pub password: String,
    /// The current password: required when employees change their own.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// Credentials for a token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenIn {
    /// The employee's id.
    #[schema(minimum = 1)]
    pub employee_id: i64,
    /// Their password.
    pub password: String,
    /// What the token is for.
    pub label: Option<String>,
}

/// A token just issued; the secret is shown only now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    /// The token's id (to revoke it).
    pub id: String,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A live token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenInfoOut {
    /// Id.
    pub id: String,
    /// What it is for.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Pipeline filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PipelineParams {
    /// Only opportunities on this responsible employee's leads.
    pub owner: Option<String>,
    /// Expected to close on or after (YYYY-MM-DD).
    pub close_from: Option<String>,
    /// Expected to close on or before (YYYY-MM-DD).
    pub close_to: Option<String>,
}

/// Totals of a set of opportunities in one currency: amounts as decimal strings in the
/// currency's minor digits (KWD three) and in minor units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineTotalsOut {
    /// Open opportunities (any stage but won and lost).
    pub open_count: u64,
    /// Their value.
    pub open: String,
    /// Their value in minor units.
    pub open_minor: i64,
    /// Their weighted value (each value times its probability, rounded half up).
    pub weighted: String,
    /// The weighted value in minor units.
    pub weighted_minor: i64,
    /// Won opportunities.
    pub won_count: u64,
    /// Their value.
    pub won: String,
    /// Their value in minor units.
    pub won_minor: i64,
    /// Lost opportunities.
    pub lost_count: u64,
    /// Their value.
    pub lost: String,
    /// Their value in minor units.
    pub lost_minor: i64,
}

impl PipelineTotalsOut {
    /// The totals of `c`'s currency.
    pub fn new(c: &CurrencyPipeline, t: &PipelineTotals) -> Self {
        let amount = |minor: i64| {
            c.money(minor)
                .map_or_else(|| minor.to_string(), |m| m.format_amount())
        };
        Self {
            open_count: t.open_count,
            open: amount(t.open_minor),
            open_minor: t.open_minor,
            weighted: amount(t.weighted_minor),
            weighted_minor: t.weighted_minor,
            won_count: t.won_count,
            won: amount(t.won_minor),
            won_minor: t.won_minor,
            lost_count: t.lost_count,
            lost: amount(t.lost_minor),
            lost_minor: t.lost_minor,
        }
    }
}

/// One owner's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerTotalsOut {
    /// The leads' owner.
    pub owner: i64,
    /// Their totals.
    pub totals: PipelineTotalsOut,
}

/// One stage's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageTotalsOut {
    /// The stage.
    pub stage: String,
    /// Its totals.
    pub totals: PipelineTotalsOut,
}

/// One expected-close month's totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MonthTotalsOut {
    /// The month, YYYY-MM.
    pub month: String,
    /// Its totals.
    pub totals: PipelineTotalsOut,
}

/// The pipeline of one currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CurrencyPipelineOut {
    /// ISO 4217 currency; every amount below is in it.
    pub currency: String,
    /// All its opportunities.
    pub totals: PipelineTotalsOut,
    /// By the leads' owner, by id.
    pub by_owner: Vec<OwnerTotalsOut>,
    /// By stage, in pipeline order.
    pub by_stage: Vec<StageTotalsOut>,
    /// By expected-close month, oldest first.
    pub by_month: Vec<MonthTotalsOut>,
}

/// What the pipeline is worth, per currency (amounts are never added across currencies).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineOut {
    /// One entry per currency, by code.
    pub currencies: Vec<CurrencyPipelineOut>,
}

impl From<&PipelineReport> for PipelineOut {
    fn from(r: &PipelineReport) -> Self {
        Self {
            currencies: r
                .currencies
                .iter()
                .map(|c| CurrencyPipelineOut {
                    currency: c.currency.code().to_owned(),
                    totals: PipelineTotalsOut::new(c, &c.totals),
                    by_owner: c
                        .by_owner
                        .iter()
                        .map(|(o, t)| OwnerTotalsOut {
                            owner: o.get(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                    by_stage: c
                        .by_stage
                        .iter()
                        .map(|(s, t)| StageTotalsOut {
                            stage: s.to_string(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                    by_month: c
                        .by_month
                        .iter()
                        .map(|(m, t)| MonthTotalsOut {
                            month: m.format("%Y-%m").to_string(),
                            totals: PipelineTotalsOut::new(c, t),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// An open stage's probability as it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageOut {
    /// open, qualified, proposal or negotiation (won counts 100 % and lost 0 %, always).
    pub stage: String,
    /// The probability in force, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: u8,
    /// The server's configured value, in force when management set none.
    #[schema(minimum = 0, maximum = 100)]
    pub default: u8,
    /// The change in force, if management set one.
    pub set: Option<StageChangeOut>,
}

impl From<&StageSetting> for StageOut {
    fn from(s: &StageSetting) -> Self {
        Self {
            stage: s.stage.to_string(),
            probability: s.probability.percent(),
            default: s.default.percent(),
            set: s.set.as_ref().map(Into::into),
        }
    }
}

/// One stored change of a stage's probability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageChangeOut {
    /// The stage.
    pub stage: String,
    /// Its probability from then on, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: u8,
    /// Who changed it.
    pub changed_by: i64,
    /// When.
    pub changed_at: DateTime<Utc>,
}

impl From<&StageProbabilityChange> for StageChangeOut {
    fn from(c: &StageProbabilityChange) -> Self {
        Self {
            stage: c.stage.to_string(),
            probability: c.probability.percent(),
            changed_by: c.changed_by.get(),
            changed_at: c.changed_at,
        }
    }
}

/// A stage's new probability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageProbabilityIn {
    /// Whole percent, 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: i64,
}

/// Which stage probability changes to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StageHistoryParams {
    /// At most this many, newest first (1 to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}
