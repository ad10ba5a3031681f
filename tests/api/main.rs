//! Integration tests: one binary, so the crate links once.

mod binary;
mod concurrency;
mod conformance;
mod helpers;
mod http_contract;
mod import;
mod openapi;
