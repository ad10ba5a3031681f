//! Integration tests: one binary, so the crate links once.

mod binary;
mod concurrency;
mod conformance;
mod deploy;
mod e2e;
mod helpers;
mod http_contract;
mod import;
mod openapi;
mod operations;
mod proxy;
mod query_plans;
mod scale;
