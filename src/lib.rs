//! Twooter: a microblogging API. Post short messages under a tag, read the newest, count them per
//! year and tag; on embedded SQLite or MySQL-compatible databases, from stateless instances.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod lease;
pub mod metrics;
pub mod seed;
pub mod store;
pub mod telemetry;

/// The git commit this binary was built from.
pub const GIT_SHA: &str = env!("TWOOTER_GIT_SHA");
