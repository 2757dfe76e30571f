//! The main job end to end on an embedded SQLite file: employees, leads from several
//! sources, interactions, an opportunity, a conversion that creates a client, a follow-up
//! sweep that raises an alert, and the report.
//!
//! `cargo run -p crm-quickstart`

use std::io::IsTerminal;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta};
use crm_core::{
    ConversionOutcome, Currency, Email, Employee, EmployeeId, InteractionKind, LeadStatus,
    ManualClock, Money, Name, NewInteraction, NewLead, NewOpportunity, Note, Phone, ReportFilter,
    Role, Source, SystemActor,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Colours only on a terminal: redirected to a file, the output stays plain text.
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .without_time()
        .init();

    // 1. An embedded database: one SQLite file, migrated on connect. The library is built
    //    from crm-config's settings as the `crm` tool and `crm-server` build it; they read
    //    theirs from crm.toml, CRM_* variables and flags, the quickstart sets its own.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crm.db");
    let config = crm_config::Config::from_pairs(&[
        ("db", &path.to_string_lossy()),
        ("region", "SA"),
        ("visibility", "all"),
    ])?;
    println!("database: {}", path.display());

    // 2. The service, with a clock we can move to show the follow-up rule, and a scheduler
    //    the host names to run the sweep.
    let clock = Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-01T08:00:00Z")?.to_utc(),
    ));
    let scheduler = SystemActor::parse("scheduler")?;
    let crm = config
        .settings()
        .connect()
        .await?
        .clock(clock.clone())
        .system_actor(scheduler.clone())
        .build()?;

    // 3. Employees in the library's own directory (a host with its own HR system implements
    //    EmployeeDirectory instead): the first is a manager, who adds the others.
    let employee = |id, name: &str, role| -> Result<Employee, BoxError> {
        Ok(Employee::new(
            EmployeeId::new(id)?,
            Name::parse(name)?,
            role,
        ))
    };
    let khalid = crm
        .bootstrap_manager(employee(3, "خالد المدير", Role::Manager)?)
        .await?
        .id;
    for (id, name, role) in [
        (1, "سارة الأحمد", Role::Sales),
        (2, "Omar Haddad", Role::Sales),
        (4, "Accountant", Role::Other),
    ] {
        crm.save_employee(khalid, employee(id, name, role)?).await?;
    }
    let (sara, omar, accountant) = (
        EmployeeId::new(1)?,
        EmployeeId::new(2)?,
        EmployeeId::new(4)?,
    );

    // 4. Leads from several sources, in Arabic and Latin script. Phones typed in local form
    //    are read in the host's region.
    let region = config.settings().region;
    let riyadh = crm
        .create_lead(
            sara,
            NewLead::new(Name::parse("محمد العتيبي")?, Source::referral())
                .phone(Phone::parse_in("٠٥٠١٢٣٤٥٦٧", region)?)
                .company(Name::parse("شركة الأفق للتجارة")?),
        )
        .await?;
    let dubai = crm
        .create_lead(
            omar,
            NewLead::new(Name::parse("Layla Haddad")?, Source::web())
                .email(Email::parse("Layla@Gulf-Trading.ae")?)
                .company(Name::parse("Gulf Trading LLC")?),
        )
        .await?;
    let quiet = crm
        .create_lead(
            sara,
            NewLead::new(Name::parse("Ahmed Saleh")?, Source::event())
                .email(Email::parse("ahmed@example.com")?),
        )
        .await?;
    println!(
        "created 3 leads; {} has phone {} (read as {})",
        riyadh.name(),
        riyadh.phone().map_or("-", |p| p.display()),
        riyadh.phone().map_or("-", |p| p.key())
    );

    // A duplicate is caught by the normalised email.
    let dup = crm
        .create_lead(
            khalid,
            NewLead::new(Name::parse("L. Haddad")?, Source::phone())
                .email(Email::parse("layla@gulf-trading.ae")?),
        )
        .await;
    println!(
        "duplicate refused: {}",
        dup.err().map(|e| e.to_string()).unwrap_or_default()
    );

    // 5. Work the leads: interactions, an opportunity in KWD, status changes.
    clock.advance(TimeDelta::hours(3));
    crm.log_interaction(
        sara,
        riyadh.id(),
        NewInteraction::new(InteractionKind::Call).notes(Note::parse("طلب عرض سعر")?),
    )
    .await?;
    let l = crm
        .change_status(
            sara,
            riyadh.id(),
            riyadh.version(),
            LeadStatus::Contacted,
            None,
        )
        .await?
        .lead;
    let l = crm
        .change_status(sara, l.id(), l.version(), LeadStatus::Interested, None)
        .await?
        .lead;
    let deal = crm
        .add_opportunity(
            sara,
            l.id(),
            NewOpportunity {
                title: Name::parse("توريد أجهزة")?,
                value: Money::parse("12,500.750", Currency::parse("KWD")?)?,
                expected_close: chrono::NaiveDate::from_ymd_opt(2026, 12, 15).ok_or("date")?,
                probability: None,
            },
        )
        .await?;
    println!("opportunity: {} worth {}", deal.title, deal.value);

    // A read-only employee cannot change anything.
    let refused = crm
        .change_status(
            accountant,
            dubai.id(),
            dubai.version(),
            LeadStatus::Contacted,
            None,
        )
        .await;
    println!(
        "accountant refused: {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );

    // 6. Conversion creates exactly one client in the clients system.
    let converted = crm
        .change_status(sara, l.id(), l.version(), LeadStatus::Converted, None)
        .await?;
    if let Some(ConversionOutcome::ClientCreated(client)) = &converted.conversion {
        println!("converted {} -> client {client}", converted.lead.name());
    }
    crm.log_interaction(
        omar,
        dubai.id(),
        NewInteraction::new(InteractionKind::Email),
    )
    .await?;

    // 7. Six days later, the follow-up sweep raises an alert for the lead nobody contacted.
    clock.advance(TimeDelta::days(6));
    let sweep = crm.sweep_now(scheduler.clone()).await?;
    println!(
        "follow-up sweep notified {} lead(s): {}",
        sweep.notified.len(),
        sweep
            .notified
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(sweep.notified, vec![quiet.id()]);
    println!(
        "second sweep notified {} lead(s)",
        crm.sweep_now(scheduler.clone()).await?.notified.len()
    );

    // 8. The detail view and the report.
    let detail = crm.lead_detail(accountant, l.id()).await?;
    println!(
        "detail of {}: {} history entries, {} interactions, {} opportunities, client {}",
        detail.lead.name(),
        detail.history.len(),
        detail.interactions.len(),
        detail.opportunities.len(),
        detail.lead.client_id().map_or("-", |c| c.as_ref())
    );
    let report = crm.report(accountant, &ReportFilter::default()).await?;
    // Source names are ASCII slugs here, so a fixed width aligns the columns.
    println!("\nreport ({} leads):", report.total);
    print!("{:<10}", "source");
    for status in LeadStatus::ALL {
        print!("{:>12}", status.to_string());
    }
    println!();
    for (source, _) in &report.by_source {
        print!("{:<10}", source.to_string());
        for status in LeadStatus::ALL {
            print!("{:>12}", report.count(status, source));
        }
        println!();
    }
    let events = crm.pending_events(khalid, 0, 100).await?;
    println!("\n{} events pending for the sales system", events.len());
    Ok(())
}
