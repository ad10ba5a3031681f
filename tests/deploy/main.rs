//! The files under `deploy/` agree with the service they deploy: they parse, their probe and
//! healthcheck paths answer 200, their ports are the one the service listens on, every setting
//! they give the app is one it reads, and every metric the alerts and the dashboard use is
//! exported.

#[path = "../support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use crate::support::TestDb;

/// The port the service listens on when `PORT` is not set.
const DEFAULT_PORT: u16 = 8000;

const COMPOSE: &str = "deploy/compose.yaml";
const DOCKERFILE: &str = "deploy/Dockerfile";
const NGINX: &str = "deploy/nginx.conf";
const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const DASHBOARD: &str = "deploy/grafana/twooter-dashboard.json";
const K8S: &str = "deploy/k8s";

// ---------------------------------------------------------------------------------------------
// Reading the files
// ---------------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository, by its path from the root.
fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{relative}: cannot read {}: {e}", path.display()))
}

/// Every file under `dir` (from the repository root), recursively, as paths from the root.
fn files_under(dir: &str) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = repo_root();
    let mut out = Vec::new();
    walk(&root, &root.join(dir), &mut out);
    out.sort();
    out
}

fn yaml_files(dir: &str) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        .collect()
}

/// Every YAML document of a file (a `---` separated stream), merge keys applied, empty ones
/// skipped.
fn yaml_documents(relative: &str) -> Vec<Yaml> {
    let text = read(relative);
    let mut documents = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
        let mut value = Yaml::deserialize(document).unwrap_or_else(|e| {
            panic!(
                "{relative}: YAML document {} does not parse: {e}",
                index + 1
            )
        });
        value.apply_merge().unwrap_or_else(|e| {
            panic!(
                "{relative}: YAML document {}: bad merge key: {e}",
                index + 1
            )
        });
        if !value.is_null() {
            documents.push(value);
        }
    }
    documents
}

fn yaml_document(relative: &str) -> Yaml {
    let mut documents = yaml_documents(relative);
    assert_eq!(
        documents.len(),
        1,
        "{relative}: expected exactly one YAML document"
    );
    documents.remove(0)
}

fn json_file(relative: &str) -> Json {
    serde_json::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative}: JSON does not parse: {e}"))
}

/// Every Kubernetes object under `deploy/k8s`, with the file it is in.
fn k8s_objects() -> Vec<(String, Yaml)> {
    let files = yaml_files(K8S);
    assert!(!files.is_empty(), "{K8S}: no manifests found");
    files
        .into_iter()
        .flat_map(|file| {
            yaml_documents(&file)
                .into_iter()
                .map(move |object| (file.clone(), object))
        })
        .collect()
}

fn kind(object: &Yaml) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Yaml) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// The single object of `kind` under `deploy/k8s`.
fn k8s_object(wanted: &str) -> (String, Yaml) {
    let mut found: Vec<_> = k8s_objects()
        .into_iter()
        .filter(|(_, object)| kind(object) == wanted)
        .collect();
    assert_eq!(found.len(), 1, "{K8S}: expected exactly one {wanted}");
    found.remove(0)
}

/// The containers of a Deployment or Job, through its pod template.
fn containers(object: &Yaml) -> &[Yaml] {
    object["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .map_or(&[], Vec::as_slice)
}

/// A scalar YAML value as text (ports and flags may be written as numbers or strings).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_port(file: &str, item: &str, raw: &str) -> u16 {
    raw.trim()
        .trim_end_matches("/tcp")
        .parse()
        .unwrap_or_else(|_| panic!("{file}: {item}: {raw:?} is not a port number"))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn dockerfile_instructions() -> Vec<(String, String)> {
    let text = read(DOCKERFILE);
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, rest) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        instructions.push((keyword.to_uppercase(), rest.trim().to_owned()));
        current.clear();
    }
    instructions
}

/// The Dockerfile's `ENV` settings (the `KEY=value` form, several per line allowed).
fn dockerfile_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (keyword, rest) in dockerfile_instructions() {
        if keyword != "ENV" {
            continue;
        }
        for pair in rest.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("{DOCKERFILE}: ENV {rest:?}: use the KEY=value form"));
            env.insert(key.to_owned(), value.trim_matches('"').to_owned());
        }
    }
    env
}

/// The port the image listens on: its `ENV PORT`, or the service's default.
fn image_port() -> u16 {
    dockerfile_env()
        .get("PORT")
        .map_or(DEFAULT_PORT, |raw| parse_port(DOCKERFILE, "ENV PORT", raw))
}

/// The compose services that run the twooter image (built from `deploy/Dockerfile` or tagged
/// `twooter…`); the others (database, cache, load balancer) take their own settings.
fn compose_app_services() -> Vec<(String, Yaml)> {
    let compose = yaml_document(COMPOSE);
    let services = compose["services"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{COMPOSE}: no `services` mapping"));
    let apps: Vec<_> = services
        .iter()
        .filter(|(_, service)| {
            let built_here = service["build"]["dockerfile"]
                .as_str()
                .is_some_and(|f| f.ends_with("Dockerfile"));
            let image = service["image"].as_str().unwrap_or_default();
            built_here || image.starts_with("twooter")
        })
        .map(|(name, service)| (name.as_str().unwrap().to_owned(), service.clone()))
        .collect();
    assert!(
        !apps.is_empty(),
        "{COMPOSE}: no service runs the twooter image"
    );
    apps
}

/// A compose service's environment as a map, from either the mapping or the `KEY=value` list form.
fn compose_env(service_name: &str, service: &Yaml) -> BTreeMap<String, String> {
    match &service["environment"] {
        Yaml::Null => BTreeMap::new(),
        Yaml::Mapping(map) => map
            .iter()
            .map(|(k, v)| {
                let key = k.as_str().unwrap_or_else(|| {
                    panic!("{COMPOSE}: service {service_name}: environment key {k:?} is not text")
                });
                (key.to_owned(), scalar(v).unwrap_or_default())
            })
            .collect(),
        Yaml::Sequence(list) => list
            .iter()
            .map(|item| {
                let item = item.as_str().unwrap_or_default();
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect(),
        other => panic!(
            "{COMPOSE}: service {service_name}: environment {other:?} is neither a map nor a list"
        ),
    }
}

/// The port a compose app service listens on: its `PORT`, or the image's.
fn compose_port(service_name: &str, service: &Yaml) -> u16 {
    compose_env(service_name, service)
        .get("PORT")
        .map_or_else(image_port, |raw| {
            parse_port(COMPOSE, &format!("service {service_name}: PORT"), raw)
        })
}

/// The `http://` URLs in a text, as (host, port, path); `port` is `None` when not written.
fn http_urls(text: &str) -> Vec<(String, Option<String>, String)> {
    text.match_indices("http://")
        .map(|(start, _)| {
            let rest = &text[start + "http://".len()..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ']'))
                .unwrap_or(rest.len());
            let url = &rest[..end];
            let (authority, path) = match url.find('/') {
                Some(slash) => (&url[..slash], &url[slash..]),
                None => (url, "/"),
            };
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port.to_owned())),
                None => (authority, None),
            };
            (host.to_owned(), port, path.to_owned())
        })
        .collect()
}

/// A healthcheck `test` (list or string form) as one line.
fn healthcheck_command(test: &Yaml) -> String {
    match test {
        Yaml::Sequence(parts) => parts
            .iter()
            .filter_map(Yaml::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// What the service reads and exports
// ---------------------------------------------------------------------------------------------

/// The environment variables the service reads, as its configuration lists them.
fn known_env_names() -> BTreeSet<String> {
    twooter::config::VARIABLES
        .iter()
        .map(|name| name.to_string())
        .collect()
}

/// The `twooter_…` metric names in a PromQL expression, histogram series suffixes stripped.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in expr.match_indices("twooter_") {
        let preceded_by_identifier = expr[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if preceded_by_identifier {
            continue;
        }
        let name: String = expr[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        names.insert(base.to_owned());
    }
    names
}

/// Every alert rule of the Prometheus rule file.
fn alert_rules() -> Vec<Yaml> {
    let rules_file = yaml_document(ALERTS);
    let groups = rules_file["groups"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{ALERTS}: no `groups` list"));
    let rules: Vec<Yaml> = groups
        .iter()
        .flat_map(|group| {
            group["rules"]
                .as_sequence()
                .unwrap_or_else(|| {
                    panic!("{ALERTS}: group {:?} has no `rules` list", group["name"])
                })
                .clone()
        })
        .collect();
    assert!(!rules.is_empty(), "{ALERTS}: no rules");
    rules
}

/// Every string under a key named `key`, anywhere in a JSON document.
fn json_strings_under(value: &Json, key: &str, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                if k == key {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_owned());
                    }
                }
                json_strings_under(v, key, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| json_strings_under(v, key, out)),
        _ => {}
    }
}

/// The router as the server builds it: the store is wrapped to time its queries, as
/// `twooter::app::open_store` does, so the database metrics are recorded too.
async fn router() -> (TestDb, axum::Router) {
    let db = TestDb::sqlite().await;
    let app = support::app(db.store.clone());
    (db, app)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_deploy_file_parses() {
    let yaml = yaml_files("deploy");
    for required in [COMPOSE, ALERTS] {
        assert!(yaml.iter().any(|f| f == required), "{required} is missing");
    }
    for file in &yaml {
        assert!(
            !yaml_documents(file).is_empty(),
            "{file}: holds no YAML document"
        );
    }
    let json: Vec<_> = files_under("deploy")
        .into_iter()
        .filter(|f| f.ends_with(".json"))
        .collect();
    assert!(
        json.iter().any(|f| f == DASHBOARD),
        "{DASHBOARD} is missing"
    );
    for file in &json {
        json_file(file);
    }
    let instructions = dockerfile_instructions();
    for keyword in ["FROM", "COPY", "ENV", "EXPOSE", "USER", "HEALTHCHECK"] {
        assert!(
            instructions.iter().any(|(k, _)| k == keyword),
            "{DOCKERFILE}: no {keyword} instruction"
        );
    }
}

#[test]
fn k8s_objects_are_labelled_and_namespaced() {
    for (file, object) in k8s_objects() {
        let what = format!("{file}: {} {:?}", kind(&object), name(&object));
        assert!(object["apiVersion"].is_string(), "{what}: no apiVersion");
        assert!(!kind(&object).is_empty(), "{file}: an object without kind");
        assert!(!name(&object).is_empty(), "{what}: no metadata.name");
        assert_eq!(
            object["metadata"]["labels"]["app.kubernetes.io/name"].as_str(),
            Some("twooter"),
            "{what}: expected the label app.kubernetes.io/name: twooter"
        );
        if kind(&object) != "Namespace" {
            assert_eq!(
                object["metadata"]["namespace"].as_str(),
                Some("twooter"),
                "{what}: expected namespace twooter"
            );
        }
    }
    let (file, deployment) = k8s_object("Deployment");
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    let template = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in selector.as_mapping().expect("a selector") {
        assert_eq!(
            template.get(key),
            Some(value),
            "{file}: the pod template lacks the selector label {key:?}"
        );
    }
    let (service_file, service) = k8s_object("Service");
    assert_eq!(
        &service["spec"]["selector"], selector,
        "{service_file}: the Service must select the Deployment's pods (and not the migrate Job's)"
    );
}

#[tokio::test]
async fn probe_and_healthcheck_paths_answer_200() {
    let mut paths: Vec<(String, String)> = Vec::new();

    let (file, deployment) = k8s_object("Deployment");
    for container in containers(&deployment) {
        for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
            let path = container[probe]["httpGet"]["path"]
                .as_str()
                .unwrap_or_else(|| {
                    panic!(
                        "{file}: container {:?} has no {probe}.httpGet.path",
                        container["name"]
                    )
                });
            paths.push((format!("{file}: {probe}"), path.to_owned()));
        }
    }

    let compose = yaml_document(COMPOSE);
    for (service_name, service) in compose["services"].as_mapping().unwrap() {
        let command = healthcheck_command(&service["healthcheck"]["test"]);
        for (_, _, path) in http_urls(&command) {
            paths.push((
                format!(
                    "{COMPOSE}: service {:?} healthcheck",
                    service_name.as_str().unwrap()
                ),
                path,
            ));
        }
    }
    for (service_name, service) in compose_app_services() {
        // A one-shot service (such as `twooter migrate`) serves nothing to check.
        let one_shot = healthcheck_command(&service["command"]).contains("migrate");
        assert!(
            one_shot
                || !http_urls(&healthcheck_command(&service["healthcheck"]["test"])).is_empty(),
            "{COMPOSE}: app service {service_name:?} has no HTTP healthcheck"
        );
    }

    let healthchecks: Vec<_> = dockerfile_instructions()
        .into_iter()
        .filter(|(k, _)| k == "HEALTHCHECK")
        .collect();
    for (_, rest) in &healthchecks {
        let urls = http_urls(rest);
        assert!(
            !urls.is_empty(),
            "{DOCKERFILE}: HEALTHCHECK {rest:?} checks no URL"
        );
        for (_, _, path) in urls {
            paths.push((format!("{DOCKERFILE}: HEALTHCHECK"), path));
        }
    }

    let (_db, app) = router().await;
    for (source, path) in paths {
        let reply = support::get(&app, &path).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{source}: GET {path} answers {} instead of 200: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
}

#[test]
fn ports_are_the_one_the_service_listens_on() {
    // The image: listens on every interface, on the port it exposes and checks.
    let env = dockerfile_env();
    assert_eq!(
        env.get("HOST").map(String::as_str),
        Some("0.0.0.0"),
        "{DOCKERFILE}: ENV HOST must be 0.0.0.0, or the container is unreachable"
    );
    let port = image_port();
    for (keyword, rest) in dockerfile_instructions() {
        if keyword == "EXPOSE" {
            for raw in rest.split_whitespace() {
                assert_eq!(
                    parse_port(DOCKERFILE, "EXPOSE", raw),
                    port,
                    "{DOCKERFILE}: EXPOSE {raw} is not the port the service listens on"
                );
            }
        }
        if keyword == "HEALTHCHECK" {
            for (_, url_port, path) in http_urls(&rest) {
                let raw = url_port.unwrap_or_else(|| "80".to_owned());
                let raw = match raw.as_str() {
                    "${PORT}" | "$PORT" => port.to_string(),
                    _ => raw,
                };
                assert_eq!(
                    parse_port(DOCKERFILE, "HEALTHCHECK", &raw),
                    port,
                    "{DOCKERFILE}: HEALTHCHECK checks {path} on port {raw}, not {port}"
                );
            }
        }
    }

    // Compose: the app services' exposed ports and healthchecks, and the load balancer's upstream.
    let mut compose_ports = BTreeSet::new();
    for (service_name, service) in compose_app_services() {
        let port = compose_port(&service_name, &service);
        compose_ports.insert(port);
        let exposed = service["expose"].as_sequence().cloned().unwrap_or_default();
        let published = service["ports"].as_sequence().cloned().unwrap_or_default();
        for entry in exposed {
            let raw = scalar(&entry).unwrap_or_default();
            assert_eq!(
                parse_port(COMPOSE, &format!("service {service_name}: expose"), &raw),
                port,
                "{COMPOSE}: service {service_name:?} exposes {raw}, but listens on {port}"
            );
        }
        for entry in published {
            let raw = scalar(&entry).unwrap_or_default();
            let target = raw.rsplit(':').next().unwrap_or_default();
            assert_eq!(
                parse_port(COMPOSE, &format!("service {service_name}: ports"), target),
                port,
                "{COMPOSE}: service {service_name:?} publishes {raw}, but listens on {port}"
            );
        }
        for (_, url_port, path) in http_urls(&healthcheck_command(&service["healthcheck"]["test"]))
        {
            let raw = url_port.unwrap_or_else(|| "80".to_owned());
            assert_eq!(
                parse_port(COMPOSE, &format!("service {service_name}: healthcheck"), &raw),
                port,
                "{COMPOSE}: service {service_name:?} healthcheck checks {path} on port {raw}, not {port}"
            );
        }
    }
    let nginx = read(NGINX);
    let upstream_servers: Vec<&str> = nginx
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("server "))
        .filter(|rest| !rest.trim_start().starts_with('{'))
        .collect();
    assert!(!upstream_servers.is_empty(), "{NGINX}: no upstream server");
    for server in upstream_servers {
        let address = server
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches(';');
        let raw = address.rsplit_once(':').map_or("80", |(_, p)| p);
        assert!(
            compose_ports.contains(&parse_port(NGINX, &format!("server {address}"), raw)),
            "{NGINX}: upstream server {address} is not on the app's port {compose_ports:?}"
        );
    }

    // Kubernetes: the PORT of the ConfigMap (or of the container), the container ports, the
    // probes, the Service and the scrape annotation.
    let (_, configmap) = k8s_object("ConfigMap");
    let configured = configmap["data"]["PORT"].as_str().map(str::to_owned);
    let (service_file, service) = k8s_object("Service");
    for (file, object) in k8s_objects() {
        if !matches!(kind(&object), "Deployment" | "Job") {
            continue;
        }
        for container in containers(&object) {
            let container_name = container["name"].as_str().unwrap_or_default();
            let own = container["env"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|e| e["name"].as_str() == Some("PORT"))
                .and_then(|e| e["value"].as_str().map(str::to_owned));
            let port = own
                .or_else(|| configured.clone())
                .map_or(DEFAULT_PORT, |raw| {
                    parse_port(&file, &format!("container {container_name}: PORT"), &raw)
                });
            let mut named = BTreeMap::new();
            for declared in container["ports"].as_sequence().into_iter().flatten() {
                let raw = scalar(&declared["containerPort"]).unwrap_or_default();
                let number = parse_port(
                    &file,
                    &format!("container {container_name}: containerPort"),
                    &raw,
                );
                assert_eq!(
                    number, port,
                    "{file}: container {container_name:?} declares port {number}, but listens on {port}"
                );
                if let Some(port_name) = declared["name"].as_str() {
                    named.insert(port_name.to_owned(), number);
                }
            }
            let refers_to_the_port = |value: &Yaml| match value {
                Yaml::String(port_name) => named.get(port_name) == Some(&port),
                other => scalar(other).is_some_and(|raw| raw.parse() == Ok(port)),
            };
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                let probe_port = &container[probe]["httpGet"]["port"];
                if !probe_port.is_null() {
                    assert!(
                        refers_to_the_port(probe_port),
                        "{file}: container {container_name:?} {probe} uses port {probe_port:?}, not {port}"
                    );
                }
            }
            if kind(&object) == "Deployment" {
                for service_port in service["spec"]["ports"].as_sequence().into_iter().flatten() {
                    let target = &service_port["targetPort"];
                    assert!(
                        refers_to_the_port(target),
                        "{service_file}: targetPort {target:?} is not the container's port {port}"
                    );
                }
                let annotations = &object["spec"]["template"]["metadata"]["annotations"];
                if let Some(raw) = annotations["prometheus.io/port"].as_str() {
                    assert_eq!(
                        parse_port(&file, "prometheus.io/port", raw),
                        port,
                        "{file}: prometheus.io/port {raw} is not the container's port {port}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_setting_given_to_the_app_is_one_it_reads() {
    let known = known_env_names();
    let check = |source: String, variable: &str| {
        assert!(
            known.contains(variable),
            "{source}: sets {variable}, which the service does not read (it reads {known:?})"
        );
    };

    for variable in dockerfile_env().keys() {
        check(format!("{DOCKERFILE}: ENV"), variable);
    }

    for (service_name, service) in compose_app_services() {
        let env = compose_env(&service_name, &service);
        assert!(
            env.contains_key("DATABASE_URL"),
            "{COMPOSE}: service {service_name:?} must set DATABASE_URL (else it uses embedded SQLite)"
        );
        for variable in env.keys() {
            check(format!("{COMPOSE}: service {service_name:?}"), variable);
        }
    }

    let mut database_url_set = false;
    for (file, object) in k8s_objects() {
        let what = format!("{file}: {} {:?}", kind(&object), name(&object));
        let mut names = Vec::new();
        match kind(&object) {
            "ConfigMap" => names.extend(
                object["data"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            ),
            "Secret" => {
                for field in ["stringData", "data"] {
                    names.extend(
                        object[field]
                            .as_mapping()
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| k.clone()),
                    );
                }
            }
            "Deployment" | "Job" => {
                for container in containers(&object) {
                    names.extend(
                        container["env"]
                            .as_sequence()
                            .into_iter()
                            .flatten()
                            .map(|e| e["name"].clone()),
                    );
                }
            }
            _ => {}
        }
        for variable in names {
            let variable = variable
                .as_str()
                .unwrap_or_else(|| panic!("{what}: variable name {variable:?} is not text"));
            database_url_set |= variable == "DATABASE_URL";
            check(what.clone(), variable);
        }
    }
    assert!(
        database_url_set,
        "{K8S}: DATABASE_URL is set nowhere (the app would use embedded SQLite)"
    );
}

#[test]
fn alert_rules_are_complete() {
    for rule in alert_rules() {
        let alert = rule["alert"]
            .as_str()
            .unwrap_or_else(|| panic!("{ALERTS}: a rule without `alert` name: {rule:?}"));
        assert!(
            rule["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
            "{ALERTS}: alert {alert} has no expr"
        );
        assert!(
            rule["for"].is_string(),
            "{ALERTS}: alert {alert} has no `for`"
        );
        assert!(
            rule["labels"]["severity"].is_string(),
            "{ALERTS}: alert {alert} has no severity label"
        );
        for annotation in ["summary", "description", "runbook"] {
            assert!(
                rule["annotations"][annotation].is_string(),
                "{ALERTS}: alert {alert} has no {annotation} annotation"
            );
        }
    }
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboard_use_is_exported() {
    let mut used: Vec<(String, String)> = Vec::new();
    for rule in alert_rules() {
        let alert = rule["alert"].as_str().unwrap_or_default();
        for metric in metric_names(rule["expr"].as_str().unwrap_or_default()) {
            used.push((format!("{ALERTS}: alert {alert}"), metric));
        }
    }
    let dashboard = json_file(DASHBOARD);
    let mut exprs = Vec::new();
    json_strings_under(&dashboard, "expr", &mut exprs);
    json_strings_under(&dashboard, "definition", &mut exprs);
    assert!(!exprs.is_empty(), "{DASHBOARD}: no expr fields");
    for expr in exprs {
        for metric in metric_names(&expr) {
            used.push((format!("{DASHBOARD}: expr {expr:?}"), metric));
        }
    }
    assert!(
        !used.is_empty(),
        "the alerts and the dashboard use no twooter metric"
    );

    // Exercise every recorded metric: a post, a page, a twoot, a page by tag, the stats, the
    // probes, then two scrapes (the first sets the pool gauges).
    let (_db, app) = router().await;
    let twoot = support::post_twoot(&app, "hello", "coffee").await;
    let id = twoot["id"].as_str().expect("the posted twoot has an id");
    for path in [
        "/messages".to_owned(),
        format!("/messages/{id}"),
        "/messages?tag=coffee".to_owned(),
        "/management/message-stats".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/metrics".to_owned(),
    ] {
        let reply = support::get(&app, &path).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "GET {path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let scrape = support::get(&app, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let exposition = String::from_utf8(scrape.body).expect("the metrics are text");

    let exported: BTreeSet<&str> = exposition
        .lines()
        .filter_map(|line| {
            let name = match line.strip_prefix("# TYPE ") {
                Some(rest) => rest.split_whitespace().next()?,
                None if line.starts_with('#') => return None,
                None => line.split(['{', ' ']).next()?,
            };
            Some(name)
        })
        .collect();
    for (source, metric) in used {
        let suffixed = ["_bucket", "_sum", "_count"]
            .iter()
            .any(|suffix| exported.contains(format!("{metric}{suffix}").as_str()));
        assert!(
            exported.contains(metric.as_str()) || suffixed,
            "{source}: uses the metric {metric}, which /metrics does not export:\n{exposition}"
        );
    }
}
