//! The files under `deploy/` agree with the service they deploy: they parse, their probe and
//! healthcheck paths answer 200, their ports are the one the service listens on, every setting
//! they give the app is one it reads, the alert rules pass promtool's check and unit tests on the
//! series the service exports, and the Kubernetes objects carry the app's label and namespace. A
//! module a kind of file.

#[path = "../support/mod.rs"]
mod support;

mod compose;
mod dockerfile;
mod files;
mod k8s;
mod observability;
mod prometheus;
mod workflows;
