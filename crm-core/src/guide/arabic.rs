#![doc = include_str!("arabic.md")]
