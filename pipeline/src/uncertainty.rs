//! How sure the reported numbers are: a percentile bootstrap over users, and the spread of a randomly
//! initialised model over training seeds.
//!
//! Every per-user metric of the report is a ratio of sums over the evaluated users (a mean over users
//! is Σ value / Σ 1; novelty is Σ self-information / Σ recommended slots). One bootstrap resample
//! draws as many users as were evaluated, uniformly with replacement, and recomputes every ratio on
//! it; the interval is the percentile interval of those resampled estimates (linear interpolation
//! between order statistics). Resample `b` draws from its own ChaCha8 stream `b` of the seed, so the
//! intervals do not depend on the thread count, and every model of a run is resampled with the same
//! users (the intervals are paired).
//!
//! Coverage has no interval: it counts distinct items over a *set* of users, and a resample with
//! replacement holds only about 63 % of the distinct users, so its bootstrap distribution sits below
//! the estimate instead of around it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The bootstrap's settings.
///
/// `Default` gives 1,000 resamples, a 95 % interval and seed 42.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples (default 1,000; at least 2).
    pub resamples: usize,
    /// Confidence level of the interval, strictly between 0 and 1 (default 0.95).
    pub confidence: f64,
    /// Seed of the resamples (default 42).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: 1000,
            confidence: 0.95,
            seed: 42,
        }
    }
}

impl BootstrapConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for fewer than 2 resamples (`evaluation.bootstrap.resamples`) or a
    /// confidence level outside (0, 1) (`evaluation.bootstrap.confidence`).
    pub fn validate(&self) -> Result<()> {
        if self.resamples < 2 {
            return Err(Error::InvalidConfig {
                field: "evaluation.bootstrap.resamples",
                reason: "must be at least 2".into(),
            });
        }
        if !(self.confidence.is_finite() && self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::InvalidConfig {
                field: "evaluation.bootstrap.confidence",
                reason: "must be strictly between 0 and 1".into(),
            });
        }
        Ok(())
    }
}

/// A confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// One statistic as per-user numerators and denominators: the estimate over a set of users (with
/// multiplicity) is Σ num / Σ den, or 0 when Σ den is 0.
#[derive(Clone, Debug, PartialEq)]
pub struct RatioStatistic {
    /// Numerator of each user.
    pub num: Vec<f64>,
    /// Denominator of each user (1 for a mean over users, 0 for a user outside the statistic).
    pub den: Vec<f64>,
}

impl RatioStatistic {
    /// A mean over all users of `values`.
    pub fn mean(values: Vec<f64>) -> Self {
        let den = vec![1.0; values.len()];
        Self { num: values, den }
    }

    /// A mean over the users where `member` is true.
    ///
    /// # Panics
    ///
    /// If the slices differ in length.
    pub fn mean_over(values: &[f64], member: &[bool]) -> Self {
        assert_eq!(values.len(), member.len(), "one flag per user");
        Self {
            num: values
                .iter()
                .zip(member)
                .map(|(&v, &m)| if m { v } else { 0.0 })
                .collect(),
            den: member.iter().map(|&m| f64::from(u8::from(m))).collect(),
        }
    }

    /// The estimate over every user once.
    pub fn estimate(&self) -> f64 {
        ratio(self.num.iter().sum(), self.den.iter().sum())
    }
}

/// num / den, or 0 when den is 0.
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// The `q`-quantile of sorted `values` (linear interpolation between order statistics); 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Percentile bootstrap intervals of every statistic in `stats` over the same resamples of users.
///
/// All statistics must have one entry per user (the same users, in the same order). With no user
/// every interval is [0, 0].
///
/// # Panics
///
/// If the statistics differ in length, or `config` is not valid (see [`BootstrapConfig::validate`]).
pub fn bootstrap(stats: &[RatioStatistic], config: &BootstrapConfig) -> Vec<Interval> {
    let n = stats.first().map_or(0, |s| s.num.len());
    assert!(
        stats.iter().all(|s| s.num.len() == n && s.den.len() == n),
        "every statistic needs one entry per user"
    );
    assert!(config.resamples >= 2, "at least 2 resamples");
    if n == 0 {
        return vec![Interval::default(); stats.len()];
    }
    // resample-major: estimates[b][s].
    let estimates: Vec<Vec<f64>> = (0..config.resamples)
        .into_par_iter()
        .map_init(
            || vec![0u32; n],
            |counts, b| {
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                rng.set_stream(b as u64);
                counts.iter_mut().for_each(|c| *c = 0);
                for _ in 0..n {
                    counts[rng.random_range(0..n)] += 1;
                }
                stats
                    .iter()
                    .map(|s| {
                        let (mut num, mut den) = (0.0, 0.0);
                        for ((&c, &x), &d) in counts.iter().zip(&s.num).zip(&s.den) {
                            if c > 0 {
                                num += f64::from(c) * x;
                                den += f64::from(c) * d;
                            }
                        }
                        ratio(num, den)
                    })
                    .collect()
            },
        )
        .collect();
    let alpha = 1.0 - config.confidence;
    (0..stats.len())
        .map(|s| {
            let mut column: Vec<f64> = estimates.iter().map(|e| e[s]).collect();
            column.sort_by(f64::total_cmp);
            Interval {
                low: quantile(&column, alpha / 2.0),
                high: quantile(&column, 1.0 - alpha / 2.0),
            }
        })
        .collect()
}

/// Mean, sample standard deviation and range of a few values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for one value).
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zeros when empty).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        Self {
            mean,
            sd,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(resamples: usize, seed: u64) -> BootstrapConfig {
        BootstrapConfig {
            resamples,
            confidence: 0.95,
            seed,
        }
    }

    /// 200 users with values spread over [0, 1].
    fn values() -> Vec<f64> {
        (0..200).map(|u| ((u * 37) % 101) as f64 / 100.0).collect()
    }

    #[test]
    fn interval_contains_the_estimate_and_is_deterministic_for_a_seed() {
        let stat = RatioStatistic::mean(values());
        let a = bootstrap(std::slice::from_ref(&stat), &config(500, 7));
        let b = bootstrap(std::slice::from_ref(&stat), &config(500, 7));
        assert_eq!(a, b);
        let est = stat.estimate();
        assert!(a[0].low < est && est < a[0].high, "{a:?} vs {est}");
        // The standard error of a mean of 200 values of sd ~0.29 is ~0.02: a 95 % interval is about
        // ±0.04 wide, not a point and not the whole range.
        let width = a[0].high - a[0].low;
        assert!(width > 0.04 && width < 0.12, "{width}");
        let c = bootstrap(&[stat], &config(500, 8));
        assert_ne!(a, c, "another seed draws other resamples");
    }

    #[test]
    fn constant_values_give_a_point_interval_and_ratios_weigh_by_denominator() {
        let flat = RatioStatistic::mean(vec![0.25; 50]);
        let i = bootstrap(&[flat], &config(100, 1))[0];
        assert!((i.low - 0.25).abs() < 1e-12 && (i.high - 0.25).abs() < 1e-12);
        // Users with num/den = 2 each: every resample's ratio is 2 whatever the multiplicities.
        let r = RatioStatistic {
            num: vec![2.0, 4.0, 6.0],
            den: vec![1.0, 2.0, 3.0],
        };
        assert!((r.estimate() - 2.0).abs() < 1e-12);
        let i = bootstrap(&[r], &config(50, 1))[0];
        assert!((i.low - 2.0).abs() < 1e-12 && (i.high - 2.0).abs() < 1e-12);
    }

    #[test]
    fn mean_over_a_segment_ignores_other_users() {
        let v = [1.0, 0.0, 3.0, 100.0];
        let s = RatioStatistic::mean_over(&v, &[true, true, true, false]);
        assert!((s.estimate() - 4.0 / 3.0).abs() < 1e-12);
        let empty = RatioStatistic::mean_over(&v, &[false; 4]);
        assert_eq!(empty.estimate(), 0.0);
        assert_eq!(bootstrap(&[empty], &config(10, 1))[0], Interval::default());
    }

    #[test]
    fn no_users_gives_zero_intervals() {
        let i = bootstrap(&[RatioStatistic::mean(vec![])], &config(10, 1));
        assert_eq!(i, vec![Interval::default()]);
    }

    #[test]
    fn quantile_interpolates_between_order_statistics() {
        let s = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.0), 0.0);
        assert_eq!(quantile(&s, 1.0), 4.0);
        assert!((quantile(&s, 0.5) - 2.0).abs() < 1e-12);
        assert!((quantile(&s, 0.025) - 0.1).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn spread_by_hand() {
        let s = Spread::of(&[1.0, 2.0, 3.0]);
        assert!((s.mean - 2.0).abs() < 1e-12);
        assert!((s.sd - 1.0).abs() < 1e-12);
        assert_eq!((s.min, s.max), (1.0, 3.0));
        assert_eq!(Spread::of(&[5.0]).sd, 0.0);
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let bad = BootstrapConfig {
            resamples: 1,
            ..BootstrapConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.bootstrap.resamples",
                ..
            })
        ));
        let bad = BootstrapConfig {
            confidence: 1.0,
            ..BootstrapConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.bootstrap.confidence",
                ..
            })
        ));
        BootstrapConfig::default().validate().unwrap();
    }
}
