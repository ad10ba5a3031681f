//! `/messages`: post a twoot, read the timeline, read one twoot.

pub mod catch_up;
pub mod create;
pub mod get;
pub mod idempotency;
pub mod list;
