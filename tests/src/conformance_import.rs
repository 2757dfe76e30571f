//! Conformance bodies for importing leads (issue 11): the store's import batch and
//! [`crm_core::Crm::import_leads`] over it. Stamped out per adapter by
//! [`crate::conformance_suite!`] like every other body.

use std::sync::Arc;

use crm_core::StoreWrites;
use crm_core::{
    AssignmentRule, AssignmentRules, Change, Clock, CrmError, EventKind, ImportBatch, ImportKey,
    ImportOptions, ImportReport, ImportRow, ImportWrite, ImportedLead, InteractionKind, LeadField,
    LeadQuery, LeadStore, Note, OnDuplicate, RowError, RowOutcome, SkipReason, StoreError,
    Visibility,
};

use crate::conformance::snapshot;
use crate::harness::{Harness, manager, new_lead, other, sales, sales2, unknown};

/// A readable row.
fn row(n: usize, name: &str, email: Option<&str>, phone: Option<&str>) -> ImportRow {
    ImportRow {
        row: n,
        outcome: Ok(ImportedLead {
            lead: new_lead(name, email, phone),
            notes: None,
        }),
    }
}

/// A row the reader refused.
fn bad(n: usize, reason: &str) -> ImportRow {
    ImportRow {
        row: n,
        outcome: Err(RowError::other(reason)),
    }
}

fn emp(id: crm_core::EmployeeId) -> crm_core::Employee {
    crate::harness::staff()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap()
}

fn opts(policy: OnDuplicate) -> ImportOptions {
    ImportOptions {
        on_duplicate: policy,
        ..ImportOptions::default()
    }
}

fn outcomes(r: &ImportReport) -> Vec<(usize, &'static str)> {
    r.rows.iter().map(|r| (r.row, r.outcome.as_str())).collect()
}

async fn all_leads(h: &Harness) -> Vec<crm_core::Lead> {
    h.store
        .list_leads(&LeadQuery::default().limit(1000).unwrap())
        .await
        .unwrap()
        .items
}

/// Every readable row becomes a lead with the history and the event `create_lead` writes,
/// its notes a `note` interaction; unreadable rows are reported with their reason, and the
/// rest go on.
pub async fn import_creates_leads_with_history_and_events(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let mut with_note = row(4, "ليلى", None, Some("٠٥٠١٢٣٤٥٦٧"));
    if let Ok(l) = &mut with_note.outcome {
        l.notes = Some(Note::parse("تتصل بعد العيد").unwrap());
    }
    let rows = vec![
        row(2, "سارة الأحمد", Some("sara@example.com"), None),
        bad(3, "phone: too short"),
        with_note,
        row(5, "Omar", Some("omar@example.com"), None).clone(),
    ];
    let mut rows = rows;
    if let Ok(l) = &mut rows[3].outcome {
        l.lead.owner = Some(sales2());
    }
    let report = h
        .crm
        .import_leads(sales(), rows, &opts(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&report),
        [
            (2, "created"),
            (3, "failed"),
            (4, "created"),
            (5, "created")
        ]
    );
    assert_eq!(
        (report.failures())
            .map(|(n, e)| (n, e.to_string()))
            .collect::<Vec<_>>(),
        [(3, "phone: too short".to_owned())]
    );
    let leads = all_leads(&h).await;
    assert_eq!(leads.len(), 3);
    let events = h.store.pending_events(0, 100).await.unwrap();
    for r in &report.rows {
        let RowOutcome::Created { lead, .. } = r.outcome else {
            continue;
        };
        let d = h.crm.lead_detail(manager(), lead).await.unwrap();
        assert_eq!(d.lead.version(), 1);
        assert_eq!(d.lead.created_by(), sales());
        assert!(matches!(d.history.as_slice(), [e] if matches!(e.change, Change::Created { .. })));
        assert!(
            events.iter().any(|e| e.event.lead_id == lead
                && matches!(e.event.kind, EventKind::LeadCreated { .. }))
        );
        if r.row == 4 {
            assert_eq!(d.interactions.len(), 1);
            assert_eq!(d.interactions[0].kind, InteractionKind::Note);
            assert_eq!(d.interactions[0].notes.as_str(), "تتصل بعد العيد");
            assert!(d.lead.last_interaction_at().is_some());
        }
        if r.row == 5 {
            assert_eq!(d.lead.owner(), sales2(), "the row's owner is kept");
        } else {
            assert_eq!(
                d.lead.owner(),
                sales(),
                "no owner, no rule: the importer owns it"
            );
        }
    }
    // Event numbers stay strictly increasing across the batch.
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), 4, "three creations and one note: {seqs:?}");
}

/// A row matching an open lead (by normalised email or phone, stored or created by an
/// earlier row of the same import) is skipped, updates that lead (history records what the
/// import changed), or is created anyway, as the policy says. Closed leads never match.
pub async fn import_on_duplicate_skips_updates_or_creates(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let existing = h
        .crm
        .create_lead(sales(), new_lead("Sara", Some("sara@example.com"), None))
        .await
        .unwrap();
    let rows = || {
        let mut company = row(2, "Sara A.", Some("SARA@example.com"), Some("0501234567"));
        if let Ok(l) = &mut company.outcome {
            l.lead.company = Some(crm_core::Name::parse("شركة النور").unwrap());
        }
        vec![
            company,
            row(3, "Khalid", None, Some("0559876543")),
            row(4, "Khalid again", None, Some("+966 55 987 6543")),
        ]
    };

    let skip = h
        .crm
        .import_leads(sales(), rows(), &opts(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&skip),
        [(2, "skipped"), (3, "created"), (4, "skipped")]
    );
    assert_eq!(
        skip.rows[0].outcome,
        RowOutcome::Skipped {
            lead: Some(existing.id()),
            reason: SkipReason::Duplicate
        }
    );
    let RowOutcome::Created { lead: khalid, .. } = skip.rows[1].outcome else {
        panic!("{skip:?}")
    };
    assert_eq!(
        skip.rows[2].outcome,
        RowOutcome::Skipped {
            lead: Some(khalid),
            reason: SkipReason::Duplicate
        },
        "a duplicate within the file matches the lead an earlier row created"
    );
    assert_eq!(all_leads(&h).await.len(), 2);

    let update = h
        .crm
        .import_leads(sales(), rows(), &opts(OnDuplicate::Update))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&update),
        [(2, "updated"), (3, "skipped"), (4, "updated")],
        "row 3 gives what its lead has"
    );
    assert_eq!(
        update.rows[1].outcome,
        RowOutcome::Skipped {
            lead: Some(khalid),
            reason: SkipReason::Unchanged
        }
    );
    let d = h.crm.lead_detail(sales(), existing.id()).await.unwrap();
    assert_eq!(d.lead.version(), 2);
    assert_eq!(d.lead.name().as_str(), "Sara A.");
    assert_eq!(d.lead.company().map(|c| c.as_str()), Some("شركة النور"));
    assert!(d.lead.phone().is_some());
    let edited: Vec<LeadField> = d
        .history
        .iter()
        .filter_map(|e| match e.change {
            Change::Edited { field, .. } => Some(field),
            _ => None,
        })
        .collect();
    assert_eq!(
        edited,
        [LeadField::Name, LeadField::Phone, LeadField::Company]
    );
    let k = h.crm.lead_detail(sales(), khalid).await.unwrap();
    assert_eq!(k.lead.name().as_str(), "Khalid again");
    assert_eq!(k.lead.version(), 2);
    // Running the update again leaves row 2's lead as it is: nothing new in the row.
    let again = h
        .crm
        .import_leads(sales(), rows()[..1].to_vec(), &opts(OnDuplicate::Update))
        .await
        .unwrap();
    assert_eq!(
        again.rows[0].outcome,
        RowOutcome::Skipped {
            lead: Some(existing.id()),
            reason: SkipReason::Unchanged
        }
    );

    let create = h
        .crm
        .import_leads(sales(), rows(), &opts(OnDuplicate::Create))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&create),
        [(2, "created"), (3, "created"), (4, "created")]
    );
    assert!(matches!(
        create.rows[0].outcome,
        RowOutcome::Created { matched: Some(m), .. } if m == existing.id()
    ));
    assert_eq!(all_leads(&h).await.len(), 5);
}

/// A dry run reports what the import would do, row by row, and writes nothing.
pub async fn import_dry_run_writes_nothing(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    h.crm
        .create_lead(sales(), new_lead("Sara", Some("sara@example.com"), None))
        .await
        .unwrap();
    let rows = vec![
        row(2, "Sara", Some("sara@example.com"), None),
        row(3, "Ali", Some("ali@example.com"), None),
        bad(4, "name: must not be empty"),
        row(5, "Ali twin", Some("ali@example.com"), None),
    ];
    let before = snapshot(&h).await;
    let dry = ImportOptions {
        dry_run: true,
        batch_size: 2,
        file_key: Some("f".into()),
        ..opts(OnDuplicate::Skip)
    };
    let report = h
        .crm
        .import_leads(sales(), rows.clone(), &dry)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(snapshot(&h).await, before);
    assert_eq!(
        outcomes(&report),
        [
            (2, "skipped"),
            (3, "created"),
            (4, "failed"),
            (5, "skipped")
        ],
        "row 5 matches what row 3 would create, across a batch boundary"
    );
    let real = h
        .crm
        .import_leads(
            sales(),
            rows,
            &ImportOptions {
                dry_run: false,
                ..dry
            },
        )
        .await
        .unwrap();
    assert_eq!(outcomes(&real), outcomes(&report));
}

/// A file run again after an interruption creates no lead twice, even when asked to create
/// duplicates: each row written is remembered under the file's key, in its batch's
/// transaction.
pub async fn import_run_again_creates_nothing_twice(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let rows: Vec<ImportRow> = (0..7)
        .map(|n| {
            row(
                n + 2,
                &format!("Lead {n}"),
                Some(&format!("l{n}@example.com")),
                None,
            )
        })
        .collect();
    let o = ImportOptions {
        file_key: Some("sha256-of-the-file".into()),
        batch_size: 3,
        ..opts(OnDuplicate::Create)
    };
    // The first run stopped after its first batch.
    let first = h
        .crm
        .import_leads(sales(), rows[..3].to_vec(), &o)
        .await
        .unwrap();
    assert_eq!(first.count("created"), 3);
    let second = h.crm.import_leads(sales(), rows.clone(), &o).await.unwrap();
    assert_eq!(
        outcomes(&second),
        [
            (2, "skipped"),
            (3, "skipped"),
            (4, "skipped"),
            (5, "created"),
            (6, "created"),
            (7, "created"),
            (8, "created")
        ]
    );
    for (f, s) in first.rows.iter().zip(&second.rows) {
        let RowOutcome::Created { lead, .. } = f.outcome else {
            panic!("{first:?}")
        };
        assert_eq!(
            s.outcome,
            RowOutcome::Skipped {
                lead: Some(lead),
                reason: SkipReason::AlreadyImported
            }
        );
    }
    assert_eq!(all_leads(&h).await.len(), 7);
    // Another file (another key) with the same rows creates them again, as asked.
    let other_file = ImportOptions {
        file_key: Some("another-file".into()),
        ..o.clone()
    };
    let third = h
        .crm
        .import_leads(sales(), rows, &other_file)
        .await
        .unwrap();
    assert_eq!(third.count("created"), 7);
    assert_eq!(all_leads(&h).await.len(), 14);
}

/// Every row goes through the library's rules: the importer's permissions, the owner named
/// (known, active sales or management), the assignment rule for rows without an owner,
/// and the importer's view for updates.
pub async fn import_applies_permissions_assignment_and_visibility(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let before = snapshot(&h).await;
    let refused = h
        .crm
        .import_leads(
            other(),
            vec![row(2, "A", Some("a@example.com"), None)],
            &opts(OnDuplicate::Skip),
        )
        .await;
    assert!(
        matches!(refused, Err(CrmError::Forbidden { .. })),
        "{refused:?}"
    );
    assert_eq!(snapshot(&h).await, before);

    let mut rows = vec![
        row(2, "Owned by nobody known", Some("n@example.com"), None),
        row(3, "Inactive owner", Some("i@example.com"), None),
    ];
    for (r, owner) in rows.iter_mut().zip([unknown(), crate::harness::inactive()]) {
        if let Ok(l) = &mut r.outcome {
            l.lead.owner = Some(owner);
        }
    }
    let report = h
        .crm
        .import_leads(manager(), rows, &opts(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(outcomes(&report), [(2, "failed"), (3, "failed")]);

    // Round-robin over the team's sales staff, in turn, as create_lead gives them.
    for (id, team) in [(sales(), "east"), (sales2(), "east")] {
        let e = emp(id);
        h.employees
            .upsert(e.in_team(crm_core::Team::parse(team).unwrap()));
    }
    let rules =
        AssignmentRules::new(["round-robin:east".parse::<AssignmentRule>().unwrap()]).unwrap();
    let c = h.crm_with(|b| {
        b.employee_admin(h.employees.clone())
            .visibility(Visibility::Own)
            .assignment(rules)
    });
    let rows: Vec<ImportRow> = (0..4)
        .map(|n| {
            row(
                n + 2,
                &format!("RR {n}"),
                Some(&format!("rr{n}@example.com")),
                None,
            )
        })
        .collect();
    let report = c
        .import_leads(manager(), rows, &opts(OnDuplicate::Skip))
        .await
        .unwrap();
    let mut owners = Vec::new();
    for r in &report.rows {
        let RowOutcome::Created { lead, .. } = r.outcome else {
            panic!("{report:?}")
        };
        owners.push(h.store.get_lead(lead).await.unwrap().unwrap().owner());
    }
    assert_eq!(owners, [sales(), sales2(), sales(), sales2()]);
    assert_eq!(
        store.last_turn("*:east").await.unwrap(),
        Some(sales2()),
        "the rotation moved with the batch"
    );
    // Under `own`, sales2 cannot update sales's lead: the row fails, the lead is untouched.
    let theirs = vec![row(2, "Renamed", Some("rr0@example.com"), None)];
    let report = c
        .import_leads(sales2(), theirs, &opts(OnDuplicate::Update))
        .await
        .unwrap();
    assert_eq!(outcomes(&report), [(2, "failed")]);
    // Refused without naming the lead sales2 does not see.
    let RowOutcome::Failed { reason } = &report.rows[0].outcome else {
        panic!("{report:?}")
    };
    assert_eq!(reason, &RowError::Hidden);
    assert_eq!(
        reason.to_string(),
        "it matches an open lead you do not see (ask a manager about it)"
    );
    assert!(
        all_leads(&h)
            .await
            .iter()
            .all(|l| l.name().as_str() != "Renamed")
    );
    // Skipped or created anyway, a row matching that lead does not name it either.
    let hidden = all_leads(&h)
        .await
        .into_iter()
        .find(|l| l.email().is_some_and(|e| e.as_str() == "rr0@example.com"))
        .unwrap()
        .id();
    for policy in [OnDuplicate::Skip, OnDuplicate::Create] {
        let again = vec![row(2, "Again", Some("rr0@example.com"), None)];
        let report = c
            .import_leads(sales2(), again, &opts(policy))
            .await
            .unwrap();
        let shown = format!("{report:?} {}", serde_json::to_string(&report).unwrap());
        assert!(
            !shown.contains(&hidden.to_string()),
            "{policy:?} names a lead outside the view: {shown}"
        );
        match &report.rows[0].outcome {
            RowOutcome::Skipped { lead, .. } => assert_eq!(*lead, None),
            RowOutcome::Created { matched, .. } => assert_eq!(*matched, None),
            other => panic!("{policy:?}: {other:?}"),
        }
    }
}

/// A batch the store refuses leaves nothing of itself: not its leads, history, events,
/// keys or turns.
pub async fn a_refused_import_batch_leaves_nothing(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store.clone());
    let stored = h
        .crm
        .create_lead(
            sales(),
            new_lead("Stored", Some("stored@example.com"), None),
        )
        .await
        .unwrap();
    // A good batch, planned but not written, to take its writes from.
    let plan = |rows: Vec<ImportRow>, policy| {
        let h = &h;
        async move {
            let dry = ImportOptions {
                dry_run: true,
                file_key: Some("k".into()),
                ..opts(policy)
            };
            h.crm.import_leads(sales(), rows, &dry).await.unwrap()
        }
    };
    let report = plan(
        vec![row(2, "New", Some("new@example.com"), None)],
        OnDuplicate::Skip,
    )
    .await;
    assert_eq!(outcomes(&report), [(2, "created")]);
    let new = crm_core::decide::decide_create(
        &emp(sales()),
        Some(&emp(sales())),
        new_lead("New", Some("new@example.com"), None),
        h.clock.now(),
    )
    .unwrap();
    let stale = crm_core::decide::decide_edit(
        &stored,
        &emp(sales()),
        1,
        &crm_core::LeadPatch {
            name: Some(crm_core::Name::parse("Renamed").unwrap()),
            ..Default::default()
        },
        h.clock.now(),
    )
    .unwrap();
    let before = snapshot(&h).await;
    // The update is written over a version the lead is no longer at.
    let batch = ImportBatch {
        writes: vec![
            ImportWrite {
                key: Some(ImportKey::new("k", 2)),
                expected_version: None,
                write: new.clone(),
            },
            ImportWrite {
                key: Some(ImportKey::new("k", 3)),
                expected_version: Some(7),
                write: stale.clone(),
            },
        ],
        ..ImportBatch::default()
    };
    let r = store.import_batch(&batch).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(snapshot(&h).await, before);
    let lookup = store
        .import_lookup(&[ImportKey::new("k", 2)], &["new@example.com".into()], &[])
        .await
        .unwrap();
    assert!(lookup.imported.is_empty() && lookup.open.is_empty());

    // A create that duplicates a stored open lead: refused, naming it.
    let mut dup_input = new_lead("Dup", Some("stored@example.com"), None);
    dup_input.allow_duplicate = false;
    let dup = crm_core::decide::decide_create(
        &emp(sales()),
        Some(&emp(sales())),
        dup_input,
        h.clock.now(),
    )
    .unwrap();
    let batch = ImportBatch {
        writes: [new.clone(), dup]
            .into_iter()
            .map(|write| ImportWrite {
                key: None,
                expected_version: None,
                write,
            })
            .collect(),
        ..ImportBatch::default()
    };
    let r = store.import_batch(&batch).await;
    assert!(
        matches!(r, Err(StoreError::Duplicate { existing, .. }) if existing == stored.id()),
        "{r:?}"
    );
    assert_eq!(snapshot(&h).await, before);

    // A key stored already (a concurrent run of the same file): Busy, nothing written.
    let ok = ImportBatch {
        writes: vec![ImportWrite {
            key: Some(ImportKey::new("k", 2)),
            expected_version: None,
            write: new,
        }],
        ..ImportBatch::default()
    };
    store.import_batch(&ok).await.unwrap();
    let lookup = store
        .import_lookup(&[ImportKey::new("k", 2)], &["new@example.com".into()], &[])
        .await
        .unwrap();
    assert_eq!(lookup.imported.len(), 1);
    assert_eq!(lookup.open.len(), 1);
    let after_ok = snapshot(&h).await;
    let again = crm_core::decide::decide_create(
        &emp(sales()),
        Some(&emp(sales())),
        new_lead("Again", Some("again@example.com"), None),
        h.clock.now(),
    )
    .unwrap();
    let batch = ImportBatch {
        writes: vec![ImportWrite {
            key: Some(ImportKey::new("k", 2)),
            expected_version: None,
            write: again,
        }],
        ..ImportBatch::default()
    };
    let r = store.import_batch(&batch).await;
    assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
    assert_eq!(snapshot(&h).await, after_ok);

    // A stored lead updated and noted, then a later write refused: the update, its history
    // and the note are gone with the rest of the batch.
    let note = crm_core::decide::decide_interaction(
        &stale.lead,
        &emp(sales()),
        crm_core::NewInteraction {
            kind: InteractionKind::Note,
            occurred_at: Some(h.clock.now()),
            notes: crm_core::Note::parse("from the fair").unwrap(),
            next_follow_up: None,
        },
        h.clock.now(),
    )
    .unwrap();
    let mut dup_input = new_lead("Dup", Some("stored@example.com"), None);
    dup_input.allow_duplicate = false;
    let dup = crm_core::decide::decide_create(
        &emp(sales()),
        Some(&emp(sales())),
        dup_input,
        h.clock.now(),
    )
    .unwrap();
    let batch = ImportBatch {
        writes: vec![
            ImportWrite {
                key: Some(ImportKey::new("k", 4)),
                expected_version: Some(1),
                write: stale,
            },
            ImportWrite {
                key: Some(ImportKey::new("k", 5)),
                expected_version: None,
                write: dup,
            },
        ],
        notes: vec![note],
        ..ImportBatch::default()
    };
    let r = store.import_batch(&batch).await;
    assert!(
        matches!(r, Err(StoreError::Duplicate { existing, .. }) if existing == stored.id()),
        "{r:?}"
    );
    assert_eq!(snapshot(&h).await, after_ok);
}

/// A file handed over in parts ([`crm_core::Crm::start_import`], as a reader streaming a
/// large file does) is one import: a row of a later part matches the lead an earlier part
/// created (or, in a dry run, would have created); an import stopped after its first part
/// and run again whole creates nothing twice; the actor and batch size are checked before
/// any row.
pub async fn import_handed_over_in_parts_is_one_import(store: Arc<dyn LeadStore>) {
    let h = Harness::new(store);
    let o = ImportOptions {
        file_key: Some("streamed".into()),
        batch_size: 2,
        ..opts(OnDuplicate::Skip)
    };
    let part1 = vec![
        row(2, "Sara", Some("sara@example.com"), None),
        row(3, "Ali", Some("ali@example.com"), None),
        bad(4, "phone: invalid"),
    ];
    let part2 = vec![
        row(5, "Sara again", Some("SARA@example.com"), None),
        row(6, "Omar", Some("omar@example.com"), None),
    ];
    for dry_run in [true, false] {
        let o = ImportOptions {
            dry_run,
            ..o.clone()
        };
        let mut run = h.crm.start_import(sales(), &o).await.unwrap();
        let first = run.import(part1.clone()).await.unwrap();
        let second = run.import(part2.clone()).await.unwrap();
        assert_eq!(run.rows_done(), 5);
        let sara = match first[0].outcome {
            RowOutcome::Created { lead, .. } => lead,
            ref other => panic!("{other:?}"),
        };
        assert_eq!(
            second[0].outcome,
            RowOutcome::Skipped {
                lead: Some(sara),
                reason: SkipReason::Duplicate
            },
            "dry run {dry_run}"
        );
        assert_eq!(second[1].outcome.as_str(), "created");
        assert_eq!(first[2].outcome.as_str(), "failed");
        assert_eq!(all_leads(&h).await.len(), if dry_run { 0 } else { 3 });
    }
    // Another file, stopped after its first part, then run again whole.
    let again = ImportOptions {
        file_key: Some("stopped".into()),
        on_duplicate: OnDuplicate::Create,
        ..o.clone()
    };
    let rows: Vec<ImportRow> = (0..4)
        .map(|n| row(n + 2, "New", Some(&format!("new{n}@example.com")), None))
        .collect();
    let mut run = h.crm.start_import(sales(), &again).await.unwrap();
    run.import(rows[..2].to_vec()).await.unwrap();
    let whole = h.crm.import_leads(sales(), rows, &again).await.unwrap();
    assert_eq!(
        outcomes(&whole),
        [
            (2, "skipped"),
            (3, "skipped"),
            (4, "created"),
            (5, "created")
        ]
    );
    assert_eq!(all_leads(&h).await.len(), 7);
    // Refused before any row.
    let unknown_actor = h.crm.start_import(unknown(), &o).await;
    assert!(unknown_actor.is_err());
    let none = ImportOptions {
        batch_size: 0,
        ..o.clone()
    };
    assert!(matches!(
        h.crm.start_import(sales(), &none).await,
        Err(CrmError::Validation(_))
    ));
}
