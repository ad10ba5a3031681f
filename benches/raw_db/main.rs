//! The database alone, for `scripts/bench`: the statements the service runs on the request path,
//! through the same driver and the same pool set-up, with no HTTP in between. The API's throughput
//! divided by this one is what the HTTP layer costs.
//!
//! ```text
//! raw_db run --url URL --op tag|all|deep|get|stats|post --concurrency C --pool P --duration 10s
//!     (reads run the store's statements on its pools; a post is the store's own `insert`)
//! raw_db probe --url URL --tag coffee        ids for the cursor and by-id runs, as JSON
//! raw_db reset --url mysql://…/db            drop and create a MySQL database
//! raw_db buffer-pool --url URL --bytes N     grow InnoDB's buffer pool, as JSON
//! raw_db csv --rows N --out FILE             a CSV export in the prototype's format
//! ```
//!
//! `run` prints one JSON line: `{"ops_per_sec", "p50_ms", "p99_ms", "errors", …}`.
//!
//! `cargo build --release --bench raw_db` builds it under a name with a hash in it, which
//! `scripts/bench` reads from Cargo's JSON messages; by hand, `cargo bench --bench raw_db -- run …`
//! builds and runs it. Alone, `cargo bench` only prints what it is: it needs a database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::{Connection, Row};
use twooter::domain::{IdGenerator, MessageText, NewMessage, NodeId, Tag};
use twooter::seed::{Generator, SeedPlan};
use twooter::store::{sql, MySqlStore, PoolConfig, SqliteStore, Store};

/// The service's default `DATABASE_ACQUIRE_TIMEOUT`, which `scripts/bench` also gives the server.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Latencies are recorded in microseconds up to a minute, to 3 significant digits.
const MAX_LATENCY_US: u64 = 60_000_000;

#[derive(Debug, Parser)]
#[command(name = "raw_db", bin_name = "raw_db")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// What `cargo bench` passes to every bench.
    #[arg(long = "bench", global = true, hide = true)]
    _bench: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one statement from C concurrent tasks for a while and report throughput and latency.
    Run(RunArgs),
    /// Print the ids the benchmark reads: one at ~90% depth of a tag and one in its middle.
    Probe {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "coffee")]
        tag: String,
    },
    /// Drop and create the MySQL database the URL names.
    Reset {
        #[arg(long)]
        url: String,
    },
    /// Grow InnoDB's buffer pool to at least BYTES (never shrink it) and print it before and
    /// after, as JSON. Seeding 10M twoots into the default 128 MiB pool is bound by disk reads.
    BufferPool {
        #[arg(long)]
        url: String,
        #[arg(long)]
        bytes: u64,
    },
    /// Write N synthetic twoots as the prototype's CSV export (`message,tag,timestamp`).
    Csv {
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 25)]
        years: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    /// `GET /messages?tag=T&limit=L`
    Tag,
    /// `GET /messages?limit=L`
    All,
    /// `GET /messages?tag=T&limit=L&before=ID`
    Deep,
    /// `GET /messages/{id}`
    Get,
    /// `GET /management/message-stats`
    Stats,
    /// `POST /messages`
    Post,
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
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

/// The service's own store: reads run its statements on its pools, posts are its `insert`.
#[derive(Clone)]
enum Db {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
}

fn mysql_url(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("mariadb:") {
        Some(format!("mysql:{rest}"))
    } else if url.starts_with("mysql:") {
        Some(url.to_owned())
    } else {
        None
    }
}

impl Db {
    /// The service's own store, so its pools are set up exactly as the service's are.
    async fn connect(url: &str, pool: u32) -> anyhow::Result<Self> {
        let config = PoolConfig {
            max_connections: pool,
            acquire_timeout: ACQUIRE_TIMEOUT,
            bulk_load: false,
        };
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url, &config).await?))
        } else if let Some(url) = mysql_url(url) {
            Ok(Self::MySql(MySqlStore::connect(&url, &config).await?))
        } else {
            bail!("unsupported database URL {url:?}: use sqlite:, mysql: or mariadb:")
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            Self::Sqlite(store) => store,
            Self::MySql(store) => store,
        }
    }
}

/// What each task needs to run its statement.
struct Work {
    db: Db,
    op: Op,
    tag: String,
    limit: i64,
    before: i64,
    id: i64,
    /// Ids for posts, made as the service makes them.
    ids: IdGenerator,
    post_text: MessageText,
    post_tag: Tag,
}

/// Decodes a page row as the service does, so the driver does the same work.
fn sqlite_message(row: &sqlx::sqlite::SqliteRow) -> Result<(), sqlx::Error> {
    let _: i64 = row.try_get("id")?;
    let _: String = row.try_get("tag")?;
    let _: String = row.try_get("text")?;
    let _: i64 = row.try_get("created_at")?;
    Ok(())
}

fn mysql_message(row: &sqlx::mysql::MySqlRow) -> Result<(), sqlx::Error> {
    let _: i64 = row.try_get("id")?;
    let _: String = row.try_get("tag")?;
    let _: String = row.try_get("text")?;
    let _: chrono::NaiveDateTime = row.try_get("created_at")?;
    Ok(())
}

impl Work {
    async fn once(&self) -> anyhow::Result<()> {
        match (&self.db, self.op) {
            (Db::Sqlite(store), Op::Tag | Op::Deep | Op::All) => {
                let (tag, before) = self.page_bounds();
                let mut query = sqlx::query(sql::page(tag.is_some(), false));
                if let Some(tag) = tag {
                    query = query.bind(tag);
                }
                let rows = query
                    .bind(-1_i64)
                    .bind(before)
                    .bind(self.limit)
                    .fetch_all(store.readers())
                    .await?;
                rows.iter().try_for_each(sqlite_message)?;
            }
            (Db::MySql(store), Op::Tag | Op::Deep | Op::All) => {
                let (tag, before) = self.page_bounds();
                let mut query = sqlx::query(sql::mysql_page(tag.is_some(), false));
                if let Some(tag) = tag {
                    query = query.bind(tag);
                }
                let rows = query
                    .bind(-1_i64)
                    .bind(before)
                    .bind(self.limit)
                    .fetch_all(store.pool())
                    .await?;
                rows.iter().try_for_each(mysql_message)?;
            }
            (Db::Sqlite(store), Op::Get) => {
                let row = sqlx::query(sql::GET_MESSAGE)
                    .bind(self.id)
                    .fetch_optional(store.readers())
                    .await?
                    .context("no such twoot")?;
                sqlite_message(&row)?;
            }
            (Db::MySql(store), Op::Get) => {
                let row = sqlx::query(sql::GET_MESSAGE)
                    .bind(self.id)
                    .fetch_optional(store.pool())
                    .await?
                    .context("no such twoot")?;
                mysql_message(&row)?;
            }
            (Db::Sqlite(store), Op::Stats) => {
                let json: String = sqlx::query_scalar(sql::SQLITE_STATS)
                    .bind(0_i32)
                    .bind(3000_i32)
                    .fetch_one(store.readers())
                    .await?;
                let _: Vec<(i32, String, i64)> = serde_json::from_str(&json)?;
            }
            (Db::MySql(store), Op::Stats) => {
                let rows = sqlx::query(sql::MYSQL_STATS)
                    .bind(0_i32)
                    .bind(3000_i32)
                    .fetch_all(store.pool())
                    .await?;
                for row in &rows {
                    let _: i16 = row.try_get("year")?;
                    let _: String = row.try_get("tag")?;
                    let _: i64 = row.try_get("count")?;
                }
            }
            (db, Op::Post) => {
                let id = self.ids.next_id();
                let message = NewMessage {
                    id,
                    text: self.post_text.clone(),
                    tag: self.post_tag.clone(),
                    timestamp: id.timestamp(),
                };
                db.store().insert(&message).await?;
            }
        }
        Ok(())
    }

    /// The tag and the exclusive upper id bound of a page, as `id_bounds` in the store makes them.
    fn page_bounds(&self) -> (Option<&str>, i64) {
        match self.op {
            Op::Tag => (Some(&self.tag), i64::MAX),
            Op::Deep => (Some(&self.tag), self.before),
            _ => (None, i64::MAX),
        }
    }
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

async fn run(args: RunArgs) -> anyhow::Result<()> {
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
        ids: IdGenerator::new(NodeId::random()),
        post_text: MessageText::parse("bench").expect("a valid text"),
        post_tag: Tag::parse("bench").expect("a valid tag"),
    });
    let from = Instant::now() + args.warmup;
    let until = from + args.duration;
    // CPU over the measured window only, to set against the server's per request.
    let meter = tokio::spawn(async move {
        tokio::time::sleep_until(from.into()).await;
        let start = cpu_seconds();
        tokio::time::sleep_until(until.into()).await;
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
    let cpu = meter.await?;
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

async fn probe(url: &str, tag: &str) -> anyhow::Result<()> {
    const AT_DEPTH: &str =
        "SELECT id FROM messages WHERE tag = ? ORDER BY id DESC LIMIT 1 OFFSET ?";
    const TAG_COUNT: &str = "SELECT COUNT(*) FROM messages WHERE tag = ?";
    let db = Db::connect(url, 1).await?;
    let (backend, version, total, count, deep, middle) = match &db {
        Db::Sqlite(store) => {
            let readers = store.readers();
            let count: i64 = sqlx::query_scalar(TAG_COUNT)
                .bind(tag)
                .fetch_one(readers)
                .await?;
            let at = |offset: i64| {
                sqlx::query_scalar::<_, i64>(AT_DEPTH)
                    .bind(tag)
                    .bind(offset)
                    .fetch_optional(readers)
            };
            (
                "sqlite",
                sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
                    .fetch_one(readers)
                    .await?,
                sqlx::query_scalar::<_, Option<i64>>("SELECT SUM(count) FROM message_counts")
                    .fetch_one(readers)
                    .await?,
                count,
                at(count * 9 / 10).await?,
                at(count / 2).await?,
            )
        }
        Db::MySql(store) => {
            let pool = store.pool();
            let count: i64 = sqlx::query_scalar(TAG_COUNT)
                .bind(tag)
                .fetch_one(pool)
                .await?;
            let at = |offset: i64| {
                sqlx::query_scalar::<_, i64>(AT_DEPTH)
                    .bind(tag)
                    .bind(offset)
                    .fetch_optional(pool)
            };
            (
                "mysql",
                sqlx::query_scalar::<_, String>("SELECT VERSION()")
                    .fetch_one(pool)
                    .await?,
                sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT CAST(SUM(count) AS SIGNED) FROM message_counts",
                )
                .fetch_one(pool)
                .await?,
                count,
                at(count * 9 / 10).await?,
                at(count / 2).await?,
            )
        }
    };
    db.store().close().await;
    let (Some(deep), Some(middle)) = (deep, middle) else {
        bail!("no twoot is tagged {tag:?}");
    };
    let line = json!({
        "backend": backend,
        "version": version,
        "total": total.unwrap_or(0),
        "tag": tag,
        "tag_count": count,
        "deep_before": deep,
        "get_id": middle,
    });
    println!("{line}");
    Ok(())
}

async fn reset(url: &str) -> anyhow::Result<()> {
    let url = mysql_url(url).context("only MySQL databases are reset; remove a SQLite file")?;
    let mut server = url::Url::parse(&url)?;
    let name = server.path().trim_start_matches('/').to_owned();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the URL must name a database of letters, digits and _: {name:?}");
    }
    server.set_path("");
    let mut connection = sqlx::MySqlConnection::connect(server.as_str()).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`"))
        .execute(&mut connection)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    Ok(())
}

async fn buffer_pool(url: &str, bytes: u64) -> anyhow::Result<()> {
    let url = mysql_url(url).context("only MySQL has a buffer pool")?;
    let mut connection = sqlx::MySqlConnection::connect(&url).await?;
    let size = "SELECT CAST(@@innodb_buffer_pool_size AS UNSIGNED)";
    let before: u64 = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    if before < bytes {
        sqlx::query("SET GLOBAL innodb_buffer_pool_size = ?")
            .bind(bytes)
            .execute(&mut connection)
            .await?;
    }
    // The server resizes in the background, in whole chunks.
    let mut after: u64 = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    for _ in 0..600 {
        let status: Option<(String, String)> =
            sqlx::query_as("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")
                .fetch_optional(&mut connection)
                .await?;
        let resizing = status.is_some_and(|(_, value)| {
            !value.is_empty() && !value.contains("Completed") && !value.contains("finished")
        });
        if !resizing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    }
    connection.close().await?;
    println!("{}", json!({ "before": before, "after": after }));
    Ok(())
}

/// The prototype wrote Python's `str(datetime)`: a space, microseconds and no zone.
fn write_csv(rows: u64, out: &std::path::Path, seed: u64, years: u32) -> anyhow::Result<()> {
    let plan = SeedPlan {
        count: rows,
        seed,
        years,
        until: Utc::now(),
        node: NodeId::new(1).expect("node 1 exists"),
    };
    let mut generator = Generator::new(&plan);
    let mut writer = csv::Writer::from_path(out)?;
    writer.write_record(["message", "tag", "timestamp"])?;
    for _ in 0..rows {
        let message = generator.next_message();
        let timestamp = message
            .timestamp
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string();
        writer.write_record([message.text.as_str(), message.tag.as_str(), &timestamp])?;
    }
    writer.flush()?;
    Ok(())
}

/// The service's allocator, so that only HTTP separates the two measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(command) = Cli::parse().command else {
        // `cargo bench` and `cargo test --benches` run every bench target without a command.
        eprintln!("raw_db measures a database for scripts/bench; `--help` lists its commands");
        return Ok(());
    };
    match command {
        Command::Run(args) => run(args).await,
        Command::Probe { url, tag } => probe(&url, &tag).await,
        Command::Reset { url } => reset(&url).await,
        Command::BufferPool { url, bytes } => buffer_pool(&url, bytes).await,
        Command::Csv {
            rows,
            out,
            seed,
            years,
        } => write_csv(rows, &out, seed, years),
    }
}
