//! Wake-ups between instances through Redis pub/sub.
//!
//! Pub/sub delivers at most once, to whoever listens at that moment, and keeps nothing: exactly
//! what a hint needs, since the store holds the twoots and every reader rescans it. While Redis
//! is unreachable, posts publish nothing (a failed connection is not retried for a second) and
//! readers poll the store every [`super::POLL_WITHOUT_BROKER`]; both reconnect on their own.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use super::Shared;
use crate::domain::MessageId;

/// The channel every instance publishes to and listens on.
const CHANNEL: &str = "twooter:posted";
/// Longest wait to connect to Redis, or for its answer.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Wait after a failed connection before the next attempt.
const RETRY: Duration = Duration::from_secs(1);

/// The publishing side: one multiplexed connection, opened on first use and again after a failure.
pub struct Broker {
    client: Option<redis::Client>,
    publisher: Arc<Mutex<Publisher>>,
}

#[derive(Default)]
struct Publisher {
    connection: Option<MultiplexedConnection>,
    failed_at: Option<Instant>,
}

impl Broker {
    /// A broker at `url` (checked by the configuration), or none.
    pub fn new(url: Option<&str>) -> Self {
        let client = url.and_then(|url| match redis::Client::open(url) {
            Ok(client) => Some(client),
            Err(error) => {
                tracing::error!(%error, "REDIS_URL cannot be used; the live feed will poll");
                None
            }
        });
        Self {
            client,
            publisher: Arc::default(),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    /// Publishes `id` in the background; a failure only delays other instances' events.
    pub fn publish(&self, id: MessageId) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let publisher = self.publisher.clone();
        tokio::spawn(async move {
            let Some(mut connection) = connection(&client, &publisher).await else {
                return;
            };
            let sent: redis::RedisResult<()> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(id.as_i64())
                .query_async(&mut connection)
                .await;
            if let Err(error) = sent {
                tracing::debug!(%error, "cannot publish a new twoot to Redis");
                let mut state = publisher.lock().expect("never poisoned");
                state.connection = None;
                state.failed_at = Some(Instant::now());
            }
        });
    }
}

/// The publishing connection, opened if there is none and the last attempt is not too recent.
async fn connection(
    client: &redis::Client,
    publisher: &Mutex<Publisher>,
) -> Option<MultiplexedConnection> {
    {
        let state = publisher.lock().expect("never poisoned");
        if let Some(connection) = &state.connection {
            return Some(connection.clone());
        }
        if state.failed_at.is_some_and(|at| at.elapsed() < RETRY) {
            return None;
        }
    }
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let opened = client
        .get_multiplexed_async_connection_with_config(&config)
        .await;
    let mut state = publisher.lock().expect("never poisoned");
    match opened {
        Ok(connection) => {
            state.connection = Some(connection.clone());
            Some(connection)
        }
        Err(error) => {
            tracing::debug!(%error, "cannot connect to Redis to publish");
            state.failed_at = Some(Instant::now());
            None
        }
    }
}

/// Listens for other instances' posts and wakes the reader on each, forever, reconnecting after
/// any failure. `broker_up` says whether it listens now.
pub(super) async fn listen(shared: Arc<Shared>) {
    let Some(client) = shared.broker.client.clone() else {
        return;
    };
    loop {
        match subscribe(&client).await {
            Ok(pubsub) => {
                tracing::info!("the live feed listens to Redis");
                shared.broker_up.store(true, Ordering::Relaxed);
                // Whatever was posted while not listening is read now rather than at the next poll.
                shared.wake.notify_one();
                let mut messages = pubsub.into_on_message();
                while messages.next().await.is_some() {
                    shared.wake.notify_one();
                }
                shared.broker_up.store(false, Ordering::Relaxed);
                tracing::warn!("lost Redis: the live feed polls the store until it is back");
            }
            Err(error) => {
                shared.broker_up.store(false, Ordering::Relaxed);
                tracing::debug!(%error, "cannot listen to Redis; the live feed polls");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn subscribe(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let timed_out = || redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let mut pubsub = tokio::time::timeout(TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| timed_out())??;
    tokio::time::timeout(TIMEOUT, pubsub.subscribe(CHANNEL))
        .await
        .map_err(|_| timed_out())??;
    Ok(pubsub)
}
