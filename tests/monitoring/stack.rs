//! Prometheus, Alertmanager and the blackbox exporter from Debian's packages, each a process on
//! a private loopback port with its own temporary directory, stopped by its pid when dropped.
//! Prometheus loads the repository's rules with every window and `for` shortened (see
//! [`fast_rules`]) and the repository's blackbox modules.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often Prometheus scrapes and evaluates in the test.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How often, and how long at most, the blackbox exporter probes `/readyz`: longer than a
/// readiness check takes with the database gone, so that the probe sees its 503 (and the
/// service counts it) rather than giving up first.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Every alert's `for` in the test.
pub const FOR: Duration = Duration::from_secs(5);
/// Every range selector's window in the test.
pub const WINDOW: Duration = Duration::from_secs(15);
/// Alertmanager's group_wait and group_interval in the test.
pub const GROUP_WAIT: Duration = Duration::from_secs(1);

const PROMETHEUS: &str = "prometheus";
const ALERTMANAGER: &str = "prometheus-alertmanager";
const BLACKBOX: &str = "prometheus-blackbox-exporter";

/// The three tools, or the name of the first one missing.
pub fn missing_tool() -> Option<&'static str> {
    [PROMETHEUS, ALERTMANAGER, BLACKBOX, "promtool"]
        .into_iter()
        .find(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_or(true, |s| !s.success())
        })
}

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A free loopback port: bound, read, released.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A server process that dies with the test, its output in a file kept for failures.
pub struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
    pub address: SocketAddr,
}

impl Daemon {
    fn start(name: &'static str, dir: &Path, address: SocketAddr, args: &[String]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new(name)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name,
            child,
            log,
            address,
        }
    }

    /// Waits until `path` answers 200, at most 30 s.
    async fn wait_ready(&mut self, path: &str) {
        let url = format!("http://{}{path}", self.address);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(reply) = reqwest::get(&url).await {
                if reply.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited with {status}:\n{}", self.name, self.output());
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Child::kill signals this child's own pid, nothing found by name.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `alerts.yaml` with every `for:` set to [`FOR`] and every `[…m]` window set to [`WINDOW`], so
/// that an outage of seconds fires the rules as an outage of minutes does in production.
pub fn fast_rules(rules: &str) -> String {
    let window = format!("[{}s]", WINDOW.as_secs());
    rules
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("for:") {
                let indent = &line[..line.len() - trimmed.len()];
                return format!("{indent}for: {}s", FOR.as_secs());
            }
            let mut out = String::new();
            let mut rest = line;
            while let Some(open) = rest.find('[') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                match after.find(']') {
                    Some(close)
                        if after[..close].ends_with('m')
                            && after[..close - 1].chars().all(|c| c.is_ascii_digit())
                            && close > 1 =>
                    {
                        out.push_str(&window);
                        rest = &after[close + 1..];
                    }
                    _ => {
                        out.push('[');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct Stack {
    pub prometheus: Daemon,
    pub alertmanager: Daemon,
    pub blackbox: Daemon,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// Starts the stack scraping `instances` (job `twooter`), probing their `/readyz` (job
    /// `twooter-readyz`) and notifying `webhook`.
    pub async fn start(instances: &[SocketAddr], webhook: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let seconds = |d: Duration| format!("{}s", d.as_secs());

        let rules = std::fs::read_to_string(repo("deploy/prometheus/alerts.yaml")).unwrap();
        std::fs::write(root.join("alerts.yaml"), fast_rules(&rules)).unwrap();

        let am_address = free_port();
        std::fs::write(
            root.join("alertmanager.yml"),
            format!(
                "route:\n  receiver: test\n  group_by: [alertname, instance]\n  \
                 group_wait: {wait}\n  group_interval: {wait}\n  repeat_interval: 1h\n\
                 receivers:\n  - name: test\n    webhook_configs:\n      - url: {webhook}\n        \
                 send_resolved: true\n",
                wait = seconds(GROUP_WAIT)
            ),
        )
        .unwrap();
        std::fs::create_dir(root.join("am-data")).unwrap();
        let mut alertmanager = Daemon::start(
            ALERTMANAGER,
            root,
            am_address,
            &[
                "--config.file=alertmanager.yml".into(),
                "--storage.path=am-data".into(),
                format!("--web.listen-address={am_address}"),
                // No gossip port: a single Alertmanager, nothing else listening.
                "--cluster.listen-address=".into(),
            ],
        );

        let bb_address = free_port();
        let mut blackbox = Daemon::start(
            BLACKBOX,
            root,
            bb_address,
            &[
                format!(
                    "--config.file={}",
                    repo("deploy/prometheus/blackbox.yml").display()
                ),
                format!("--web.listen-address={bb_address}"),
            ],
        );

        let targets = instances
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let probes = instances
            .iter()
            .map(|a| format!("'http://{a}/readyz'"))
            .collect::<Vec<_>>()
            .join(", ");
        std::fs::write(
            root.join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: {i}\n  scrape_timeout: {i}\n  evaluation_interval: {i}\n\
                 rule_files: [alerts.yaml]\n\
                 alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_address}']\n\
                 scrape_configs:\n\
                 \x20 - job_name: twooter\n    static_configs:\n      - targets: [{targets}]\n\
                 \x20 - job_name: twooter-readyz\n    scrape_interval: {p}\n    scrape_timeout: {p}\n    metrics_path: /probe\n    params:\n      module: [twooter_ready]\n    \
                 static_configs:\n      - targets: [{probes}]\n    relabel_configs:\n      \
                 - source_labels: [__address__]\n        target_label: __param_target\n      \
                 - source_labels: [__param_target]\n        target_label: instance\n      \
                 - target_label: __address__\n        replacement: '{bb_address}'\n",
                i = seconds(INTERVAL),
                p = seconds(PROBE_INTERVAL)
            ),
        )
        .unwrap();
        let prom_address = free_port();
        std::fs::create_dir(root.join("tsdb")).unwrap();
        let mut prometheus = Daemon::start(
            PROMETHEUS,
            root,
            prom_address,
            &[
                "--config.file=prometheus.yml".into(),
                "--storage.tsdb.path=tsdb".into(),
                format!("--web.listen-address={prom_address}"),
                // Firing alerts are sent again at this pace; the default minute would hide a
                // lost first notification.
                format!("--rules.alert.resend-delay={}", seconds(INTERVAL)),
            ],
        );

        alertmanager.wait_ready("/-/ready").await;
        blackbox.wait_ready("/-/healthy").await;
        prometheus.wait_ready("/-/ready").await;
        Self {
            prometheus,
            alertmanager,
            blackbox,
            _dir: dir,
        }
    }

    pub fn prometheus_url(&self) -> String {
        format!("http://{}", self.prometheus.address)
    }

    /// The logs of the three, for a failure message.
    pub fn output(&self) -> String {
        format!(
            "--- prometheus\n{}\n--- alertmanager\n{}\n--- blackbox\n{}",
            self.prometheus.output(),
            self.alertmanager.output(),
            self.blackbox.output()
        )
    }
}

#[test]
fn fast_rules_shortens_windows_and_durations_only() {
    let rules = "        expr: rate(x[5m]) > 0 and y[30m] or z[1h] or a[b]\n        for: 10m";
    assert_eq!(
        fast_rules(rules),
        "        expr: rate(x[15s]) > 0 and y[15s] or z[1h] or a[b]\n        for: 5s"
    );
}
