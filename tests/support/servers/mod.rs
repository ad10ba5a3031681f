//! Private database servers for the tests that break them: each on its own ports and in its own
//! temporary directory, stopped by its own process id, never the shared server; and Twooter
//! instances in the test process to put in front of them.

pub mod galera;
pub mod instance;
pub mod mariadb;
pub mod nginx;
pub mod redis;
mod spawn;

/// Whether the suite runs in CI, where a missing server is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// `None` with a visible SKIPPED line outside CI; a failure in CI.
pub fn unavailable<T>(what: &str, why: &str) -> Option<T> {
    assert!(!in_ci(), "{what} is required in CI: {why}");
    eprintln!("SKIPPED: {what}: {why}");
    None
}
