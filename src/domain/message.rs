use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{MessageId, MessageText, Tag};

/// A twoot as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": "7049402335127552", "text": "First coffee of the day.", "tag": "coffee", "timestamp": "2023-04-02T09:25:00Z"}))]
pub struct Message {
    /// Time-ordered 64-bit id, as a decimal string: newer twoots have larger ids.
    #[schema(value_type = String, pattern = "^[0-9]{1,19}$")]
    pub id: MessageId,
    /// The text as posted, 1–280 characters.
    pub text: String,
    /// The tag, folded to lower case.
    pub tag: String,
    /// When it was posted (UTC, RFC 3339).
    #[serde(serialize_with = "super::id::serialize_rfc3339")]
    pub timestamp: DateTime<Utc>,
}

/// A validated twoot about to be stored; its id and timestamp are already assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: MessageId,
    pub text: MessageText,
    pub tag: Tag,
    pub timestamp: DateTime<Utc>,
}

impl NewMessage {
    /// The message as it will read back once stored.
    pub fn to_message(&self) -> Message {
        Message {
            id: self.id,
            text: self.text.as_str().to_owned(),
            tag: self.tag.as_str().to_owned(),
            timestamp: self.timestamp,
        }
    }
}
