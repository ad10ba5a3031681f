//! `deploy/prometheus/alerts.yaml`: every alert says what on-call needs. Whether the alerts fire
//! on the service's metrics is held by their promtool unit tests (`prometheus.rs`); whether every
//! dashboard query returns data, by the monitoring test on live metrics (`tests/monitoring`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::files;

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
