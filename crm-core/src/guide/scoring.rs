#![doc = include_str!("scoring.md")]
