//! The alert rules in a real Prometheus: `promtool check rules` accepts them, `promtool test
//! rules` runs the unit tests under `deploy/prometheus/tests/`, every alert has a case where it
//! fires and one where it stays quiet, and the series those cases feed the rules are ones the
//! service exports, label for label. Together: each alert fires on the service's own metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use axum::http::StatusCode;
use serde::Deserialize;

use crate::files::{self, files_under};
use crate::observability::ALERTS;
use crate::support::servers::unavailable;
use crate::support::{fresh_app, get, post_message};

pub const RULE_TESTS: &str = "deploy/prometheus/tests";

/// `promtool` from Debian's `prometheus` package, or `None` (with a line saying so) outside CI.
pub fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool").arg("--version").output();
    match found {
        Ok(output) if output.status.success() => Some("promtool"),
        _ => unavailable(
            "promtool",
            "promtool is not installed (apt-get install prometheus)",
        ),
    }
}

/// Runs promtool with `args` from the repository root; fails with its output unless it succeeds.
fn run_promtool(promtool: &str, args: &[&str]) -> String {
    let output = Command::new(promtool)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
struct RuleGroup {
    rules: Vec<AlertName>,
}

#[derive(Deserialize)]
struct AlertName {
    alert: String,
}

#[derive(Deserialize)]
struct UnitTestFile {
    rule_files: Vec<String>,
    tests: Vec<UnitTest>,
}

#[derive(Deserialize)]
struct UnitTest {
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertCase>,
}

#[derive(Deserialize)]
struct InputSeries {
    series: String,
}

#[derive(Deserialize)]
struct AlertCase {
    alertname: String,
    exp_alerts: Vec<serde_yaml_ng::Value>,
}

fn unit_test_files() -> Vec<String> {
    let files: Vec<String> = files_under(RULE_TESTS)
        .into_iter()
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    assert!(!files.is_empty(), "{RULE_TESTS}: no unit test files");
    files
}

#[test]
fn promtool_accepts_the_rules() {
    let Some(promtool) = promtool() else { return };
    let output = run_promtool(promtool, &["check", "rules", ALERTS]);
    assert!(output.contains("SUCCESS"), "{output}");
}

#[test]
fn the_rules_pass_their_promtool_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let files = unit_test_files();
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    run_promtool(promtool, &args);
}

#[test]
fn every_alert_has_a_case_that_fires_and_one_that_stays_quiet() {
    let rules: RuleFile = files::yaml_file(ALERTS);
    let alerts: BTreeSet<String> = rules
        .groups
        .into_iter()
        .flat_map(|g| g.rules)
        .map(|r| r.alert)
        .collect();
    let (mut fires, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for file in unit_test_files() {
        let tests: UnitTestFile = files::yaml_file(&file);
        assert_eq!(
            tests.rule_files,
            ["../alerts.yaml"],
            "{file}: must test {ALERTS}"
        );
        for case in tests.tests.iter().flat_map(|t| &t.alert_rule_test) {
            assert!(
                alerts.contains(&case.alertname),
                "{file}: tests {}, which {ALERTS} does not define",
                case.alertname
            );
            let set = if case.exp_alerts.is_empty() {
                &mut quiet
            } else {
                &mut fires
            };
            set.insert(case.alertname.clone());
        }
    }
    for alert in &alerts {
        assert!(
            fires.contains(alert),
            "{RULE_TESTS}: no case where {alert} fires"
        );
        assert!(
            quiet.contains(alert),
            "{RULE_TESTS}: no case where {alert} stays quiet"
        );
    }
}

/// A series in promtool's notation, `name{label="value", …}`: its name and label names.
fn series_shape(series: &str) -> (String, BTreeSet<String>) {
    let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
    let labels = labels
        .trim_end()
        .strip_suffix('}')
        .unwrap_or_else(|| panic!("{series}: no closing brace"));
    let names = labels
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(label, _)| label.trim().to_owned())
        .collect();
    (name.trim().to_owned(), names)
}

/// The exposition's series, by name, with the label names each carries.
fn exported_shapes(exposition: &str) -> BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    let mut shapes: BTreeMap<String, BTreeSet<BTreeSet<String>>> = BTreeMap::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let Some(series) = line.rsplit_once(' ').map(|(series, _)| series) else {
            continue;
        };
        let (name, labels) = series_shape(series);
        shapes.entry(name).or_default().insert(labels);
    }
    shapes
}

/// Labels Prometheus adds at scrape time, which the service does not write.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

#[tokio::test]
async fn the_series_the_unit_tests_feed_the_rules_are_the_ones_the_service_exports() {
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
        assert_eq!(get(&app, &path).await.status, StatusCode::OK, "GET {path}");
    }
    let scrape = get(&app, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let exposition = String::from_utf8(scrape.body).expect("the metrics are text");
    let exported = exported_shapes(&exposition);

    for file in unit_test_files() {
        let tests: UnitTestFile = files::yaml_file(&file);
        for input in tests.tests.iter().flat_map(|t| &t.input_series) {
            let (name, mut labels) = series_shape(&input.series);
            // `up` is Prometheus's own, and a test may feed another job on purpose.
            if !name.starts_with("twooter_") {
                continue;
            }
            for label in TARGET_LABELS {
                labels.remove(label);
            }
            let shapes = exported.get(&name).unwrap_or_else(|| {
                panic!("{file}: feeds {name}, which /metrics does not export:\n{exposition}")
            });
            assert!(
                shapes.contains(&labels),
                "{file}: feeds {name} with the labels {labels:?}; /metrics exports it with {shapes:?}"
            );
        }
    }
}
