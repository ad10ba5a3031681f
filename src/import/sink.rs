//! Valid rows gathered into batches, each stored in one transaction; a row whose id holds another
//! twoot moves on to its next id.

use chrono::{DateTime, Utc};

use super::{parse_timestamp, ImportObserver, ImportReport, RawRow, Rejection, PROBES};
use crate::domain::{imported_id, MessageText, NewMessage, Tag};
use crate::store::{Placement, Store, StoreError, ID_ATTEMPTS};

/// A row queued for storing: its place in the file, and which of its ids it is on.
struct Queued {
    line: u64,
    ordinal: u64,
    probe: u32,
}

/// Collects valid rows into batches and stores each full batch.
pub(super) struct BatchSink<'a> {
    store: &'a dyn Store,
    batch: Vec<NewMessage>,
    queued: Vec<Queued>,
    batch_size: usize,
    /// When the import began: a row posted later would sit above the ids of live posts.
    started: DateTime<Utc>,
    /// The last batch found rows already stored: an earlier run got this far.
    resuming: bool,
    pub(super) report: ImportReport,
}

impl<'a> BatchSink<'a> {
    pub(super) fn new(store: &'a dyn Store, batch_size: usize, started: DateTime<Utc>) -> Self {
        Self {
            store,
            batch: Vec::with_capacity(batch_size),
            queued: Vec::with_capacity(batch_size),
            batch_size,
            started,
            resuming: false,
            report: ImportReport::default(),
        }
    }

    /// Validates the row at `ordinal` (its place among the file's rows) and queues it, or reports
    /// why it is skipped.
    pub(super) async fn row(
        &mut self,
        line: u64,
        ordinal: u64,
        fields: Result<RawRow<'_>, String>,
        observer: &mut dyn ImportObserver,
    ) -> Result<(), StoreError> {
        match fields.and_then(|raw| self.validate(raw, ordinal)) {
            Ok(message) => {
                self.batch.push(message);
                self.queued.push(Queued {
                    line,
                    ordinal,
                    probe: 0,
                });
                if self.batch.len() >= self.batch_size {
                    self.flush(observer).await?;
                }
            }
            Err(reason) => self.reject(line, reason, observer),
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, reason: String, observer: &mut dyn ImportObserver) {
        self.report.rejected += 1;
        observer.rejected(&Rejection { line, reason });
    }

    fn validate(&self, raw: RawRow<'_>, ordinal: u64) -> Result<NewMessage, String> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("text", raw.text),
            ("tag", raw.tag),
            ("timestamp", raw.timestamp),
        ] {
            if value.is_none() {
                problems.push(format!("{name}: is required"));
            }
        }
        let text = raw.text.and_then(|t| {
            MessageText::parse(t)
                .map_err(|reason| problems.push(format!("text: {reason}")))
                .ok()
        });
        let tag = raw.tag.and_then(|t| {
            Tag::parse(t)
                .map_err(|reason| problems.push(format!("tag: {reason}")))
                .ok()
        });
        let timestamp = raw.timestamp.and_then(|t| {
            parse_timestamp(t)
                .and_then(|at| match at > self.started {
                    true => Err("must not be in the future"),
                    false => Ok(at),
                })
                .map_err(|reason| problems.push(format!("timestamp: {reason}")))
                .ok()
        });
        match (text, tag, timestamp) {
            (Some(text), Some(tag), Some(timestamp)) if problems.is_empty() => Ok(NewMessage {
                id: imported_id(timestamp, ordinal, 0)
                    .ok_or_else(|| "timestamp: must be between 1970 and 2109".to_owned())?,
                text,
                tag,
                timestamp,
            }),
            _ => Err(problems.join("; ")),
        }
    }

    /// Stores the queued rows that are not stored yet. A row whose id holds another twoot moves
    /// to its next id and goes again, alone with the others that moved.
    pub(super) async fn flush(
        &mut self,
        observer: &mut dyn ImportObserver,
    ) -> Result<(), StoreError> {
        // A first import finds nothing stored: a plain insert spares it a look-up of every id.
        // Once a batch meets a taken id, batches look their ids up until one finds none stored.
        if !self.resuming && !self.batch.is_empty() {
            match self.store.insert_batch(&self.batch).await {
                Ok(()) => {
                    self.report.imported += self.batch.len() as u64;
                    self.batch.clear();
                    self.queued.clear();
                    return Ok(());
                }
                Err(StoreError::DuplicateId(_)) => self.resuming = true,
                Err(error) => return Err(error),
            }
        }
        let already_stored = self.report.already_stored;
        let mut lost_races = 0;
        while !self.batch.is_empty() {
            let placements = match self.store.insert_missing(&self.batch).await {
                // Another writer took one of the free ids between the look-up and the insert:
                // looking again sees it.
                Err(StoreError::DuplicateId(taken)) if lost_races + 1 < ID_ATTEMPTS => {
                    tracing::warn!(%taken, "an id was taken during an import batch; looking again");
                    lost_races += 1;
                    continue;
                }
                result => result?,
            };
            let mut moved = Vec::new();
            let mut moved_rows = Vec::new();
            let rows = self.batch.drain(..).zip(self.queued.drain(..));
            for ((mut message, mut queued), placement) in rows.zip(placements) {
                match placement {
                    Placement::Stored => self.report.imported += 1,
                    Placement::AlreadyStored => self.report.already_stored += 1,
                    Placement::IdTaken if queued.probe + 1 >= PROBES => {
                        moved_rows.push((queued.line, None));
                    }
                    Placement::IdTaken => {
                        queued.probe += 1;
                        message.id = imported_id(message.timestamp, queued.ordinal, queued.probe)
                            .expect("the time was in range for the first id");
                        moved_rows.push((queued.line, Some((message, queued))));
                    }
                }
            }
            for (line, row) in moved_rows {
                match row {
                    Some(row) => moved.push(row),
                    None => self.reject(
                        line,
                        format!("no free id in its millisecond after {PROBES} tries"),
                        observer,
                    ),
                }
            }
            for (message, queued) in moved {
                self.batch.push(message);
                self.queued.push(queued);
            }
        }
        self.resuming = self.report.already_stored > already_stored;
        Ok(())
    }
}
