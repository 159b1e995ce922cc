//! Deterministic feature extraction: a post's topics and text as a sparse vector.
//!
//! The feature vector has `topics + buckets` entries, the topic block first:
//!
//! - **Topics.** One entry per topic of the vocabulary (the distinct labels of the training posts,
//!   trimmed, sorted by bytes). A post's known topics get `1 / sqrt(number of known topics)`, so the
//!   block has unit L2 norm. Labels match exactly (case matters); unknown labels are ignored.
//! - **Text.** The text is lowercased and cut into words at every character that is not
//!   alphanumeric (Unicode); hashtags and punctuation therefore leave their word behind. Every word
//!   (unigram) and, when `bigrams` is on, every pair of adjacent words is hashed with 64-bit FNV-1a
//!   (the unigram as `"w\x1f" + word`, the bigram as `"b\x1f" + first + " " + second`, so the two never
//!   share a hash by construction) into `hash % buckets`. A bucket hit `tf` times weighs
//!   `(1 + ln tf) * idf`, with the smoothed inverse document frequency of the training posts,
//!   `idf = ln((1 + n) / (1 + df)) + 1`, and `idf = 0` for a bucket no training post hits (the
//!   model learned nothing for it, so it does not count as a known feature). The block is then
//!   scaled to unit L2 norm.
//!
//! FNV-1a is fixed here rather than `std`'s hasher, whose algorithm may change between Rust
//! releases: a published encoder must hash the same way in every build that loads it.

use std::collections::HashMap;

/// A sparse feature vector: `(feature index, value)`, indices strictly increasing.
pub(crate) type SparseRow = Vec<(u32, f32)>;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a over the concatenation of `parts`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h = FNV_OFFSET;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// The lowercased alphanumeric words of `text`, in order.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The bucket of every unigram (and bigram) of `text`, with repetitions, in text order.
pub(crate) fn text_buckets(text: &str, buckets: usize, bigrams: bool) -> Vec<u32> {
    let words = words(text);
    let bucket = |h: u64| (h % buckets as u64) as u32;
    let mut out = Vec::with_capacity(words.len() * 2);
    for w in &words {
        out.push(bucket(fnv1a(&[b"w\x1f", w.as_bytes()])));
    }
    if bigrams {
        for pair in words.windows(2) {
            out.push(bucket(fnv1a(&[
                b"b\x1f",
                pair[0].as_bytes(),
                b" ",
                pair[1].as_bytes(),
            ])));
        }
    }
    out
}

/// `(bucket, count)` of `text`, buckets ascending.
fn bucket_counts(text: &str, buckets: usize, bigrams: bool) -> Vec<(u32, u32)> {
    let mut hits = text_buckets(text, buckets, bigrams);
    hits.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(hits.len());
    for b in hits {
        match out.last_mut() {
            Some((last, n)) if *last == b => *n += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

/// The feature space of a fitted encoder: the topic vocabulary and the text buckets' IDF.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FeatureSpace {
    /// Topic vocabulary, sorted, distinct.
    pub topics: Vec<String>,
    topic_index: HashMap<String, u32>,
    /// IDF per bucket (0 for buckets no training post hit).
    pub idf: Vec<f32>,
    /// Hash each pair of adjacent words too.
    pub bigrams: bool,
}

impl FeatureSpace {
    /// A space from its parts. `topics` must be sorted and distinct (checked by the callers:
    /// the fit builds it so, the artifact loader validates it).
    pub(crate) fn new(topics: Vec<String>, idf: Vec<f32>, bigrams: bool) -> Self {
        let topic_index = topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Self {
            topics,
            topic_index,
            idf,
            bigrams,
        }
    }

    /// Learns the vocabulary and the IDF from the training posts `(topics, text)`.
    pub(crate) fn learn<'a>(
        posts: impl Iterator<Item = (&'a [String], &'a str)>,
        buckets: usize,
        bigrams: bool,
    ) -> Self {
        let mut topics: Vec<String> = Vec::new();
        let mut df = vec![0u32; buckets];
        let mut n = 0usize;
        for (post_topics, text) in posts {
            n += 1;
            topics.extend(
                post_topics
                    .iter()
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            );
            for (b, _) in bucket_counts(text, buckets, bigrams) {
                df[b as usize] += 1;
            }
        }
        topics.sort_unstable();
        topics.dedup();
        let idf = df
            .iter()
            .map(|&d| {
                if d == 0 {
                    0.0
                } else {
                    (((1 + n) as f64 / (1.0 + f64::from(d))).ln() + 1.0) as f32
                }
            })
            .collect();
        Self::new(topics, idf, bigrams)
    }

    /// Number of text buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.idf.len()
    }

    /// Length of a feature vector: topics, then buckets.
    pub(crate) fn dim(&self) -> usize {
        self.topics.len() + self.buckets()
    }

    /// The feature vector of a post; empty when no known feature fires.
    pub(crate) fn row(&self, topics: &[String], text: &str) -> SparseRow {
        let mut known: Vec<u32> = topics
            .iter()
            .filter_map(|t| self.topic_index.get(t.trim()).copied())
            .collect();
        known.sort_unstable();
        known.dedup();
        let mut row: SparseRow = Vec::with_capacity(known.len() + 32);
        if !known.is_empty() {
            let v = 1.0 / (known.len() as f32).sqrt();
            row.extend(known.iter().map(|&t| (t, v)));
        }
        let offset = self.topics.len() as u32;
        let start = row.len();
        let mut norm2 = 0.0f64;
        for (b, tf) in bucket_counts(text, self.buckets(), self.bigrams) {
            let idf = self.idf[b as usize];
            if idf > 0.0 {
                let w = (1.0 + (tf as f32).ln()) * idf;
                norm2 += f64::from(w) * f64::from(w);
                row.push((offset + b, w));
            }
        }
        if norm2 > 0.0 {
            let inv = (1.0 / norm2.sqrt()) as f32;
            for (_, w) in &mut row[start..] {
                *w *= inv;
            }
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&[b"foobar"]), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a(&[b"foo", b"bar"]), fnv1a(&[b"foobar"]));
    }

    #[test]
    fn words_are_lowercased_alphanumeric_runs() {
        assert_eq!(
            words("Jazz-Guitar, #LIVE tonight!! Café 2024"),
            s(&["jazz", "guitar", "live", "tonight", "café", "2024"])
        );
        assert!(words("").is_empty());
        assert!(words(" ... #!? ").is_empty());
    }

    #[test]
    fn buckets_cover_unigrams_then_bigrams() {
        let b = text_buckets("a b a", 1 << 12, true);
        assert_eq!(b.len(), 3 + 2);
        assert_eq!(b[0], b[2]);
        // "a b" and "b a" are different bigrams.
        assert_ne!(b[3], b[4]);
        assert_eq!(text_buckets("a b a", 1 << 12, false).len(), 3);
        assert!(b.iter().all(|&x| x < 1 << 12));
    }

    #[test]
    fn rows_are_weighted_and_normalised() {
        const BUCKETS: usize = 1 << 12;
        let posts = [
            (s(&["music"]), "jazz guitar jazz"),
            (s(&["sport", "music"]), "football"),
        ];
        let space = FeatureSpace::learn(
            posts.iter().map(|(t, x)| (t.as_slice(), *x)),
            BUCKETS,
            false,
        );
        assert_eq!(space.topics, s(&["music", "sport"]));
        assert_eq!(space.dim(), 2 + BUCKETS);
        let row = space.row(&s(&["sport", "music", "unknown"]), "");
        let h = 1.0 / 2f32.sqrt();
        assert_eq!(row, vec![(0, h), (1, h)]);
        // Text: "jazz" twice (df 1), "guitar" once (df 1): (1 + ln 2) : 1 before normalising.
        let row = space.row(&[], "Jazz guitar JAZZ");
        assert_eq!(row.len(), 2);
        let norm: f32 = row.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-6);
        let jazz = 2 + text_buckets("jazz", BUCKETS, false)[0];
        let (j, g) = if row[0].0 == jazz {
            (row[0].1, row[1].1)
        } else {
            (row[1].1, row[0].1)
        };
        assert!((j / g - (1.0 + 2f32.ln())).abs() < 1e-5);
        // Unknown words and unknown topics fire nothing.
        assert!(space.row(&s(&["cooking"]), "zzz qqq").is_empty());
    }
}
