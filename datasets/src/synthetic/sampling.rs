//! Small sampling helpers: weighted choice by binary search over cumulative weights, Dirichlet draws.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

/// Draws indices with probability proportional to fixed non-negative weights, in O(log n).
#[derive(Clone, Debug)]
pub(crate) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// `None` when there is nothing to draw (no weights, or all zero).
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut total = 0.0;
        let cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        (total > 0.0).then_some(Self { cumulative })
    }

    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = *self.cumulative.last().expect("non-empty by construction");
        let x = rng.random::<f64>() * total;
        // First index whose cumulative weight exceeds x (zero-weight entries are never chosen).
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

/// One draw from a Dirichlet distribution with the given concentrations (all > 0).
pub(crate) fn dirichlet(alpha: &[f64], rng: &mut ChaCha8Rng) -> Vec<f32> {
    let draws: Vec<f64> = alpha
        .iter()
        .map(|&a| Gamma::new(a, 1.0).expect("positive shape").sample(rng))
        .collect();
    let total: f64 = draws.iter().sum();
    if total > 0.0 {
        draws.iter().map(|&d| (d / total) as f32).collect()
    } else {
        // All draws underflowed (tiny concentrations): fall back to uniform.
        vec![1.0 / alpha.len() as f32; alpha.len()]
    }
}

/// Index drawn with probability proportional to `weights` by a linear scan (short vectors).
pub(crate) fn categorical(weights: &[f32], rng: &mut ChaCha8Rng) -> usize {
    let total: f32 = weights.iter().sum();
    let mut x = rng.random::<f32>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn weighted_draws_follow_the_weights_and_skip_zeros() {
        let w = Weighted::new([1.0, 0.0, 3.0]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 3];
        for _ in 0..40_000 {
            counts[w.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "{share}");
        assert!(Weighted::new([0.0, 0.0]).is_none());
        assert!(Weighted::new(Vec::new()).is_none());
    }

    #[test]
    fn dirichlet_sums_to_one_and_follows_concentration() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut mean = [0.0f64; 3];
        for _ in 0..2_000 {
            let d = dirichlet(&[8.0, 1.0, 1.0], &mut rng);
            assert!((d.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for (m, x) in mean.iter_mut().zip(d) {
                *m += f64::from(x) / 2_000.0;
            }
        }
        assert!((mean[0] - 0.8).abs() < 0.02, "{mean:?}");
    }

    #[test]
    fn categorical_and_sigmoid() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            assert_eq!(categorical(&[0.0, 2.0, 0.0], &mut rng), 1);
        }
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-12);
        assert!(sigmoid(10.0) > 0.9999);
    }
}
