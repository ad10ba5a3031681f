//! The words of the seed corpus, kept as text files under `vocab/` (format in
//! `vocab/README.md`) so that they can be read and edited apart from the grammar in
//! [`super::corpus`]. The files are compiled in, so the binary needs nothing on disk, and parsed
//! once, on first use, into slices of that text: generating a twoot copies no word lists.

use std::sync::LazyLock;

/// The words for one topic; `vocab/README.md` says what each list holds.
#[derive(Default)]
pub(super) struct Vocab {
    pub things: Vec<&'static str>,
    pub doings: Vec<&'static str>,
    pub details: Vec<&'static str>,
    pub questions: Vec<&'static str>,
    pub hashtags: Vec<&'static str>,
}

/// A frame split at its hole: the text before it and the text after it.
pub(super) type Frame = (&'static str, &'static str);

/// Every list, named after its file.
pub(super) struct Lists {
    pub tags: Vec<&'static str>,
    /// How tags read in a sentence, where that is not as tagged: ("remote_work", "remote work").
    pub spoken_forms: Vec<(&'static str, &'static str)>,
    pub generic: Vocab,
    /// Tags with words of their own, each from `topics/<tag>.txt`.
    pub topics: Vec<(&'static str, Vocab)>,
    pub openers: Vec<&'static str>,
    pub adverbs: Vec<&'static str>,
    pub verdicts: Vec<Frame>,
    pub closers: Vec<&'static str>,
    pub mention_frames: Vec<Frame>,
    pub question_frames: Vec<Frame>,
    pub shorts: Vec<&'static str>,
    pub stats: Vec<&'static str>,
    pub streak_activities: Vec<&'static str>,
    pub streak_progress: Vec<&'static str>,
    pub quotes: Vec<&'static str>,
    pub quote_frames: Vec<Frame>,
    pub essentials: Vec<&'static str>,
    pub handles: Vec<&'static str>,
    pub venues: Vec<&'static str>,
    pub cities: Vec<&'static str>,
}

impl Lists {
    /// `tag` as people write it in a sentence.
    pub fn spoken<'t>(&self, tag: &'t str) -> &'t str {
        let form = self.spoken_forms.iter().find(|(name, _)| *name == tag);
        form.map_or(tag, |(_, words)| words)
    }

    /// The words of `tag`, if it has a file of its own.
    pub fn topic(&self, tag: &str) -> Option<&Vocab> {
        self.topics
            .iter()
            .find(|(name, _)| *name == tag)
            .map(|(_, vocab)| vocab)
    }
}

/// The lists, parsed on first use.
pub(super) fn lists() -> &'static Lists {
    static LISTS: LazyLock<Lists> = LazyLock::new(load);
    &LISTS
}

/// The entries of `vocab/<name>.txt`.
macro_rules! list {
    ($name:literal) => {
        entries(include_str!(concat!("vocab/", $name, ".txt"))).collect()
    };
}

/// The frames of `vocab/<name>.txt`, split at `hole`.
macro_rules! frames {
    ($name:literal, $hole:literal) => {
        frames($name, include_str!(concat!("vocab/", $name, ".txt")), $hole)
    };
}

/// The vocabularies of `vocab/topics/<tag>.txt`, one for each tag named.
macro_rules! topics {
    ($($tag:literal),* $(,)?) => {
        vec![$(($tag, topic($tag, include_str!(concat!("vocab/topics/", $tag, ".txt"))))),*]
    };
}

fn load() -> Lists {
    let (tags, spoken_forms) = tags(include_str!("vocab/tags.txt"));
    Lists {
        tags,
        spoken_forms,
        generic: topic("generic", include_str!("vocab/topics/generic.txt")),
        topics: topics![
            "coffee",
            "hiking",
            "rustlang",
            "gardening",
            "jazz",
            "startups",
            "climate",
            "football",
            "baking",
            "photography",
            "running",
            "cats",
            "databases",
            "travel",
            "chess",
        ],
        openers: list!("openers"),
        adverbs: list!("adverbs"),
        verdicts: frames!("verdicts", "{thing}"),
        closers: list!("closers"),
        mention_frames: frames!("mention_frames", "{thing}"),
        question_frames: frames!("question_frames", "{question}"),
        shorts: list!("shorts"),
        stats: list!("stats"),
        streak_activities: list!("streak_activities"),
        streak_progress: list!("streak_progress"),
        quotes: list!("quotes"),
        quote_frames: frames!("quote_frames", "{quote}"),
        essentials: list!("essentials"),
        handles: list!("handles"),
        venues: list!("venues"),
        cities: list!("cities"),
    }
}

/// The lines of `text` that are neither blank nor comments. Entries are kept as written, not
/// trimmed, so that a stray space fails the tests instead of slipping into twoots unseen.
fn entries(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().filter(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#')
    })
}

/// The tags, and the spoken forms given after " = " on some of their lines.
fn tags(text: &'static str) -> (Vec<&'static str>, Vec<(&'static str, &'static str)>) {
    let (mut tags, mut spoken_forms) = (Vec::new(), Vec::new());
    for line in entries(text) {
        match line.split_once(" = ") {
            Some((tag, words)) => {
                tags.push(tag);
                spoken_forms.push((tag, words));
            }
            None => tags.push(line),
        }
    }
    (tags, spoken_forms)
}

fn frames(name: &str, text: &'static str, hole: &str) -> Vec<Frame> {
    entries(text)
        .map(|line| {
            line.split_once(hole)
                .unwrap_or_else(|| panic!("{name}.txt: {line:?} has no {hole}"))
        })
        .collect()
}

fn topic(name: &str, text: &'static str) -> Vocab {
    let mut vocab = Vocab::default();
    let mut section = None;
    for line in entries(text) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(match header {
                "things" => &mut vocab.things,
                "doings" => &mut vocab.doings,
                "details" => &mut vocab.details,
                "questions" => &mut vocab.questions,
                "hashtags" => &mut vocab.hashtags,
                _ => panic!("topics/{name}.txt: unknown section [{header}]"),
            });
        } else if let Some(list) = section.as_mut() {
            list.push(line);
        } else {
            panic!("topics/{name}.txt: {line:?} comes before the first [section]");
        }
    }
    vocab
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::Tag;

    /// What the grammar's `Topic::fill` expands.
    const SLOTS: [&str; 6] = ["{t}", "{m}", "{p}", "{x}", "{n}", "{c}"];

    type Named = (String, Vec<&'static str>);

    fn vocabs(lists: &'static Lists) -> impl Iterator<Item = (&'static str, &'static Vocab)> {
        let topics = lists.topics.iter().map(|(tag, vocab)| (*tag, vocab));
        std::iter::once(("generic", &lists.generic)).chain(topics)
    }

    fn named(lists: &[(&str, &Vec<&'static str>)]) -> Vec<Named> {
        let named = lists
            .iter()
            .map(|(name, list)| (name.to_string(), list.to_vec()));
        named.collect()
    }

    /// The lists whose slots the grammar fills, frames aside.
    fn phrases(lists: &'static Lists) -> Vec<Named> {
        let mut all: Vec<Named> = vocabs(lists)
            .flat_map(|(tag, vocab)| {
                [
                    (format!("topics/{tag} [things]"), vocab.things.clone()),
                    (format!("topics/{tag} [doings]"), vocab.doings.clone()),
                    (format!("topics/{tag} [details]"), vocab.details.clone()),
                    (format!("topics/{tag} [questions]"), vocab.questions.clone()),
                ]
            })
            .collect();
        all.extend(named(&[
            ("openers", &lists.openers),
            ("adverbs", &lists.adverbs),
            ("closers", &lists.closers),
            ("shorts", &lists.shorts),
            ("stats", &lists.stats),
            ("streak_activities", &lists.streak_activities),
            ("streak_progress", &lists.streak_progress),
            ("quotes", &lists.quotes),
            ("essentials", &lists.essentials),
        ]));
        all
    }

    /// The frames, each as its two halves.
    fn halves(lists: &'static Lists) -> impl Iterator<Item = Named> {
        frame_lists(lists).into_iter().map(|(name, frames, _)| {
            let halves = frames.iter().flat_map(|&(before, after)| [before, after]);
            (name.to_owned(), halves.collect())
        })
    }

    /// The lists taken word for word: tags, hashtags and what slots become.
    fn words(lists: &'static Lists) -> Vec<Named> {
        let mut all: Vec<Named> = vocabs(lists)
            .map(|(tag, vocab)| (format!("topics/{tag} [hashtags]"), vocab.hashtags.clone()))
            .collect();
        all.extend(named(&[
            ("tags", &lists.tags),
            ("handles", &lists.handles),
            ("venues", &lists.venues),
            ("cities", &lists.cities),
        ]));
        all
    }

    fn frame_lists(lists: &'static Lists) -> [(&'static str, &'static [Frame], &'static str); 4] {
        [
            ("verdicts", &lists.verdicts, "{thing}"),
            ("mention_frames", &lists.mention_frames, "{thing}"),
            ("question_frames", &lists.question_frames, "{question}"),
            ("quote_frames", &lists.quote_frames, "{quote}"),
        ]
    }

    #[test]
    fn tags_are_fifty_distinct_tags_as_written() {
        let tags = &lists().tags;
        assert_eq!(tags.len(), 50);
        assert_eq!(tags.iter().collect::<HashSet<_>>().len(), 50, "a duplicate");
        for tag in tags {
            // As written: a tag that parsing folds would not find its topic file.
            assert_eq!(Tag::parse(tag).as_ref().map(Tag::as_str), Ok(*tag));
        }
        for (tag, words) in &lists().spoken_forms {
            let clean = !words.is_empty() && words.trim() == *words && !words.contains('{');
            assert!(clean, "{tag} = {words:?}");
        }
    }

    #[test]
    fn every_topic_is_a_tag_and_has_every_section() {
        let lists = lists();
        for (tag, vocab) in vocabs(lists) {
            assert!(
                tag == "generic" || lists.tags.contains(&tag),
                "{tag} is no tag"
            );
            for (section, list) in [
                ("things", &vocab.things),
                ("doings", &vocab.doings),
                ("details", &vocab.details),
                ("questions", &vocab.questions),
                ("hashtags", &vocab.hashtags),
            ] {
                assert!(!list.is_empty(), "topics/{tag}.txt has no [{section}]");
            }
        }
    }

    #[test]
    fn no_list_is_empty_and_no_entry_has_stray_spaces() {
        let lists = lists();
        for (name, list) in words(lists).into_iter().chain(phrases(lists)) {
            assert!(!list.is_empty(), "{name} is empty");
            for entry in list {
                assert_eq!(entry.trim(), entry, "{name}: stray space");
            }
        }
        for (name, frames, hole) in frame_lists(lists) {
            assert!(!frames.is_empty(), "{name} is empty");
            for (before, after) in frames {
                let line = format!("{before}{hole}{after}");
                assert_eq!(line.trim(), line, "{name}: stray space");
            }
        }
        // Each twoot about essentials names three different ones.
        assert!(lists.essentials.len() >= 3);
    }

    #[test]
    fn slots_are_known_and_only_where_the_grammar_fills_them() {
        let lists = lists();
        for (name, list) in phrases(lists).into_iter().chain(halves(lists)) {
            for phrase in list {
                // A second hole in a frame shows up here too, as an unknown slot.
                let known = |(i, _)| phrase.get(i..i + 3).is_some_and(|s| SLOTS.contains(&s));
                assert!(phrase.match_indices('{').all(known), "{name}: {phrase:?}");
            }
        }
        for (name, list) in words(lists) {
            for word in list {
                assert!(!word.contains('{'), "{name}: no slots here: {word:?}");
            }
        }
    }
}
