//! [`Crm::import_leads`]: load what a batch needs, plan it
//! ([`crate::decide::plan_import_batch`]), store it in one transaction, batch after batch.

use std::collections::{BTreeMap, BTreeSet};

use crate::assignment::{AssignmentRule, Strategy, candidates};
use crate::decide::{ImportContext, OpenLeads, Rotation, plan_import_batch};
use crate::error::{StoreError, ValidationError};
use crate::ids::EmployeeId;
use crate::importing::{ImportKey, ImportOptions, ImportReport, ImportRow, RowReport};
use crate::permissions::{Action, authorize};
use crate::ports::{ImportLookup, StoreWrites};

use super::{Crm, CrmResult};

/// How often a batch is decided again when a concurrent writer got in first (a lead with
/// the same contact data, an assignment turn, a run of the same file).
const BATCH_ATTEMPTS: usize = 16;

impl Crm {
    /// Imports rows read from a lead file ([`crate::import`], or a host's own reader) as
    /// employee `actor`: each readable row matched against the open leads (stored, and
    /// created by earlier rows) and created, updated or skipped as `opts.on_duplicate`
    /// says, through the same rules as [`Crm::create_lead`] (permissions, validation, the
    /// assignment rule for rows without an owner, duplicates), [`Crm::edit_lead`] (the
    /// matched lead in the actor's view, its version checked) and, for a row's notes,
    /// [`Crm::log_interaction`]. A row that fails is reported with its reason and the others
    /// go on. Batches of `opts.batch_size` rows are stored one transaction each; with
    /// `opts.file_key`, each row written is remembered, so a second run of the same file
    /// after an interruption skips the rows the first one wrote. A dry run decides every
    /// row the same way and writes nothing.
    ///
    /// Fails as a whole only when the actor is unknown or may not create leads, or the store
    /// fails; batches stored before stay (run the file again to finish).
    pub async fn import_leads(
        &self,
        actor: EmployeeId,
        rows: Vec<ImportRow>,
        opts: &ImportOptions,
    ) -> CrmResult<ImportReport> {
        self.import_leads_with_progress(actor, rows, opts, &|_| {})
            .await
    }

    /// [`Crm::import_leads`], calling `progress` with the number of rows done after each
    /// batch.
    pub async fn import_leads_with_progress(
        &self,
        actor: EmployeeId,
        rows: Vec<ImportRow>,
        opts: &ImportOptions,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> CrmResult<ImportReport> {
        let mut run = self.start_import(actor, opts).await?;
        let mut report = ImportReport {
            dry_run: opts.dry_run,
            rows: Vec::with_capacity(rows.len()),
            ..ImportReport::default()
        };
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<ImportRow> = rows.by_ref().take(opts.batch_size).collect();
            report.rows.extend(run.import(batch).await?);
            progress(run.rows_done());
        }
        Ok(report)
    }

    /// Starts an import as employee `actor` whose rows the caller reads and hands over a
    /// batch at a time ([`ImportRun::import`]): a file far larger than memory is imported
    /// with memory bounded by the batch. The rules are [`Crm::import_leads`]'s; the actor
    /// and the batch size are checked here, before any row.
    pub async fn start_import(
        &self,
        actor: EmployeeId,
        opts: &ImportOptions,
    ) -> CrmResult<ImportRun<'_>> {
        if !(1..=5000).contains(&opts.batch_size) {
            return Err(ValidationError::OutOfRange {
                field: "batch size",
                value: i64::try_from(opts.batch_size).unwrap_or(i64::MAX),
                min: 1,
                max: 5000,
            }
            .into());
        }
        let actor = self.actor(actor).await?;
        authorize(&actor, Action::CreateLead, None)?;
        let ctx = ImportContext {
            scope: self.view(&actor).await?,
            actor,
            owners: BTreeMap::new(),
            rules: self.assignment.clone(),
            rotations: BTreeMap::new(),
            policy: opts.on_duplicate,
            sources: self.settings.sources.clone(),
        };
        Ok(ImportRun {
            crm: self,
            ctx,
            rules: Vec::new(),
            carried: OpenLeads::default(),
            opts: opts.clone(),
            done: 0,
        })
    }

    /// What the store knows of a batch's keys and contact data.
    async fn lookup(&self, chunk: &[(ImportRow, Option<ImportKey>)]) -> CrmResult<ImportLookup> {
        let keys: Vec<ImportKey> = chunk.iter().filter_map(|(_, k)| k.clone()).collect();
        let mut emails = BTreeSet::new();
        let mut phones = BTreeSet::new();
        for (r, _) in chunk {
            if let Ok(l) = &r.outcome {
                if let Some(e) = &l.lead.email {
                    emails.insert(e.as_str().to_owned());
                }
                if let Some(p) = &l.lead.phone {
                    phones.insert(p.key().to_owned());
                }
            }
        }
        let emails: Vec<String> = emails.into_iter().collect();
        let phones: Vec<String> = phones.into_iter().collect();
        Ok(self.store.import_lookup(&keys, &emails, &phones).await?)
    }

    /// The assignment rules that rows without an owner go by.
    fn rules_for(&self, rows: &[ImportRow]) -> Vec<AssignmentRule> {
        let mut wanted: Vec<AssignmentRule> = Vec::new();
        for r in rows {
            if let Ok(l) = &r.outcome
                && l.lead.owner.is_none()
                && let Some(rule) = self.assignment.for_source(&l.lead.source)
                && !wanted
                    .iter()
                    .any(|w| w.rotation_key() == rule.rotation_key())
            {
                wanted.push(rule.clone());
            }
        }
        wanted
    }

    /// Reads the rotation of each of `rules`.
    async fn load_rotations(
        &self,
        ctx: &mut ImportContext,
        rules: &[AssignmentRule],
    ) -> CrmResult<()> {
        for rule in rules {
            let members = self.members(std::slice::from_ref(&rule.team)).await?;
            let key = rule.rotation_key();
            let last = self.store.last_turn(&key).await?;
            let open = match rule.strategy {
                Strategy::RoundRobin => BTreeMap::new(),
                Strategy::LeastOpen => {
                    let c = candidates(&members, &rule.team).into_iter().collect();
                    self.store.open_leads_by_owner(&c).await?
                }
            };
            ctx.rotations.insert(
                key,
                Rotation {
                    members,
                    last,
                    open,
                },
            );
        }
        Ok(())
    }
}

/// An import under way ([`Crm::start_import`]): the rows handed over so far are stored
/// (or, in a dry run, decided), and what the next rows are decided against (the owners
/// named, the rotations of the assignment rules, in a dry run the leads it would have
/// created) carries on.
pub struct ImportRun<'a> {
    crm: &'a Crm,
    ctx: ImportContext,
    /// The assignment rules whose rotations are loaded.
    rules: Vec<AssignmentRule>,
    /// In a dry run, the leads earlier batches would have created or updated (a real run
    /// finds them in the store).
    carried: OpenLeads,
    opts: ImportOptions,
    done: usize,
}

impl ImportRun<'_> {
    /// Imports the next `rows` of the file, in batches of the import's batch size (one
    /// transaction each): what each row did, in order. Fails only when the store or the
    /// directory does; batches stored before stay (run the file again to finish).
    pub async fn import(&mut self, rows: Vec<ImportRow>) -> CrmResult<Vec<RowReport>> {
        let crm = self.crm;
        let named: BTreeSet<EmployeeId> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok().and_then(|l| l.lead.owner))
            .filter(|id| !self.ctx.owners.contains_key(id))
            .collect();
        for id in named {
            let found = crm.employee_or(id, &self.ctx.actor).await?;
            self.ctx.owners.insert(id, found);
        }
        let new_rules: Vec<AssignmentRule> = crm
            .rules_for(&rows)
            .into_iter()
            .filter(|r| {
                !self
                    .rules
                    .iter()
                    .any(|known| known.rotation_key() == r.rotation_key())
            })
            .collect();
        crm.load_rotations(&mut self.ctx, &new_rules).await?;
        self.rules.extend(new_rules);
        let keyed: Vec<_> = rows
            .into_iter()
            .map(|r| {
                let key = self
                    .opts
                    .file_key
                    .as_deref()
                    .map(|f| ImportKey::new(f, r.row));
                (r, key)
            })
            .collect();
        let mut reports = Vec::with_capacity(keyed.len());
        for chunk in keyed.chunks(self.opts.batch_size) {
            reports.extend(self.batch(chunk).await?);
            self.done += chunk.len();
        }
        Ok(reports)
    }

    /// How many rows have been handed over and imported so far.
    pub fn rows_done(&self) -> usize {
        self.done
    }

    /// One batch: looked up, planned and stored, decided again when a concurrent writer
    /// got in first.
    async fn batch(
        &mut self,
        chunk: &[(ImportRow, Option<ImportKey>)],
    ) -> CrmResult<Vec<RowReport>> {
        let crm = self.crm;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lookup = crm.lookup(chunk).await?;
            let mut open = if self.opts.dry_run {
                std::mem::take(&mut self.carried)
            } else {
                OpenLeads::default()
            };
            open.extend(&lookup);
            let before = self.ctx.rotations.clone();
            let (rows, batch) =
                plan_import_batch(&mut self.ctx, &mut open, &lookup.imported, chunk, crm.now());
            if self.opts.dry_run {
                self.carried = open;
                return Ok(rows);
            }
            match crm.store.import_batch(&batch).await {
                Ok(()) => return Ok(rows),
                Err(e) if retry(&e) && attempt < BATCH_ATTEMPTS => {
                    self.ctx.rotations = before;
                    crm.load_rotations(&mut self.ctx, &self.rules).await?;
                }
                // A duplicate the store still refused names its lead only to who sees it.
                Err(e) => return Err(crm.as_seen_by(&self.ctx.actor, e).await),
            }
        }
    }
}

/// Whether a refused batch is worth deciding again: a concurrent writer got in first.
fn retry(e: &StoreError) -> bool {
    e.is_retryable()
        || matches!(
            e,
            StoreError::Duplicate { .. } | StoreError::Conflict { .. }
        )
}
