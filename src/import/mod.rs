//! `twooter import FILE`: moves the prototype's data in. Reads the prototype's CSV export (header
//! `message,tag,timestamp`) or the JSON array its `GET /messages` returned, keeps each twoot's time,
//! reports every bad row with its line and skips it, and stores the good rows in batches.
//!
//! Files of any size stream through in constant memory. Each row's id follows from its time and
//! its position in the file ([`imported_id`]), so importing a file again, or again after a crash
//! part-way, stores exactly the rows that one whole run would have: rows already stored are
//! recognised by their id, text and tag, and skipped.

mod csv;
mod json;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::domain::{imported_id, MessageText, NewMessage, Tag};
use crate::store::{Placement, Store, StoreError, ID_ATTEMPTS};

use self::csv::CsvRecords;
use self::json::{ArrayError, JsonItems};

/// Rows per transaction unless told otherwise. Rows land all over the `(tag, id)` index, and each
/// commit writes every page its batch touched: 50,000 rows share pages that 10,000 do not (a
/// million rows import in 17 s against 42 s), for about 12 MB of rows held.
pub const DEFAULT_BATCH: usize = 50_000;

/// Ids tried for a row whose id holds a different twoot before the row is reported as rejected.
/// Another twoot in the same millisecond at the same spread slot is already rare; this many means
/// the millisecond is full.
const PROBES: u32 = 64;

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The row's line in the file, counting from 1.
    pub line: u64,
    /// Everything wrong with it.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows stored by this run.
    pub imported: u64,
    /// Rows found already stored, by an earlier run of the same file.
    pub already_stored: u64,
    /// Rows not imported, each reported with its line.
    pub rejected: u64,
}

/// Why an import stopped before the end of the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a twoot CSV: {0}")]
    Header(String),
    #[error("not a JSON array of twoots: {0}")]
    Json(String),
    #[error("storing twoots failed")]
    Store(#[from] StoreError),
}

/// Where an import reports as it goes.
pub trait ImportObserver {
    /// A row was skipped.
    fn rejected(&mut self, rejection: &Rejection);
    /// `bytes` of the file have been read.
    fn progress(&mut self, bytes: u64);
}

/// Imports `path`: JSON if its first non-blank character is `[`, CSV otherwise. The report says
/// what was done also when the import stopped part-way, with the error that stopped it.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    batch_size: usize,
    observer: &mut dyn ImportObserver,
) -> (ImportReport, Result<(), ImportError>) {
    let mut sink = BatchSink::new(store, batch_size.max(1), Utc::now());
    let read = read_file(path, &mut sink, observer).await;
    // The rows read before a break in the file are good: they are stored too, unless it was the
    // store that failed.
    if matches!(read, Err(ImportError::Store(_))) {
        return (sink.report, read);
    }
    let stored = sink.flush(observer).await.map_err(ImportError::from);
    (sink.report, read.and(stored))
}

async fn read_file(
    path: &Path,
    sink: &mut BatchSink<'_>,
    observer: &mut dyn ImportObserver,
) -> Result<(), ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path).map_err(read_error)?);
    let first = loop {
        let buffer = reader.fill_buf().map_err(read_error)?;
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => break Some(buffer[at]),
            None if buffer.is_empty() => break None,
            None => {
                let length = buffer.len();
                reader.consume(length);
            }
        }
    };
    if first == Some(b'[') {
        read_json(JsonItems::new(reader), sink, observer).await
    } else {
        read_csv(CsvRecords::new(reader), sink, observer).await
    }
    .map_err(|error| match error {
        ReadError::Io(source) => read_error(source),
        ReadError::Import(error) => error,
    })
}

enum ReadError {
    Io(std::io::Error),
    Import(ImportError),
}

impl From<std::io::Error> for ReadError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<StoreError> for ReadError {
    fn from(error: StoreError) -> Self {
        Self::Import(error.into())
    }
}

impl From<ArrayError> for ReadError {
    fn from(error: ArrayError) -> Self {
        match error {
            ArrayError::Io(error) => Self::Io(error),
            syntax => Self::Import(ImportError::Json(syntax.to_string())),
        }
    }
}

/// A row queued for storing: its place in the file, and which of its ids it is on.
struct Queued {
    line: u64,
    ordinal: u64,
    probe: u32,
}

/// Collects valid rows into batches and stores each full batch.
struct BatchSink<'a> {
    store: &'a dyn Store,
    batch: Vec<NewMessage>,
    queued: Vec<Queued>,
    batch_size: usize,
    /// When the import began: a row posted later would sit above the ids of live posts.
    started: DateTime<Utc>,
    /// The last batch found rows already stored: an earlier run got this far.
    resuming: bool,
    report: ImportReport,
}

impl<'a> BatchSink<'a> {
    fn new(store: &'a dyn Store, batch_size: usize, started: DateTime<Utc>) -> Self {
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
    async fn row(
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
    async fn flush(&mut self, observer: &mut dyn ImportObserver) -> Result<(), StoreError> {
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

/// One row's fields before validation.
struct RawRow<'a> {
    text: Option<&'a str>,
    tag: Option<&'a str>,
    timestamp: Option<&'a str>,
}

async fn read_csv<R: BufRead>(
    mut records: CsvRecords<R>,
    sink: &mut BatchSink<'_>,
    observer: &mut dyn ImportObserver,
) -> Result<(), ReadError> {
    let header = match records.next_record()? {
        Some(csv::Record {
            fields: Ok(fields), ..
        }) => fields,
        Some(csv::Record {
            fields: Err(reason),
            ..
        }) => return Err(ReadError::Import(ImportError::Header(reason))),
        None => Vec::new(),
    };
    let mut header = header;
    if let Some(first) = header.first_mut() {
        if first.starts_with("\u{feff}".as_bytes()) {
            first.drain(..3);
        }
    }
    let column = |names: &[&str]| {
        header.iter().position(|h| {
            let name = String::from_utf8_lossy(h);
            names.iter().any(|n| name.trim().eq_ignore_ascii_case(n))
        })
    };
    let (Some(text_at), Some(tag_at), Some(time_at)) = (
        column(&["message", "text"]),
        column(&["tag"]),
        column(&["timestamp"]),
    ) else {
        let names: Vec<_> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        return Err(ReadError::Import(ImportError::Header(format!(
            "the first line must name the columns message, tag and timestamp, not {:?}",
            names.join(",")
        ))));
    };
    let mut ordinal = 0u64;
    while let Some(record) = records.next_record()? {
        let fields = record.fields.and_then(|fields| {
            if fields.len() != header.len() {
                return Err(format!(
                    "has {} fields where the header has {}",
                    fields.len(),
                    header.len()
                ));
            }
            let text = |at: usize| {
                std::str::from_utf8(&fields[at]).map_err(|_| "is not valid UTF-8".to_owned())
            };
            Ok((
                text(text_at)?.to_owned(),
                text(tag_at)?.to_owned(),
                text(time_at)?.to_owned(),
            ))
        });
        let fields = fields.as_ref().map(|(text, tag, timestamp)| RawRow {
            text: Some(text),
            tag: Some(tag),
            timestamp: Some(timestamp),
        });
        sink.row(record.line, ordinal, fields.map_err(Clone::clone), observer)
            .await?;
        ordinal += 1;
        observer.progress(records.bytes_read());
    }
    Ok(())
}

async fn read_json<R: BufRead>(
    mut items: JsonItems<R>,
    sink: &mut BatchSink<'_>,
    observer: &mut dyn ImportObserver,
) -> Result<(), ReadError> {
    let mut ordinal = 0u64;
    while let Some(item) = items.next_item()? {
        let value = serde_json::from_slice::<Value>(&item.bytes)
            .map_err(|error| format!("is not valid JSON: {error}"));
        let fields = value
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|value| match value {
                Value::Object(fields) => {
                    let string = |names: &[&str]| {
                        names
                            .iter()
                            .find_map(|name| fields.get(*name))
                            .map(|value| value.as_str().ok_or(()))
                    };
                    match (
                        string(&["text", "message"]).transpose(),
                        string(&["tag"]).transpose(),
                        string(&["timestamp"]).transpose(),
                    ) {
                        (Ok(text), Ok(tag), Ok(timestamp)) => Ok(RawRow {
                            text,
                            tag,
                            timestamp,
                        }),
                        _ => Err("text, tag and timestamp must be strings".to_owned()),
                    }
                }
                _ => Err("is not a JSON object".to_owned()),
            });
        sink.row(item.line, ordinal, fields, observer).await?;
        ordinal += 1;
        observer.progress(items.bytes_read());
    }
    Ok(())
}

/// Reads a time as the prototype wrote it: RFC 3339, or without a zone (taken as UTC), with a `T`
/// or a space. Kept to the millisecond, the precision of ids.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, &'static str> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f"))
                .map(|naive| naive.and_utc())
        })
        .map_err(|_| "must be an RFC 3339 time such as 2023-04-02T09:25:00Z")?;
    let ms = parsed.timestamp_millis();
    if !(0..=crate::domain::MAX_TIMESTAMP_MS).contains(&ms) {
        return Err("must be between 1970 and 2109");
    }
    DateTime::from_timestamp_millis(ms).ok_or("must be between 1970 and 2109")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_prototypes_time_formats() {
        let expected = "2023-04-02T09:25:00Z".parse::<DateTime<Utc>>().unwrap();
        for raw in [
            "2023-04-02T09:25:00Z",
            "2023-04-02T11:25:00+02:00",
            "2023-04-02 09:25:00",
            "2023-04-02T09:25:00",
            "2023-04-02 09:25:00+00:00",
            "2023-04-02T09:25:00.000000Z",
        ] {
            assert_eq!(parse_timestamp(raw), Ok(expected), "{raw}");
        }
        assert_eq!(
            parse_timestamp("2023-04-02T09:25:00.123456Z")
                .unwrap()
                .timestamp_subsec_micros(),
            123_000
        );
        for bad in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2200-01-01T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
