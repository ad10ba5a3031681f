//! Faults of the database, provoked for real on private servers: TLS refused, connections
//! exhausted, rows locked, read-only, SQLite's write lock held; and the node leases of ids.

#[path = "../support/mod.rs"]
mod support;

mod leases;
mod outages;
mod tls;
