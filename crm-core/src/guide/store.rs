#![doc = include_str!("store.md")]
