//! A streaming reader of the items of one JSON array, with each item's line.
//!
//! The prototype's `GET /messages` answered a JSON array; exports of any size are read one item at
//! a time, holding one item in memory. Items are found by tracking strings and brackets, so an
//! item that is not valid JSON inside (a bad literal, a missing colon) is reported with its line
//! and the rest of the array still imports. Only a broken array itself stops the import.

use std::io::{self, BufRead};

/// Longest item a twoot can take, with room for fields the import does not read. Longer means a
/// string or a bracket was left open, and nothing after it can be trusted.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

/// One item of the array: its raw bytes, and the line it begins on.
#[derive(Debug, PartialEq, Eq)]
pub struct Item {
    pub line: u64,
    pub bytes: Vec<u8>,
}

/// Why the array cannot be read on.
#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("line {line}: {reason}")]
    Syntax { line: u64, reason: String },
}

/// Reads the items of the array that `R` holds.
pub struct JsonItems<R> {
    reader: R,
    line: u64,
    bytes_read: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    BeforeArray,
    /// After `[` or `,`: an item or (after `[`) the closing bracket comes next.
    BeforeItem {
        first: bool,
    },
    Done,
    /// The array broke after the item last returned; this is said on the next call.
    Broken {
        line: u64,
        reason: &'static str,
    },
}

impl<R: BufRead> JsonItems<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: 1,
            bytes_read: 0,
            state: State::BeforeArray,
        }
    }

    /// Bytes of the input read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next item, `None` after the closing bracket.
    pub fn next_item(&mut self) -> Result<Option<Item>, ArrayError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Broken { line, reason } => {
                    self.state = State::Done;
                    return Err(ArrayError::Syntax {
                        line,
                        reason: reason.to_owned(),
                    });
                }
                State::BeforeArray => {
                    self.skip_blank()?;
                    if self.peek()? == Some(0xEF) {
                        self.skip_byte_order_mark()?;
                        continue;
                    }
                    match self.next_byte()? {
                        Some(b'[') => self.state = State::BeforeItem { first: true },
                        _ => return Err(self.syntax("the file does not start with [")),
                    }
                }
                State::BeforeItem { first } => {
                    self.skip_blank()?;
                    match self.peek()? {
                        Some(b']') if first => {
                            self.next_byte()?;
                            return self.finish();
                        }
                        None => return Err(self.syntax("the array is not closed with ]")),
                        _ => {}
                    }
                    let line = self.line;
                    let bytes = self.read_item()?;
                    self.skip_blank()?;
                    let next = self.next_byte()?;
                    let reason = match next {
                        Some(b',') => None,
                        Some(b']') => match self.finish() {
                            Ok(_) => None,
                            Err(ArrayError::Io(error)) => return Err(error.into()),
                            Err(ArrayError::Syntax { .. }) => Some("text after the closing ]"),
                        },
                        Some(_) => Some("expected , or ] after an item"),
                        None => Some("the array is not closed with ]"),
                    };
                    self.state = match (next, reason) {
                        (_, Some(reason)) => State::Broken {
                            line: self.line,
                            reason,
                        },
                        (Some(b','), None) => State::BeforeItem { first: false },
                        (_, None) => State::Done,
                    };
                    return Ok(Some(Item { line, bytes }));
                }
            }
        }
    }

    /// After the closing bracket only blanks may follow.
    fn finish(&mut self) -> Result<Option<Item>, ArrayError> {
        self.state = State::Done;
        self.skip_blank()?;
        match self.peek()? {
            None => Ok(None),
            Some(_) => Err(self.syntax("text after the closing ]")),
        }
    }

    /// Reads one item's bytes, up to (not including) the `,` or `]` that ends it.
    fn read_item(&mut self) -> Result<Vec<u8>, ArrayError> {
        let start = self.line;
        let mut item = Vec::new();
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        // A top-level string, object or array has been closed: the item is whole.
        let mut whole = false;
        loop {
            let Some(byte) = self.peek()? else {
                return Err(self.syntax("the array is not closed with ]"));
            };
            let ends_scalar = matches!(byte, b',' | b']' | b' ' | b'\t' | b'\r' | b'\n');
            if !in_string
                && depth == 0
                && (whole || (ends_scalar && !item.is_empty()) || matches!(byte, b',' | b']'))
            {
                return Ok(item);
            }
            self.next_byte()?;
            item.push(byte);
            if item.len() > MAX_ITEM_BYTES {
                return Err(ArrayError::Syntax {
                    line: start,
                    reason: format!(
                        "the item starting here runs past {} KiB: a string or bracket is not closed",
                        MAX_ITEM_BYTES / 1024
                    ),
                });
            }
            match (in_string, escaped, byte) {
                (true, true, _) => escaped = false,
                (true, false, b'\\') => escaped = true,
                (true, false, b'"') => {
                    in_string = false;
                    whole = depth == 0;
                }
                (true, false, _) => {}
                (false, _, b'"') => in_string = true,
                (false, _, b'{' | b'[') => depth += 1,
                (false, _, b'}' | b']') => {
                    depth = depth.saturating_sub(1);
                    whole = depth == 0;
                }
                (false, _, _) => {}
            }
        }
    }

    fn syntax(&self, reason: &str) -> ArrayError {
        ArrayError::Syntax {
            line: self.line,
            reason: reason.to_owned(),
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.reader.fill_buf()?.first().copied())
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let byte = self.peek()?;
        if let Some(byte) = byte {
            self.reader.consume(1);
            self.bytes_read += 1;
            if byte == b'\n' {
                self.line += 1;
            }
        }
        Ok(byte)
    }

    fn skip_blank(&mut self) -> io::Result<()> {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek()? {
            self.next_byte()?;
        }
        Ok(())
    }

    fn skip_byte_order_mark(&mut self) -> Result<(), ArrayError> {
        for expected in [0xEF, 0xBB, 0xBF] {
            if self.next_byte()? != Some(expected) {
                return Err(self.syntax("the file does not start with ["));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(input: &str) -> (Vec<(u64, String)>, Option<String>) {
        let mut reader = JsonItems::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            match reader.next_item() {
                Ok(Some(item)) => out.push((
                    item.line,
                    String::from_utf8(item.bytes).unwrap().trim().to_owned(),
                )),
                Ok(None) => return (out, None),
                Err(error) => return (out, Some(error.to_string())),
            }
        }
    }

    #[test]
    fn splits_items_with_their_lines() {
        let input = "\u{feff}[\n  {\"text\": \"a, [b] \\\"c\\\"\"},\n  {\"text\":\n \"d\"}, 3\n]\n";
        let (got, error) = items(input);
        assert_eq!(error, None);
        assert_eq!(
            got,
            vec![
                (2, r#"{"text": "a, [b] \"c\""}"#.to_owned()),
                (3, "{\"text\":\n \"d\"}".to_owned()),
                (4, "3".to_owned()),
            ]
        );
    }

    #[test]
    fn an_empty_array_has_no_items() {
        assert_eq!(items(" [ ] "), (vec![], None));
    }

    #[test]
    fn a_broken_array_stops_with_its_line() {
        let (got, error) = items("[{\"a\": 1}\n{\"b\": 2}]");
        assert_eq!(got, vec![(1, "{\"a\": 1}".to_owned())]);
        assert_eq!(error.unwrap(), "line 2: expected , or ] after an item");
        let (_, error) = items("[{\"a\": 1},\n");
        assert_eq!(error.unwrap(), "line 2: the array is not closed with ]");
        let (_, error) = items("{\"a\": 1}");
        assert_eq!(error.unwrap(), "line 1: the file does not start with [");
        let (_, error) = items("[1] x");
        assert_eq!(error.unwrap(), "line 1: text after the closing ]");
    }

    #[test]
    fn an_unclosed_string_is_stopped_after_an_items_length() {
        let input = format!("[{{\"text\": \"open}},\n{}]", "x".repeat(MAX_ITEM_BYTES));
        let (_, error) = items(&input);
        assert!(error
            .unwrap()
            .starts_with("line 1: the item starting here runs past 64 KiB"));
    }
}
