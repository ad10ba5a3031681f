//! Monitoring run for real: two Twooter instances on MariaDB through a connection the test can
//! cut, Prometheus scraping them with the repository's alert rules (windows and `for` shortened),
//! the blackbox exporter probing their `/readyz`, and Alertmanager notifying a receiver the test
//! runs. Cutting the database fires the endpoint-down, not-ready and 5xx-ratio alerts at the
//! receiver; restoring it resolves them. Every dashboard query answers on the live metrics.

#[path = "../support/mod.rs"]
mod support;

mod dashboard;
mod receiver;
mod stack;

use std::time::{Duration, Instant};

use serde_json::json;

use crate::receiver::Receiver;
use crate::stack::{Stack, FOR, GROUP_WAIT, INTERVAL, PROBE_INTERVAL, WINDOW};
use crate::support::process::{twooter, Server};
use crate::support::proxy::Proxy;
use crate::support::servers::unavailable;
use crate::support::{Backend, TestDb};

/// Slack for a loaded two-core machine on top of what the pipeline itself needs.
const SLACK: Duration = Duration::from_secs(5);

/// Sends API traffic to every instance until told to stop: pages and, now and then, a twoot.
fn traffic(bases: Vec<String>) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        for round in 0u64.. {
            if stopped.try_recv().is_ok() {
                return;
            }
            for base in &bases {
                let _ = client.get(format!("{base}/messages")).send().await;
                if round % 5 == 0 {
                    let _ = client
                        .post(format!("{base}/messages"))
                        .json(&json!({"text": format!("watched {round}"), "tag": "ops"}))
                        .send()
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    stop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fires_alerts_at_the_receiver_and_resolves_them() {
    if let Some(tool) = stack::missing_tool() {
        let why = format!("{tool} is not installed (apt-get install prometheus prometheus-alertmanager prometheus-blackbox-exporter)");
        let _: Option<()> = unavailable("monitoring test", &why);
        return;
    }
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let upstream = support::mysql_address();
    let mut proxy = Proxy::start(upstream).await;
    let through_proxy = db
        .url
        .replace(&upstream.to_string(), &proxy.address.to_string());

    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let instances: Vec<Server> = dirs
        .iter()
        .map(|dir| {
            let mut command = twooter(dir.path());
            command
                .env("DATABASE_URL", &through_proxy)
                .env("DATABASE_ACQUIRE_TIMEOUT", "300ms")
                .env("READINESS_TIMEOUT", "500ms");
            Server::start(command)
        })
        .collect();
    let addresses: Vec<_> = instances.iter().map(|s| s.address).collect();
    let receiver = Receiver::start().await;
    let stack = Stack::start(&addresses, &receiver.url()).await;
    let stop_traffic = traffic(instances.iter().map(|s| s.url("")).collect());

    // Healthy first: both instances scraped and probed, long enough for every window to fill.
    dashboard::wait_until_scraped(&stack, addresses.len()).await;
    tokio::time::sleep(WINDOW / 2).await;

    let cut = Instant::now();
    proxy.cut();
    // A probe, the `for`, one evaluation, Alertmanager's group_wait.
    let fire_limit = PROBE_INTERVAL + FOR + INTERVAL + GROUP_WAIT + SLACK;
    // The rates see the first 503s within a probe and a scrape.
    let ratio_limit = fire_limit + INTERVAL;
    let mut fired = Vec::new();
    for (alert, limit) in [
        ("TwooterEndpointDown", fire_limit),
        ("TwooterInstanceNotReady", ratio_limit),
        ("TwooterHigh5xxRatio", ratio_limit),
    ] {
        let got = receiver
            .wait_for(alert, "firing", cut, limit + SLACK * 2)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{alert} did not reach the receiver within {:?} of the cut; received {:?}\n{}",
                    limit + SLACK * 2,
                    receiver.all(),
                    stack.output()
                )
            });
        let took = got.at - cut;
        println!("{alert} fired at the receiver {took:.1?} after the cut (for: {FOR:?}, interval: {INTERVAL:?}, limit {limit:?})");
        assert!(
            took <= limit,
            "{alert} fired after {took:?}, over its limit {limit:?}: {:?}",
            got.labels
        );
        fired.push(alert);
    }

    // The dashboard's queries, on the live metrics of an outage: every panel has data.
    dashboard::every_query_answers(&stack).await;

    let restored = Instant::now();
    proxy.restore().await;
    // Resolution has no `for`: the probe succeeds at once, a rate forgets the 503s after its window.
    let resolve_limits = [
        PROBE_INTERVAL + INTERVAL + GROUP_WAIT + SLACK,
        WINDOW + INTERVAL * 2 + GROUP_WAIT + SLACK,
        WINDOW + INTERVAL * 2 + GROUP_WAIT + SLACK,
    ];
    for (alert, limit) in fired.into_iter().zip(resolve_limits) {
        let got = receiver
            .wait_for(alert, "resolved", restored, limit + SLACK * 2)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{alert} was not resolved at the receiver within {:?} of the restore; received {:?}\n{}",
                    limit + SLACK * 2,
                    receiver.all(),
                    stack.output()
                )
            });
        let took = got.at - restored;
        println!("{alert} resolved at the receiver {took:.1?} after the database returned (limit {limit:?})");
        assert!(
            took <= limit,
            "{alert} resolved after {took:?}, over its limit {limit:?}"
        );
    }
    let _ = stop_traffic.send(());
}
