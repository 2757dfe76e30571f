//! Conformance bodies for the boards (issue 22): the lead board by status and the deal
//! board by stage, over what the actor sees. Stamped out per adapter by
//! [`crate::conformance_suite!`] like every other body.

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use crm_core::board::{BoardFilter, DealBoard, LeadBoard};
use crm_core::{
    Currency, Employee, EmployeeId, LeadId, LeadStatus, LeadStore, Money, Name, NewOpportunity,
    OpportunityPatch, OpportunityStage, Role, Team, Visibility,
};

use crate::harness::{Harness, manager, new_lead, other, reason, sales, sales2};

fn team(s: &str) -> Team {
    Team::parse(s).unwrap()
}

fn deal(title: &str, minor: i64, currency: &str, close_day: u32) -> NewOpportunity {
    NewOpportunity {
        title: Name::parse(title).unwrap(),
        value: Money::from_minor(minor, Currency::parse(currency).unwrap()).unwrap(),
        expected_close: NaiveDate::from_ymd_opt(2027, 1, close_day).unwrap(),
        probability: None,
    }
}

/// Each column's status, count and card ids.
fn columns(b: &LeadBoard) -> Vec<(LeadStatus, u64, Vec<LeadId>)> {
    (b.columns.iter())
        .map(|c| {
            (
                c.status,
                c.total,
                c.cards.iter().map(|k| k.lead.id()).collect(),
            )
        })
        .collect()
}

fn stage(b: &DealBoard, s: OpportunityStage) -> &crm_core::board::StageColumn {
    b.columns.iter().find(|c| c.stage == s).unwrap()
}

/// The lead board counts and shows only the leads the actor sees, newest first, at most
/// the cards asked for; a card offers only the moves its viewer may make and carries its
/// open value; a status change moves the card. The deal board sorts each stage's deals,
/// values them per currency and leaves out what the actor does not see.
pub async fn boards_show_what_the_actor_sees(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let put = |id: EmployeeId, name: &str, role, t: &str| {
        h.employees
            .upsert(Employee::new(id, Name::parse(name).unwrap(), role).in_team(team(t)));
    };
    put(sales(), "سارة الأحمد", Role::Sales, "east");
    put(sales2(), "Omar Haddad", Role::Sales, "west");
    put(other(), "Accountant", Role::Other, "east");
    let crm = h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .visibility(Visibility::Team)
    });
    let create = |n: usize, owner: EmployeeId| {
        let crm = &crm;
        let h = &h;
        async move {
            h.advance(TimeDelta::seconds(1));
            let input = new_lead(
                &format!("عميل {n}"),
                Some(&format!("c{n}@example.sa")),
                None,
            )
            .owner(owner);
            crm.create_lead(manager(), input).await.unwrap()
        }
    };
    let a = create(1, sales()).await;
    let b = create(2, sales()).await;
    let c = create(3, sales()).await;
    let west = create(4, sales2()).await;
    let c = crm
        .change_status(sales(), c.id(), c.version(), LeadStatus::Interested, None)
        .await
        .unwrap()
        .lead;
    crm.add_opportunity(sales(), c.id(), deal("توريد", 1_250_500, "KWD", 20))
        .await
        .unwrap();
    let won = crm
        .add_opportunity(sales(), c.id(), deal("صيانة", 99_000, "SAR", 3))
        .await
        .unwrap();
    crm.update_opportunity(
        sales(),
        won.id,
        won.version,
        OpportunityPatch {
            stage: Some(OpportunityStage::Won),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    crm.add_opportunity(sales(), b.id(), deal("عقد", 50_000, "SAR", 5))
        .await
        .unwrap();
    crm.add_opportunity(sales2(), west.id(), deal("West", 7_000, "SAR", 1))
        .await
        .unwrap();

    // The east salesperson: three leads, the west one nowhere, not even in a count.
    let board = crm
        .lead_board(sales(), &BoardFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        columns(&board),
        vec![
            (LeadStatus::New, 2, vec![b.id(), a.id()]),
            (LeadStatus::Contacted, 0, vec![]),
            (LeadStatus::Interested, 1, vec![c.id()]),
            (LeadStatus::Converted, 0, vec![]),
            (LeadStatus::Lost, 0, vec![]),
        ]
    );
    let card = &board.columns[2].cards[0];
    // The won deal is not open: only the KWD one counts in the card's value.
    let open: Vec<_> = card.open_value.iter().map(|m| m.to_string()).collect();
    assert_eq!(open, vec!["1250.500 KWD"]);
    assert_eq!(card.moves, vec![LeadStatus::Converted, LeadStatus::Lost]);

    // One card a column: the count stays, the newest is shown.
    let one = crm
        .lead_board(sales(), &BoardFilter::default(), 1)
        .await
        .unwrap();
    assert_eq!(one.columns[0].total, 2);
    assert_eq!(one.columns[0].cards.len(), 1);
    assert_eq!(one.columns[0].cards[0].lead.id(), b.id());
    for bad in [0, crm_core::board::MAX_CARDS + 1] {
        assert!(
            crm.lead_board(sales(), &BoardFilter::default(), bad)
                .await
                .is_err()
        );
        assert!(
            crm.deal_board(sales(), &BoardFilter::default(), bad)
                .await
                .is_err()
        );
    }

    // Someone who may only read sees the same board and is offered no move.
    let read = crm
        .lead_board(other(), &BoardFilter::default(), 10)
        .await
        .unwrap();
    assert!(
        read.columns
            .iter()
            .flat_map(|c| &c.cards)
            .all(|k| k.moves.is_empty())
    );
    assert_eq!(read.columns[0].total, 2);

    // The owner filter narrows both the counts and the cards.
    let theirs = BoardFilter {
        owner: Some(sales2()),
        ..BoardFilter::default()
    };
    let none = crm.lead_board(sales(), &theirs, 10).await.unwrap();
    assert!(
        none.columns
            .iter()
            .all(|c| c.total == 0 && c.cards.is_empty())
    );

    // A move is the status change: the card changes column.
    crm.change_status(
        sales(),
        a.id(),
        a.version(),
        LeadStatus::Lost,
        Some(reason("no budget")),
    )
    .await
    .unwrap();
    let after = crm
        .lead_board(sales(), &BoardFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(columns(&after)[0], (LeadStatus::New, 1, vec![b.id()]));
    assert_eq!(columns(&after)[4], (LeadStatus::Lost, 1, vec![a.id()]));
    assert!(
        after.columns[4].cards[0].moves.is_empty(),
        "reopening is management's"
    );

    // The deals: east's three, by stage, the west one left out of cards and values.
    let deals = crm
        .deal_board(sales(), &BoardFilter::default(), 10)
        .await
        .unwrap();
    let open = stage(&deals, OpportunityStage::Open);
    assert_eq!(open.total, 2);
    let titles: Vec<_> = open
        .cards
        .iter()
        .map(|d| d.opportunity.title.to_string())
        .collect();
    assert_eq!(titles, vec!["عقد", "توريد"], "the soonest to close first");
    let values: Vec<_> = open.value.iter().map(|m| m.to_string()).collect();
    assert_eq!(values, vec!["1250.500 KWD", "500.00 SAR"]);
    assert_eq!(open.cards[0].lead.id(), b.id());
    let won_column = stage(&deals, OpportunityStage::Won);
    assert_eq!(won_column.total, 1);
    assert_eq!(won_column.cards[0].opportunity.id, won.id);
    assert_eq!(deals.columns.iter().map(|c| c.total).sum::<u64>(), 3);
    // Under `all` the west deal is there too, in its column's count, cards and value.
    let everyone = h.crm_with(|b| b.visibility(Visibility::All));
    let all = everyone
        .deal_board(manager(), &BoardFilter::default(), 10)
        .await
        .unwrap();
    let open = stage(&all, OpportunityStage::Open);
    assert_eq!(open.total, 3);
    assert_eq!(open.cards[0].opportunity.title.to_string(), "West");
    let values: Vec<_> = open.value.iter().map(|m| m.to_string()).collect();
    assert_eq!(values, vec!["1250.500 KWD", "570.00 SAR"]);
}

/// The host's sources and currencies (issue 22's pickers offer them): a lead created,
/// edited or imported under a source not listed is refused to whoever may not add one, and
/// leaves nothing behind; an opportunity added or revalued in a currency not listed is
/// refused; management may add a source under `management`.
pub async fn host_sources_and_currencies_are_enforced(store: Arc<dyn LeadStore>) {
    use crm_core::{
        CrmError, ImportOptions, ImportRow, ImportedLead, LeadPatch, LeadQuery, NewSources,
        OnDuplicate, Source, Sources, ValidationError,
    };
    let h = Harness::new(store);
    let crm = h.crm_with(|b| {
        b.sources(Sources::parse("web,معرض", NewSources::Management).unwrap())
            .currencies(crm_core::Currencies::parse("SAR,KWD").unwrap())
    });
    let count = async || {
        (h.store
            .list_leads(&LeadQuery::default().limit(1000).unwrap())
            .await)
            .unwrap()
            .items
            .len()
    };
    let sourced = |n: usize, source: &str| {
        let mut l = new_lead(
            &format!("عميل {n}"),
            Some(&format!("s{n}@example.sa")),
            None,
        );
        l.source = Source::parse(source).unwrap();
        l
    };
    let unlisted = |r: Result<_, CrmError>| {
        matches!(
            r,
            Err(CrmError::Validation(ValidationError::UnlistedSource { .. }))
        )
    };
    assert!(unlisted(
        crm.create_lead(sales(), sourced(1, "referral"))
            .await
            .map(|_| ())
    ));
    assert_eq!(count().await, 0, "a refused create stores nothing");
    let fair = crm.create_lead(sales(), sourced(2, "معرض")).await.unwrap();
    // Management may add one.
    crm.create_lead(manager(), sourced(3, "referral"))
        .await
        .unwrap();
    // An edit to a source not listed is refused; the lead is as it was.
    let to_phone = LeadPatch {
        source: Some(Source::phone()),
        ..LeadPatch::default()
    };
    assert!(unlisted(
        crm.edit_lead(sales(), fair.id(), 1, to_phone)
            .await
            .map(|_| ())
    ));
    assert_eq!(crm.lead(sales(), fair.id()).await.unwrap(), fair);
    // An import row under a source not listed fails; the others are created.
    let row = |n: usize, source: &str| ImportRow {
        row: n,
        outcome: Ok(ImportedLead {
            lead: sourced(n, source),
            notes: None,
        }),
    };
    let opts = ImportOptions {
        on_duplicate: OnDuplicate::Skip,
        ..ImportOptions::default()
    };
    let report = crm
        .import_leads(sales(), vec![row(4, "web"), row(5, "phone")], &opts)
        .await
        .unwrap();
    let got: Vec<_> = report.rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(got, ["created", "failed"]);
    assert_eq!(count().await, 3);
    // An update row writes no source, so a file's source (here not listed) does not refuse
    // it: the lead it matches is updated.
    let mut update = row(6, "phone");
    if let Ok(l) = &mut update.outcome {
        l.lead.email = fair.email().cloned();
        l.lead.company = Some(Name::parse("شركة جديدة").unwrap());
    }
    let opts = ImportOptions {
        on_duplicate: OnDuplicate::Update,
        ..ImportOptions::default()
    };
    let report = crm
        .import_leads(sales(), vec![update], &opts)
        .await
        .unwrap();
    assert_eq!(
        report.rows[0].outcome.as_str(),
        "updated",
        "{:?}",
        report.rows[0]
    );
    let fair = crm.lead(sales(), fair.id()).await.unwrap();
    assert_eq!(
        fair.source().as_str(),
        "معرض",
        "the source is the lead's own"
    );
    assert_eq!(count().await, 3);

    // Currencies.
    let usd = deal("Dollars", 1_000, "USD", 10);
    let r = crm.add_opportunity(sales(), fair.id(), usd).await;
    assert!(
        matches!(
            r,
            Err(CrmError::Validation(
                ValidationError::UnlistedCurrency { .. }
            ))
        ),
        "{r:?}"
    );
    let kwd = crm
        .add_opportunity(sales(), fair.id(), deal("دنانير", 1_500, "KWD", 10))
        .await
        .unwrap();
    let revalue = OpportunityPatch {
        value: Some(Money::from_minor(1_000, Currency::parse("AED").unwrap()).unwrap()),
        ..Default::default()
    };
    let r = crm
        .update_opportunity(sales(), kwd.id, kwd.version, revalue)
        .await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(
        crm.opportunity(sales(), kwd.id).await.unwrap(),
        kwd,
        "a refused revaluation changes nothing"
    );
}

/// The lead list's total and its order by any column (issue 22): the count is of every
/// lead the query matches in the actor's view, whatever the page; a sorted list is the
/// first of all the matches in the column's order, the leads outside the view left out.
pub async fn lists_count_and_sort_by_any_column(store: Arc<dyn LeadStore>) {
    use crm_core::LeadQuery;
    use crm_core::sorting::Sort;
    let h = Harness::new(store);
    h.employees.upsert(
        Employee::new(sales(), Name::parse("سارة").unwrap(), Role::Sales).in_team(team("east")),
    );
    h.employees.upsert(
        Employee::new(sales2(), Name::parse("Omar").unwrap(), Role::Sales).in_team(team("west")),
    );
    let crm = h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .visibility(Visibility::Team)
    });
    let mut ids = Vec::new();
    for (n, name, company, owner, phone) in [
        (1, "ثامر", Some("ب"), sales(), "0501111111"),
        (2, "أحمد", None, sales(), "0502222222"),
        (3, "باسم", Some("أ"), sales(), "0503333333"),
        (4, "Zed", None, sales2(), "0504444444"),
    ] {
        h.advance(TimeDelta::seconds(1));
        let mut input = new_lead(name, Some(&format!("l{n}@example.sa")), Some(phone)).owner(owner);
        input.company = company.map(|c| Name::parse(c).unwrap());
        ids.push(crm.create_lead(manager(), input).await.unwrap().id());
    }
    let q = |limit: u32| LeadQuery::default().limit(limit).unwrap();
    // The total is of every match in view, not the page.
    assert_eq!(crm.count_leads(sales(), &q(1)).await.unwrap(), 3);
    assert_eq!(crm.count_leads(sales2(), &q(1)).await.unwrap(), 1);
    let by_phone = q(1).search_in("050 333 3333", Some(crate::harness::region()));
    assert_eq!(crm.count_leads(sales(), &by_phone).await.unwrap(), 1);
    let west_phone = q(1).search_in("0504444444", Some(crate::harness::region()));
    assert_eq!(
        crm.count_leads(sales(), &west_phone).await.unwrap(),
        0,
        "outside the view"
    );
    assert_eq!(
        crm.count_leads(sales(), &q(10).status(LeadStatus::Lost))
            .await
            .unwrap(),
        0
    );
    let sorted = async |sort: &str, limit: u32| -> Vec<String> {
        let sort: Sort = sort.parse().unwrap();
        (crm.leads_sorted(sales(), &q(limit), sort)
            .await
            .unwrap()
            .iter())
        .map(|l| l.name().to_string())
        .collect()
    };
    assert_eq!(sorted("name", 10).await, ["أحمد", "باسم", "ثامر"]);
    assert_eq!(sorted("-name", 2).await, ["ثامر", "باسم"]);
    assert_eq!(sorted("company", 10).await, ["باسم", "ثامر", "أحمد"]);
    assert_eq!(sorted("-created", 10).await, ["باسم", "أحمد", "ثامر"]);
    // By the owner's name, under `all`: in code point order Latin comes before Arabic, so
    // Omar's lead is first.
    let all = h.crm_with(|b| b.visibility(Visibility::All));
    let by_owner = all
        .leads_sorted(manager(), &q(10), "owner".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(by_owner[0].id(), ids[3], "Omar before سارة");
    assert_eq!(all.count_leads(manager(), &q(1)).await.unwrap(), 4);
}
