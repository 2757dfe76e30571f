//! Planning one batch of an import: each readable row through [`crate::importing::decide_row`]
//! and then the decision of what it does ([`decide_create`], [`decide_create_assigned`],
//! [`decide_edit`], [`decide_interaction`] for its notes), so an imported lead passes the
//! same rules as one created by hand. Pure: the service loads what the plan needs and
//! stores the batch it returns.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{decide_create, decide_create_assigned, decide_edit, decide_interaction};
use crate::assignment::{AssignmentRules, Turn};
use crate::contact::{Email, Phone};
use crate::duplicates::find_duplicate_of;
use crate::employee::Employee;
use crate::error::{CrmError, ValidationError};
use crate::events::NewEvent;
use crate::ids::{EmployeeId, LeadId};
use crate::importing::{
    ImportKey, ImportRow, ImportedLead, OnDuplicate, RowAction, RowError, RowOutcome, RowReport,
    SkipReason, decide_row,
};
use crate::interaction::{Interaction, InteractionKind, NewInteraction};
use crate::lead::{Lead, LeadPatch};
use crate::ports::{ImportBatch, ImportLookup, ImportWrite, LeadWrite};
use crate::source::Sources;
use crate::visibility::Scope;

/// An assignment rule's rotation as read before the batch: the team's members, whom the
/// rule gave its last lead to, and the open leads of its candidates (least-open).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// The rule's team members.
    pub members: Vec<Employee>,
    /// The rule's last owner.
    pub last: Option<EmployeeId>,
    /// Open leads per candidate.
    pub open: BTreeMap<EmployeeId, u64>,
}

/// What a batch is planned against: who imports, under which rules.
#[derive(Clone, Debug)]
pub struct ImportContext {
    /// The acting employee.
    pub actor: Employee,
    /// What the directory said of each owner the rows name (`None`: not in it).
    pub owners: BTreeMap<EmployeeId, Option<Employee>>,
    /// The leads the actor sees (an update needs the matched lead in view).
    pub scope: Scope,
    /// The assignment rules.
    pub rules: AssignmentRules,
    /// The rotations of the rules rows without an owner go by, by rotation key.
    pub rotations: BTreeMap<String, Rotation>,
    /// What a matching row does.
    pub policy: OnDuplicate,
    /// The sources the host lists, and who may add one.
    pub sources: Sources,
}

/// The open leads rows are matched against: those the store returned, and those earlier
/// rows created or updated.
#[derive(Clone, Debug, Default)]
pub struct OpenLeads {
    leads: HashMap<LeadId, Lead>,
    by_email: HashMap<String, Vec<LeadId>>,
    by_phone: HashMap<String, Vec<LeadId>>,
}

impl OpenLeads {
    /// Adds (or replaces) a lead.
    pub fn put(&mut self, lead: Lead) {
        let id = lead.id();
        if let Some(e) = lead.email() {
            self.by_email
                .entry(e.as_str().to_owned())
                .or_default()
                .push(id);
        }
        if let Some(p) = lead.phone() {
            self.by_phone
                .entry(p.key().to_owned())
                .or_default()
                .push(id);
        }
        self.leads.insert(id, lead);
    }

    /// Adds the open leads of a lookup (those already known stay as they are: a later
    /// version may be known).
    pub fn extend(&mut self, lookup: &ImportLookup) {
        for l in &lookup.open {
            if !self.leads.contains_key(&l.id()) {
                self.put(l.clone());
            }
        }
    }

    /// The oldest open lead with `email`, else `phone` ([`crate::duplicates`]).
    pub fn matching(&self, email: Option<&Email>, phone: Option<&Phone>) -> Option<LeadId> {
        let mut ids: Vec<LeadId> = Vec::new();
        if let Some(v) = email.and_then(|e| self.by_email.get(e.as_str())) {
            ids.extend(v);
        }
        if let Some(v) = phone.and_then(|p| self.by_phone.get(p.key())) {
            ids.extend(v);
        }
        let candidates: Vec<&Lead> = ids.iter().filter_map(|id| self.leads.get(id)).collect();
        find_duplicate_of(email, phone, None, candidates.iter().copied()).map(|d| d.existing)
    }

    /// A known lead.
    pub fn get(&self, id: LeadId) -> Option<&Lead> {
        self.leads.get(&id)
    }
}

/// A row's plan: its outcome, and what it writes.
struct Planned {
    outcome: RowOutcome,
    write: Option<ImportWrite>,
    note: Logged,
}

fn failed(e: impl Into<RowError>) -> RowOutcome {
    RowOutcome::Failed { reason: e.into() }
}

/// Plans one batch of `rows` (each with its key, when the import has a file key) at `now`:
/// every row's outcome, in order, and the batch to store. `open` holds the open leads
/// matched against (extend it with the store's lookup first); it and `ctx.rotations` move
/// on with the rows, so the next batch of a dry run sees what this one would have done.
pub fn plan_import_batch(
    ctx: &mut ImportContext,
    open: &mut OpenLeads,
    imported: &BTreeMap<ImportKey, LeadId>,
    rows: &[(ImportRow, Option<ImportKey>)],
    now: DateTime<Utc>,
) -> (Vec<RowReport>, ImportBatch) {
    let first: BTreeMap<String, Option<EmployeeId>> = ctx
        .rotations
        .iter()
        .map(|(k, r)| (k.clone(), r.last))
        .collect();
    let mut batch = ImportBatch::default();
    let mut reports = Vec::with_capacity(rows.len());
    for (row, key) in rows {
        let planned = match &row.outcome {
            Err(reason) => Planned {
                outcome: RowOutcome::Failed {
                    reason: reason.clone(),
                },
                write: None,
                note: None,
            },
            Ok(lead) => plan_row(ctx, open, imported, lead, key.clone(), now),
        };
        if let Some(w) = planned.write {
            batch.writes.push(w);
        }
        if let Some(n) = planned.note {
            batch.notes.push(n);
        }
        reports.push(RowReport {
            row: row.row,
            outcome: planned.outcome,
        });
    }
    for (rule, r) in &ctx.rotations {
        let after = first.get(rule).copied().flatten();
        if let Some(owner) = r.last
            && r.last != after
        {
            batch.turns.push(Turn {
                rule: rule.clone(),
                after,
                owner,
            });
        }
    }
    (reports, batch)
}

fn plan_row(
    ctx: &mut ImportContext,
    open: &mut OpenLeads,
    imported: &BTreeMap<ImportKey, LeadId>,
    row: &ImportedLead,
    key: Option<ImportKey>,
    now: DateTime<Utc>,
) -> Planned {
    let done = key.as_ref().and_then(|k| imported.get(k)).copied();
    let matched = open.matching(row.lead.email.as_ref(), row.lead.phone.as_ref());
    // A lead the report may name: one the importing employee sees. A lead outside their
    // view (or one no longer open, whose owner is not known here) is left unnamed.
    let named = |id: LeadId| {
        open.get(id)
            .filter(|l| ctx.scope.admits(l.owner()))
            .map(|l| l.id())
    };
    let skipped = |lead: LeadId, reason| Planned {
        outcome: RowOutcome::Skipped {
            lead: named(lead),
            reason,
        },
        write: None,
        note: None,
    };
    match decide_row(done, matched, ctx.policy) {
        RowAction::Skip(lead, reason) => skipped(lead, reason),
        RowAction::Create => match (ctx.sources.check(&row.lead.source, &ctx.actor))
            .map_err(CrmError::from)
            .and_then(|()| plan_create(ctx, row, now))
        {
            Ok((write, turn, note)) => {
                if let Some((key, owner)) = turn
                    && let Some(r) = ctx.rotations.get_mut(&key)
                {
                    r.last = Some(owner);
                    *r.open.entry(owner).or_insert(0) += 1;
                }
                let lead = write.lead.id();
                let matched = matched.and_then(named);
                open.put(write.lead.clone());
                Planned {
                    outcome: RowOutcome::Created { lead, matched },
                    write: Some(ImportWrite {
                        key,
                        expected_version: None,
                        write,
                    }),
                    note,
                }
            }
            Err(e) => Planned {
                outcome: failed(e),
                write: None,
                note: None,
            },
        },
        RowAction::Update(id) => {
            let Some(lead) = open.get(id).cloned() else {
                return Planned {
                    outcome: failed(RowError::Gone(id)),
                    write: None,
                    note: None,
                };
            };
            if !ctx.scope.admits(lead.owner()) {
                return Planned {
                    // The match is refused, but a lead outside the view is never named.
                    outcome: failed(RowError::Hidden),
                    write: None,
                    note: None,
                };
            }
            match plan_update(&ctx.actor, &lead, row, now) {
                Ok((None, None)) => skipped(id, SkipReason::Unchanged),
                Ok((write, note)) => {
                    let write = write.map(|w| {
                        open.put(w.lead.clone());
                        ImportWrite {
                            key,
                            expected_version: Some(lead.version()),
                            write: w,
                        }
                    });
                    Planned {
                        outcome: RowOutcome::Updated { lead: id },
                        write,
                        note,
                    }
                }
                Err(e) => Planned {
                    outcome: failed(e),
                    write: None,
                    note: None,
                },
            }
        }
    }
}

/// A row's notes, logged as an interaction with its event.
type Logged = Option<(Interaction, NewEvent)>;

/// A create, the turn it took (rotation key and owner), and its note.
type Created = (LeadWrite, Option<(String, EmployeeId)>, Logged);

fn plan_create(
    ctx: &ImportContext,
    row: &ImportedLead,
    now: DateTime<Utc>,
) -> Result<Created, CrmError> {
    let mut input = row.lead.clone();
    // Asked to create a row matching an open lead anyway; otherwise the store checks again
    // (a lead created meanwhile).
    input.allow_duplicate = ctx.policy == OnDuplicate::Create;
    let (write, turn) = match (input.owner, ctx.rules.for_source(&input.source)) {
        (None, Some(rule)) => {
            let key = rule.rotation_key();
            let r = ctx.rotations.get(&key).cloned().unwrap_or_default();
            let (w, turn) =
                decide_create_assigned(&ctx.actor, rule, &r.members, r.last, &r.open, input, now)?;
            (w, Some((key, turn.owner)))
        }
        (owner, _) => {
            let id = owner.unwrap_or(ctx.actor.id);
            let owner = if id == ctx.actor.id {
                Some(&ctx.actor)
            } else {
                ctx.owners.get(&id).and_then(Option::as_ref)
            };
            (decide_create(&ctx.actor, owner, input, now)?, None)
        }
    };
    let note = note(&ctx.actor, &write.lead, row, now)?;
    Ok((write, turn, note))
}

/// The update of `lead` by a row: its non-empty fields, and its notes. Neither when the row
/// gives nothing new.
fn plan_update(
    actor: &Employee,
    lead: &Lead,
    row: &ImportedLead,
    now: DateTime<Utc>,
) -> Result<(Option<LeadWrite>, Logged), CrmError> {
    let r = &row.lead;
    let patch = LeadPatch {
        name: Some(r.name.clone()),
        email: r.email.clone().map(Some),
        phone: r.phone.clone().map(Some),
        company: r.company.clone().map(Some),
        ..LeadPatch::default()
    };
    let write = match decide_edit(lead, actor, lead.version(), &patch, now) {
        Ok(w) => Some(w),
        Err(CrmError::Validation(ValidationError::NothingToChange)) => None,
        Err(e) => return Err(e),
    };
    let note = note(actor, write.as_ref().map_or(lead, |w| &w.lead), row, now)?;
    Ok((write, note))
}

/// The row's notes as a `note` interaction on `lead`, logged as by hand.
fn note(
    actor: &Employee,
    lead: &Lead,
    row: &ImportedLead,
    now: DateTime<Utc>,
) -> Result<Logged, CrmError> {
    let Some(notes) = &row.notes else {
        return Ok(None);
    };
    let input = NewInteraction {
        kind: InteractionKind::Note,
        occurred_at: Some(now),
        notes: notes.clone(),
        next_follow_up: None,
    };
    decide_interaction(lead, actor, input, now).map(Some)
}
