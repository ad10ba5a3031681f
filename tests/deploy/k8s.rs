//! `deploy/k8s`: every object carries the app's label and namespace; the Service selects the
//! Deployment's pods; the containers listen on the port they declare, are probed and scraped on;
//! the probes answer 200; the objects set `DATABASE_URL` and only variables the service reads.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use crate::files::{self, assert_answer_200, assert_read_by_the_service, DEFAULT_PORT};

pub const K8S: &str = "deploy/k8s";

/// What every object has, and a ConfigMap's or a Secret's settings; `spec` differs by kind.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Object {
    api_version: String,
    kind: String,
    metadata: Metadata,
    data: BTreeMap<String, String>,
    string_data: BTreeMap<String, String>,
    spec: Yaml,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metadata {
    name: String,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Container {
    name: String,
    env: Vec<EnvVar>,
    ports: Vec<ContainerPort>,
    startup_probe: Yaml,
    readiness_probe: Yaml,
    liveness_probe: Yaml,
}

#[derive(Deserialize)]
struct EnvVar {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: Option<String>,
    container_port: u16,
}

/// Every object under `deploy/k8s`, with the file it is in.
fn objects() -> Vec<(String, Object)> {
    let manifests: Vec<_> = files::files_under(K8S)
        .into_iter()
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        .collect();
    assert!(!manifests.is_empty(), "{K8S}: no manifests found");
    manifests
        .into_iter()
        .flat_map(|file| {
            let objects = files::yaml_documents::<Object>(&file);
            objects
                .into_iter()
                .map(move |object| (file.clone(), object))
        })
        .collect()
}

/// The one object of `kind`.
fn the(kind: &str) -> (String, Object) {
    let mut found: Vec<_> = objects()
        .into_iter()
        .filter(|(_, object)| object.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "{K8S}: expected exactly one {kind}");
    found.remove(0)
}

impl Object {
    fn describe(&self, file: &str) -> String {
        format!("{file}: {} {:?}", self.kind, self.metadata.name)
    }

    /// The containers of a Deployment's or a Job's pods; none for other kinds.
    fn containers(&self, file: &str) -> Vec<Container> {
        if !matches!(self.kind.as_str(), "Deployment" | "Job") {
            return Vec::new();
        }
        let containers = self.spec["template"]["spec"]["containers"].clone();
        serde_yaml_ng::from_value(containers)
            .unwrap_or_else(|e| panic!("{}: containers: {e}", self.describe(file)))
    }
}

impl Container {
    /// Each probe's `httpGet`, or null where the probe is not set or not an HTTP one.
    fn http_probes(&self) -> [(&'static str, &Yaml); 3] {
        [
            ("startupProbe", &self.startup_probe["httpGet"]),
            ("readinessProbe", &self.readiness_probe["httpGet"]),
            ("livenessProbe", &self.liveness_probe["httpGet"]),
        ]
    }

    /// Whether a probe's or a Service's port (a number, or the name of one of this container's
    /// ports) is `port`.
    fn is_port(&self, reference: &Yaml, port: u16) -> bool {
        match reference {
            Yaml::String(name) => self
                .ports
                .iter()
                .any(|p| p.name.as_ref() == Some(name) && p.container_port == port),
            number => number.as_u64() == Some(port.into()),
        }
    }
}

#[test]
fn objects_carry_the_app_label_and_namespace() {
    for (file, object) in objects() {
        let what = object.describe(&file);
        assert!(!object.api_version.is_empty(), "{what}: no apiVersion");
        assert!(!object.kind.is_empty(), "{what}: no kind");
        assert!(!object.metadata.name.is_empty(), "{what}: no metadata.name");
        assert_eq!(
            object
                .metadata
                .labels
                .get("app.kubernetes.io/name")
                .map(String::as_str),
            Some("twooter"),
            "{what}: expected the label app.kubernetes.io/name: twooter"
        );
        if object.kind != "Namespace" {
            assert_eq!(
                object.metadata.namespace.as_deref(),
                Some("twooter"),
                "{what}: expected namespace twooter"
            );
        }
    }
}

#[test]
fn the_service_selects_the_deployment_pods() {
    let (file, deployment) = the("Deployment");
    let selector = &deployment.spec["selector"]["matchLabels"];
    let pod_labels = &deployment.spec["template"]["metadata"]["labels"];
    for (key, value) in selector.as_mapping().expect("a selector") {
        assert_eq!(
            pod_labels.get(key),
            Some(value),
            "{file}: the pod template lacks the selector label {key:?}"
        );
    }
    let (service_file, service) = the("Service");
    assert_eq!(
        &service.spec["selector"], selector,
        "{service_file}: the Service must select the Deployment's pods (and not the migrate Job's)"
    );
}

#[test]
fn containers_listen_on_the_port_they_declare_and_are_probed_and_scraped_on() {
    let configured = the("ConfigMap").1.data.get("PORT").cloned();
    let (service_file, service) = the("Service");
    for (file, object) in objects() {
        for container in object.containers(&file) {
            let what = format!("{file}: container {:?}", container.name);
            let own = container.env.iter().find(|e| e.name == "PORT");
            let port = own
                .and_then(|e| e.value.clone())
                .or_else(|| configured.clone())
                .map_or(DEFAULT_PORT, |raw| {
                    files::port(&format!("{what}: PORT"), &raw)
                });
            for declared in &container.ports {
                assert_eq!(
                    declared.container_port, port,
                    "{what} declares port {}, but listens on {port}",
                    declared.container_port
                );
            }
            for (probe, request) in container.http_probes() {
                assert!(
                    request.is_null() || container.is_port(&request["port"], port),
                    "{what}: {probe} uses port {:?}, not {port}",
                    request["port"]
                );
            }
            if object.kind != "Deployment" {
                continue;
            }
            for service_port in service.spec["ports"].as_sequence().into_iter().flatten() {
                let target = &service_port["targetPort"];
                assert!(
                    container.is_port(target, port),
                    "{service_file}: targetPort {target:?} is not the container's port {port}"
                );
            }
            let annotations = &object.spec["template"]["metadata"]["annotations"];
            if let Some(raw) = annotations["prometheus.io/port"].as_str() {
                assert_eq!(
                    files::port(&format!("{file}: prometheus.io/port"), raw),
                    port,
                    "{file}: prometheus.io/port {raw} is not the container's port {port}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_deployment_probes_answer_200() {
    let (file, deployment) = the("Deployment");
    let mut paths = Vec::new();
    for container in deployment.containers(&file) {
        for (probe, request) in container.http_probes() {
            let path = request["path"].as_str().unwrap_or_else(|| {
                panic!(
                    "{file}: container {:?} has no {probe}.httpGet.path",
                    container.name
                )
            });
            paths.push((format!("{file}: {probe}"), path.to_owned()));
        }
    }
    assert_answer_200(paths).await;
}

#[test]
fn objects_set_the_database_and_only_variables_the_service_reads() {
    let mut database_url_set = false;
    for (file, object) in objects() {
        let mut names: Vec<String> = match object.kind.as_str() {
            "ConfigMap" | "Secret" => {
                let settings = object.data.keys().chain(object.string_data.keys());
                settings.cloned().collect()
            }
            _ => Vec::new(),
        };
        for container in object.containers(&file) {
            names.extend(container.env.into_iter().map(|e| e.name));
        }
        for variable in names {
            database_url_set |= variable == "DATABASE_URL";
            assert_read_by_the_service(&object.describe(&file), &variable);
        }
    }
    assert!(
        database_url_set,
        "{K8S}: DATABASE_URL is set nowhere (the app would use embedded SQLite)"
    );
}
