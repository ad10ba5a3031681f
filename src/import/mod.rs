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
mod sink;
mod timestamp;

use self::sink::BatchSink;
pub use self::timestamp::parse_timestamp;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::Utc;
use serde_json::Value;

use crate::store::{Store, StoreError};

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
