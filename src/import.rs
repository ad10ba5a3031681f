//! `twooter import FILE`: moves the prototype's data in. Reads the prototype's CSV export (header
//! `message,tag,timestamp`) or the JSON array its `GET /messages` returned, keeps each twoot's time,
//! reports every bad row with its line and skips it, and stores the good rows in batches.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::domain::{BackfillIds, MessageText, NewMessage, NodeId, Tag};
use crate::store::{insert_with_fresh_ids, Store, StoreError};

/// Rows per transaction unless told otherwise: large enough that commits (each one a disk flush)
/// are not what an import waits on.
pub const DEFAULT_BATCH: usize = 50_000;

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
    pub imported: u64,
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
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
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

/// Imports `path`: JSON if its first non-blank character is `[`, CSV otherwise.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    node: NodeId,
    batch_size: usize,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut data))
        .map_err(read_error)?;
    let mut sink = BatchSink::new(store, node, batch_size.max(1));
    let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        read_json(&data, &mut sink, observer).await?;
    } else {
        read_csv(&data, &mut sink, observer).await?;
    }
    sink.flush().await?;
    Ok(sink.report)
}

/// Collects valid rows into batches and stores each full batch.
struct BatchSink<'a> {
    store: &'a dyn Store,
    ids: BackfillIds,
    batch: Vec<NewMessage>,
    batch_size: usize,
    report: ImportReport,
}

impl<'a> BatchSink<'a> {
    fn new(store: &'a dyn Store, node: NodeId, batch_size: usize) -> Self {
        Self {
            store,
            ids: BackfillIds::new(node),
            batch: Vec::with_capacity(batch_size),
            batch_size,
            report: ImportReport::default(),
        }
    }

    /// Validates one row and queues it, or reports why it is skipped.
    async fn row(
        &mut self,
        line: u64,
        fields: Result<RawRow<'_>, String>,
        observer: &mut dyn ImportObserver,
    ) -> Result<(), StoreError> {
        match fields.and_then(|raw| self.validate(raw)) {
            Ok(message) => {
                self.batch.push(message);
                if self.batch.len() >= self.batch_size {
                    self.flush().await?;
                }
            }
            Err(reason) => {
                self.report.rejected += 1;
                observer.rejected(&Rejection { line, reason });
            }
        }
        Ok(())
    }

    fn validate(&mut self, raw: RawRow<'_>) -> Result<NewMessage, String> {
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
        let (text, tag, timestamp) = (raw.text, raw.tag, raw.timestamp);
        let text = text.and_then(|t| {
            MessageText::parse(t)
                .map_err(|reason| problems.push(format!("text: {reason}")))
                .ok()
        });
        let tag = tag.and_then(|t| {
            Tag::parse(t)
                .map_err(|reason| problems.push(format!("tag: {reason}")))
                .ok()
        });
        let timestamp = timestamp.and_then(|t| {
            parse_timestamp(t)
                .map_err(|reason| problems.push(format!("timestamp: {reason}")))
                .ok()
        });
        match (text, tag, timestamp) {
            (Some(text), Some(tag), Some(timestamp)) if problems.is_empty() => {
                let id = self
                    .ids
                    .id_at(timestamp)
                    .ok_or_else(|| "timestamp: must be between 1970 and 2109".to_owned())?;
                Ok(NewMessage {
                    id,
                    text,
                    tag,
                    timestamp,
                })
            }
            _ => Err(problems.join("; ")),
        }
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let ids = &mut self.ids;
        insert_with_fresh_ids(self.store, &mut self.batch, |batch| {
            ids.reshuffle();
            for message in batch {
                message.id = ids.id_at(message.timestamp).expect("already in range");
            }
            Ok::<_, StoreError>(())
        })
        .await?;
        self.report.imported += self.batch.len() as u64;
        self.batch.clear();
        Ok(())
    }
}

/// One row's fields before validation.
struct RawRow<'a> {
    text: Option<&'a str>,
    tag: Option<&'a str>,
    timestamp: Option<&'a str>,
}

async fn read_csv(
    data: &[u8],
    sink: &mut BatchSink<'_>,
    observer: &mut dyn ImportObserver,
) -> Result<(), ImportError> {
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let headers = reader.byte_headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| String::from_utf8_lossy(h).trim().eq_ignore_ascii_case(name))
    };
    let (Some(text_at), Some(tag_at), Some(time_at)) =
        (column("message"), column("tag"), column("timestamp"))
    else {
        return Err(ImportError::Header(format!(
            "the first line must name the columns message, tag and timestamp, not {:?}",
            String::from_utf8_lossy(headers.as_slice())
        )));
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                sink.report.rejected += 1;
                observer.rejected(&Rejection {
                    line,
                    reason: error.to_string(),
                });
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let fields = if record.len() != headers.len() {
            Err(format!(
                "has {} fields where the header has {}",
                record.len(),
                headers.len()
            ))
        } else {
            let text = |at: usize| {
                std::str::from_utf8(&record[at]).map_err(|_| "is not valid UTF-8".to_owned())
            };
            match (text(text_at), text(tag_at), text(time_at)) {
                (Ok(text), Ok(tag), Ok(timestamp)) => Ok(RawRow {
                    text: Some(text),
                    tag: Some(tag),
                    timestamp: Some(timestamp),
                }),
                _ => Err("is not valid UTF-8".to_owned()),
            }
        };
        sink.row(line, fields, observer).await?;
        observer.progress(reader.position().byte());
    }
    Ok(())
}

async fn read_json(
    data: &[u8],
    sink: &mut BatchSink<'_>,
    observer: &mut dyn ImportObserver,
) -> Result<(), ImportError> {
    let line_at = |offset: usize| 1 + data[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
    let skip_blank = |mut at: usize| {
        while data.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    // Items are read one at a time after the opening bracket, so each row's line is known and one
    // bad item does not cost the rest of the file.
    let mut at = skip_blank(0) + 1;
    let mut lines_before = 1u64;
    let mut counted_to = 0usize;
    let mut first = true;
    loop {
        at = skip_blank(at);
        match data.get(at) {
            Some(b']') => break,
            None => return Err(ImportError::Json("the array is not closed with ]".into())),
            _ => {}
        }
        if !first {
            if data[at] != b',' {
                return Err(ImportError::Json(format!(
                    "expected , or ] on line {}",
                    line_at(at)
                )));
            }
            at = skip_blank(at + 1);
        }
        first = false;
        lines_before += data[counted_to..at].iter().filter(|&&b| b == b'\n').count() as u64;
        counted_to = at;
        let line = lines_before;
        let mut items = serde_json::Deserializer::from_slice(&data[at..]).into_iter::<Value>();
        let item = match items.next() {
            Some(Ok(item)) => item,
            Some(Err(error)) => {
                return Err(ImportError::Json(format!(
                    "line {}: {error}",
                    line + error.line() as u64 - 1
                )))
            }
            None => return Err(ImportError::Json("the array is not closed with ]".into())),
        };
        at += items.byte_offset();
        let fields = match &item {
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
        };
        sink.row(line, fields, observer).await?;
        observer.progress(at as u64);
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
