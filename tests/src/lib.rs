//! Test suites shared by every store adapter: the conformance suite (one generic body per
//! rule, stamped out per adapter by [`conformance_suite!`]), its harness, the model-based
//! test, and the one way a test reaches PostgreSQL ([`postgres`]).
// This crate is test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod conformance;
pub mod conformance_delivery;
pub mod conformance_pipeline;
pub mod conformance_visibility;
pub mod differential;
pub mod harness;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
