//! Synthetic but realistic twoots for demo data and large benchmark seeds, generated
//! deterministically from a caller-supplied RNG.
//!
//! This is the grammar: the kinds of twoot, how often each comes up and how their parts join.
//! The words are data, in `vocab/` (see [`super::vocab`]), so that adding a closer or a topic
//! needs no reading of this code, and changing the grammar no scrolling past the words.

use std::fmt::Write as _;

use rand::Rng;

use super::vocab::{self, Lists, Vocab};

/// The service caps a twoot at this many Unicode scalar values.
const MAX_CHARS: usize = 280;

/// The tags synthetic twoots are posted under, most popular first: exactly 50 of them.
pub fn tags() -> &'static [&'static str] {
    &vocab::lists().tags
}

fn pick<T: Copy, R: Rng + ?Sized>(items: &[T], rng: &mut R) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Everything one call needs about its tag, resolved once up front.
struct Topic<'t> {
    tag: &'t str,
    words: &'t str,
    vocab: Option<&'static Vocab>,
    lists: &'static Lists,
}

impl<'t> Topic<'t> {
    fn new(tag: &'t str) -> Self {
        let lists = vocab::lists();
        Topic {
            tag,
            words: lists.spoken(tag),
            vocab: lists.topic(tag),
            lists,
        }
    }

    /// Tags with their own vocabulary still draw on the generic one now and
    /// then, so they don't sound like a fixed script.
    fn source<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static Vocab {
        match self.vocab {
            Some(v) if rng.gen_bool(0.75) => v,
            _ => &self.lists.generic,
        }
    }

    fn thing<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(&self.source(rng).things, rng)
    }

    fn doing<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(&self.source(rng).doings, rng)
    }

    fn detail<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(&self.source(rng).details, rng)
    }

    fn question<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(&self.source(rng).questions, rng)
    }

    /// Expands the slots listed in `vocab/README.md` straight into `out`, so
    /// that a phrase costs no allocation of its own.
    fn fill<R: Rng + ?Sized>(&self, out: &mut String, phrase: &str, rng: &mut R) {
        let mut rest = phrase;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            match rest.get(i..i + 3) {
                Some("{t}") => out.push_str(self.words),
                Some("{m}") => out.push_str(pick(&self.lists.handles, rng)),
                Some("{p}") => out.push_str(pick(&self.lists.venues, rng)),
                Some("{x}") => out.push_str(pick(&self.lists.cities, rng)),
                Some("{n}") => push_number(out, rng.gen_range(2..=12)),
                Some("{c}") => push_clock(out, rng),
                _ => {
                    out.push('{');
                    rest = &rest[i + 1..];
                    continue;
                }
            }
            rest = &rest[i + 3..];
        }
        out.push_str(rest);
    }

    /// Like [`Topic::fill`], but starts a sentence: topics and things are
    /// stored lowercase so they also fit mid-sentence.
    fn fill_sentence<R: Rng + ?Sized>(&self, out: &mut String, phrase: &str, rng: &mut R) {
        let start = out.len();
        self.fill(out, phrase, rng);
        if let Some(first) = out.get_mut(start..start + 1) {
            first.make_ascii_uppercase();
        }
    }

    fn story<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R, with_opener: bool) {
        if with_opener && rng.gen_bool(0.5) {
            self.fill(out, pick(&self.lists.openers, rng), rng);
            out.push(' ');
        }
        out.push_str("I ");
        if rng.gen_bool(0.4) {
            self.fill(out, pick(&self.lists.adverbs, rng), rng);
            out.push(' ');
        }
        let doing = self.doing(rng);
        self.fill(out, doing, rng);
        if rng.gen_bool(0.7) {
            out.push(' ');
            let detail = self.detail(rng);
            self.fill(out, detail, rng);
        }
        out.push('.');
    }

    fn verdict<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let (prefix, suffix) = pick(&self.lists.verdicts, rng);
        let thing = self.thing(rng);
        if prefix.is_empty() {
            self.fill_sentence(out, thing, rng);
        } else {
            self.fill(out, prefix, rng);
            self.fill(out, thing, rng);
        }
        self.fill(out, suffix, rng);
    }

    fn ask<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let (intro, outro) = pick(&self.lists.question_frames, rng);
        self.fill(out, intro, rng);
        let question = self.question(rng);
        if intro.is_empty() {
            self.fill_sentence(out, question, rng);
        } else {
            self.fill(out, question, rng);
        }
        self.fill(out, outro, rng);
    }

    fn mention<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str(pick(&self.lists.handles, rng));
        out.push(' ');
        let (prefix, suffix) = pick(&self.lists.mention_frames, rng);
        self.fill(out, prefix, rng);
        let thing = self.thing(rng);
        self.fill(out, thing, rng);
        self.fill(out, suffix, rng);
    }

    fn streak<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Day ");
        push_number(out, rng.gen_range(2..=365));
        out.push_str(" of ");
        self.fill(out, pick(&self.lists.streak_activities, rng), rng);
        out.push_str(": ");
        self.fill(out, pick(&self.lists.streak_progress, rng), rng);
        out.push('.');
    }

    fn early_start<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Woke up at ");
        push_clock(out, rng);
        out.push_str(" and ");
        let doing = self.doing(rng);
        self.fill(out, doing, rng);
        out.push('.');
    }

    fn quote<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let (open, close) = pick(&self.lists.quote_frames, rng);
        self.fill(out, open, rng);
        self.fill(out, pick(&self.lists.quotes, rng), rng);
        self.fill(out, close, rng);
    }

    fn essentials<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Underrated ");
        out.push_str(self.words);
        out.push_str(" essentials: ");
        // Three distinct items: a repeated one reads like a bug, not a person.
        let essentials = &self.lists.essentials;
        let len = essentials.len();
        let a = rng.gen_range(0..len);
        let b = (a + rng.gen_range(1..len)) % len;
        let mut c = rng.gen_range(0..len);
        while c == a || c == b {
            c = (c + 1) % len;
        }
        self.fill(out, essentials[a], rng);
        out.push_str(", ");
        self.fill(out, essentials[b], rng);
        out.push_str(" and ");
        self.fill(out, essentials[c], rng);
        out.push('.');
    }

    fn hashtags<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str(" #");
        out.push_str(self.tag);
        if rng.gen_bool(0.5) {
            out.push_str(" #");
            out.push_str(pick(&self.source(rng).hashtags, rng));
        }
    }
}

fn push_number(out: &mut String, n: u32) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{n}");
}

fn push_clock<R: Rng + ?Sized>(out: &mut String, rng: &mut R) {
    let hour: u32 = rng.gen_range(4..=7);
    let minute: u32 = rng.gen_range(0..12) * 5;
    let _ = write!(out, "{hour}:{minute:02}am");
}

/// Writes a realistic twoot about `tag` (one of [`tags`]) into a new String.
pub fn message_text<R: Rng + ?Sized>(rng: &mut R, tag: &str) -> String {
    let topic = Topic::new(tag);
    let mut out = String::with_capacity(256);

    // Weighted so that plain first-person updates dominate, as in a real feed.
    match rng.gen_range(0..20u8) {
        0..=5 => topic.story(&mut out, rng, true),
        6..=8 => topic.verdict(&mut out, rng),
        9..=10 => topic.ask(&mut out, rng),
        11..=12 => topic.mention(&mut out, rng),
        13 => topic.streak(&mut out, rng),
        14 => topic.early_start(&mut out, rng),
        15 => topic.quote(&mut out, rng),
        16 => topic.essentials(&mut out, rng),
        17 => topic.fill_sentence(&mut out, pick(&topic.lists.stats, rng), rng),
        _ => {
            topic.fill_sentence(&mut out, pick(&topic.lists.shorts, rng), rng);
            // Real feeds are full of one-liners; most of these stay bare.
            if rng.gen_bool(0.6) {
                return out;
            }
        }
    }

    // Follow-up sentences give the long tail of the length distribution.
    let mut follow_ups = 0;
    while follow_ups < 2 && rng.gen_bool(0.35) {
        out.push(' ');
        if rng.gen_bool(0.5) {
            topic.story(&mut out, rng, false);
        } else {
            topic.verdict(&mut out, rng);
        }
        follow_ups += 1;
    }
    if rng.gen_bool(0.45) {
        out.push(' ');
        topic.fill(&mut out, pick(&topic.lists.closers, rng), rng);
    }
    if rng.gen_bool(0.2) {
        topic.hashtags(&mut out, rng);
    }

    clamp(&mut out);
    out
}

/// Cuts `text` to at most [`MAX_CHARS`] characters at a word boundary,
/// marking the cut with an ellipsis.
fn clamp(text: &mut String) {
    // Every char takes at least one byte, so short byte lengths need no count.
    if text.len() <= MAX_CHARS {
        return;
    }
    let mut starts = text.char_indices().map(|(i, _)| i);
    // Keep MAX_CHARS - 1 chars to leave room for the ellipsis.
    let Some(cut) = starts.nth(MAX_CHARS - 1) else {
        return;
    };
    if starts.next().is_none() {
        return;
    }
    let keep = if text[cut..].starts_with(' ') {
        cut
    } else {
        text[..cut].rfind(' ').unwrap_or(cut)
    };
    text.truncate(keep);
    let end = text
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '-'))
        .len();
    text.truncate(end);
    text.push('…');
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;
    use crate::domain::MessageText;

    fn sample(seed: u64, count: usize) -> Vec<String> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let tags = tags();
        (0..count)
            .map(|i| message_text(&mut rng, tags[i % tags.len()]))
            .collect()
    }

    #[test]
    fn texts_are_well_formed() {
        // Every tag, and so every topic file, gets 400 texts.
        for text in sample(7, 20_000) {
            assert!(
                MessageText::parse(text.as_str()).is_ok(),
                "invalid: {text:?}"
            );
            assert_eq!(text.trim(), text, "untrimmed: {text:?}");
            assert!(!text.chars().any(char::is_control), "control: {text:?}");
            assert!(!text.contains('{'), "unfilled slot: {text:?}");
            assert!(!text.contains("  "), "double space: {text:?}");
        }
    }

    #[test]
    fn same_seed_gives_same_sequence() {
        assert_eq!(sample(42, 500), sample(42, 500));
        assert_ne!(sample(42, 500), sample(43, 500));
    }

    #[test]
    fn texts_are_varied() {
        let texts = sample(1, 20_000);
        let distinct: HashSet<_> = texts.iter().collect();
        assert!(distinct.len() >= 5_000, "only {} distinct", distinct.len());

        let lengths: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        assert!(lengths.iter().any(|&n| n <= 30), "no short texts");
        assert!(lengths.iter().any(|&n| n >= 200), "no long texts");
        // Emoji are outside the BMP and take four bytes in UTF-8.
        assert!(texts.iter().any(|t| t.chars().any(|c| c.len_utf8() == 4)));
        assert!(texts
            .iter()
            .any(|t| t.chars().any(|c| c.is_alphabetic() && !c.is_ascii())));
    }

    #[test]
    fn every_tag_gets_text_mentioning_its_topic() {
        let mut rng = SmallRng::seed_from_u64(3);
        for tag in tags() {
            let words = vocab::lists().spoken(tag);
            let hit = (0..200).any(|_| message_text(&mut rng, tag).contains(words));
            assert!(hit, "{tag} never mentioned");
        }
    }

    #[test]
    fn clamp_cuts_on_a_word_boundary() {
        let mut text = "naïve café ".repeat(40).trim_end().to_owned();
        clamp(&mut text);
        assert!(text.chars().count() <= MAX_CHARS);
        assert!(
            text.ends_with("café…") || text.ends_with("naïve…"),
            "{text:?}"
        );

        let mut exact = "é".repeat(MAX_CHARS);
        clamp(&mut exact);
        assert_eq!(exact.chars().count(), MAX_CHARS);

        let mut unbroken = "x".repeat(MAX_CHARS + 10);
        clamp(&mut unbroken);
        assert_eq!(unbroken.chars().count(), MAX_CHARS);
    }
}
