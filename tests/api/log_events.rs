//! Log lines counted by level in `twooter_log_events_total`: what the error alert reads. Only the
//! lines the filter lets through count, and every level is exported before its first line.

use tracing_subscriber::fmt::MakeWriter;

use crate::support::{fresh_app, get};

/// A log writer that drops everything: the count is under test, not the text.
#[derive(Clone, Copy)]
struct Discard;

impl std::io::Write for Discard {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Discard {
    type Writer = Self;

    fn make_writer(&'w self) -> Self {
        *self
    }
}

/// The value of `twooter_log_events_total{level}` in the exposition, or `None` if absent.
fn logged(exposition: &str, level: &str) -> Option<u64> {
    let prefix = format!("twooter_log_events_total{{level=\"{level}\"}} ");
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn every_level_is_exported_from_zero_and_counts_what_the_filter_lets_through() {
    let (_db, app) = fresh_app().await;
    let before = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    for level in ["error", "warn", "info", "debug", "trace"] {
        assert!(
            logged(&before, level).is_some(),
            "twooter_log_events_total{{level=\"{level}\"}} is not exported:\n{before}"
        );
    }

    for json in [true, false] {
        let _guard =
            tracing::subscriber::set_default(twooter::telemetry::subscriber(json, "warn", Discard));
        tracing::error!("counted");
        tracing::warn!("counted");
        tracing::info!("filtered out, so not counted");
    }

    let after = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    let grew = |level| logged(&after, level).unwrap() - logged(&before, level).unwrap();
    assert_eq!(grew("error"), 2, "{after}");
    assert_eq!(grew("warn"), 2, "{after}");
    assert_eq!(grew("info"), 0, "{after}");
}
