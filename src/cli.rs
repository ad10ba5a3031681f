//! The `twooter` command line: `serve` (the default), `migrate`, `import`, `seed`, `openapi`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::import::{ImportObserver, Rejection};

/// Exit status of an import that skipped rows, and of a recount that found drift it did not
/// repair: the command did its work, and found something to look at.
pub const EXIT_ROWS_REJECTED: u8 = 2;

/// Twooter: a microblogging API. Settings come from the environment; see the README.
#[derive(Debug, Parser)]
#[command(name = "twooter", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TWOOTER_GIT_SHA"), ")"))]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the database migrations that have not run yet, then exit.
    Migrate,
    /// Import twoots from the prototype's CSV export (message,tag,timestamp) or its JSON array.
    ///
    /// Bad rows are reported with their line and skipped; the exit status is 2 when any was.
    Import {
        /// The CSV or JSON file.
        file: PathBuf,
        /// Rows per transaction (1 to 1,000,000).
        #[arg(long, default_value_t = crate::import::DEFAULT_BATCH as u32,
              value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        batch_size: u32,
    },
    /// Add synthetic, realistic twoots: the same seed gives the same twoots.
    Seed {
        /// How many twoots (at least 1).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// The random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many years back from now they spread (1 to the years since 1970, where ids start).
        #[arg(long, default_value_t = 25, value_parser = parse_years)]
        years: u32,
    },
    /// Check the counters behind the statistics against the twoots they count, a year at a time,
    /// while the service runs; the exit status is 2 when any drifted and was not repaired.
    Recount {
        /// Set every drifted counter to the number of its twoots.
        #[arg(long)]
        repair: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage API keys: `/management/*` needs an admin key; posting needs a key with POSTING=keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a key and print it, once: only its hash is stored.
    Create {
        /// Whom or what the key is for (1 to 200 characters).
        #[arg(long, value_parser = parse_key_name)]
        name: String,
        /// What it may do: admin (everything) or poster (post twoots).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["admin", "poster"]))]
        role: String,
    },
    /// List the keys: id, role, name, when made, when revoked. Never the secrets.
    List,
    /// Revoke a key by its id (the part after `twt_`, as `keys list` shows it).
    Revoke {
        /// The key's id.
        id: String,
    },
}

fn parse_key_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err("expected 1 to 200 printable characters".to_owned());
    }
    Ok(name.to_owned())
}

/// Reads `--years`: at least one, and no further back than 1970, the first millisecond an id
/// can carry.
fn parse_years(raw: &str) -> Result<u32, String> {
    let most = u32::try_from(chrono::Datelike::year(&chrono::Utc::now()) - 1970).unwrap_or(0);
    match raw.parse::<u32>() {
        Ok(years) if (1..=most).contains(&years) => Ok(years),
        _ => Err(format!(
            "expected a whole number of years from 1 to {most} (ids start in 1970)"
        )),
    }
}

/// Parses the command line, runs the command and returns the process's exit status.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env file is normal; a malformed one is reported.
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("error: cannot read .env: {error}");
            return ExitCode::FAILURE;
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    crate::telemetry::init(config.log_format, &config.log_filter);
    match execute(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => crate::app::serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            let store = crate::app::open_store(&config).await?;
            store.migrate().await.context("migration failed")?;
            eprintln!("{} database is up to date", store.backend());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, batch_size } => import(config, file, batch_size as usize).await,
        Command::Seed { count, seed, years } => {
            let store = prepared_store(&config).await?;
            let ids = crate::app::id_source(&config, store.clone()).await?;
            let plan = crate::seed::SeedPlan {
                count,
                seed,
                years,
                until: chrono::Utc::now(),
                node: ids
                    .node()
                    .context("no node number right after leasing one")?,
            };
            let bar = progress_bar(count, "{bar:40} {pos}/{len} twoots ({per_sec}, {eta} left)");
            let started = Instant::now();
            let stored = crate::seed::seed(store.as_ref(), &plan, |n| bar.set_position(n)).await;
            bar.finish_and_clear();
            ids.release().await;
            let stored = stored?;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "seeded {stored} twoots in {seconds:.1} s ({:.0} per second)",
                stored as f64 / seconds.max(1e-9)
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Recount { repair } => recount(config, repair).await,
        Command::Keys { command } => keys(config, command).await,
        Command::Openapi => {
            println!("{}", crate::http::openapi().to_pretty_json()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configured store, migrated and tuned for bulk loads: commands that write need the tables.
async fn prepared_store(
    config: &Config,
) -> anyhow::Result<std::sync::Arc<dyn crate::store::Store>> {
    let mut config = config.clone();
    config.pool.bulk_load = true;
    let store = crate::app::open_store(&config).await?;
    store.migrate().await.context("migration failed")?;
    Ok(store)
}

async fn import(config: Config, file: PathBuf, batch_size: usize) -> anyhow::Result<ExitCode> {
    let store = prepared_store(&config).await?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let mut observer = ConsoleObserver {
        bar: progress_bar(size, "{bar:40} {bytes}/{total_bytes} ({eta} left)"),
    };
    let started = Instant::now();
    let (report, result) =
        crate::import::import_file(store.as_ref(), &file, batch_size, &mut observer).await;
    observer.bar.finish_and_clear();
    store.close().await;
    // What was stored is said also when the import stopped part-way: a rerun skips it.
    eprintln!(
        "imported {} twoots, skipped {} already stored, rejected {} rows, in {:.1} s",
        report.imported,
        report.already_stored,
        report.rejected,
        started.elapsed().as_secs_f64()
    );
    if let Err(error) = result {
        let resumable = matches!(error, crate::import::ImportError::Store(_));
        return Err(anyhow::Error::new(error).context(if resumable {
            "the import stopped; what it stored is kept, and running it again resumes"
        } else {
            "the import stopped"
        }));
    }
    Ok(if report.rejected > 0 {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

async fn recount(config: Config, repair: bool) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(&config).await?;
    let started = Instant::now();
    let report = crate::recount::recount(
        store.as_ref(),
        repair,
        |_| {},
        |drift| {
            let difference = drift.counters - drift.counted;
            let repaired = drift
                .repaired_to
                .map(|count| format!("; repaired to {count}"))
                .unwrap_or_default();
            eprintln!(
                "{} {}: counters say {}, {} twoots ({difference:+}){repaired}",
                drift.year, drift.tag, drift.counters, drift.counted
            );
        },
    )
    .await;
    store.close().await;
    let report = report.context("recount failed")?;
    eprintln!(
        "checked {} years, {} (year, tag) counters, {} twoots in {:.1} s: {} drifted{}",
        report.years,
        report.pairs,
        report.messages,
        started.elapsed().as_secs_f64(),
        report.drifts.len(),
        if repair && !report.drifts.is_empty() {
            ", all repaired"
        } else {
            ""
        }
    );
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ROWS_REJECTED)
    })
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(&config).await?;
    store.migrate().await.context("migration failed")?;
    let now = chrono::Utc::now().timestamp_millis();
    let result = match command {
        KeysCommand::Create { name, role } => {
            let role: crate::domain::Role = role.parse().map_err(anyhow::Error::msg)?;
            let key = crate::domain::PresentedKey::generate();
            store
                .create_api_key(&crate::store::ApiKeyRow {
                    id: key.id.clone(),
                    name: name.clone(),
                    role,
                    secret: key.hash(),
                    created_at: now,
                    revoked_at: None,
                })
                .await
                .context("cannot store the key")?;
            // The key on stdout alone, so that a script can capture it; the rest on stderr.
            println!("{}", key.reveal());
            eprintln!(
                "created {role} key {} for {name:?}: it is shown this once, store it now",
                key.id
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::List => {
            let keys = store.api_keys().await.context("cannot read the keys")?;
            println!(
                "{:<16}  {:<6}  {:<20}  {:<20}  name",
                "id", "role", "created", "revoked"
            );
            for key in &keys {
                let time = |ms: i64| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default()
                };
                println!(
                    "{:<16}  {:<6}  {:<20}  {:<20}  {}",
                    key.id,
                    key.role,
                    time(key.created_at),
                    key.revoked_at.map(time).unwrap_or_else(|| "-".to_owned()),
                    key.name
                );
            }
            eprintln!("{} keys", keys.len());
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Revoke { id } => {
            let id = id.trim().trim_start_matches("twt_");
            let id = id.split('_').next().unwrap_or_default();
            if store
                .revoke_api_key(id, now)
                .await
                .context("cannot revoke the key")?
            {
                eprintln!("revoked key {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: no key {id:?} that is not already revoked");
                Ok(ExitCode::FAILURE)
            }
        }
    };
    store.close().await;
    result
}

/// A progress bar on a terminal; nothing at all when stderr is not one.
fn progress_bar(length: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// Prints skipped rows above the progress bar.
struct ConsoleObserver {
    bar: ProgressBar,
}

impl ImportObserver for ConsoleObserver {
    fn rejected(&mut self, rejection: &Rejection) {
        self.bar
            .suspend(|| eprintln!("line {}: {}", rejection.line, rejection.reason));
    }

    fn progress(&mut self, bytes: u64) {
        self.bar.set_position(bytes);
    }
}
