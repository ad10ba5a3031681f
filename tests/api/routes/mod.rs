//! The HTTP contract, route by route, against the real router on a fresh SQLite database: a file
//! per route group.

mod app;
mod auth;
mod create;
mod get;
mod list;
mod service;
mod stats;
