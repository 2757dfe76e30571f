//! `crm lead`: leads, from adding one to bulk changes and merges.

use clap::{Args, Subcommand};
use crm_cli::output::Table;
use crm_config::{parse_instant, sentence};
use crm_core::{
    Email, LeadId, LeadPatch, LeadQuery, LeadStatus, LostReason, LostReasonCode, Name, NewLead,
    Source, Strategy, Team,
};
use serde_json::json;

use crate::app::{App, Failure, Names, Out, clearable, invalid, opt, usage, who};
use crate::{export, score};

mod bulk;
mod merge;
mod show;

/// The contact fields `crm lead add` and `crm lead edit` share.
#[derive(Args, Debug)]
pub(crate) struct ContactArgs {
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Phone number: local (read in --region) or international, ASCII or Arabic-Indic
    /// digits, optionally with an extension (x116).
    #[arg(long)]
    phone: Option<String>,
    /// Company.
    #[arg(long)]
    company: Option<String>,
    /// Source: web, referral, phone, email, event, other, or your own slug.
    #[arg(long)]
    source: Option<String>,
    /// Accept an email or phone that an open lead already has.
    #[arg(long)]
    allow_duplicate: bool,
}

/// `crm lead` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum LeadCmd {
    /// Create a lead.
    Add {
        /// The person's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        contact: ContactArgs,
        /// Responsible employee (default: you).
        #[arg(long)]
        owner: Option<String>,
    },
    /// List leads, newest first.
    List {
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this responsible employee.
        #[arg(long)]
        owner: Option<String>,
        /// Search name, email, phone and company.
        #[arg(long)]
        search: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after this cursor (printed with the previous page).
        #[arg(long)]
        after: Option<String>,
        /// CSV for spreadsheets (UTF-8 with BOM).
        #[arg(long)]
        csv: bool,
        /// newest (first created first; pages with --after) or score (open leads, highest
        /// score first, the best --limit of all that match).
        #[arg(long, default_value = "newest", value_parser = ["newest", "score"])]
        sort: String,
    },
    /// Show a lead with its history, interactions and opportunities.
    Show {
        /// Lead id.
        id: String,
    },
    /// Edit a lead's contact data.
    Edit {
        /// Lead id.
        id: String,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        contact: ContactArgs,
        /// Next follow-up time (RFC 3339, e.g. 2026-03-01T09:00:00+03:00); "" clears it.
        #[arg(long)]
        follow_up: Option<String>,
    },
    /// Give a lead to another responsible employee.
    Assign {
        /// Lead id.
        id: String,
        /// New responsible employee.
        #[arg(long)]
        to: String,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
    /// Give all open leads of an employee to the rest of their team (management).
    ReassignAll {
        /// The employee whose open leads move.
        #[arg(long)]
        from: String,
        /// round-robin or least-open.
        #[arg(long)]
        rule: String,
        /// The team to give them to (default: the employee's own team).
        #[arg(long)]
        team: Option<String>,
    },
    /// Change many leads at once; each succeeds or fails on its own.
    #[command(subcommand)]
    Bulk(bulk::BulkCmd),
    /// Groups of open leads sharing an email or a phone (you see only the leads you may).
    Duplicates {
        /// Also group leads whose names are equal after Arabic folding (أحمد = احمد, علی =
        /// علي) within the same company.
        #[arg(long)]
        fuzzy: bool,
    },
    /// Merge lead OTHER into lead KEEP (management): OTHER's interactions and opportunities
    /// move to KEEP, KEEP takes OTHER's contact data where its own is empty, and OTHER
    /// becomes read-only.
    Merge {
        /// The lead to keep.
        keep: String,
        /// The lead to merge away.
        other: String,
        /// The version of KEEP you read (default: the current one).
        #[arg(long = "expect-keep-version")]
        keep_version: Option<u64>,
        /// The version of OTHER you read (default: the current one).
        #[arg(long = "expect-other-version")]
        other_version: Option<u64>,
    },
    /// Move a lead through the pipeline.
    Status {
        /// Lead id.
        id: String,
        /// new, contacted, interested, converted or lost.
        status: String,
        /// Why the lead was lost: a code from the lost-reason list (required for lost,
        /// refused for any other status).
        #[arg(long)]
        reason: Option<String>,
        /// Free-text detail of the lost reason.
        #[arg(long)]
        detail: Option<String>,
        /// The version you read (default: the current one).
        #[arg(long = "expect-version")]
        version: Option<u64>,
    },
}

/// `crm lead`.
pub(crate) async fn run(app: &App, c: LeadCmd) -> Out {
    match c {
        LeadCmd::Add {
            name,
            contact,
            owner,
        } => {
            let mut input = NewLead::new(
                Name::parse(&name)?,
                contact
                    .source
                    .as_deref()
                    .map_or(Ok(Source::other()), Source::parse)?,
            );
            input.email = opt(contact.email.as_deref(), Email::parse)?;
            input.phone = opt(contact.phone.as_deref(), |s| app.phone(s))?;
            input.company = opt(contact.company.as_deref(), |s| {
                Name::parse_field("company", s)
            })?;
            input.owner = owner.as_deref().map(str::parse).transpose()?;
            input.allow_duplicate = contact.allow_duplicate;
            let l = app.crm.create_lead(app.actor()?, input).await?;
            app.print(json!(l), || format!("lead {} created\n", l.id()));
        }
        LeadCmd::List {
            status,
            source,
            owner,
            search,
            limit,
            after,
            csv,
            sort,
        } => {
            let mut q = export::lead_query(
                LeadQuery::default().limit(limit)?,
                status,
                source,
                owner,
                search,
                app.region,
            )?;
            if let Some(a) = after {
                if sort == "score" {
                    return Err(usage(
                        "--after pages the newest-first list; --sort score lists the best --limit",
                    ));
                }
                q = q.after(a.parse()?);
            }
            let (items, scores, next) = if sort == "score" {
                let best = app.crm.leads_by_score(app.actor()?, &q).await?;
                let (items, scores): (Vec<_>, Vec<_>) =
                    best.into_iter().map(|(l, s)| (l, Some(s))).unzip();
                (items, scores, None)
            } else {
                let page = app.crm.list_leads(app.actor()?, &q).await?;
                let scores = app.crm.scores(app.actor()?, &page.items).await?;
                (page.items, scores, page.next.map(|c| c.to_string()))
            };
            if csv {
                return export::print_leads_csv(app, &items).await;
            }
            let names = app.names(items.iter().map(|l| l.owner())).await;
            let locale = score::locale();
            let rows: Vec<serde_json::Value> = (items.iter().zip(&scores))
                .map(|(l, s)| {
                    let mut v = json!(l);
                    if let (Some(o), Some(s)) = (v.as_object_mut(), s) {
                        o.insert("score".into(), score::json(s, locale));
                    }
                    v
                })
                .collect();
            app.print(json!({"items": rows, "next": next}), || {
                if items.is_empty() {
                    return "no leads match\n".to_owned();
                }
                let mut t = Table::new([
                    "id", "name", "status", "source", "owner", "contact", "company", "score",
                ]);
                for (l, s) in items.iter().zip(&scores) {
                    let mut row = lead_row(l, &names).to_vec();
                    row.push(s.as_ref().map_or("-".to_owned(), |s| s.value.to_string()));
                    t.row(row);
                }
                let mut s = t.render();
                if let Some(n) = &next {
                    s.push_str(&format!("more: --after {n}\n"));
                }
                s
            });
        }
        LeadCmd::Show { id } => return show::run(app, &id).await,
        LeadCmd::Edit {
            id,
            version,
            name,
            contact,
            follow_up,
        } => {
            let id: LeadId = id.parse()?;
            let patch = LeadPatch {
                name: opt(name.as_deref(), Name::parse)?,
                email: clearable(contact.email.as_deref(), Email::parse)?,
                phone: clearable(contact.phone.as_deref(), |s| app.phone(s))?,
                company: clearable(contact.company.as_deref(), |s| {
                    Name::parse_field("company", s)
                })?,
                source: opt(contact.source.as_deref(), Source::parse)?,
                allow_duplicate: contact.allow_duplicate,
                next_follow_up: match follow_up.as_deref() {
                    None => None,
                    Some(t) if t.trim().is_empty() => Some(None),
                    Some(t) => Some(Some(parse_instant(t).map_err(invalid)?)),
                },
            };
            let v = current_version(app, id, version).await?;
            let l = app.crm.edit_lead(app.actor()?, id, v, patch).await?;
            app.print(json!(l), || {
                format!("lead {} is at version {}\n", l.id(), l.version())
            });
        }
        LeadCmd::Assign { id, to, version } => {
            let id: LeadId = id.parse()?;
            let v = current_version(app, id, version).await?;
            let l = app
                .crm
                .assign_lead(app.actor()?, id, v, to.parse()?)
                .await?;
            app.print(json!(l), || {
                format!("lead {} now belongs to {}\n", l.id(), l.owner())
            });
        }
        LeadCmd::ReassignAll { from, rule, team } => {
            let rule: Strategy = rule.parse()?;
            let team = team.as_deref().map(Team::parse).transpose()?;
            let o = app
                .crm
                .reassign_all(app.actor()?, from.parse()?, rule, team)
                .await?;
            return bulk::report(app, "reassign-all", &o).await;
        }
        LeadCmd::Duplicates { fuzzy } => return merge::duplicates(app, fuzzy).await,
        LeadCmd::Merge {
            keep,
            other,
            keep_version,
            other_version,
        } => return merge::merge(app, &keep, &other, keep_version, other_version).await,
        LeadCmd::Bulk(cmd) => return bulk::run(app, cmd).await,
        LeadCmd::Status {
            id,
            status,
            reason,
            detail,
            version,
        } => {
            let id: LeadId = id.parse()?;
            let to: LeadStatus = status.parse()?;
            let reason = lost_reason(reason.as_deref(), detail.as_deref())?;
            let v = current_version(app, id, version).await?;
            let c = app
                .crm
                .change_status(app.actor()?, id, v, to, reason)
                .await?;
            let (client, deferred) = match &c.conversion {
                Some(crm_core::ConversionOutcome::ClientCreated(cl)) => {
                    (Some(cl.to_string()), None)
                }
                Some(crm_core::ConversionOutcome::Deferred(e)) => (None, Some(sentence(e))),
                None => (None, None),
            };
            app.print(
                json!({"lead": c.lead, "client_id": client, "client_deferred": deferred}),
                || {
                    let mut s = format!("lead {} is {}\n", c.lead.id(), c.lead.status());
                    if let Some(cl) = &client {
                        s.push_str(&format!("client {cl} created\n"));
                    }
                    s
                },
            );
            // The lead is converted (exit 0: converting again would be refused), but the
            // missing client must not go unnoticed, with --json too.
            if let Some(e) = &deferred {
                let message = format!(
                    "lead {} is converted, but its client was not created ({e}); the dispatch \
                     retries it: run `crm dispatch` (management)",
                    c.lead.id()
                );
                if app.json {
                    eprintln!(
                        "{}",
                        json!({"warning": {"kind": "client_deferred", "message": message}})
                    );
                } else {
                    eprintln!("warning: {message}");
                }
            }
        }
    }
    Ok(())
}

/// The lost reason of `--reason CODE` and `--detail TEXT` (a detail needs a code).
fn lost_reason(reason: Option<&str>, detail: Option<&str>) -> Result<Option<LostReason>, Failure> {
    let detail = opt(detail, |s| Name::parse_field("detail", s))?;
    match (opt(reason, LostReasonCode::parse)?, detail) {
        (Some(code), detail) => Ok(Some(LostReason { code, detail })),
        (None, Some(_)) => Err(usage("--detail goes with --reason CODE (for lost)")),
        (None, None) => Ok(None),
    }
}

/// The version `--expect-version` gave, else the lead's current one.
async fn current_version(app: &App, id: LeadId, given: Option<u64>) -> Result<u64, Failure> {
    match given {
        Some(v) => Ok(v),
        None => Ok(app.crm.lead(app.actor()?, id).await?.version()),
    }
}

/// A lead's row in the tables of `lead list`, bulk changes and duplicates.
fn lead_row(l: &crm_core::Lead, names: &Names) -> [String; 7] {
    [
        l.id().to_string(),
        l.name().to_string(),
        l.status().to_string(),
        l.source().to_string(),
        who(names, l.owner()),
        l.email().map_or_else(
            || l.phone().map_or(String::new(), |p| p.to_string()),
            |e| e.to_string(),
        ),
        l.company().map_or(String::new(), |c| c.to_string()),
    ]
}
