//! One subscriber's events: the replay from the store, then the live feed, without an id twice.
//!
//! The subscription is taken before the replay reads the store, so a twoot is either read by the
//! replay or sent live afterwards, or both: the replay remembers what it sent at or above the
//! live feed's floor (below it nothing is sent live any more) and the live part skips those,
//! forgetting each as the floor passes it. A subscriber without a cursor wants only what comes
//! after it subscribed, which is exactly what the live feed sends: it has no replay.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::Event;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use crate::domain::{Message, MessageId, Tag};
use crate::live::Subscription;
use crate::store::{PageQuery, Store, StoreError};

/// Twoots read per query of a replay.
const REPLAY_PAGE: u32 = 200;

pub struct Feed {
    store: Arc<dyn Store>,
    subscription: Subscription,
    tag: Option<Tag>,
    /// Replayed twoots not yet sent, oldest first.
    pending: VecDeque<Message>,
    /// The largest id the replay has read; `None` once it has read everything.
    replay_after: Option<MessageId>,
    /// Ids the replay sent that the live feed may send again: none below `live_floor`.
    replayed: BTreeSet<MessageId>,
    /// Every id the live feed sends from now on is at or above this.
    live_floor: MessageId,
    ended: bool,
}

impl Feed {
    /// Starts a feed that replays the twoots after `after`, if given, reading the first page now
    /// so that a database outage is answered 503 rather than with an empty stream.
    pub async fn start(
        store: Arc<dyn Store>,
        subscription: Subscription,
        tag: Option<Tag>,
        after: Option<MessageId>,
    ) -> Result<Self, StoreError> {
        let live_floor = subscription.floor;
        let mut feed = Self {
            store,
            subscription,
            tag,
            pending: VecDeque::new(),
            replay_after: after,
            replayed: BTreeSet::new(),
            live_floor,
            ended: false,
        };
        feed.read_replay().await?;
        Ok(feed)
    }

    pub fn events(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        stream::unfold(self, |mut feed| async move {
            let event = feed.next().await?;
            Some((Ok(event), feed))
        })
    }

    /// Reads the next page of the replay into `pending`.
    async fn read_replay(&mut self) -> Result<(), StoreError> {
        let Some(after) = self.replay_after else {
            return Ok(());
        };
        let mut page = self
            .store
            .page(&PageQuery {
                tag: self.tag.clone(),
                before: None,
                after: Some(after),
                limit: REPLAY_PAGE,
            })
            .await?;
        // Pages come newest first.
        page.reverse();
        self.replay_after = match page.last() {
            Some(last) if page.len() == REPLAY_PAGE as usize => Some(last.id),
            _ => None,
        };
        self.pending.extend(page);
        Ok(())
    }

    /// Raises the live floor to `floor`, forgetting the replayed ids below it: no live event
    /// can repeat them any more.
    fn forget_below(&mut self, floor: MessageId) {
        if floor > self.live_floor {
            self.live_floor = floor;
            if self.replayed.first().is_some_and(|first| *first < floor) {
                self.replayed = self.replayed.split_off(&floor);
            }
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(message) = self.pending.pop_front() {
                if message.id >= self.live_floor {
                    self.replayed.insert(message.id);
                }
                let json = serde_json::to_string(&message).expect("a message always serializes");
                return Some(message_event(message.id, &json));
            }
            if self.replay_after.is_some() {
                if let Err(error) = self.read_replay().await {
                    // The client reconnects with the last id it got and the replay goes on.
                    tracing::warn!(%error, "a stream's replay cannot read the database");
                    return None;
                }
                continue;
            }
            let received = tokio::select! {
                received = self.subscription.events.recv() => received,
                _ = self.subscription.closed.wait_for(|closed| *closed) => return None,
            };
            match received {
                Ok(event) => {
                    self.forget_below(event.floor);
                    let wanted = self
                        .tag
                        .as_ref()
                        .is_none_or(|tag| tag.as_str() == event.tag);
                    if wanted && !self.replayed.remove(&event.id) {
                        return Some(message_event(event.id, &event.json));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    self.ended = true;
                    tracing::info!(missed, "cut a stream subscriber that fell behind");
                    let reason = serde_json::json!({
                        "reason": format!(
                            "fell behind by more than the buffer ({missed} events missed); \
                             reconnect with Last-Event-ID to catch up"
                        ),
                    });
                    return Some(Event::default().event("overflow").data(reason.to_string()));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// The event of one twoot; `json` is copied once, into the event.
fn message_event(id: MessageId, json: &str) -> Event {
    Event::default()
        .event("message")
        .id(id.to_string())
        .data(json)
}
