//! Start-up and shutdown of the server: connect, migrate, seed the embedded database, serve, and
//! drain in-flight requests on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::{IdGenerator, MessageId};
use crate::http::service::Stopping;
use crate::http::{self, middleware, AppState, Shared};
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

/// The router with its state and middleware, ready to serve; every query it makes is timed. Starts
/// the post writers on the current tokio runtime.
pub fn build_router(config: &Config, store: Arc<dyn Store>, ids: Arc<IdGenerator>) -> axum::Router {
    build(config, store, ids, Stopping::default()).0
}

/// [`build_router`] whose `/readyz` fails once `stopping` is set, and the live feed it serves, to
/// close at shutdown.
fn build(
    config: &Config,
    store: Arc<dyn Store>,
    ids: Arc<IdGenerator>,
    stopping: Stopping,
) -> (axum::Router, Arc<crate::live::Hub>) {
    crate::metrics::install();
    crate::telemetry::register_log_events();
    let store: Arc<dyn Store> = Arc::new(InstrumentedStore(store));
    let catch_up = crate::domain::CatchUp {
        commit_within: config.post_commit_deadline,
        clock_skew: config.max_clock_skew,
    };
    let hub = crate::live::Hub::new(
        store.clone(),
        crate::live::Settings {
            max_subscribers: config.stream.max_subscribers,
            max_per_client: config.stream.max_per_client,
            buffer: config.stream.buffer,
            catch_up,
            redis_url: config.redis_url.clone(),
        },
    );
    let hub = Arc::new(hub);
    let poster = crate::posting::Poster::start(
        store.clone(),
        crate::posting::Settings {
            batch_max: config.post_batch_max,
            queue_max: config.post_queue_max,
        },
    );
    let state = AppState::new(Shared {
        store,
        poster: Arc::new(poster),
        ids,
        readiness_timeout: config.readiness_timeout,
        body_limit: config.body_limit,
        posting_needs_key: config.posting == crate::config::Posting::Keys,
        stopping,
        keys: Arc::default(),
        in_flight: Arc::default(),
        stats_cache: Arc::default(),
        catch_up,
        hub: hub.clone(),
        heartbeat: config.stream.heartbeat,
        limiter: Arc::new(limiter(config)),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    });
    let router = middleware::wrap(
        http::router(state),
        &middleware::Options {
            request_timeout: config.request_timeout,
            cors_origins: config.cors_origins.clone(),
        },
    );
    (router, hub)
}

/// The rate limiter: shared through Redis when `REDIS_URL` is set, else this instance's own.
fn limiter(config: &Config) -> Limiter {
    match &config.redis_url {
        Some(url) if config.rate_limits.is_on() => Limiter::shared(config.rate_limits, url)
            .expect("REDIS_URL was checked with the client's own reading at start-up"),
        _ => Limiter::in_process(config.rate_limits),
    }
}

/// Runs the server until SIGTERM or SIGINT; then fails readiness at once, keeps serving for
/// `SHUTDOWN_DELAY` (cut short by a second signal), stops accepting, lets in-flight requests
/// finish within the grace period, closes the pool and returns.
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
    let stopping = Stopping::default();
    let (router, hub) = build(&config, store.clone(), ids.ids(), stopping.clone());
    let purge = tokio::spawn(purge_expired_idempotency_keys(store.clone()));
    tracing::info!(
        address = %listener.local_addr()?,
        backend = store.backend(),
        node = node.get(),
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "ready: docs at http://{}/docs",
        listener.local_addr()?
    );

    let signalled = Arc::new(std::sync::OnceLock::<Instant>::new());
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    let delay = config.shutdown_delay;
    let stop = {
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            let _ = signalled.set(Instant::now());
            stopping.begin();
            if !delay.is_zero() {
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "stopping: not ready any more, still serving for SHUTDOWN_DELAY"
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {},
                    () = shutdown_signal() => tracing::info!("a second signal: stopping now"),
                }
            }
            // Streams never finish on their own: end them now, so that their clients reconnect to
            // another instance and this one drains in time.
            hub.close();
            let _ = drain_tx.send(true);
        }
    };
    let server = accept_loop(listener, router, &config, stop);
    let grace = config.shutdown_grace;
    let mut draining = drain_rx;
    let deadline = async move {
        let _ = draining.wait_for(|draining| *draining).await;
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
    let shutdown_ms = signalled
        .get()
        .map_or(0.0, |at| at.elapsed().as_secs_f64() * 1000.0);
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
/// requests. Each connection gets `HEADER_TIMEOUT` to send a request's headers (its first, in
/// HTTP/1 and HTTP/2 alike; each later one in HTTP/1), and at most
/// `MAX_CONNECTIONS` are open at once: past that, new ones wait in the listen backlog.
async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    config: &Config,
    stop: impl std::future::Future<Output = ()>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};

    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections as usize));
    let header_timeout = config.header_timeout;
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
        let asked = Arc::new(AtomicBool::new(false));
        let first_request = asked.clone();
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                first_request.store(true, Ordering::Relaxed);
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
            tokio::pin!(connection);
            // hyper's header timeout is HTTP/1's alone: a connection that has not completed a
            // first request within HEADER_TIMEOUT in any version (a preface sent half, or an
            // HTTP/2 connection that opens no stream) is closed here.
            let opening = tokio::time::timeout(header_timeout, &mut connection).await;
            if opening.is_err() && asked.load(Ordering::Relaxed) {
                // A client that goes away or times out ends its connection; nothing to report.
                let _ = connection.await;
            }
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
