//! Guides: the long form of the documentation, as pages of this crate whose examples run as
//! doc tests (so they cannot drift from the code).
//!
//! - [`embedding`]: give a host application lead management in an afternoon: the ports, the
//!   builder, actors, versions, errors and the jobs to schedule.
//! - [`rules`]: every business rule in one page, and the module each lives in.
//! - [`arabic`]: names, phones, money, weekends and exports for Arabic-speaking teams.
//! - [`follow_up`]: the follow-up rule, working calendars, follow-up dates and escalation.
//! - [`pipeline`]: opportunities, stages, probabilities and the pipeline value per currency.
//! - [`scoring`]: the lead score, its reasons, how it is kept in each commit and measured.
//! - [`store`]: writing a store adapter: the ten required methods, a commit, and the kit.

pub mod arabic;
pub mod embedding;
pub mod follow_up;
pub mod pipeline;
pub mod rules;
pub mod scoring;
pub mod store;
