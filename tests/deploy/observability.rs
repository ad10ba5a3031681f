//! `deploy/prometheus/alerts.yaml` and `deploy/grafana/twooter-dashboard.json`: every alert says
//! what on-call needs, and every metric the alerts and the dashboard use is one the service
//! exports.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::files;
use crate::support::{fresh_app, get, post_message};

pub const ALERTS: &str = "deploy/prometheus/alerts.yaml";
pub const DASHBOARD: &str = "deploy/grafana/twooter-dashboard.json";

/// A Prometheus rule file (alerting rules only).
#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
struct RuleGroup {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    duration: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn alert_rules() -> Vec<Rule> {
    let file: RuleFile = files::yaml_file(ALERTS);
    let rules: Vec<Rule> = file.groups.into_iter().flat_map(|g| g.rules).collect();
    assert!(!rules.is_empty(), "{ALERTS}: no rules");
    rules
}

/// The `twooter_…` metrics a PromQL expression reads, a histogram's series suffix stripped.
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("twooter_"))
        .map(|word| {
            let suffix = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| word.strip_suffix(suffix));
            suffix.unwrap_or(word).to_owned()
        })
        .collect()
}

/// Every string under a key named `key`, anywhere in a JSON document.
fn json_strings_under(value: &Json, key: &str, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (k == key, v.as_str()) {
                    out.push(s.to_owned());
                }
                json_strings_under(v, key, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| json_strings_under(v, key, out)),
        _ => {}
    }
}

#[test]
fn every_alert_has_an_expression_a_duration_a_severity_and_a_runbook() {
    for rule in alert_rules() {
        let what = format!("{ALERTS}: alert {}", rule.alert);
        assert!(!rule.expr.trim().is_empty(), "{what}: the expr is empty");
        assert!(
            !rule.duration.trim().is_empty(),
            "{what}: the `for` is empty"
        );
        assert!(
            rule.labels.contains_key("severity"),
            "{what}: no severity label"
        );
        for annotation in ["summary", "description", "runbook"] {
            assert!(
                rule.annotations
                    .get(annotation)
                    .is_some_and(|a| !a.trim().is_empty()),
                "{what}: no {annotation} annotation"
            );
        }
    }
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboard_use_is_exported() {
    let mut used: Vec<(String, String)> = Vec::new();
    for rule in alert_rules() {
        for metric in metric_names(&rule.expr) {
            used.push((format!("{ALERTS}: alert {}", rule.alert), metric));
        }
    }
    let dashboard = files::json_file(DASHBOARD);
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
    let (_db, app) = fresh_app().await;
    let posted = post_message(&app, "hello", "coffee").await;
    let id = posted["id"].as_str().expect("the posted twoot has an id");
    for path in [
        "/messages".to_owned(),
        format!("/messages/{id}"),
        "/messages?tag=coffee".to_owned(),
        "/management/message-stats".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/metrics".to_owned(),
    ] {
        let reply = get(&app, &path).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "GET {path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let scrape = get(&app, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let exposition = String::from_utf8(scrape.body).expect("the metrics are text");

    let exported: BTreeSet<&str> = exposition
        .lines()
        .filter_map(|line| match line.strip_prefix("# TYPE ") {
            Some(rest) => rest.split_whitespace().next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
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
