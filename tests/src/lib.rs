#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, nightly): each feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
// This crate is test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod conformance;
pub mod conformance_boards;
pub mod conformance_capture;
pub mod conformance_delivery;
pub mod conformance_import;
pub mod conformance_merge;
pub mod conformance_pipeline;
pub mod conformance_scoring;
pub mod conformance_stage_probabilities;
pub mod conformance_visibility;
pub mod differential;
pub mod harness;
pub mod kit;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
