use std::fmt;

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// The tag rule as a regular expression, for the OpenAPI document.
pub const TAG_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// A tag: 1–64 ASCII letters, digits, `_` or `-`, folded to lower case so that matching ignores
/// case. ASCII only, so that case folding is the same in Rust, every database collation and every
/// client, and a tag is safe unescaped in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Checks `raw` and folds it to lower case, or says why it is not a tag.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() {
            return Err("must not be empty");
        }
        if raw.len() > MAX_TAG_CHARS && raw.is_ascii() {
            return Err("must be at most 64 characters");
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("may contain only ASCII letters, digits, '_' and '-'");
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The folded tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case() {
        assert_eq!(Tag::parse("CoFFee_2-x").unwrap().as_str(), "coffee_2-x");
    }

    #[test]
    fn rejects_bad_tags() {
        for bad in [
            "", "a b", "a\"b", "a'b", "#coffee", "a/b", "a.b", " a", "a\n", "café",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Tag::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            Tag::parse(&"a".repeat(65)),
            Err("must be at most 64 characters")
        );
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_documented_pattern(raw in "\\PC{0,70}|[A-Za-z0-9_-]{0,70}") {
            let matches = (1..=64).contains(&raw.len())
                && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            prop_assert_eq!(Tag::parse(&raw).is_ok(), matches);
        }

        #[test]
        fn case_does_not_matter(raw in "[A-Za-z0-9_-]{1,64}") {
            prop_assert_eq!(Tag::parse(&raw.to_uppercase()).unwrap(), Tag::parse(&raw).unwrap());
            let tag = Tag::parse(&raw).unwrap();
            prop_assert_eq!(Tag::parse(tag.as_str()).unwrap(), tag.clone());
        }
    }
}
