//! `deploy/Dockerfile`: the image listens on every interface, on the port it exposes and checks;
//! its healthcheck answers 200; it sets only variables the service reads.

use std::collections::BTreeMap;

use url::Url;

use crate::files::{self, assert_answer_200, assert_read_by_the_service, http_urls, DEFAULT_PORT};

pub const DOCKERFILE: &str = "deploy/Dockerfile";

/// The instructions as (keyword, arguments): comments dropped, continued lines joined.
pub fn instructions() -> Vec<(String, String)> {
    let text = files::read(DOCKERFILE);
    let code: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    code.join("\n")
        .replace("\\\n", " ")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let line = line.trim();
            let (keyword, arguments) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            (keyword.to_uppercase(), arguments.trim().to_owned())
        })
        .collect()
}

/// The arguments of each `keyword` instruction.
fn arguments(keyword: &str) -> Vec<String> {
    instructions()
        .into_iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, arguments)| arguments)
        .collect()
}

/// The `ENV` settings, in the `KEY=value` form (several a line).
fn env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for pair in arguments("ENV").iter().flat_map(|a| a.split_whitespace()) {
        let (key, value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("{DOCKERFILE}: ENV {pair:?}: use the KEY=value form"));
        env.insert(key.to_owned(), value.trim_matches('"').to_owned());
    }
    env
}

/// The port the image listens on: its `ENV PORT`, or the service's default.
pub fn image_port() -> u16 {
    env().get("PORT").map_or(DEFAULT_PORT, |raw| {
        files::port(&format!("{DOCKERFILE}: ENV PORT"), raw)
    })
}

/// The URLs the `HEALTHCHECK` asks, `$PORT` read as the image's port.
fn healthcheck_urls() -> Vec<Url> {
    let port = image_port().to_string();
    let mut urls = Vec::new();
    for command in arguments("HEALTHCHECK") {
        let command = command.replace("${PORT}", &port).replace("$PORT", &port);
        let found = http_urls(&format!("{DOCKERFILE}: HEALTHCHECK"), &command);
        assert!(
            !found.is_empty(),
            "{DOCKERFILE}: HEALTHCHECK {command:?} checks no URL"
        );
        urls.extend(found);
    }
    urls
}

#[test]
fn the_image_listens_on_every_interface_on_the_port_it_exposes_and_checks() {
    assert_eq!(
        env().get("HOST").map(String::as_str),
        Some("0.0.0.0"),
        "{DOCKERFILE}: ENV HOST must be 0.0.0.0, or the container is unreachable"
    );
    let port = image_port();
    for raw in arguments("EXPOSE")
        .iter()
        .flat_map(|a| a.split_whitespace())
    {
        assert_eq!(
            files::port(&format!("{DOCKERFILE}: EXPOSE"), raw),
            port,
            "{DOCKERFILE}: EXPOSE {raw} is not the port the service listens on"
        );
    }
    for url in healthcheck_urls() {
        assert_eq!(
            url.port_or_known_default(),
            Some(port),
            "{DOCKERFILE}: HEALTHCHECK checks {url}, not port {port}"
        );
    }
}

#[tokio::test]
async fn the_image_healthcheck_answers_200() {
    let source = format!("{DOCKERFILE}: HEALTHCHECK");
    let paths = healthcheck_urls()
        .iter()
        .map(|url| (source.clone(), files::path(url)))
        .collect();
    assert_answer_200(paths).await;
}

#[test]
fn the_image_sets_only_variables_the_service_reads() {
    for variable in env().keys() {
        assert_read_by_the_service(&format!("{DOCKERFILE}: ENV"), variable);
    }
}
