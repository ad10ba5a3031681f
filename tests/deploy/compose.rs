//! `deploy/compose.yaml`, with the load balancer's `deploy/nginx.conf`: the services that run the
//! image listen on the port they expose, publish and check, and nginx sends to; the healthchecks
//! answer 200; the app services set `DATABASE_URL` and only variables the service reads.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;
use url::Url;

use crate::dockerfile::image_port;
use crate::files::{self, assert_answer_200, assert_read_by_the_service, http_urls};

pub const COMPOSE: &str = "deploy/compose.yaml";
pub const NGINX: &str = "deploy/nginx.conf";

#[derive(Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
}

/// The parts of a service the checks read. Compose takes a command as a list or a line, and
/// ports and settings as numbers or strings: those stay YAML values, read with [`text`].
#[derive(Deserialize, Default)]
#[serde(default)]
struct Service {
    image: String,
    build: Yaml,
    command: Yaml,
    environment: BTreeMap<String, Yaml>,
    expose: Vec<Yaml>,
    ports: Vec<Yaml>,
    healthcheck: Yaml,
}

/// A scalar as text, a list as its items joined by spaces.
fn text(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

/// Every service, with merge keys (`<<: *twooter-env`) applied.
fn services() -> BTreeMap<String, Service> {
    let mut compose: Yaml = files::yaml_file(COMPOSE);
    compose
        .apply_merge()
        .unwrap_or_else(|e| panic!("{COMPOSE}: bad merge key: {e}"));
    serde_yaml_ng::from_value::<Compose>(compose)
        .unwrap_or_else(|e| panic!("{COMPOSE}: {e}"))
        .services
}

/// The services that run the twooter image (built from the Dockerfile, or tagged `twooter…`);
/// the others (database, cache, load balancer) take their own settings.
fn app_services() -> Vec<(String, Service)> {
    let apps: Vec<_> = services()
        .into_iter()
        .filter(|(_, service)| service.runs_the_image())
        .collect();
    assert!(
        !apps.is_empty(),
        "{COMPOSE}: no service runs the twooter image"
    );
    apps
}

impl Service {
    fn runs_the_image(&self) -> bool {
        let built_here = self.build["dockerfile"]
            .as_str()
            .is_some_and(|f| f.ends_with("Dockerfile"));
        built_here || self.image.starts_with("twooter")
    }

    /// The port it listens on: its `PORT`, or the image's.
    fn port(&self, name: &str) -> u16 {
        let raw = self.environment.get("PORT").map(text);
        raw.map_or_else(image_port, |raw| {
            files::port(&format!("{COMPOSE}: service {name:?}: PORT"), &raw)
        })
    }

    fn healthcheck_urls(&self, name: &str) -> Vec<Url> {
        let what = format!("{COMPOSE}: service {name:?}: healthcheck");
        http_urls(&what, &text(&self.healthcheck["test"]))
    }
}

#[test]
fn the_app_services_listen_on_the_port_they_expose_publish_and_check() {
    for (name, service) in app_services() {
        let port = service.port(&name);
        let what = format!("{COMPOSE}: service {name:?}");
        for raw in service.expose.iter().map(text) {
            assert_eq!(
                files::port(&format!("{what}: expose"), &raw),
                port,
                "{what} exposes {raw}, but listens on {port}"
            );
        }
        for raw in service.ports.iter().map(text) {
            let target = raw.rsplit(':').next().unwrap_or_default();
            assert_eq!(
                files::port(&format!("{what}: ports"), target),
                port,
                "{what} publishes {raw}, but listens on {port}"
            );
        }
        for url in service.healthcheck_urls(&name) {
            assert_eq!(
                url.port_or_known_default(),
                Some(port),
                "{what}: the healthcheck checks {url}, but the service listens on {port}"
            );
        }
    }
}

#[test]
fn nginx_sends_to_the_port_the_app_services_listen_on() {
    let ports: BTreeSet<u16> = app_services()
        .iter()
        .map(|(name, service)| service.port(name))
        .collect();
    let nginx = files::read(NGINX);
    let upstreams: Vec<&str> = nginx
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server "))
        .filter(|rest| !rest.trim_start().starts_with('{'))
        .collect();
    assert!(!upstreams.is_empty(), "{NGINX}: no upstream server");
    for server in upstreams {
        let address = server.split_whitespace().next().unwrap();
        let address = address.trim_end_matches(';');
        let raw = address.rsplit_once(':').map_or("80", |(_, port)| port);
        assert!(
            ports.contains(&files::port(&format!("{NGINX}: server {address}"), raw)),
            "{NGINX}: upstream server {address} is not on the app's port {ports:?}"
        );
    }
}

#[tokio::test]
async fn the_healthchecks_answer_200() {
    let mut paths = Vec::new();
    for (name, service) in services() {
        let urls = service.healthcheck_urls(&name);
        // A one-shot service (such as `twooter migrate`) serves nothing to check.
        let one_shot = text(&service.command).contains("migrate");
        assert!(
            !service.runs_the_image() || one_shot || !urls.is_empty(),
            "{COMPOSE}: app service {name:?} has no HTTP healthcheck"
        );
        let source = format!("{COMPOSE}: service {name:?} healthcheck");
        paths.extend(urls.iter().map(|url| (source.clone(), files::path(url))));
    }
    assert_answer_200(paths).await;
}

#[test]
fn the_app_services_set_the_database_and_only_variables_the_service_reads() {
    for (name, service) in app_services() {
        let env = &service.environment;
        assert!(
            env.contains_key("DATABASE_URL"),
            "{COMPOSE}: service {name:?} must set DATABASE_URL (else it uses embedded SQLite)"
        );
        for variable in env.keys() {
            assert_read_by_the_service(&format!("{COMPOSE}: service {name:?}"), variable);
        }
    }
}
