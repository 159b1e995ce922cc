//! The content encoder: a post's vector from its topics and text, for posts the model has not
//! seen.
//!
//! ALS only knows items that were interacted with before training. The content encoder maps a
//! post's content into the same item-vector space, so a brand-new post can be ranked by the
//! nearest-neighbour source at once. It is linear: `v = b + x W`.
//!
//! - `x` is a deterministic sparse feature vector: a topic block (multi-hot over the training
//!   topic vocabulary, unit norm) and a text block (lowercased word unigrams and bigrams hashed
//!   with 64-bit FNV-1a into `buckets` buckets, weighted by `(1 + ln tf) * idf`, unit norm).
//!   The source of `features.rs` spells out every rule.
//! - `W` and the intercept `b` are ridge regression from `x` to the trained item vectors of the
//!   training posts, solved in closed form, `(XcᵀXc + λI) W = XcᵀYc` on centred features and
//!   targets (or its dual form when there are fewer posts than active features; see `ridge.rs`).
//!   The penalty `λ` is chosen from a small grid by the mean cosine on a seeded held-out share
//!   of the posts, then the encoder is refitted on all of them.
//!
//! [`ContentEncoder::encode`] returns `None` when none of a post's features is known (no topic of
//! the vocabulary, no word or word pair in a bucket a training post hit): the engine then falls
//! back to the author's or the topics' mean vector.
//!
//! **Why not linfa.** `linfa-linear` 0.8 has ordinary least squares for one target and GLMs fitted
//! by L-BFGS, no closed-form ridge; `linfa-elasticnet` reaches ridge by coordinate descent, one
//! target at a time; `linfa-preprocessing`'s TF-IDF vectoriser builds a word vocabulary (no
//! hashing) and would bring `regex` and `sprs` into every crate that encodes a post, the engine
//! included; its scalers are for dense matrices; and `linfa-linalg`'s Cholesky is scalar and
//! unblocked, like the one the ALS solver already has. The blocked solver of `ridge.rs` uses the
//! ALS one for its diagonal blocks and `ndarray`'s matrix product for the rest.
//!
//! ```
//! use models::content::{ContentParams, PostContent};
//! use ndarray::array;
//!
//! let topics = [vec!["music".to_owned()], vec!["sport".to_owned()]];
//! let posts = [
//!     PostContent { topics: &topics[0], text: "jazz guitar live" },
//!     PostContent { topics: &topics[1], text: "football goal" },
//! ];
//! // Each post's trained item vector.
//! let targets = array![[1.0f32, 0.0], [0.0, 1.0]];
//! let params = ContentParams { lambdas: vec![0.01], ..ContentParams::default() };
//! let fit = params.check()?.fit(&posts, targets.view())?;
//! let v = fit.encoder.encode(&[], "late night jazz").unwrap();
//! assert!(v[0] > v[1]);
//! assert_eq!(fit.encoder.encode(&["cooking".to_owned()], "pasta"), None);
//! # Ok::<(), models::error::Error>(())
//! ```

mod encoder;
mod features;
mod params;
mod ridge;

pub use encoder::{ContentEncoder, ContentFit, LambdaScore, PostContent};
pub use params::{ContentParams, ContentValidParams};

pub(crate) use features::FeatureSpace;

/// The cosine of the angle between `a` and `b`, accumulated in `f64`; 0 when either is zero.
///
/// # Panics
///
/// If the lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "cosine of vectors of different lengths");
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

#[cfg(test)]
mod tests;
