//! Words: topic names, per-topic pseudo-word vocabularies, user handles and post text.
//!
//! Every topic has its own vocabulary (its name first, then pronounceable pseudo-words, unique across
//! topics), drawn with a Zipf law inside the topic so that a few words per topic are frequent, as in
//! real text. A post's words come from its topics, mixed with common filler words, followed by
//! hashtags. Text-based models can therefore recover topics from words.

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::sampling::Weighted;

/// Names of the first topics; more topics are called `topic25`, `topic26`, …
const TOPIC_NAMES: [&str; 24] = [
    "music",
    "football",
    "cooking",
    "travel",
    "tech",
    "gaming",
    "fashion",
    "science",
    "politics",
    "art",
    "movies",
    "books",
    "fitness",
    "photography",
    "pets",
    "finance",
    "gardening",
    "comedy",
    "history",
    "space",
    "cars",
    "education",
    "health",
    "design",
];

const ONSETS: [&str; 20] = [
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br",
    "st", "tr",
];
const VOWELS: [&str; 6] = ["a", "e", "i", "o", "u", "ai"];
const FILLERS: [&str; 24] = [
    "the", "a", "and", "to", "of", "in", "is", "my", "this", "so", "just", "with", "for", "on",
    "today", "really", "love", "new", "we", "you", "about", "what", "best", "more",
];

/// The display names of `n` topics.
pub(crate) fn topic_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|t| {
            TOPIC_NAMES
                .get(t)
                .map_or_else(|| format!("topic{}", t + 1), |s| (*s).to_owned())
        })
        .collect()
}

fn pseudo_word(rng: &mut ChaCha8Rng, syllables: usize) -> String {
    let mut w = String::with_capacity(syllables * 3);
    for _ in 0..syllables {
        w.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
        w.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
    }
    w
}

/// `words_per_topic` distinct words per topic (the topic's name first), distinct across topics.
pub(crate) fn vocabularies(
    names: &[String],
    words_per_topic: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<String>> {
    let mut seen: HashSet<String> = names.iter().cloned().collect();
    seen.extend(FILLERS.iter().map(|s| (*s).to_owned()));
    names
        .iter()
        .map(|name| {
            let mut words = vec![name.clone()];
            while words.len() < words_per_topic {
                // Longer words once short ones get crowded, so this always terminates quickly.
                let mut syllables = rng.random_range(2..=3);
                let word = loop {
                    let w = pseudo_word(rng, syllables);
                    if !seen.contains(&w) {
                        break w;
                    }
                    syllables += usize::from(rng.random_range(0..8) == 0);
                };
                seen.insert(word.clone());
                words.push(word);
            }
            words.truncate(words_per_topic);
            words
        })
        .collect()
}

/// A pronounceable handle, unique through its id suffix (`brami_17`).
pub(crate) fn handle(id: u32, rng: &mut ChaCha8Rng) -> String {
    let syllables = rng.random_range(2..=3);
    format!("{}_{id}", pseudo_word(rng, syllables))
}

/// Draws the text of posts.
pub(crate) struct TextGenerator<'a> {
    names: &'a [String],
    vocabularies: &'a [Vec<String>],
    zipf: Weighted,
}

impl<'a> TextGenerator<'a> {
    pub(crate) fn new(names: &'a [String], vocabularies: &'a [Vec<String>]) -> Self {
        let n = vocabularies.first().map_or(1, Vec::len);
        let zipf = Weighted::new((0..n).map(|r| 1.0 / (r as f64 + 1.0))).expect("positive weights");
        Self {
            names,
            vocabularies,
            zipf,
        }
    }

    /// 6–24 words from `topics` and fillers, a full stop, then 1–3 hashtags (the first topic's name,
    /// then topic words).
    pub(crate) fn post(&self, topics: &[u32], rng: &mut ChaCha8Rng) -> String {
        let mut text = String::with_capacity(160);
        let words = rng.random_range(6..=24);
        for i in 0..words {
            let word: &str = if rng.random::<f64>() < 0.35 {
                FILLERS[rng.random_range(0..FILLERS.len())]
            } else {
                let t = topics[rng.random_range(0..topics.len())] as usize;
                &self.vocabularies[t][self.zipf.sample(rng)]
            };
            if i == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    text.extend(c.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push_str(". #");
        text.push_str(&self.names[topics[0] as usize]);
        for _ in 0..rng.random_range(0..=2) {
            let t = topics[rng.random_range(0..topics.len())] as usize;
            text.push_str(" #");
            text.push_str(&self.vocabularies[t][self.zipf.sample(rng)]);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn vocabularies_are_distinct_and_sized() {
        let names = topic_names(30);
        assert_eq!(names[0], "music");
        assert_eq!(names[29], "topic30");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let vocab = vocabularies(&names, 300, &mut rng);
        assert_eq!(vocab.len(), 30);
        assert!(vocab.iter().all(|v| v.len() == 300));
        assert_eq!(vocab[3][0], "travel");
        let all: HashSet<&String> = vocab.iter().flatten().collect();
        assert_eq!(all.len(), 30 * 300);
    }

    #[test]
    fn post_text_uses_its_topics() {
        let names = topic_names(4);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let vocab = vocabularies(&names, 50, &mut rng);
        let generator = TextGenerator::new(&names, &vocab);
        let text = generator.post(&[2], &mut rng);
        assert!(text.contains(". #cooking"), "{text}");
        let own: HashSet<&str> = vocab[2].iter().map(String::as_str).collect();
        let body = text.split(". #").next().unwrap().to_lowercase();
        for word in body.split(' ') {
            assert!(
                own.contains(word) || FILLERS.contains(&word),
                "{word} in {text}"
            );
        }
        assert!(handle(17, &mut rng).ends_with("_17"));
    }
}
