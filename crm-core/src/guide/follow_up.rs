#![doc = include_str!("follow_up.md")]
