//! `GET /messages/stream` over HTTP against the real binary: the replay-to-live seam under
//! concurrent posts, a reconnection after a late commit, two instances on one database, a private
//! Redis stopped and started again, a slow consumer cut, and the limits and bad input.

#[path = "../support/mod.rs"]
mod support;

mod broker;
mod limits;
mod resume;
mod seam;
mod sse;
