//! The API test binary: the HTTP contract route by route (`routes`), the Store conformance suite
//! on every backend, import, concurrency, operations, the OpenAPI snapshot, and the real binary
//! as a process. The deployment files, the scale test and the query plans are test binaries of
//! their own (`tests/deploy`, `tests/scale`, `tests/query_plans`); all of them share
//! `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod binary;
mod catch_up;
mod concurrency;
mod conformance;
mod e2e;
mod group_commit;
mod hostile;
mod idempotency;
mod import;
mod log_events;
mod openapi;
mod operations;
mod recount;
mod routes;
