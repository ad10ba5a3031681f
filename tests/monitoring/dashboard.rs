//! The Grafana dashboard against live metrics: every panel's query and every variable's query,
//! with Grafana's variables filled in, is run by `promtool query instant` on the test's
//! Prometheus and must return data.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::stack::{Stack, WINDOW};

const DASHBOARD: &str = "deploy/grafana/twooter-dashboard.json";

/// Every string under a key named `key`, anywhere in a JSON document.
fn strings_under(value: &Value, key: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (k == key, v.as_str()) {
                    out.push(s.to_owned());
                }
                strings_under(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_under(v, key, out)),
        _ => {}
    }
}

/// A query as Grafana sends it with every job and instance chosen: `$job` and `$instance` match
/// all, `$__rate_interval` is the test's window. A variable's `label_values(selector, label)` is
/// Grafana's, not PromQL: its selector is what Prometheus is asked.
fn as_sent(query: &str) -> String {
    let query = query
        .replace("$job", ".*")
        .replace("$instance", ".*")
        .replace("$__rate_interval", &format!("{}s", WINDOW.as_secs()));
    match query
        .strip_prefix("label_values(")
        .and_then(|rest| rest.rsplit_once(','))
    {
        Some((selector, _label)) => selector.trim().to_owned(),
        None => query,
    }
}

/// The dashboard's queries: each panel target's `expr` and each variable's `definition`.
fn queries() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DASHBOARD);
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    strings_under(&dashboard["panels"], "expr", &mut queries);
    strings_under(&dashboard["templating"], "definition", &mut queries);
    assert!(!queries.is_empty(), "{DASHBOARD}: no queries");
    queries
}

fn promtool_query(url: &str, query: &str) -> String {
    let output = Command::new("promtool")
        .args(["query", "instant", url, query])
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool query instant {query:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits until Prometheus scrapes and probes all `count` instances successfully.
pub async fn wait_until_scraped(stack: &Stack, count: usize) {
    let url = stack.prometheus_url();
    let deadline = Instant::now() + Duration::from_secs(30);
    for query in [
        r#"up{job="twooter"} == 1"#,
        r#"probe_success{job="twooter-readyz"} == 1"#,
    ] {
        loop {
            let answer = promtool_query(&url, query);
            if answer.lines().filter(|l| l.contains("=>")).count() == count {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{query}: not {count} series within 30 s: {answer}\n{}",
                stack.output()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Every dashboard query returns at least one series from the live metrics.
pub async fn every_query_answers(stack: &Stack) {
    let url = stack.prometheus_url();
    for query in queries() {
        let sent = as_sent(&query);
        let answer = promtool_query(&url, &sent);
        assert!(
            answer.contains("=>"),
            "{DASHBOARD}: {query:?} (sent as {sent:?}) returns no data from the live metrics"
        );
    }
}

#[test]
fn variables_become_what_grafana_sends() {
    assert_eq!(
        as_sent(r#"rate(x{job=~"$job", instance=~"$instance"}[$__rate_interval])"#),
        r#"rate(x{job=~".*", instance=~".*"}[15s])"#
    );
    assert_eq!(
        as_sent(r#"label_values(twooter_build_info{job=~"$job"}, instance)"#),
        r#"twooter_build_info{job=~".*"}"#
    );
}
