//! The pieces of the `crm` tool its tests read too: exit codes, error kinds and tables.

pub mod output;
