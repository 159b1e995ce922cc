//! Seeded vectors shaped like trained ALS factors, for the index, feed and fold-in benchmarks.
//!
//! Training ALS at a million items takes longer than the benchmarks it feeds, and uniform random
//! vectors are the easy case for a graph index (no structure, every norm alike). Trained factors
//! are neither: they concentrate near a low-dimensional subspace (a few dominant tastes) and
//! their norms spread over an order of magnitude (popular items are long). [`als_like`] draws
//! that shape: a Gaussian mixture of topics in a random `rank`-dimensional subspace, plus
//! isotropic noise, each row scaled by a log-normal norm factor.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, StandardNormal};

/// Dimension of the subspace the signal lives in.
pub const RANK: usize = 16;
/// Topic centres the rows cluster around.
pub const TOPICS: usize = 64;
/// Standard deviation of the isotropic noise relative to the signal (per coordinate).
pub const NOISE: f32 = 0.3;
/// Sigma of the log-normal norm factor: exp(±0.5) spans about 2.7x between typical rows.
pub const NORM_SIGMA: f64 = 0.5;

/// Shared structure of one factor space: the subspace basis and the topic centres in it.
#[derive(Debug, Clone)]
pub struct FactorSpace {
    dim: usize,
    /// `RANK x dim` basis of the signal subspace.
    basis: Array2<f32>,
    /// `TOPICS x RANK` topic centres.
    centres: Array2<f32>,
}

impl FactorSpace {
    /// A seeded space of dimension `dim`.
    pub fn new(dim: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let scale = 1.0 / (dim as f32).sqrt();
        let basis = Array2::from_shape_simple_fn((RANK, dim), || gaussian(&mut rng) * scale);
        let centres = Array2::from_shape_simple_fn((TOPICS, RANK), || gaussian(&mut rng));
        Self {
            dim,
            basis,
            centres,
        }
    }

    /// `rows` seeded vectors of this space: a topic centre plus spread inside the subspace,
    /// isotropic noise, and a log-normal norm factor per row.
    pub fn sample(&self, rows: usize, seed: u64) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let norm = LogNormal::new(0.0, NORM_SIGMA).expect("valid log-normal");
        let mut out = Array2::<f32>::zeros((rows, self.dim));
        let mut latent = [0.0f32; RANK];
        let noise = NOISE / (self.dim as f32).sqrt();
        for mut row in out.rows_mut() {
            let topic = rng.random_range(0..TOPICS);
            for (r, l) in latent.iter_mut().enumerate() {
                *l = self.centres[[topic, r]] + 0.5 * gaussian(&mut rng);
            }
            let factor = norm.sample(&mut rng) as f32;
            for (d, x) in row.iter_mut().enumerate() {
                let signal: f32 = (0..RANK).map(|r| latent[r] * self.basis[[r, d]]).sum();
                *x = factor * (signal + noise * gaussian(&mut rng));
            }
        }
        out
    }
}

/// `rows x dim` seeded item-like vectors (see the module docs).
pub fn als_like(rows: usize, dim: usize, seed: u64) -> Array2<f32> {
    FactorSpace::new(dim, seed).sample(rows, seed.wrapping_add(1))
}

fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_seeded_and_finite() {
        let a = als_like(50, 8, 7);
        assert_eq!(a, als_like(50, 8, 7));
        assert_ne!(a, als_like(50, 8, 8));
        assert!(a.iter().all(|x| x.is_finite()));
        let norms: Vec<f32> = a.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
        let (lo, hi) = norms
            .iter()
            .fold((f32::MAX, 0.0f32), |(lo, hi), &n| (lo.min(n), hi.max(n)));
        assert!(hi > 2.0 * lo, "norms should vary: {lo}..{hi}");
    }
}
