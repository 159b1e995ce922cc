//! ALS fold-in latency: one user's exact vector against fixed item factors, with the Gram matrix
//! cached, as the engine computes it in the first feed after a user's interactions changed.
//!
//! `cargo bench -p benches --bench fold_in`. After `Engine::interactions_changed`, the user's
//! next `Engine::feed` calls `models::als::fold_in` on their context's interactions with the
//! model's cached `YᵀY`; this measures that call for users with [`INTERACTIONS`] interactions
//! each.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use models::als::{AlsParams, fold_in, gram};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Items of the model (the index bench's small size).
const ITEMS: usize = 100_000;
/// Latent factors, as in the issue.
const FACTORS: usize = 64;
/// Interactions per folded-in user.
const INTERACTIONS: [usize; 3] = [10, 100, 1_000];
/// Distinct users per size, cycled through, so the item rows are not all in cache.
const USERS: usize = 64;
const SEED: u64 = 42;

fn fold_in_latency(c: &mut Criterion) {
    let items = benches::factors::als_like(ITEMS, FACTORS, SEED);
    let gram = gram(items.view());
    let params = AlsParams::default();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut group = c.benchmark_group(format!("fold_in/{ITEMS}items/f{FACTORS}"));
    for n in INTERACTIONS {
        let users: Vec<(Vec<u32>, Vec<f32>)> = (0..USERS)
            .map(|_| {
                let picked: Vec<u32> = sample(&mut rng, ITEMS, n)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect();
                // Interaction weights as the engine's defaults give them (view 1 .. share 5).
                let weights = (0..n).map(|_| rng.random_range(1..=5) as f32).collect();
                (picked, weights)
            })
            .collect();
        group.bench_function(BenchmarkId::new("interactions", n), |b| {
            let mut next = 0;
            b.iter(|| {
                let (picked, weights) = &users[next % USERS];
                next += 1;
                black_box(
                    fold_in(
                        items.view(),
                        gram.view(),
                        params.regularization,
                        params.alpha,
                        picked,
                        weights,
                    )
                    .expect("valid fold-in"),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, fold_in_latency);
criterion_main!(benches);
