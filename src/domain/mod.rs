//! The values Twooter is about, each valid by construction: a `Tag`, a `MessageText`, a `MessageId`.

mod catch_up;
mod id;
mod key;
mod message;
mod tag;
mod text;

pub use catch_up::CatchUp;
pub use id::{
    imported_id, BackfillIds, IdGenerator, InvalidMessageId, MessageId, NoNodeLease, NodeId,
    MAX_TIMESTAMP_MS,
};
pub use key::{PresentedKey, Role, SecretHash};
pub use message::{Message, NewMessage};
pub use tag::{Tag, MAX_TAG_CHARS, TAG_PATTERN};
pub use text::{MessageText, MAX_TEXT_CHARS, TEXT_PATTERN};
