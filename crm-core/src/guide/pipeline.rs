#![doc = include_str!("pipeline.md")]
