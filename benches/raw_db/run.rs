//! `run`: one operation looped from C concurrent tasks for a while, its throughput, latency and
//! the CPU this process used, as one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;
use twooter::domain::{IdGenerator, MessageText, NodeId, Tag};

use crate::db::Db;
use crate::ops::{Op, Work};

/// Latencies are recorded in microseconds up to a minute, to 3 significant digits.
const MAX_LATENCY_US: u64 = 60_000_000;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[arg(long)]
    url: String,
    #[arg(long, value_enum)]
    op: Op,
    /// Concurrent tasks, each looping the statement.
    #[arg(long)]
    concurrency: usize,
    /// `DATABASE_MAX_CONNECTIONS`: the pool size (on SQLite, the readers; there is one writer).
    #[arg(long)]
    pool: u32,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Time spent running before recording starts, so pools are full and caches warm.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    warmup: Duration,
    #[arg(long, default_value = "coffee")]
    tag: String,
    #[arg(long, default_value_t = 20)]
    limit: i64,
    /// The cursor for `deep`.
    #[arg(long)]
    before: Option<i64>,
    /// The twoot for `get`.
    #[arg(long)]
    id: Option<i64>,
}

/// What one task saw in the measured window.
struct Tally {
    latencies_us: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// CPU time this process has used, user and system, from `/proc/self/stat`, whose clock ticks are
/// hundredths of a second on every Linux architecture.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it start with the state (field 3).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Loops the statement until `until`; operations that complete in `from..=until` are counted,
/// as wrk counts the responses that arrive within its duration.
async fn worker(work: Arc<Work>, from: Instant, until: Instant) -> Tally {
    let mut tally = Tally {
        latencies_us: histogram(),
        errors: 0,
        first_error: None,
    };
    loop {
        let started = Instant::now();
        if started >= until {
            return tally;
        }
        let result = work.once().await;
        let ended = Instant::now();
        // An operation that never waits (SQLite's reads) would let one task run the whole window
        // on its thread; taking turns, every task's operations wait as concurrent requests do.
        tokio::task::yield_now().await;
        if ended < from || ended > until {
            continue;
        }
        match result {
            Ok(()) => {
                let micros = (ended - started).as_micros().max(1);
                tally
                    .latencies_us
                    .saturating_record(u64::try_from(micros).unwrap_or(MAX_LATENCY_US));
            }
            Err(error) => {
                tally.errors += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let before = match args.op {
        Op::Deep => args
            .before
            .context("--before is needed for the deep page")?,
        _ => i64::MAX,
    };
    let id = match args.op {
        Op::Get => args.id.context("--id is needed for get")?,
        _ => 0,
    };
    let db = Db::connect(&args.url, args.pool).await?;
    let work = Arc::new(Work {
        db: db.clone(),
        op: args.op,
        tag: args.tag.clone(),
        limit: args.limit,
        before,
        id,
        // A node of its own, far from the ones a local server leases first.
        ids: IdGenerator::new(NodeId::new(1023).expect("1023 is a node number")),
        post_text: MessageText::parse("bench").expect("a valid text"),
        post_tag: Tag::parse("bench").expect("a valid tag"),
    });
    let from = Instant::now() + args.warmup;
    let until = from + args.duration;
    // CPU over the measured window only, to set against the server's per request. Read on a thread
    // of its own: an operation that never waits (SQLite's reads) keeps the runtime's threads busy
    // until the window has closed, so a task would wake too late to read the start.
    let meter = std::thread::spawn(move || {
        std::thread::sleep(from.saturating_duration_since(Instant::now()));
        let start = cpu_seconds();
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        Some(cpu_seconds()? - start?)
    });
    let tasks: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| tokio::spawn(worker(work.clone(), from, until)))
        .collect();
    let mut latencies_us = histogram();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let tally = task.await?;
        latencies_us.add(&tally.latencies_us)?;
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
    }
    let cpu = meter
        .join()
        .map_err(|_| anyhow::anyhow!("the CPU meter panicked"))?;
    db.store().close().await;
    let seconds = args.duration.as_secs_f64();
    let ops = latencies_us.len();
    let ms = |quantile: f64| latencies_us.value_at_quantile(quantile) as f64 / 1000.0;
    let line = json!({
        "op": format!("{:?}", args.op).to_lowercase(),
        "concurrency": args.concurrency,
        "pool": args.pool,
        "seconds": seconds,
        "ops": ops,
        "ops_per_sec": ops as f64 / seconds,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "max_ms": latencies_us.max() as f64 / 1000.0,
        "errors": errors,
        "first_error": first_error,
        "cpu_s": cpu,
        "cpu_us_per_op": cpu.filter(|_| ops > 0).map(|cpu| cpu * 1e6 / ops as f64),
    });
    println!("{line}");
    Ok(())
}
