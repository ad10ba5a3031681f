//! Log set-up: JSON lines for machines, readable text for people at a terminal; every line
//! counted by level (`twooter_log_events_total`), so errors can be alerted on from the metrics
//! alone; and how errors are written into them.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global log subscriber, writing to stdout, once; later calls do nothing (tests
/// start many apps).
pub fn init(format: LogFormat, filter: &str) {
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let _ = subscriber(json, filter, std::io::stdout).try_init();
}

/// The service's log subscriber writing to `writer`: JSON lines (each with the current request's
/// span) or compact text, filtered by `filter` in `RUST_LOG` syntax.
pub fn subscriber<W>(json: bool, filter: &str, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_writer(writer);
    if json {
        Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish()
                .with(CountEvents),
        )
    } else {
        Box::new(builder.compact().finish().with(CountEvents))
    }
}

/// Log lines written, by level: the metric the error alert reads.
pub const LOG_EVENTS: &str = "twooter_log_events_total";

const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

fn level_label(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Exports every level's count at zero, so that a rate over errors has a series before the
/// first error; call once the metrics recorder is installed.
pub fn register_log_events() {
    metrics::describe_counter!(LOG_EVENTS, "Log lines written, by level");
    for level in LEVELS {
        metrics::counter!(LOG_EVENTS, "level" => level_label(level)).increment(0);
    }
}

/// Counts each event the log filter lets through: layered over the formatter, it sees exactly
/// the lines that are written.
struct CountEvents;

impl<S: Subscriber> Layer<S> for CountEvents {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = level_label(*event.metadata().level());
        metrics::counter!(LOG_EVENTS, "level" => level).increment(1);
    }
}

/// Displays an error with all its causes: `outer: inner: root`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
