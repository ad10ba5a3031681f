//! The one reader of an instance: scans the store for twoots it has not delivered and sends them
//! to the subscribers.
//!
//! A scan reads every id from the settled line of the scan before it upwards. Every id below that
//! line was stored before that scan read, so it was read then or earlier; every id at or above it
//! is read again, and sent only if it was not sent before. Twoots that commit late, after a newer
//! one was sent, are thus sent on the next scan, out of id order, once.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Utc;

use super::{Event, Shared, POLL_WITHOUT_BROKER, RESCAN_WITH_BROKER};
use crate::domain::MessageId;
use crate::store::{PageQuery, StoreError};

/// Rows read per query of a scan.
const PAGE: u32 = 1000;

/// What the reader has sent: every stored id below `floor`, and `sent` above it.
struct Window {
    floor: MessageId,
    sent: BTreeSet<MessageId>,
}

/// Reads the store once without sending anything, so that subscribers get what is new from now
/// on, then keeps reading in the background.
pub(super) async fn start(shared: Arc<Shared>) -> Result<(), StoreError> {
    let mut window = Window {
        floor: settled_line(&shared),
        sent: BTreeSet::new(),
    };
    shared.floor.store(window.floor.as_i64(), Ordering::Release);
    scan(&shared, &mut window, false).await?;
    if shared.broker.is_configured() {
        tokio::spawn(super::broker::listen(shared.clone()));
    }
    tokio::spawn(run(shared, window));
    Ok(())
}

/// Scans when woken, and at least every [`RESCAN_WITH_BROKER`] (or [`POLL_WITHOUT_BROKER`] while
/// the broker is not heard), forever.
async fn run(shared: Arc<Shared>, mut window: Window) {
    loop {
        let every = if shared.broker_up.load(Ordering::Relaxed) {
            RESCAN_WITH_BROKER
        } else {
            POLL_WITHOUT_BROKER
        };
        tokio::select! {
            () = shared.wake.notified() => {},
            () = tokio::time::sleep(every) => {},
        }
        if let Err(error) = scan(&shared, &mut window, true).await {
            tracing::warn!(%error, "the live feed cannot read new twoots; trying again");
            tokio::time::sleep(POLL_WITHOUT_BROKER).await;
        }
    }
}

/// The first id that may not be settled now.
fn settled_line(shared: &Shared) -> MessageId {
    shared.settings.catch_up.settled_below(Utc::now())
}

/// Reads every id at or above the window's floor, sends those not sent before (if `send`), and
/// raises the floor to the settled line as it was before the read.
async fn scan(shared: &Shared, window: &mut Window, send: bool) -> Result<(), StoreError> {
    let line = settled_line(shared);
    let mut after = MessageId::from_i64(window.floor.as_i64().saturating_sub(1));
    loop {
        let mut page = shared
            .store
            .page(&PageQuery {
                tag: None,
                before: None,
                after: Some(after),
                limit: PAGE,
            })
            .await?;
        let full = page.len() == PAGE as usize;
        // Pages come newest first.
        page.reverse();
        for message in &page {
            if window.sent.insert(message.id) && send {
                // No subscriber is not an error: the twoot is sent to nobody.
                let _ = shared
                    .sender
                    .send(Arc::new(Event::new(message, window.floor)));
            }
        }
        match page.last() {
            Some(last) if full => after = last.id,
            _ => break,
        }
    }
    if line > window.floor {
        window.floor = line;
        window.sent = window.sent.split_off(&line);
        shared.floor.store(line.as_i64(), Ordering::Release);
    }
    Ok(())
}
