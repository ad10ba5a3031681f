//! Start-up and shutdown of the server: connect, migrate, seed the embedded database, serve, and
//! drain in-flight requests on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::{IdGenerator, MessageId};
use crate::http::{self, middleware, AppState};
use crate::lease::IdSource;
use crate::metrics::InstrumentedStore;
use crate::ratelimit::Limiter;
use crate::store::{self, Store};

/// Opens the configured store.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    store::connect(config.database_url(), &config.pool)
        .await
        .with_context(|| {
            format!(
                "cannot open the {} database in {}",
                scheme(config.database_url()),
                config.database_variable()
            )
        })
}

fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}

/// Where ids get their node number: `NODE_ID`, or a lease from the database, renewed in the
/// background until [`IdSource::release`].
pub async fn id_source(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<IdSource> {
    Ok(IdSource::start(store, config.node_id, config.node_lease_ttl).await?)
}

/// Refuses to run when this machine's clock is more than `MAX_CLOCK_SKEW` behind the newest
/// stored id: its posts would sort below twoots that are older than them.
pub async fn check_clock(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let Some(newest) = store.newest_id().await? else {
        return Ok(());
    };
    let behind_ms = newest.unix_ms() - chrono::Utc::now().timestamp_millis();
    let limit_ms = i64::try_from(config.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    anyhow::ensure!(
        behind_ms <= limit_ms,
        "this machine's clock is {:.1} s behind the newest stored twoot ({}, at {}), more than \
         MAX_CLOCK_SKEW ({}): fix the clock (NTP) before starting",
        behind_ms as f64 / 1000.0,
        newest,
        MessageId::timestamp(newest).to_rfc3339(),
        humantime::format_duration(config.max_clock_skew),
    );
    Ok(())
}

/// The router with its state and middleware, ready to serve; every query it makes is timed.
pub fn build_router(config: &Config, store: Arc<dyn Store>, ids: Arc<IdGenerator>) -> axum::Router {
    crate::metrics::install();
    crate::telemetry::register_log_events();
    let state = AppState {
        store: Arc::new(InstrumentedStore(store)),
        ids,
        readiness_timeout: config.readiness_timeout,
        body_limit: config.body_limit,
        posting_needs_key: config.posting == crate::config::Posting::Keys,
        in_flight: Arc::default(),
        stats_cache: Arc::default(),
        catch_up: http::messages::catch_up::CatchUp {
            commit_within: config.post_commit_deadline,
            clock_skew: config.max_clock_skew,
        },
        limiter: Arc::new(limiter(config)),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    };
    middleware::wrap(
        http::router(state),
        &middleware::Options {
            request_timeout: config.request_timeout,
            cors_origins: config.cors_origins.clone(),
        },
    )
}

/// The rate limiter: shared through Redis when `REDIS_URL` is set, else this instance's own.
fn limiter(config: &Config) -> Limiter {
    match &config.redis_url {
        Some(url) if config.rate_limits.is_on() => Limiter::shared(config.rate_limits, url)
            .expect("REDIS_URL was checked with the client's own reading at start-up"),
        _ => Limiter::in_process(config.rate_limits),
    }
}

/// Runs the server until SIGTERM or SIGINT, then lets in-flight requests finish within the grace
/// period, closes the pool and returns.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = open_store(&config).await?;
    if config.migrate_on_start {
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
    }
    crate::metrics::install();
    check_clock(&config, store.as_ref()).await?;
    let ids = id_source(&config, store.clone()).await?;
    let node = ids
        .node()
        .context("no node number right after leasing one")?;
    if config.is_embedded() && store.is_empty().await? {
        let plan = crate::seed::demo_plan(node);
        let count = crate::seed::seed(store.as_ref(), &plan, |_| {}).await?;
        tracing::info!(count, "filled the new embedded database with demo twoots");
    }
    let address = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let router = build_router(&config, store.clone(), ids.ids());
    let purge = tokio::spawn(purge_expired_idempotency_keys(store.clone()));
    tracing::info!(
        address = %listener.local_addr()?,
        backend = store.backend(),
        node = node.get(),
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "ready: docs at http://{}/docs",
        listener.local_addr()?
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None::<Instant>);
    let server = accept_loop(listener, router, &config, async move {
        shutdown_signal().await;
        let _ = stop_tx.send(Some(Instant::now()));
    });
    let grace = config.shutdown_grace;
    let mut stopped = stop_rx.clone();
    let deadline = async move {
        let _ = stopped.wait_for(Option::is_some).await;
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "stopping: finishing in-flight requests"
        );
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => {},
        () = deadline => tracing::warn!("grace period over: dropping the requests still running"),
    }
    purge.abort();
    ids.release().await;
    store.close().await;
    let signalled = *stop_rx.borrow();
    let shutdown_ms = signalled.map_or(0.0, |at| at.elapsed().as_secs_f64() * 1000.0);
    tracing::info!(shutdown_ms, "stopped");
    Ok(())
}

/// Idempotency records deleted per statement: short transactions that never hold many locks.
const PURGE_BATCH: u32 = 1000;

/// Deletes the Idempotency-Key records older than their lifetime every few minutes, so the table
/// holds about a day of keyed posts. Every instance does it; deleting what another deleted is free.
async fn purge_expired_idempotency_keys(store: Arc<dyn Store>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    let lifetime_ms = http::messages::idempotency::KEY_LIFETIME.as_millis() as i64;
    loop {
        every.tick().await;
        let before = chrono::Utc::now().timestamp_millis() - lifetime_ms;
        loop {
            match store.purge_idempotency(before, PURGE_BATCH).await {
                Ok(deleted) if deleted == u64::from(PURGE_BATCH) => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot purge expired idempotency keys");
                    break;
                }
            }
        }
    }
}

/// Accepts connections until `stop` resolves, then waits for the open ones to finish their
/// requests. Each connection gets `HEADER_TIMEOUT` to send a request's headers, and at most
/// `MAX_CONNECTIONS` are open at once: past that, new ones wait in the listen backlog.
async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    config: &Config,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections as usize));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, mostly: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out ends its connection; nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
