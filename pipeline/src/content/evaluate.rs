//! Scoring ways of giving a new post a vector, on trained posts hidden from the encoder's fit.
//!
//! For each held-out post, each method proposes a vector (or none) and is scored by the cosine
//! with the post's trained ALS vector: the direction is what ranks a post for a user (the engine
//! scores by dot product, and every candidate of a user shares the user's vector).
//!
//! - `encoder`: the content encoder fitted on the other posts.
//! - `author_mean`: the mean vector of the author's other (fitted) posts: the engine's first
//!   fallback.
//! - `topic_mean`: the mean, over the post's topics, of each topic's mean vector over the fitted
//!   posts: the engine's second fallback.
//! - `global_mean`: the mean vector of all fitted posts, a floor every method should beat.
//! - `encoder_else_author_else_topic`: what the engine does with an encoder in the artifact.
//! - `author_else_topic`: what it does without one.

use std::collections::HashMap;

use datasets::posts::PostRecord;
use models::content::{ContentEncoder, cosine};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

/// The encoder.
pub const ENCODER: &str = "encoder";
/// The author's mean vector.
pub const AUTHOR_MEAN: &str = "author_mean";
/// The topics' mean vector.
pub const TOPIC_MEAN: &str = "topic_mean";
/// The mean vector of every fitted post.
pub const GLOBAL_MEAN: &str = "global_mean";
/// The engine with an encoder: encoder, else author mean, else topic mean.
pub const ENGINE_WITH_ENCODER: &str = "encoder_else_author_else_topic";
/// The engine without an encoder: author mean, else topic mean.
pub const ENGINE_WITHOUT_ENCODER: &str = "author_else_topic";

/// How well one method's vectors match the trained vectors of the held-out posts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodScore {
    /// The method (one of the constants of this module).
    pub method: String,
    /// Held-out posts it gave a vector to.
    pub covered: usize,
    /// Mean cosine over the covered posts (`None` when it covered none).
    pub mean_cosine: Option<f64>,
    /// Mean cosine over all held-out posts, a post without a vector counting 0.
    pub mean_cosine_all: f64,
    /// Mean of `|proposed| / |trained|` over the covered posts (ridge and averaging both shrink
    /// vectors; the engine scores by dot product, so the scale matters for mixing new posts with
    /// trained ones).
    pub mean_norm_ratio: Option<f64>,
}

/// Mean vectors of the fitted posts, by author and by topic, and overall.
#[derive(Debug)]
pub struct Baselines {
    by_author: HashMap<String, Array1<f32>>,
    by_topic: HashMap<String, Array1<f32>>,
    global: Array1<f32>,
}

/// Accumulates vectors per key in `f64`, then returns their means.
fn means<'a>(
    entries: impl Iterator<Item = (&'a str, usize)>,
    vectors: ArrayView2<'_, f32>,
) -> HashMap<String, Array1<f32>> {
    let mut sums: HashMap<&str, (Array1<f64>, usize)> = HashMap::new();
    for (key, item) in entries {
        let (sum, n) = sums
            .entry(key)
            .or_insert_with(|| (Array1::zeros(vectors.ncols()), 0));
        *sum += &vectors.row(item).mapv(f64::from);
        *n += 1;
    }
    sums.into_iter()
        .map(|(k, (sum, n))| (k.to_owned(), (sum / n as f64).mapv(|v| v as f32)))
        .collect()
}

impl Baselines {
    /// The means over the fitted posts `(item index, record)`, with `vectors` the item factors.
    pub fn new(fitted: &[(usize, &PostRecord)], vectors: ArrayView2<'_, f32>) -> Self {
        let by_author = means(
            fitted
                .iter()
                .filter_map(|(i, p)| p.author.as_deref().map(|a| (a, *i))),
            vectors,
        );
        let by_topic = means(
            fitted
                .iter()
                .flat_map(|(i, p)| p.topics.iter().map(move |t| (t.as_str(), *i))),
            vectors,
        );
        let global = means(fitted.iter().map(|(i, _)| ("", *i)), vectors)
            .remove("")
            .unwrap_or_else(|| Array1::zeros(vectors.ncols()));
        Self {
            by_author,
            by_topic,
            global,
        }
    }

    /// The mean vector of the post's author's fitted posts.
    pub fn author_mean(&self, post: &PostRecord) -> Option<Array1<f32>> {
        post.author
            .as_deref()
            .and_then(|a| self.by_author.get(a))
            .cloned()
    }

    /// The mean of the post's known topics' mean vectors.
    pub fn topic_mean(&self, post: &PostRecord) -> Option<Array1<f32>> {
        let known: Vec<&Array1<f32>> = post
            .topics
            .iter()
            .filter_map(|t| self.by_topic.get(t))
            .collect();
        let first = known.first()?;
        let mut sum = Array1::<f32>::zeros(first.len());
        for v in &known {
            sum += *v;
        }
        Some(sum / known.len() as f32)
    }
}

/// Running totals of one method.
#[derive(Debug, Default)]
struct Tally {
    covered: usize,
    cosine: f64,
    norm_ratio: f64,
}

impl Tally {
    fn add(&mut self, proposed: Option<&[f32]>, truth: &[f32]) {
        if let Some(v) = proposed {
            self.covered += 1;
            self.cosine += cosine(v, truth);
            let norm = |x: &[f32]| x.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
            let t = norm(truth);
            if t > 0.0 {
                self.norm_ratio += norm(v) / t;
            }
        }
    }

    fn score(&self, method: &str, total: usize) -> MethodScore {
        let per_covered = |x: f64| (self.covered > 0).then(|| x / self.covered as f64);
        MethodScore {
            method: method.to_owned(),
            covered: self.covered,
            mean_cosine: per_covered(self.cosine),
            mean_cosine_all: if total == 0 {
                0.0
            } else {
                self.cosine / total as f64
            },
            mean_norm_ratio: per_covered(self.norm_ratio),
        }
    }
}

/// Scores every method on the held-out posts `(item index, record)`; `vectors` are the item
/// factors. Methods in the order of the module docs.
pub fn score_held_out(
    encoder: &ContentEncoder,
    baselines: &Baselines,
    held_out: &[(usize, &PostRecord)],
    vectors: ArrayView2<'_, f32>,
) -> Vec<MethodScore> {
    let mut tallies: [Tally; 6] = Default::default();
    for &(item, post) in held_out {
        let truth = vectors.row(item).to_vec();
        let encoded = encoder.encode(&post.topics, &post.text);
        let author = baselines.author_mean(post).map(|v| v.to_vec());
        let topic = baselines.topic_mean(post).map(|v| v.to_vec());
        let global = baselines.global.to_vec();
        let with_encoder = encoded
            .as_deref()
            .or(author.as_deref())
            .or(topic.as_deref());
        let without_encoder = author.as_deref().or(topic.as_deref());
        for (tally, proposed) in tallies.iter_mut().zip([
            encoded.as_deref(),
            author.as_deref(),
            topic.as_deref(),
            Some(global.as_slice()),
            with_encoder,
            without_encoder,
        ]) {
            tally.add(proposed, &truth);
        }
    }
    tallies
        .iter()
        .zip([
            ENCODER,
            AUTHOR_MEAN,
            TOPIC_MEAN,
            GLOBAL_MEAN,
            ENGINE_WITH_ENCODER,
            ENGINE_WITHOUT_ENCODER,
        ])
        .map(|(t, m)| t.score(m, held_out.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn post(author: Option<&str>, topics: &[&str]) -> PostRecord {
        PostRecord {
            id: String::new(),
            author: author.map(str::to_owned),
            created_at: None,
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            text: String::new(),
        }
    }

    #[test]
    fn baselines_by_hand() {
        let vectors = array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 3.0]];
        let posts = [
            post(Some("a"), &["x"]),
            post(Some("a"), &["y"]),
            post(None, &["x", "y"]),
        ];
        let fitted: Vec<(usize, &PostRecord)> = posts.iter().enumerate().collect();
        let b = Baselines::new(&fitted, vectors.view());
        assert_eq!(
            b.author_mean(&post(Some("a"), &[])).unwrap(),
            array![0.5, 0.5]
        );
        assert_eq!(b.author_mean(&post(Some("zz"), &["x"])), None);
        // x: mean of items 0 and 2 = (1, 0.5); y: items 1 and 2 = (0.5, 1).
        assert_eq!(
            b.topic_mean(&post(None, &["x", "y", "unknown"])).unwrap(),
            array![0.75, 0.75]
        );
        assert_eq!(b.topic_mean(&post(None, &["unknown"])), None);
        assert_eq!(b.global, array![2.0 / 3.0, 2.0 / 3.0]);
    }

    #[test]
    fn tallies_count_uncovered_posts_as_zero_in_the_overall_mean() {
        let mut t = Tally::default();
        t.add(Some(&[2.0, 0.0]), &[1.0, 0.0]);
        t.add(None, &[1.0, 0.0]);
        let s = t.score("m", 2);
        assert_eq!(s.covered, 1);
        assert_eq!(s.mean_cosine, Some(1.0));
        assert_eq!(s.mean_cosine_all, 0.5);
        assert_eq!(s.mean_norm_ratio, Some(2.0));
        let none = Tally::default().score("m", 3);
        assert_eq!((none.mean_cosine, none.mean_cosine_all), (None, 0.0));
    }
}
