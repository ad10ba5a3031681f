/// Longest text, in Unicode scalar values (Rust `char`s), as the contract counts them.
pub const MAX_TEXT_CHARS: usize = 280;

/// The text rule's "not only whitespace" as a regular expression, for the OpenAPI document.
pub const TEXT_PATTERN: &str = "\\S";

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

/// Whitespace as Unicode defines it, plus the four ASCII information separators (U+001C–U+001F)
/// that common regex engines' `\s` also counts, so the documented pattern `\S` and this check
/// agree on every string.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
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
        for blank in ["", " ", " \t\n\r", "\u{3000}\u{a0}\u{2028}", "\u{1c}\u{1f}"] {
            assert!(MessageText::parse(blank).is_err(), "{blank:?} accepted");
        }
        assert_eq!(MessageText::parse("  hi  ").unwrap().as_str(), "  hi  ");
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_valid_texts(raw in "\\PC{0,300}|\\s{0,3}") {
            let valid = raw.chars().any(|c| !is_blank(c)) && raw.chars().count() <= 280;
            prop_assert_eq!(MessageText::parse(raw.clone()).is_ok(), valid);
        }
    }
}
