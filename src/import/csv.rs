//! A strict, streaming reader of CSV records (RFC 4180), that recovers from bad quoting.
//!
//! Lenient CSV readers take `"a"b` as the field `ab"`, and a quote left open swallows every line
//! up to the next quote, so one stray quote silently merges rows into one twoot. Here a field is
//! either unquoted and free of quotes, or quoted from its first character to a closing quote that
//! a comma or the end of the line follows. Quoted fields may hold newlines (multi-line twoots),
//! but no valid record is longer than [`MAX_RECORD_BYTES`]: a quote still open past that, or at
//! the end of the file, or a record whose quoting breaks on a later line, costs only the line the
//! record began on; reading starts again on the line after it.

use std::collections::VecDeque;
use std::io::{self, BufRead};

/// Longest record a twoot can take: 280 characters of up to 4 bytes, every one a doubled quote,
/// plus a tag, a timestamp and some extra columns. Longer means a quote was left open.
pub const MAX_RECORD_BYTES: usize = 4096;

/// One record, or why the line it began on is not one.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    /// The line the record begins on, from 1.
    pub line: u64,
    /// Its fields, or what is wrong with it.
    pub fields: Result<Vec<Vec<u8>>, String>,
}

/// Reads records one at a time from `R`, holding no more than one record's lines.
pub struct CsvRecords<R> {
    reader: R,
    /// Lines read but not yet consumed: what follows a record that was cut back to its first line.
    pending: VecDeque<(u64, Vec<u8>)>,
    lines_read: u64,
    bytes_read: u64,
}

impl<R: BufRead> CsvRecords<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            pending: VecDeque::new(),
            lines_read: 0,
            bytes_read: 0,
        }
    }

    /// Bytes of the input read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next record, `None` at the end of the input. Blank lines are skipped.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        loop {
            let Some(next) = self.next_line()? else {
                return Ok(match lines.is_empty() {
                    true => None,
                    false => Some(self.cut_back(lines, "a quote is opened and never closed")),
                });
            };
            if lines.is_empty() && is_blank(&next.1) {
                continue;
            }
            lines.push(next);
            let joined: Vec<u8> = lines.iter().flat_map(|(_, l)| l.iter().copied()).collect();
            match parse(&joined) {
                Parse::Complete(fields) => {
                    return Ok(Some(Record {
                        line: lines[0].0,
                        fields: Ok(fields),
                    }))
                }
                Parse::Invalid(reason) if lines.len() == 1 => {
                    return Ok(Some(Record {
                        line: lines[0].0,
                        fields: Err(reason),
                    }))
                }
                Parse::Invalid(_) => {
                    let last = lines.last().map_or(0, |(n, _)| *n);
                    let reason = format!(
                        "a quote opened on this line is closed on line {last} and followed by text"
                    );
                    return Ok(Some(self.cut_back(lines, &reason)));
                }
                Parse::Open if joined.len() > MAX_RECORD_BYTES => {
                    return Ok(Some(self.cut_back(
                        lines,
                        "a quote is opened and not closed within 4096 bytes",
                    )))
                }
                Parse::Open => {}
            }
        }
    }

    /// Rejects the first of `lines` and puts the rest back to be read again.
    fn cut_back(&mut self, mut lines: Vec<(u64, Vec<u8>)>, reason: &str) -> Record {
        let rest = lines.split_off(1);
        for line in rest.into_iter().rev() {
            self.pending.push_front(line);
        }
        Record {
            line: lines[0].0,
            fields: Err(reason.to_owned()),
        }
    }

    fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        if let Some(line) = self.pending.pop_front() {
            return Ok(Some(line));
        }
        let mut line = Vec::new();
        // A line longer than any record is read only up to what proves it is not one.
        let mut bounded = <&mut R as io::Read>::take(&mut self.reader, MAX_RECORD_BYTES as u64 * 2);
        let read = bounded.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        self.bytes_read += read as u64;
        if !line.ends_with(b"\n") && read == MAX_RECORD_BYTES * 2 {
            self.skip_rest_of_line()?;
        }
        self.lines_read += 1;
        Ok(Some((self.lines_read, line)))
    }

    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                return Ok(());
            }
            match buffer.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.bytes_read += at as u64 + 1;
                    self.reader.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let length = buffer.len();
                    self.bytes_read += length as u64;
                    self.reader.consume(length);
                }
            }
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

enum Parse {
    Complete(Vec<Vec<u8>>),
    /// A quoted field is still open at the end of the text.
    Open,
    Invalid(String),
}

/// Parses `text` (one or more whole lines) as exactly one record.
fn parse(text: &[u8]) -> Parse {
    let body = text
        .strip_suffix(b"\r\n")
        .or_else(|| text.strip_suffix(b"\n"))
        .unwrap_or(text);
    let mut fields = Vec::new();
    let mut at = 0;
    loop {
        let number = fields.len() + 1;
        if body.get(at) == Some(&b'"') {
            let mut field = Vec::new();
            let mut i = at + 1;
            loop {
                match body.get(i) {
                    // The quotes hold the line break: the record goes on on the next line.
                    None => return Parse::Open,
                    Some(b'"') if body.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        field.push(b);
                        i += 1;
                    }
                }
            }
            fields.push(field);
            match body.get(i) {
                None => return Parse::Complete(fields),
                Some(b',') => at = i + 1,
                Some(_) => {
                    return Parse::Invalid(format!(
                        "field {number} has text after its closing quote"
                    ))
                }
            }
        } else {
            let end = body[at..]
                .iter()
                .position(|&b| b == b',')
                .map_or(body.len(), |p| at + p);
            let field = &body[at..end];
            if field.contains(&b'"') {
                return Parse::Invalid(format!(
                    "field {number} has a quote but does not start with one (quote the field and double the quote)"
                ));
            }
            fields.push(field.to_vec());
            if end == body.len() {
                return Parse::Complete(fields);
            }
            at = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<(u64, Result<Vec<String>, String>)> {
        let mut reader = CsvRecords::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            let fields = record.fields.map(|fields| {
                fields
                    .into_iter()
                    .map(|f| String::from_utf8(f).unwrap())
                    .collect()
            });
            out.push((record.line, fields));
        }
        out
    }

    fn ok(line: u64, fields: &[&str]) -> (u64, Result<Vec<String>, String>) {
        (line, Ok(fields.iter().map(|f| f.to_string()).collect()))
    }

    #[test]
    fn reads_plain_quoted_and_multi_line_fields() {
        let input = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\nplain,\"two\nlines\",z";
        assert_eq!(
            records(input),
            vec![
                ok(1, &["a", "b", "c"]),
                ok(2, &["x, y", "say \"hi\"", ""]),
                ok(3, &["plain", "two\nlines", "z"]),
            ]
        );
    }

    #[test]
    fn text_after_a_closing_quote_is_the_one_bad_line() {
        let input =
            "\"broken quote,coffee,2023-01-01T00:00:00Z\n\"ok two\",coffee,2023-01-02T00:00:00Z\n";
        let got = records(input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, 1);
        assert!(got[0].1.as_ref().unwrap_err().contains("closed on line 2"));
        assert_eq!(got[1], ok(2, &["ok two", "coffee", "2023-01-02T00:00:00Z"]));
    }

    #[test]
    fn a_quote_left_open_at_the_end_costs_only_its_line() {
        let input = "a,b\n\"open,x\nc,d\ne,f\n";
        let got = records(input);
        assert_eq!(got[0], ok(1, &["a", "b"]));
        assert_eq!(got[1].0, 2);
        assert!(got[1].1.is_err());
        assert_eq!(got[2..], [ok(3, &["c", "d"]), ok(4, &["e", "f"])]);
    }

    #[test]
    fn a_quote_left_open_mid_file_is_cut_off_after_a_records_length() {
        let mut input = String::from("\"open,x\n");
        for n in 0..400 {
            input.push_str(&format!("row{n},tag,2023-01-01T00:00:00Z\n"));
        }
        input.push_str("\"late\",close\n");
        let got = records(&input);
        assert_eq!(got[0].0, 1);
        assert!(got[0].1.is_err());
        assert_eq!(got[1], ok(2, &["row0", "tag", "2023-01-01T00:00:00Z"]));
        assert_eq!(got.len(), 402);
    }

    #[test]
    fn quotes_inside_unquoted_fields_are_refused() {
        let got = records("ab\"c,d\n");
        assert!(got[0].1.as_ref().unwrap_err().contains("field 1"));
    }

    #[test]
    fn blank_lines_are_skipped_and_lines_still_counted() {
        assert_eq!(records("a\n\n\r\nb\n"), vec![ok(1, &["a"]), ok(4, &["b"])]);
    }

    #[test]
    fn a_line_longer_than_any_record_is_read_in_bounded_memory() {
        let input = format!("{}\nok\n", "x".repeat(100_000));
        let got = records(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], ok(2, &["ok"]));
    }
}
