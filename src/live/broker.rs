//! Wake-ups between instances through Redis pub/sub.
//!
//! Pub/sub delivers at most once, to whoever listens at that moment, and keeps nothing: exactly
//! what a hint needs, since the store holds the twoots and every reader rescans it. While Redis
//! is unreachable, posts publish nothing (the publishing connection reconnects on its own) and
//! readers poll the store every [`super::POLL_WITHOUT_BROKER`]; both come back by themselves.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::Shared;
use crate::domain::MessageId;

/// The channel every instance publishes to and listens on.
const CHANNEL: &str = "twooter:posted";
/// Longest wait to connect to Redis, or for its answer.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Wait after a failed subscription before the next attempt.
const RETRY: Duration = Duration::from_secs(1);

/// The publishing side: one reconnecting, multiplexed connection, opened on first use.
pub struct Broker {
    client: Option<redis::Client>,
    publisher: Option<ConnectionManager>,
}

impl Broker {
    /// A broker at `url` (checked by the configuration), or none. Needs a Tokio runtime.
    pub fn new(url: Option<&str>) -> Self {
        let opened = url.map(|url| {
            let client = redis::Client::open(url)?;
            // Few, quick retries: a wake-up that comes late is worth little, and a post never
            // waits for it anyway.
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(RETRY);
            let publisher = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
            Ok::<_, redis::RedisError>((client, publisher))
        });
        match opened {
            Some(Ok((client, publisher))) => Self {
                client: Some(client),
                publisher: Some(publisher),
            },
            Some(Err(error)) => {
                tracing::error!(%error, "REDIS_URL cannot be used; the live feed will poll");
                Self::none()
            }
            None => Self::none(),
        }
    }

    fn none() -> Self {
        Self {
            client: None,
            publisher: None,
        }
    }

    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    /// Publishes `id` in the background; a failure only delays other instances' events.
    pub fn publish(&self, id: MessageId) {
        let Some(mut publisher) = self.publisher.clone() else {
            return;
        };
        tokio::spawn(async move {
            let sent: redis::RedisResult<()> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(id.as_i64())
                .query_async(&mut publisher)
                .await;
            if let Err(error) = sent {
                tracing::debug!(%error, "cannot publish a new twoot to Redis");
            }
        });
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
