//! The lead: contact data, source, responsible employee and status, and the pure functions
//! that change it. Every change yields the new lead and the history entries describing it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{Email, Name, Phone};
use crate::counting::{Counted, Outcome};
use crate::history::{Change, LeadField};
use crate::ids::{ClientId, EmployeeId, LeadId};
use crate::lost_reason::{LostReason, LostReasonCode};
use crate::source::Source;
use crate::status::LeadStatus;
use crate::text::search_key;
use crate::validation::ValidationError;

/// A lead. Its fields can only be read; it changes through the use cases of [`crate::Crm`],
/// and a store rebuilds it from [`LeadRecord`] with [`Lead::from_record`], which checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LeadRecord", into = "LeadRecord")]
pub struct Lead(LeadRecord);

/// The plain data of a [`Lead`], for stores and the wire. Field names are stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadRecord {
    /// Id.
    pub id: LeadId,
    /// Person's name.
    pub name: Name,
    /// Normalised email.
    pub email: Option<Email>,
    /// Normalised phone.
    pub phone: Option<Phone>,
    /// Company name.
    pub company: Option<Name>,
    /// Where the lead came from.
    pub source: Source,
    /// Pipeline status.
    pub status: LeadStatus,
    /// The responsible employee.
    pub owner: EmployeeId,
    /// Who created the lead.
    pub created_by: EmployeeId,
    /// When the lead was created.
    pub created_at: DateTime<Utc>,
    /// When the lead last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency version, 1 on creation, +1 per change.
    pub version: u64,
    /// The client created on conversion, once the clients system confirmed it.
    pub client_id: Option<ClientId>,
    /// Free-text detail of why the lead was lost (only while the status is `lost`).
    pub lost_reason: Option<Name>,
    /// The lost-reason code (set exactly while the status is `lost`).
    #[serde(default)]
    pub lost_reason_code: Option<LostReasonCode>,
    /// When the latest interaction happened, if any.
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// When the follow-up rule notified the owner, if it did.
    pub follow_up_notified_at: Option<DateTime<Utc>>,
    /// When the owner means to follow the lead up next, if set.
    #[serde(default)]
    pub next_follow_up_at: Option<DateTime<Utc>>,
    /// The follow-up time the owner was last reminded of as overdue (a reminder goes out
    /// once per follow-up time).
    #[serde(default)]
    pub follow_up_reminded_for: Option<DateTime<Utc>>,
    /// When the owner was last notified about this lead (a first-contact notice or an
    /// overdue reminder): what escalation counts from.
    #[serde(default)]
    pub owner_notified_at: Option<DateTime<Utc>>,
    /// The owner notification (its time) that was escalated to the owner's manager (once
    /// per notification).
    #[serde(default)]
    pub escalated_for: Option<DateTime<Utc>>,
    /// The lead this one was merged into ([`crate::merge`]): a merged lead is read-only and
    /// leaves listings, reports, the pipeline, follow-up sweeps and duplicate checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<LeadId>,
    /// What the lead was counted as in the scoring frequencies when it was converted or lost
    /// ([`crate::scoring::Counted`]); `None` while open, and for leads decided before they
    /// were counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_as: Option<Counted>,
    /// The campaign the lead came from: the `utm_campaign` of the web form submission that
    /// captured it ([`crate::capture`]); reports filter by it. Set when the lead is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

impl TryFrom<LeadRecord> for Lead {
    type Error = ValidationError;
    fn try_from(r: LeadRecord) -> Result<Self, Self::Error> {
        Lead::from_record(r)
    }
}

impl From<Lead> for LeadRecord {
    fn from(l: Lead) -> Self {
        l.0
    }
}

/// What a caller gives to create a lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLead {
    /// Person's name.
    pub name: Name,
    /// Email, if known.
    pub email: Option<Email>,
    /// Phone, if known.
    pub phone: Option<Phone>,
    /// Company, if any.
    pub company: Option<Name>,
    /// Where the lead came from.
    pub source: Source,
    /// The responsible employee; the acting employee when `None`.
    pub owner: Option<EmployeeId>,
    /// Create the lead even if an open lead has the same email or phone.
    #[serde(default)]
    pub allow_duplicate: bool,
}

impl NewLead {
    /// A lead with a name and source; add contact data with the builder methods.
    pub fn new(name: Name, source: Source) -> Self {
        Self {
            name,
            email: None,
            phone: None,
            company: None,
            source,
            owner: None,
            allow_duplicate: false,
        }
    }
    /// Sets the email.
    pub fn email(mut self, email: Email) -> Self {
        self.email = Some(email);
        self
    }
    /// Sets the phone.
    pub fn phone(mut self, phone: Phone) -> Self {
        self.phone = Some(phone);
        self
    }
    /// Sets the company.
    pub fn company(mut self, company: Name) -> Self {
        self.company = Some(company);
        self
    }
    /// Sets the responsible employee.
    pub fn owner(mut self, owner: EmployeeId) -> Self {
        self.owner = Some(owner);
        self
    }
    /// Allows a duplicate email or phone.
    pub fn allow_duplicate(mut self) -> Self {
        self.allow_duplicate = true;
        self
    }
}

/// An edit of a lead's contact data; `None` leaves a field as it is, `Some(None)` clears an
/// optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadPatch {
    /// New name.
    pub name: Option<Name>,
    /// New email, or clear it.
    pub email: Option<Option<Email>>,
    /// New phone, or clear it.
    pub phone: Option<Option<Phone>>,
    /// New company, or clear it.
    pub company: Option<Option<Name>>,
    /// New source.
    pub source: Option<Source>,
    /// Accept a duplicate email or phone.
    #[serde(default)]
    pub allow_duplicate: bool,
    /// Set the next follow-up time, or clear it.
    #[serde(default)]
    pub next_follow_up: Option<Option<DateTime<Utc>>>,
}

impl Lead {
    /// Checks a record's invariants: some contact data, a lost reason exactly when lost, a
    /// client id only when converted, a positive version, update not before creation.
    pub fn from_record(r: LeadRecord) -> Result<Self, ValidationError> {
        if r.email.is_none() && r.phone.is_none() {
            return Err(ValidationError::MissingContact);
        }
        if (r.status == LeadStatus::Lost) != r.lost_reason_code.is_some()
            || (r.lost_reason.is_some() && r.status != LeadStatus::Lost)
        {
            return Err(ValidationError::LostReasonRequired);
        }
        if r.client_id.is_some() && r.status != LeadStatus::Converted {
            return Err(ValidationError::InvalidId {
                kind: "client id on a lead that is not converted",
                value: r.id.to_string(),
            });
        }
        if let Some(c) = &r.campaign
            && (c.trim().is_empty()
                || c.chars().count() > crate::origin::CaptureDetails::MAX
                || c.chars().any(char::is_control))
        {
            return Err(ValidationError::InvalidId {
                kind: "campaign (1 to 500 characters, no control characters)",
                value: c.chars().take(64).collect(),
            });
        }
        if r.merged_into == Some(r.id) {
            return Err(ValidationError::InvalidId {
                kind: "lead merged into itself",
                value: r.id.to_string(),
            });
        }
        let outcome = match r.status {
            LeadStatus::Converted => Some(Outcome::Won),
            LeadStatus::Lost => Some(Outcome::Lost),
            _ => None,
        };
        if let Some(c) = &r.counted_as
            && Some(c.outcome) != outcome
        {
            return Err(ValidationError::InvalidRange {
                field: "counted_as (an outcome other than the status)",
            });
        }
        if r.version == 0 || r.updated_at < r.created_at {
            return Err(ValidationError::InvalidRange {
                field: "version/updated_at",
            });
        }
        Ok(Self(r))
    }

    /// Builds a new lead in status `new`, version 1. Fails without email and phone.
    pub fn create(
        id: LeadId,
        input: NewLead,
        owner: EmployeeId,
        actor: EmployeeId,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        Self::from_record(LeadRecord {
            id,
            name: input.name,
            email: input.email,
            phone: input.phone,
            company: input.company,
            source: input.source,
            status: LeadStatus::New,
            owner,
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
            client_id: None,
            lost_reason: None,
            lost_reason_code: None,
            last_interaction_at: None,
            follow_up_notified_at: None,
            next_follow_up_at: None,
            follow_up_reminded_for: None,
            owner_notified_at: None,
            escalated_for: None,
            merged_into: None,
            counted_as: None,
            campaign: None,
        })
    }

    /// This new lead, from `campaign` (checked as [`crate::capture::CaptureDetails`] checks
    /// its values).
    pub(crate) fn in_campaign(self, campaign: Option<String>) -> Result<Self, ValidationError> {
        Self::from_record(LeadRecord { campaign, ..self.0 })
    }

    /// The plain data.
    pub fn record(&self) -> &LeadRecord {
        &self.0
    }
    /// Id.
    pub fn id(&self) -> LeadId {
        self.0.id
    }
    /// Name.
    pub fn name(&self) -> &Name {
        &self.0.name
    }
    /// Email.
    pub fn email(&self) -> Option<&Email> {
        self.0.email.as_ref()
    }
    /// Phone.
    pub fn phone(&self) -> Option<&Phone> {
        self.0.phone.as_ref()
    }
    /// Company.
    pub fn company(&self) -> Option<&Name> {
        self.0.company.as_ref()
    }
    /// Source.
    pub fn source(&self) -> &Source {
        &self.0.source
    }
    /// Status.
    pub fn status(&self) -> LeadStatus {
        self.0.status
    }
    /// Responsible employee.
    pub fn owner(&self) -> EmployeeId {
        self.0.owner
    }
    /// Creator.
    pub fn created_by(&self) -> EmployeeId {
        self.0.created_by
    }
    /// Creation time.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Version.
    pub fn version(&self) -> u64 {
        self.0.version
    }
    /// Client id, once converted and confirmed.
    pub fn client_id(&self) -> Option<&ClientId> {
        self.0.client_id.as_ref()
    }
    /// The free-text detail of the lost reason.
    pub fn lost_reason(&self) -> Option<&Name> {
        self.0.lost_reason.as_ref()
    }
    /// The lost-reason code (exactly while lost).
    pub fn lost_reason_code(&self) -> Option<&LostReasonCode> {
        self.0.lost_reason_code.as_ref()
    }
    /// The lost reason, code and detail (exactly while lost).
    pub fn lost(&self) -> Option<LostReason> {
        self.0.lost_reason_code.clone().map(|code| LostReason {
            code,
            detail: self.0.lost_reason.clone(),
        })
    }
    /// The next follow-up time, if set.
    pub fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_follow_up_at
    }
    /// The follow-up time the owner was last reminded of as overdue.
    pub fn follow_up_reminded_for(&self) -> Option<DateTime<Utc>> {
        self.0.follow_up_reminded_for
    }
    /// When the owner was last notified about this lead (either notice).
    pub fn owner_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.owner_notified_at
    }
    /// The owner notification that was escalated to the manager.
    pub fn escalated_for(&self) -> Option<DateTime<Utc>> {
        self.0.escalated_for
    }
    /// The lead this one was merged into, if it was.
    pub fn merged_into(&self) -> Option<LeadId> {
        self.0.merged_into
    }
    /// Whether the lead is still being worked: an open status and not merged away. Only
    /// open leads count for duplicates, follow-ups and the least-open assignment.
    pub fn is_open(&self) -> bool {
        self.0.status.is_open() && self.0.merged_into.is_none()
    }
    /// Whether the lead can no longer change: converted, or merged into another lead.
    pub fn is_read_only(&self) -> bool {
        self.0.status.is_read_only() || self.0.merged_into.is_some()
    }
    /// Latest interaction time.
    pub fn last_interaction_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_interaction_at
    }
    /// When the follow-up notification went out.
    pub fn follow_up_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.follow_up_notified_at
    }

    /// The text that search matches: name, email, phone and company under
    /// [`crate::text::search_key`]. The phone is there as its key and as the digits typed
    /// (so `0501234567` finds a lead whose key is `+966501234567`). Stores keep it beside the
    /// lead.
    pub fn search_text(&self) -> String {
        let typed_digits = self.0.phone.as_ref().map(|p| {
            p.display()
                .chars()
                .filter(|c| c.is_numeric() || *c == '+')
                .collect::<String>()
        });
        let mut s = search_key(self.0.name.as_str());
        for part in [
            self.0.email.as_ref().map(Email::as_str),
            self.0.phone.as_ref().map(Phone::key),
            typed_digits
                .as_deref()
                .filter(|d| Some(*d) != self.0.phone.as_ref().map(Phone::key)),
            self.0.company.as_ref().map(Name::as_str),
        ]
        .into_iter()
        .flatten()
        {
            s.push('\n');
            s.push_str(&search_key(part));
        }
        s
    }

    fn bumped(&self, now: DateTime<Utc>) -> LeadRecord {
        let mut r = self.0.clone();
        r.version += 1;
        r.updated_at = now.max(r.updated_at);
        r
    }

    /// Applies an edit. Fails if it changes nothing or would leave no contact data.
    pub fn edited(
        &self,
        patch: &LeadPatch,
        now: DateTime<Utc>,
    ) -> Result<(Lead, Vec<Change>), ValidationError> {
        let mut r = self.bumped(now);
        let mut changes = Vec::new();
        fn track<T: PartialEq + Clone + ToString>(
            changes: &mut Vec<Change>,
            field: LeadField,
            slot: &mut Option<T>,
            new: Option<T>,
        ) {
            if *slot != new {
                changes.push(Change::Edited {
                    field,
                    old: slot.as_ref().map(ToString::to_string),
                    new: new.as_ref().map(ToString::to_string),
                });
                *slot = new;
            }
        }
        if let Some(name) = &patch.name {
            let mut slot = Some(r.name.clone());
            track(&mut changes, LeadField::Name, &mut slot, Some(name.clone()));
            r.name = name.clone();
        }
        if let Some(email) = &patch.email {
            track(&mut changes, LeadField::Email, &mut r.email, email.clone());
        }
        if let Some(phone) = &patch.phone {
            track(&mut changes, LeadField::Phone, &mut r.phone, phone.clone());
        }
        if let Some(company) = &patch.company {
            track(
                &mut changes,
                LeadField::Company,
                &mut r.company,
                company.clone(),
            );
        }
        if let Some(source) = &patch.source {
            let mut slot = Some(r.source.clone());
            track(
                &mut changes,
                LeadField::Source,
                &mut slot,
                Some(source.clone()),
            );
            r.source = source.clone();
        }
        if let Some(next) = patch.next_follow_up {
            track(
                &mut changes,
                LeadField::NextFollowUp,
                &mut r.next_follow_up_at,
                next,
            );
        }
        if changes.is_empty() {
            return Err(ValidationError::NothingToChange);
        }
        Ok((Lead::from_record(r)?, changes))
    }

    /// Gives the lead to another responsible employee.
    pub fn reassigned(
        &self,
        to: EmployeeId,
        now: DateTime<Utc>,
    ) -> Result<(Lead, Change), ValidationError> {
        if to == self.0.owner {
            return Err(ValidationError::NothingToChange);
        }
        let mut r = self.bumped(now);
        let change = Change::Reassigned { from: r.owner, to };
        r.owner = to;
        Ok((Lead::from_record(r)?, change))
    }

    /// Moves the lead to `to`, assuming the move was checked against the status table and
    /// the reason against the host's list. Moving to `lost` needs a reason, and only that
    /// move takes one (a reason given with another target would be dropped, so it is
    /// refused); leaving `lost` clears it. The follow-up mark stays: the rule notifies about
    /// a lead once in its life.
    pub(crate) fn moved(
        &self,
        to: LeadStatus,
        lost: Option<LostReason>,
        now: DateTime<Utc>,
    ) -> Result<(Lead, Change), ValidationError> {
        if to != LeadStatus::Lost && lost.is_some() {
            return Err(ValidationError::ReasonWithoutLost);
        }
        let mut r = self.bumped(now);
        let from = r.status;
        if to == LeadStatus::Lost {
            let lost = lost.ok_or(ValidationError::LostReasonRequired)?;
            r.lost_reason_code = Some(lost.code);
            r.lost_reason = lost.detail;
        } else {
            r.lost_reason_code = None;
            r.lost_reason = None;
        }
        r.status = to;
        // What it was counted as belonged to the status it leaves; the decision counts it
        // again when it enters another outcome (`Lead::counted`).
        r.counted_as = None;
        let change = Change::StatusChanged {
            from,
            to,
            lost_reason: r.lost_reason.clone(),
            lost_reason_code: r.lost_reason_code.clone(),
        };
        Ok((Lead::from_record(r)?, change))
    }

    /// The lead as an interaction at `at` leaves it: its last interaction moves forward to
    /// `at` (what [`crate::changeset::Write::Interaction`] stores).
    pub(crate) fn interacted(&self, at: DateTime<Utc>) -> Lead {
        let mut r = self.0.clone();
        r.last_interaction_at = Some(r.last_interaction_at.map_or(at, |t| t.max(at)));
        Lead(r)
    }

    /// What the lead was counted as in the scoring frequencies, if it was (a converted or
    /// lost lead).
    pub fn counted_as(&self) -> Option<&Counted> {
        self.0.counted_as.as_ref()
    }

    /// The campaign the lead came from, if it was captured from one.
    pub fn campaign(&self) -> Option<&str> {
        self.0.campaign.as_deref()
    }

    /// The same lead counted as `counted` (checked against its status).
    pub(crate) fn counted(&self, counted: Option<Counted>) -> Result<Lead, ValidationError> {
        let mut r = self.0.clone();
        r.counted_as = counted;
        Lead::from_record(r)
    }

    /// Records the client the clients system created (no version bump: the lead is final).
    /// Only the service calls it, after the store recorded the client: a host that builds a
    /// lead goes through [`Lead::from_record`], which checks the invariants.
    pub(crate) fn with_client(&self, client: ClientId) -> Lead {
        let mut r = self.0.clone();
        r.client_id = Some(client);
        Lead(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn lead() -> Lead {
        let now = Utc::now();
        let input = NewLead::new(
            Name::parse("Huda").unwrap_or_else(|e| panic!("{e}")),
            Source::other(),
        )
        .email(Email::parse("huda@example.com").unwrap_or_else(|e| panic!("{e}")));
        let owner = EmployeeId::new(1).unwrap_or_else(|e| panic!("{e}"));
        Lead::create(LeadId::new_at(now), input, owner, owner, now)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_a_move_to_lost_takes_a_reason() {
        let l = lead();
        let reason =
            LostReason::new(LostReasonCode::parse("price").unwrap_or_else(|e| panic!("{e}")))
                .detail(Name::parse("no budget").unwrap_or_else(|e| panic!("{e}")));
        for to in [
            LeadStatus::Contacted,
            LeadStatus::Interested,
            LeadStatus::Converted,
        ] {
            assert_eq!(
                l.moved(to, Some(reason.clone()), Utc::now()).err(),
                Some(ValidationError::ReasonWithoutLost)
            );
            assert!(l.moved(to, None, Utc::now()).is_ok());
        }
        assert_eq!(
            l.moved(LeadStatus::Lost, None, Utc::now()).err(),
            Some(ValidationError::LostReasonRequired)
        );
        let (lost, _) = l
            .moved(LeadStatus::Lost, Some(reason.clone()), Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lost.lost(), Some(reason));
        let (reopened, _) = lost
            .moved(LeadStatus::New, None, Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((reopened.lost(), reopened.lost_reason()), (None, None));
    }
}
