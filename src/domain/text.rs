/// Longest text, in Unicode scalar values (Rust `char`s), as the contract counts them.
pub const MAX_TEXT_CHARS: usize = 280;

/// The text rule's "not only whitespace" as a regular expression, for the OpenAPI document: one
/// character outside [`BLANK`]. Spelled out rather than `\S` because `\s` differs between regex
/// engines: JSON Schema's ECMAScript counts U+FEFF, Python counts U+001C–U+001F, Rust neither.
pub const TEXT_PATTERN: &str = "[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000\\ufeff]";

/// Whitespace as any common regex engine's `\s` knows it: Unicode's White_Space, plus the four
/// ASCII information separators (Python) and the byte order mark (ECMAScript), as inclusive
/// ranges. A text made only of these is blank whichever engine a client checks it with.
pub const BLANK: [(char, char); 11] = [
    ('\u{0009}', '\u{000d}'),
    ('\u{001c}', '\u{0020}'),
    ('\u{0085}', '\u{0085}'),
    ('\u{00a0}', '\u{00a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{feff}', '\u{feff}'),
];

/// A twoot's text: 1–280 characters and not only whitespace. Kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Checks `raw`, or says why it is not a valid text.
    pub fn parse(raw: impl Into<String>) -> Result<Self, &'static str> {
        let raw = raw.into();
        if raw.chars().all(is_blank) {
            return Err("must contain a character that is not whitespace");
        }
        if raw.chars().count() > MAX_TEXT_CHARS {
            return Err("must be at most 280 characters");
        }
        Ok(Self(raw))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_blank(c: char) -> bool {
    BLANK
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(MessageText::parse("😀".repeat(280)).is_ok());
        assert!(MessageText::parse("😀".repeat(281)).is_err());
        assert!(MessageText::parse("a".repeat(281)).is_err());
    }

    #[test]
    fn rejects_empty_and_blank() {
        for blank in [
            "",
            " ",
            " \t\n\r",
            "\u{3000}\u{a0}\u{2028}",
            "\u{1c}\u{1f}",
            "\u{85}",
            "\u{feff}",
        ] {
            assert!(MessageText::parse(blank).is_err(), "{blank:?} accepted");
        }
        assert_eq!(MessageText::parse("  hi  ").unwrap().as_str(), "  hi  ");
    }

    #[test]
    fn blank_is_every_engines_whitespace() {
        // Python's `str.isspace` and ECMAScript's `\s` each add to Unicode's White_Space.
        let python = |c: char| ('\u{1c}'..='\u{1f}').contains(&c);
        let ecmascript = |c: char| c == '\u{feff}';
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let expected = c.is_whitespace() || python(c) || ecmascript(c);
            assert_eq!(is_blank(c), expected, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn the_pattern_is_the_negated_blank_class() {
        let class: String = BLANK
            .iter()
            .map(|&(first, last)| {
                let code = |c: char| format!("\\u{:04x}", u32::from(c));
                if first == last {
                    code(first)
                } else {
                    format!("{}-{}", code(first), code(last))
                }
            })
            .collect();
        assert_eq!(TEXT_PATTERN, format!("[^{class}]"));
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_valid_texts(raw in "\\PC{0,300}|\\s{0,3}") {
            let valid = raw.chars().any(|c| !is_blank(c)) && raw.chars().count() <= 280;
            prop_assert_eq!(MessageText::parse(raw.clone()).is_ok(), valid);
        }
    }
}
