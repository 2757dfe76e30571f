//! An in-memory, thread-safe store for `crm-core`, with exactly the behaviour of the SQL
//! store: atomic writes, versions, duplicate detection, pending clients, the event outbox and
//! reports. For tests, prototypes and hosts that keep their data elsewhere. Also ready
//! in-memory employee directory and clients ports.

mod ports;
mod store;

pub use ports::{MemoryClients, MemoryEmployees};
pub use store::MemoryStore;
