#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, nightly): each feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod assignment;
pub mod board;
pub mod bulk;
pub mod calendar;
pub mod capture;
pub mod changeset;
pub mod claim;
pub mod clock;
pub mod contact;
pub mod conversion;
pub mod decide;
pub mod detail;
pub mod duplicates;
pub mod employee;
pub mod error;
pub mod escalation;
pub mod events;
pub mod export;
pub mod follow_up;
pub mod guide;
pub mod history;
pub mod ids;
#[cfg(feature = "import")]
pub mod import;
pub mod importing;
pub mod interaction;
pub mod lead;
pub mod lost_reason;
#[cfg(feature = "mail")]
pub mod mail;
pub mod merge;
pub mod money;
pub mod my_day;
pub mod notify;
pub mod opportunity;
pub mod origin;
pub mod permissions;
pub mod pipeline;
pub mod ports;
pub use ports::derived;
pub mod counting;
pub mod probability;
pub mod query;
pub mod report;
pub mod scoring;
pub mod service;
pub mod sorting;
pub mod source;
pub mod stage_probability;
pub mod status;
pub mod team;
pub mod text;
pub mod time_in_status;
pub mod timeline;
pub mod validation;
pub mod visibility;
pub mod write;

#[cfg(feature = "testing")]
pub mod testing;

pub use assignment::{AssignmentRule, AssignmentRules, Strategy, Turn};
pub use bulk::{BulkChange, BulkOutcome, BulkTarget};
pub use calendar::WorkCalendar;
pub use capture::{Capture, CaptureChannel, Captured};
pub use changeset::{Changeset, Committed, Precondition, Step, Write};
pub use clock::{ManualClock, SystemClock};
pub use contact::{Email, Name, Note, Phone, PhoneRegion};
pub use conversion::{ClientRequest, PendingClient};
pub use detail::LeadDetail;
pub use duplicates::{DuplicateGroup, DuplicateKind};
pub use employee::{Employee, Role, TeamSummary};
pub use error::{
    AssigneeProblem, BoxError, ContactField, CrmError, Entity, ErrorKind, PortError, StoreError,
    ValidationError,
};
pub use escalation::EscalationRule;
pub use events::{Event, EventKind, NewEvent};
pub use follow_up::{FollowUpClaim, FollowUpNotice, FollowUpRule, NoticeKind};
pub use history::{Change, HistoryEntry, LeadField};
pub use ids::{ClientId, EmployeeId, EventId, InteractionId, LeadId, NoticeId, OpportunityId};
pub use importing::{
    ImportKey, ImportOptions, ImportReport, ImportRow, ImportedLead, OnDuplicate, RowError,
    RowOutcome, RowReport, SkipReason,
};
pub use interaction::{Interaction, InteractionKind, NewInteraction};
pub use lead::{Lead, LeadPatch, LeadRecord, NewLead};
pub use lost_reason::{LostReason, LostReasonCode, LostReasons};
pub use merge::{MergeOutcome, MergeRefusal, MergeWrite, Moved};
pub use money::{Currencies, Currency, Money};
pub use notify::LogNotifier;
pub use opportunity::{NewOpportunity, Opportunity, OpportunityPatch, OpportunityStage};
pub use permissions::{Action, Actor, SystemActor};
pub use pipeline::{
    CurrencyPipeline, PipelineFilter, PipelineReport, PipelineRow, PipelineTotals, Probability,
    StageProbabilities,
};
pub use ports::{
    ClientsPort, Clock, EmployeeAdmin, EmployeeDirectory, ImportBatch, ImportLookup, ImportWrite,
    LeadStore, LeadWrite, Notifier, OpportunityWrite, OutboxEntry, OutboxKind, OutboxRead,
    StoreWrites, TeamDirectory,
};
pub use query::{Cursor, LeadQuery, Page};
pub use report::{LostReasonCount, LostReasonReport, Report, ReportCell, ReportFilter};
pub use service::{
    ConversionOutcome, Crm, CrmBuilder, CrmResult, DispatchReport, ImportRun, MissingPort,
    StatusChange, SweepReport, Training,
};
pub use source::{NewSources, Source, Sources};
pub use stage_probability::{StageProbabilityChange, StageSetting};
pub use status::LeadStatus;
pub use team::Team;
pub use time_in_status::{StatusTimeAverage, StatusTimeRow, TimeInStatusReport};
pub use visibility::{Scope, Visibility};
