#![doc = include_str!("../README.md")]

mod commit;
mod ports;
mod store;

pub use ports::{MemoryClients, MemoryEmployees};
pub use store::MemoryStore;
