//! A failed read of the request path, told in sqlx's terms: the store's errors are sqlx errors,
//! and this way a busy or unreadable file is an outage however it was read.

use std::borrow::Cow;

use sqlx::error::{DatabaseError, ErrorKind};

/// An error rusqlite returned.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ReadError(rusqlite::Error);

impl ReadError {
    pub(crate) fn into_sqlx(error: rusqlite::Error) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Self(error)))
    }

    /// SQLite's extended result code, if SQLite failed (rather than a conversion of a value).
    pub fn extended_code(&self) -> Option<i64> {
        self.0
            .sqlite_error()
            .map(|error| i64::from(error.extended_code))
    }
}

impl DatabaseError for ReadError {
    fn message(&self) -> &str {
        match &self.0 {
            rusqlite::Error::SqliteFailure(_, Some(message)) => message,
            rusqlite::Error::SqliteFailure(error, None) => {
                rusqlite::ffi::code_to_str(error.extended_code)
            }
            _ => "the value read is not what the statement promises",
        }
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.extended_code()
            .map(|code| Cow::Owned(code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        // Reads violate no constraint.
        ErrorKind::Other
    }
}
