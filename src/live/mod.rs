//! The live feed: every new twoot, found in the store by one reader per instance and fanned out in
//! memory to this instance's subscribers.
//!
//! The broker (Redis pub/sub, `REDIS_URL`) carries only wake-ups: an instance that stores a twoot
//! publishes its id, and every instance's reader then reads the store past what it has delivered.
//! A lost wake-up delays an event until the next periodic scan, never loses it. Twoots do not
//! commit in id order (see `domain::CatchUp`), so each scan reads again every id that may
//! still be unsettled and delivers the ones it has not delivered before: an event can come out of
//! id order, never twice and never not at all.
//!
//! This floor uses the domain and the store, nothing above them.

mod broker;
mod scan;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch, Notify, OnceCell};

use crate::domain::{CatchUp, Message, MessageId};
use crate::store::{Store, StoreError};

pub use broker::Broker;

/// How the live feed runs on this instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most subscribers at once on this instance.
    pub max_subscribers: usize,
    /// Most subscribers at once from one client address.
    pub max_per_client: usize,
    /// Events a subscriber may fall behind the newest before it is cut.
    pub buffer: usize,
    /// Which ids are settled: stored, or never to be.
    pub catch_up: CatchUp,
    /// `redis://…`: where instances wake each other; without it each instance polls the store.
    pub redis_url: Option<String>,
}

/// How often the reader scans the store while it hears no broker: the most an event waits then.
pub const POLL_WITHOUT_BROKER: Duration = Duration::from_millis(250);
/// How often the reader scans the store while the broker is up, for a wake-up that was lost.
pub const RESCAN_WITH_BROKER: Duration = Duration::from_secs(1);

/// One new twoot, ready to send.
#[derive(Debug)]
pub struct Event {
    pub id: MessageId,
    pub tag: String,
    /// The twoot as one item of `GET /messages`, made once for every subscriber.
    pub json: String,
    /// Every event sent after this one has an id at or above this: a subscriber need remember
    /// no id below it to tell a repeat.
    pub floor: MessageId,
}

impl Event {
    fn new(message: &Message, floor: MessageId) -> Self {
        Self {
            id: message.id,
            tag: message.tag.clone(),
            json: serde_json::to_string(message).expect("a message always serializes"),
            floor,
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// Full, or stopping.
    #[error("this instance has as many subscribers as it takes, or is stopping")]
    Full,
    #[error("this client has as many subscriptions as it may")]
    ClientFull,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The live feed of one instance. Nothing runs until the first subscriber comes.
pub struct Hub {
    shared: Arc<Shared>,
    started: OnceCell<()>,
}

struct Shared {
    store: Arc<dyn Store>,
    settings: Settings,
    sender: broadcast::Sender<Arc<Event>>,
    wake: Notify,
    broker: Broker,
    broker_up: AtomicBool,
    /// Every twoot stored with an id at or above this is delivered, or will be, by the reader.
    floor: AtomicI64,
    /// True once the instance is stopping: every subscription ends.
    closed: watch::Sender<bool>,
    subscribers: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    total: usize,
    per_client: HashMap<Option<IpAddr>, usize>,
}

/// A subscriber's place in the feed.
pub struct Subscription {
    pub events: broadcast::Receiver<Arc<Event>>,
    /// Every twoot the reader sends from now on has an id at or above this: a replay from the
    /// store needs to remember, of the ids it sends, only those.
    pub floor: MessageId,
    /// Turns true when the instance stops.
    pub closed: watch::Receiver<bool>,
    _slot: Slot,
}

/// A subscriber's count against the limits, given back when dropped.
struct Slot {
    shared: Arc<Shared>,
    client: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut slots = self.shared.subscribers.lock().expect("never poisoned");
        slots.total -= 1;
        if let Some(count) = slots.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                slots.per_client.remove(&self.client);
            }
        }
        gauge(slots.total);
    }
}

impl Hub {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let (sender, _) = broadcast::channel(settings.buffer.max(1));
        let broker = Broker::new(settings.redis_url.as_deref());
        Self {
            shared: Arc::new(Shared {
                store,
                settings,
                sender,
                wake: Notify::new(),
                broker,
                broker_up: AtomicBool::new(false),
                floor: AtomicI64::new(0),
                closed: watch::Sender::new(false),
                subscribers: Mutex::default(),
            }),
            started: OnceCell::new(),
        }
    }

    /// Says that this instance stored `id`: wakes this instance's reader and, through the broker,
    /// every other instance's. Returns at once.
    pub fn posted(&self, id: MessageId) {
        self.shared.wake.notify_one();
        self.shared.broker.publish(id);
    }

    /// Ends every subscription, and refuses new ones: the instance is stopping.
    pub fn close(&self) {
        self.shared.closed.send_replace(true);
    }

    /// Whether the reader hears the broker now (false without one).
    pub fn broker_up(&self) -> bool {
        self.shared.broker_up.load(Ordering::Relaxed)
    }

    /// Takes a slot for `client` and a place in the feed, starting the reader on first use.
    pub async fn subscribe(&self, client: Option<IpAddr>) -> Result<Subscription, SubscribeError> {
        let shared = &self.shared;
        {
            let mut slots = shared.subscribers.lock().expect("never poisoned");
            if slots.total >= shared.settings.max_subscribers || *shared.closed.borrow() {
                return Err(SubscribeError::Full);
            }
            let mine = slots.per_client.entry(client).or_default();
            if *mine >= shared.settings.max_per_client {
                return Err(SubscribeError::ClientFull);
            }
            *mine += 1;
            slots.total += 1;
            gauge(slots.total);
        }
        let slot = Slot {
            shared: shared.clone(),
            client,
        };
        self.started
            .get_or_try_init(|| scan::start(shared.clone()))
            .await?;
        // The floor only rises, and the reader sends only ids at or above it: read before
        // subscribing, it bounds every id this subscriber will be sent.
        let floor = MessageId::from_i64(shared.floor.load(Ordering::Acquire));
        Ok(Subscription {
            events: shared.sender.subscribe(),
            floor,
            closed: shared.closed.subscribe(),
            _slot: slot,
        })
    }
}

/// Records the number of subscribers of this instance.
fn gauge(total: usize) {
    metrics::gauge!("twooter_stream_subscribers").set(total as f64);
}
