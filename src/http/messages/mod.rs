//! `/messages`: post a twoot, read the timeline, read one twoot.

pub mod create;
pub mod get;
pub mod idempotency;
pub mod list;
