//! A Server-Sent Events client for the tests, and the instances they read from.

use std::time::{Duration, Instant};

use serde_json::Value;
use twooter::domain::MessageId;

use crate::support::process::{twooter, Server};

/// `POST_COMMIT_DEADLINE + MAX_CLOCK_SKEW` by default: how far below its cursor a resumed stream
/// replays again.
pub const SETTLE: Duration = Duration::from_secs(15);

/// Of `ids`, those at or below `cursor` that a stream resumed from it sends again, in id order:
/// those made at most [`SETTLE`] before it.
pub fn window_below(ids: &[String], cursor: &str) -> Vec<String> {
    let parse = |id: &str| MessageId::from_i64(id.parse().unwrap());
    let cursor = parse(cursor);
    let from_ms = cursor.unix_ms() - i64::try_from(SETTLE.as_millis()).unwrap();
    let mut below: Vec<MessageId> = ids
        .iter()
        .map(|id| parse(id))
        .filter(|id| *id <= cursor && id.unix_ms() >= from_ms)
        .collect();
    below.sort_unstable();
    below.iter().map(MessageId::to_string).collect()
}

/// One event or comment of a stream.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    pub comment: Option<String>,
}

/// A stream being read.
pub struct Sse {
    pub response: reqwest::Response,
    buffer: String,
}

impl Sse {
    /// Opens `url`, sending `Last-Event-ID` when given, and asserts it is an event stream.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert_eq!(content_type, "text/event-stream", "GET {url}");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame within `within`; `None` if none came or the stream ended.
    pub async fn next(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                _ => return None,
            }
        }
    }

    /// The next `message` event, skipping comments, within `within`.
    pub async fn message(&mut self, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.next(left).await?;
            if frame.comment.is_none() {
                assert_eq!(frame.event.as_deref(), Some("message"), "{frame:?}");
                return Some(frame);
            }
        }
    }

    /// Every `message` event's id until `count` came, each within `each` of the one before.
    pub async fn ids(&mut self, count: usize, each: Duration) -> Vec<String> {
        let mut ids = Vec::new();
        while ids.len() < count {
            let Some(frame) = self.message(each).await else {
                panic!("only {} of {count} events came: {ids:?}", ids.len());
            };
            let data: Value = serde_json::from_str(&frame.data).unwrap();
            assert_eq!(data["id"].as_str(), frame.id.as_deref(), "{frame:?}");
            ids.push(frame.id.unwrap());
        }
        ids
    }
}

fn parse(block: &str) -> Frame {
    let mut frame = Frame::default();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            frame.comment = Some(comment.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "event" => frame.event = Some(value),
                "id" => frame.id = Some(value),
                "data" => frame.data.push_str(&value),
                _ => {}
            }
        }
    }
    frame
}

/// An instance of the binary on `database_url` with `settings`.
pub fn instance(database_url: &str, settings: &[(&str, &str)]) -> Server {
    let mut command = twooter(&std::env::temp_dir());
    command.env("DATABASE_URL", database_url).arg("serve");
    for (name, value) in settings {
        command.env(name, value);
    }
    Server::start(command)
}

/// Posts a twoot through `server` and returns its id.
pub async fn post(client: &reqwest::Client, server: &Server, text: &str, tag: &str) -> String {
    let response = client
        .post(server.url("/messages"))
        .json(&serde_json::json!({"text": text, "tag": tag}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "POST /messages");
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// Waits until `server` has logged `message` `times` times.
pub async fn logged(server: &Server, message: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let count = server
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(message))
            .count();
        if count >= times {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server logged {message:?} {count} times, not {times}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
