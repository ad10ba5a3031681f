//! The files under `deploy/` agree with the service they deploy: they parse, their probe and
//! healthcheck paths answer 200, their ports are the one the service listens on, every setting
//! they give the app is one it reads, every metric the alerts and the dashboard use is exported,
//! and the Kubernetes objects carry the app's label and namespace. A module a kind of file.

#[path = "../support/mod.rs"]
mod support;

mod compose;
mod dockerfile;
mod files;
mod k8s;
mod observability;
