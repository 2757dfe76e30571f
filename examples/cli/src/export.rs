//! `crm export`: every lead a listing's filters match, the report or the pipeline report, as
//! CSV, XLSX or PDF, in Arabic or English, dates in a named time zone; and the `--csv` output
//! of `lead list` and `report`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use clap::{Args, Subcommand};
use crm_config::{parse_date, parse_instant};
use crm_core::calendar::parse_time_zone;
use crm_core::export::{
    self, ExportError, ExportOptions, Format, Locale, RowSink, csv::CsvSink, lead_cells,
    leads_table, report_rows, report_table, write_table,
};
use crm_core::{EmployeeId, Lead, LeadQuery, PipelineFilter, Report, ReportFilter, Source};
use serde_json::json;

use crate::app::{App, Failure, Out, invalid, usage};

/// What to export.
#[derive(Subcommand, Debug)]
pub(crate) enum ExportCmd {
    /// Every lead the filters match (the filters of `crm lead list`), newest first, without a
    /// page limit.
    Leads {
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
        #[command(flatten)]
        file: FileArgs,
    },
    /// The status x source report (the filters of `crm report`).
    Report {
        #[command(flatten)]
        filter: ReportFilterArgs,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Lost leads by reason, with each reason's share (the filters of `crm report`).
    LostReasons {
        #[command(flatten)]
        filter: ReportFilterArgs,
        #[command(flatten)]
        file: FileArgs,
    },
    /// The average time in each status per owner, source and status, and overall (the
    /// filters of `crm report`).
    TimeInStatus {
        #[command(flatten)]
        filter: ReportFilterArgs,
        #[command(flatten)]
        file: FileArgs,
    },
    /// The pipeline report per currency: open, weighted, won and lost totals, by owner, stage
    /// and close month (the filters of `crm pipeline`).
    Pipeline {
        /// Only opportunities on this employee's leads.
        #[arg(long)]
        owner: Option<String>,
        /// Expected to close on or after (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Expected to close on or before (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        file: FileArgs,
    },
}

/// The filters of a report export, as `crm report` takes them.
#[derive(Args, Debug)]
pub(crate) struct ReportFilterArgs {
    /// Only this responsible employee's leads.
    #[arg(long)]
    owner: Option<String>,
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Created on or after (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Created before (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    to: Option<String>,
    /// Only leads from this campaign (a web form's utm_campaign).
    #[arg(long)]
    campaign: Option<String>,
}

impl ReportFilterArgs {
    pub(crate) fn parse(self) -> Result<ReportFilter, Failure> {
        let mut filter = report_filter(self.owner, self.source, self.from, self.to)?;
        filter.campaign = self.campaign.filter(|c| !c.trim().is_empty());
        Ok(filter)
    }
}

/// Where and how to write an export.
#[derive(Args, Debug)]
pub(crate) struct FileArgs {
    /// csv, xlsx or pdf (default: from the --out file's extension).
    #[arg(long)]
    format: Option<String>,
    /// The file to write (replaced only once the export is complete), or - for stdout.
    #[arg(long)]
    out: String,
    /// Headings and labels in Arabic (right to left) or English.
    #[arg(long, default_value = "en")]
    locale: String,
    /// The IANA time zone dates are shown in, e.g. Asia/Riyadh; each date at the offset in
    /// force on it (default: the configured `time_zone`: crm.toml, $CRM_TIME_ZONE, else $TZ
    /// when it names one, else UTC).
    #[arg(long)]
    tz: Option<String>,
    /// Deprecated (replaced by --tz): a whole-hour UTC offset such as +03:00, read as the
    /// fixed zone Etc/GMT-3, with a warning. Kept so older scripts keep working.
    #[arg(long, env = "CRM_UTC_OFFSET", hide = true, allow_hyphen_values = true)]
    utc_offset: Option<String>,
}

/// The fixed IANA zone of a whole-hour UTC offset as `--utc-offset` took it (`+03:00`,
/// `-0500`, `+3`, `Z`): `Etc/GMT-3` for UTC+03:00, the Etc zones' sign being POSIX's, the
/// inverse of ISO 8601's. Any other offset (`+05:30`) or one no Etc zone has is refused
/// with a message pointing at `--tz`.
fn offset_zone(given: &str) -> Result<Tz, Failure> {
    let text = given.trim();
    let refuse = |why: &str| {
        usage(format!(
            "--utc-offset {text:?}: {why}; --utc-offset is deprecated: name the zone with --tz, \
             e.g. --tz Asia/Kolkata (each date then at the offset in force on it)"
        ))
    };
    let seconds = if text.eq_ignore_ascii_case("z") {
        0
    } else if let Ok(offset) = text.parse::<chrono::FixedOffset>() {
        offset.local_minus_utc()
    } else {
        // A bare hour count: +3, -5, 3.
        let hours: i32 = text
            .parse()
            .map_err(|_| refuse("not a UTC offset such as +03:00"))?;
        hours
            .checked_mul(3600)
            .ok_or_else(|| refuse("out of range"))?
    };
    if seconds % 3600 != 0 {
        return Err(refuse(
            "not a whole hour, and only whole hours have a fixed Etc zone",
        ));
    }
    let hours = seconds / 3600;
    if !(-12..=14).contains(&hours) {
        return Err(refuse(
            "no Etc zone has it (they run from -12:00 to +14:00)",
        ));
    }
    // Etc/GMT-3 is three hours *ahead* of UTC (POSIX signs).
    let name = match hours {
        0 => "UTC".to_owned(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    parse_time_zone(&name).map_err(|e| usage(format!("--utc-offset: {e}")))
}

impl FileArgs {
    fn format(&self) -> Result<Format, Failure> {
        let given = match &self.format {
            Some(f) => f.as_str(),
            None => Path::new(&self.out)
                .extension()
                .and_then(|e| e.to_str())
                .ok_or_else(|| {
                    usage("--format is needed: the --out file has no csv, xlsx or pdf extension")
                })?,
        };
        given
            .parse()
            .map_err(|e: crm_core::ValidationError| usage(format!("--format: {e}")))
    }

    fn options(&self, configured: Tz) -> Result<ExportOptions, Failure> {
        let zone = match (&self.tz, &self.utc_offset) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    "--utc-offset and --tz both given (or $CRM_UTC_OFFSET and \
                     $CRM_TIME_ZONE): --utc-offset is deprecated, drop it and keep --tz",
                ));
            }
            (None, Some(offset)) => {
                let zone = offset_zone(offset)?;
                eprintln!(
                    "warning: --utc-offset is deprecated and will be removed; use --tz {} \
                     (the same fixed offset), or better the named zone of the place, e.g. \
                     --tz Asia/Riyadh, which follows its daylight saving time",
                    zone.name()
                );
                zone
            }
            (Some(tz), None) => parse_time_zone(tz).map_err(|e| usage(format!("--tz: {e}")))?,
            (None, None) => configured,
        };
        Ok(ExportOptions {
            locale: self
                .locale
                .parse::<Locale>()
                .map_err(|e| usage(format!("--locale: {e}")))?,
            zone,
            bom: true,
        })
    }
}

impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Crm(e) => e.into(),
            ExportError::NotBuilt(_) => usage(e.to_string()),
            e => Failure {
                code: crm_cli::output::exit::STORAGE,
                kind: "storage",
                message: crm_config::sentence(&e),
            },
        }
    }
}

/// A file written in full or not at all: a temporary file beside the target, renamed over it
/// once the export succeeded (a failed export leaves any earlier file as it was).
async fn to_file<T>(
    out: &str,
    write: impl AsyncFnOnce(Box<dyn Write + Send>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    if out == "-" {
        return write(Box::new(std::io::stdout())).await;
    }
    let target = PathBuf::from(out);
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |e: std::io::Error| Failure {
        code: crm_cli::output::exit::STORAGE,
        kind: "storage",
        message: format!("cannot write {}: {e}", target.display()),
    };
    let mut builder = tempfile::Builder::new();
    // Created as any other file (0666 less the umask, as File::create makes it), not with
    // the 0600 of a temporary file, which the rename would otherwise keep.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(&dir).map_err(io)?;
    // A file written over keeps its mode, as when written in place.
    if let Ok(existing) = std::fs::metadata(&target) {
        tmp.as_file()
            .set_permissions(existing.permissions())
            .map_err(io)?;
    }
    let file = tmp.reopen().map_err(io)?;
    let result = write(Box::new(std::io::BufWriter::new(file))).await?;
    tmp.persist(&target).map_err(|e| io(e.error))?;
    Ok(result)
}

pub(crate) async fn run(app: &App, c: ExportCmd) -> Out {
    match c {
        ExportCmd::Leads {
            status,
            source,
            owner,
            search,
            file,
        } => {
            let q = lead_query(
                LeadQuery::default(),
                status,
                source,
                owner,
                search,
                app.region,
            )?;
            let (format, opts, actor) =
                (file.format()?, file.options(app.time_zone)?, app.actor()?);
            let n = to_file(&file.out, async |w| {
                Ok(export::write_leads(&app.crm, actor, &q, format, &opts, w).await?)
            })
            .await?;
            done(app, &file, format, n);
        }
        ExportCmd::Report { filter, file } => {
            let filter = filter.parse()?;
            report_file(app, &file, async |w, format, opts, actor| {
                export::write_report(&app.crm, actor, &filter, format, opts, w).await
            })
            .await?;
        }
        ExportCmd::LostReasons { filter, file } => {
            let filter = filter.parse()?;
            report_file(app, &file, async |w, format, opts, actor| {
                export::write_lost_reasons(&app.crm, actor, &filter, format, opts, w).await
            })
            .await?;
        }
        ExportCmd::TimeInStatus { filter, file } => {
            let filter = filter.parse()?;
            report_file(app, &file, async |w, format, opts, actor| {
                export::write_time_in_status(&app.crm, actor, &filter, format, opts, w).await
            })
            .await?;
        }
        ExportCmd::Pipeline {
            owner,
            from,
            to,
            file,
        } => {
            let filter = pipeline_filter(owner, from, to)?;
            report_file(app, &file, async |w, format, opts, actor| {
                export::write_pipeline(&app.crm, actor, &filter, format, opts, w).await
            })
            .await?;
        }
    }
    Ok(())
}

/// The listing's filters, as `lead list` and `export leads` take them.
pub(crate) fn lead_query(
    mut q: LeadQuery,
    status: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    search: Option<String>,
    region: Option<crm_core::PhoneRegion>,
) -> Result<LeadQuery, Failure> {
    if let Some(s) = status {
        q = q.status(s.parse()?);
    }
    if let Some(s) = source {
        q = q.source(Source::parse(&s)?);
    }
    if let Some(o) = owner {
        q = q.owner(o.parse()?);
    }
    if let Some(s) = search {
        // A number in any spelling finds its leads, local forms read in the region.
        q = q.search_in(&s, region);
    }
    Ok(q)
}

/// The report's filters, as `report` and `export report` take them.
fn report_filter(
    owner: Option<String>,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<ReportFilter, Failure> {
    let instant = |t: Option<String>| t.as_deref().map(parse_instant).transpose().map_err(invalid);
    Ok(ReportFilter {
        owner: owner.as_deref().map(str::parse).transpose()?,
        source: source.as_deref().map(Source::parse).transpose()?,
        created_from: instant(from)?,
        created_to: instant(to)?,
        campaign: None,
    })
}

/// The pipeline's filters, as `pipeline` and `export pipeline` take them.
pub(crate) fn pipeline_filter(
    owner: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<PipelineFilter, Failure> {
    let date = |d: Option<String>| d.as_deref().map(parse_date).transpose().map_err(invalid);
    Ok(PipelineFilter {
        owner: owner.as_deref().map(str::parse).transpose()?,
        close_from: date(from)?,
        close_to: date(to)?,
    })
}

/// A report written to `file` by `write` (one of the library's `write_*` exporters) as the
/// actor, in the format and options `file` asks for.
async fn report_file(
    app: &App,
    file: &FileArgs,
    write: impl AsyncFnOnce(
        Box<dyn Write + Send>,
        Format,
        &ExportOptions,
        EmployeeId,
    ) -> Result<(), ExportError>,
) -> Out {
    let (format, opts, actor) = (file.format()?, file.options(app.time_zone)?, app.actor()?);
    to_file(&file.out, async |w| {
        Ok(write(w, format, &opts, actor).await?)
    })
    .await?;
    done(app, file, format, 0);
    Ok(())
}

/// Says what was written (on stderr when the export went to stdout).
fn done(app: &App, file: &FileArgs, format: Format, leads: u64) {
    if file.out == "-" {
        return;
    }
    app.print(
        json!({"out": file.out, "format": format.as_str(), "leads": leads}),
        || format!("wrote {} ({format})\n", file.out),
    );
}

/// `lead list --csv`: the page as CSV on stdout.
pub(crate) async fn print_leads_csv(app: &App, leads: &[Lead]) -> Out {
    let opts = ExportOptions::default();
    let table = leads_table(&opts, String::new());
    let mut names = std::collections::BTreeMap::new();
    for l in leads {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(l.owner()) {
            let name = app.crm.employee(app.actor()?, l.owner()).await?;
            slot.insert(name.map(|e| e.name.to_string()));
        }
    }
    let labels: Vec<_> = leads
        .iter()
        .map(|l| names.get(&l.owner()).cloned().flatten())
        .collect();
    let rows = leads
        .iter()
        .zip(&labels)
        .map(|(l, n)| lead_cells(l, n.as_deref(), &opts));
    print_csv(|sink| write_table(sink, &table, rows, None))
}

/// `report --csv`: the report as CSV on stdout.
pub(crate) fn print_report_csv(report: &Report) -> Out {
    let opts = ExportOptions::default();
    let (rows, total) = report_rows(report, &opts);
    print_csv(|sink| {
        write_table(
            sink,
            &report_table(&opts, String::new()),
            rows,
            Some(&total),
        )
    })
}

fn print_csv(write: impl FnOnce(&mut dyn RowSink) -> Result<(), ExportError>) -> Out {
    let stdout = std::io::stdout().lock();
    let mut sink = CsvSink::new(stdout, &ExportOptions::default())?;
    write(&mut sink)?;
    Ok(())
}
