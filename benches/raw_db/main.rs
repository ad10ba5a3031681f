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

mod db;
mod ops;
mod run;
mod setup;

use clap::{Parser, Subcommand};

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
    Run(run::RunArgs),
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
        Command::Run(args) => run::run(args).await,
        Command::Probe { url, tag } => setup::probe(&url, &tag).await,
        Command::Reset { url } => setup::reset(&url).await,
        Command::BufferPool { url, bytes } => setup::buffer_pool(&url, bytes).await,
        Command::Csv {
            rows,
            out,
            seed,
            years,
        } => setup::write_csv(rows, &out, seed, years),
    }
}
