//! `crm sweep`: the follow-up rule, once or on a schedule, or as a dry run.

use chrono::Utc;
use clap::Args;
use crm_cli::output::{Table, parse_duration};
use crm_config::{parse_instant, sentence};
use serde_json::json;

use crate::app::{App, Out, invalid, who};

/// What `crm sweep` reads.
#[derive(Args, Debug)]
pub(crate) struct SweepArgs {
    /// The time to sweep at (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Repeat on this schedule (e.g. 1h) until interrupted.
    #[arg(long)]
    every: Option<String>,
    /// Follow-up period in days (working days when a calendar option is given).
    /// [default: 5]
    #[arg(long)]
    days: Option<String>,
    #[command(flatten)]
    calendar: CalendarArgs,
    /// Escalate to the owner's manager a lead still without follow-up this many working
    /// days after its owner was notified.
    #[arg(long)]
    escalate_after: Option<String>,
    /// Show what would be notified, and notify and change nothing.
    #[arg(long)]
    dry_run: bool,
}

impl SweepArgs {
    /// The follow-up settings given, as configuration flags.
    pub(crate) fn flags(&self, flags: &mut Vec<(String, String, String)>) {
        for (key, flag, value) in [
            ("follow_up_days", "--days", &self.days),
            ("escalate_after", "--escalate-after", &self.escalate_after),
        ] {
            if let Some(v) = value {
                flags.push((key.to_owned(), flag.to_owned(), v.clone()));
            }
        }
        self.calendar.flags(flags);
    }
}

/// The working calendar of the follow-up rule: these flags override the configuration's
/// calendar settings (crm.toml, `CRM_*`). Without any calendar setting the rule counts
/// plain calendar days.
#[derive(Args, Debug)]
struct CalendarArgs {
    /// The host's IANA time zone, e.g. Asia/Riyadh (default: the configured `time_zone`, else
    /// $TZ when it names one, else UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// Daily working hours in local time, HH:MM-HH:MM (default 00:00-24:00).
    #[arg(long)]
    working_hours: Option<String>,
    /// Weekend days, e.g. fri,sat, or none (default: fri,sat for Arabic locales, else
    /// sat,sun).
    #[arg(long)]
    weekend: Option<String>,
    /// The locale whose weekend is the default (default: $LANG).
    #[arg(long)]
    locale: Option<String>,
    /// Holidays, YYYY-MM-DD separated by commas.
    #[arg(long)]
    holidays: Option<String>,
    /// A file of holidays, one YYYY-MM-DD per line (# starts a comment).
    #[arg(long)]
    holidays_file: Option<String>,
}

impl CalendarArgs {
    /// The calendar options given, as configuration flags.
    fn flags(&self, flags: &mut Vec<(String, String, String)>) {
        for (key, flag, value) in [
            ("time_zone", "--time-zone", &self.time_zone),
            ("working_hours", "--working-hours", &self.working_hours),
            ("weekend", "--weekend", &self.weekend),
            ("locale", "--locale", &self.locale),
            ("holidays", "--holidays", &self.holidays),
            ("holidays_file", "--holidays-file", &self.holidays_file),
        ] {
            if let Some(v) = value {
                flags.push((key.to_owned(), flag.to_owned(), v.clone()));
            }
        }
    }
}

/// `crm sweep`.
pub(crate) async fn run(app: &App, args: SweepArgs) -> Out {
    let SweepArgs {
        now,
        every,
        dry_run,
        ..
    } = args;
    let every = every
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(invalid)?;
    let at = now
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(invalid)?;
    if dry_run {
        let when = at.unwrap_or_else(Utc::now);
        let notices = app.crm.sweep_preview(app.actor()?, when, 10_000).await?;
        let names = app
            .names(
                notices
                    .iter()
                    .flat_map(|n| [Some(n.owner), n.recipient()])
                    .flatten(),
            )
            .await;
        app.print(
            json!({"at": when, "dry_run": true, "would_notify": notices}),
            || {
                if notices.is_empty() {
                    return format!("{}: nothing to notify\n", when.to_rfc3339());
                }
                let mut t = Table::new(["kind", "lead", "name", "owner", "to"]);
                for n in &notices {
                    t.row([
                        n.kind.name().to_owned(),
                        n.lead_id.to_string(),
                        n.lead_name.to_string(),
                        who(&names, n.owner),
                        n.recipient()
                            .map_or("(no manager set)".to_owned(), |r| who(&names, r)),
                    ]);
                }
                format!(
                    "{}: would notify {} (dry run, nothing sent)\n{}",
                    when.to_rfc3339(),
                    notices.len(),
                    t.render()
                )
            },
        );
        return Ok(());
    }
    loop {
        let when = at.unwrap_or_else(Utc::now);
        let r = app.crm.sweep(app.actor()?, when).await?;
        let failed: Vec<_> = r
            .failed
            .iter()
            .map(|(l, e)| json!({"lead_id": l, "error": sentence(e)}))
            .collect();
        app.print(
            json!({"at": when, "notified": r.notified, "reminded": r.reminded,
                   "escalated": r.escalated, "failed": failed}),
            || {
                format!(
                    "{}: notified {} lead(s), reminded {} of overdue follow-ups, \
                     escalated {}, {} failed\n",
                    when.to_rfc3339(),
                    r.notified.len(),
                    r.reminded.len(),
                    r.escalated.len(),
                    r.failed.len()
                )
            },
        );
        match every {
            Some(d) => tokio::time::sleep(d.to_std().unwrap_or_default()).await,
            None => return Ok(()),
        }
    }
}
