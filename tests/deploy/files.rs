//! Reading the files under `deploy/`, and the checks every kind of file shares: the paths it
//! checks answer 200, and the variables it sets are ones the service reads.

use std::path::Path;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;
use url::Url;

use crate::compose::COMPOSE;
use crate::dockerfile::{self, DOCKERFILE};
use crate::observability::{ALERTS, DASHBOARD};
use crate::support::{fresh_app, get};

/// The port the service listens on when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 8000;

/// A file of the repository, by its path from the root.
pub fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{relative}: cannot read {}: {e}", path.display()))
}

/// Every file under `dir`, recursively, as sorted paths from the repository root.
pub fn files_under(dir: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut files, mut dirs) = (Vec::new(), vec![dir.to_owned()]);
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(root.join(&dir)).unwrap_or_else(|e| panic!("cannot list {dir}: {e}"));
        for entry in entries {
            let path = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            if root.join(&path).is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every document of a YAML file (a `---` separated stream) as `T`, empty ones skipped; one that
/// does not fit `T` fails with its path in the file and its line.
pub fn yaml_documents<T: DeserializeOwned>(relative: &str) -> Vec<T> {
    let text = read(relative);
    serde_yaml_ng::Deserializer::from_str(&text)
        .filter_map(|document| {
            Option::<T>::deserialize(document).unwrap_or_else(|e| panic!("{relative}: {e}"))
        })
        .collect()
}

/// The one YAML document of a file, as `T`.
pub fn yaml_file<T: DeserializeOwned>(relative: &str) -> T {
    let mut documents = yaml_documents(relative);
    assert_eq!(documents.len(), 1, "{relative}: expected one YAML document");
    documents.remove(0)
}

pub fn json_file(relative: &str) -> serde_json::Value {
    serde_json::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative}: JSON does not parse: {e}"))
}

/// A port as a file writes it (`8000`, `8000/tcp`), or a failure naming `what`.
pub fn port(what: &str, raw: &str) -> u16 {
    raw.trim()
        .trim_end_matches("/tcp")
        .parse()
        .unwrap_or_else(|_| panic!("{what}: {raw:?} is not a port number"))
}

/// The `http://` URLs in a command line.
pub fn http_urls(what: &str, command: &str) -> Vec<Url> {
    command
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\''))
        .filter(|word| word.starts_with("http://"))
        .map(|word| Url::parse(word).unwrap_or_else(|e| panic!("{what}: {word}: {e}")))
        .collect()
}

/// What a URL asks the service for: its path and query.
pub fn path(url: &Url) -> String {
    url[url::Position::BeforePath..].to_owned()
}

/// Asserts that each path answers `GET` with 200, on the service as it is built.
pub async fn assert_answer_200(paths: Vec<(String, String)>) {
    let (_db, app) = fresh_app().await;
    for (source, path) in paths {
        let reply = get(&app, &path).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{source}: GET {path} answers {} instead of 200: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
}

/// Asserts that `variable`, set by `source`, is one the service reads.
pub fn assert_read_by_the_service(source: &str, variable: &str) {
    let known = twooter::config::VARIABLES;
    assert!(
        known.contains(&variable),
        "{source}: sets {variable}, which the service does not read (it reads {known:?})"
    );
}

#[test]
fn every_deploy_file_parses() {
    let files = files_under("deploy");
    for required in [COMPOSE, ALERTS, DASHBOARD, DOCKERFILE] {
        assert!(files.iter().any(|f| f == required), "{required} is missing");
    }
    for file in &files {
        if file.ends_with(".yaml") || file.ends_with(".yml") {
            let documents = yaml_documents::<Yaml>(file);
            assert!(!documents.is_empty(), "{file}: holds no YAML document");
        } else if file.ends_with(".json") {
            json_file(file);
        }
    }
    let instructions = dockerfile::instructions();
    for keyword in ["FROM", "COPY", "ENV", "EXPOSE", "USER", "HEALTHCHECK"] {
        assert!(
            instructions.iter().any(|(k, _)| k == keyword),
            "{DOCKERFILE}: no {keyword} instruction"
        );
    }
}
