//! ALS training time per iteration on a seeded synthetic social network.
//!
//! `cargo bench -p benches --bench als`. The sizes are the issue's: at least one million interactions,
//! 64 factors. Compare with `benches/compare/implicit_als.py` on the same data (see BENCHMARKS.md).

use criterion::{Criterion, criterion_group, criterion_main};
use models::als::AlsParams;

/// Users, posts and interaction events of the generated network. Several events of one user on one post
/// collapse into one matrix entry: these sizes give about 1.37 million distinct (user, post) pairs.
const USERS: usize = 50_000;
const POSTS: usize = 100_000;
const INTERACTIONS: usize = 2_500_000;
/// Latent factors, as in the issue.
const FACTORS: usize = 64;
const SEED: u64 = 42;

fn als_iteration(c: &mut Criterion) {
    let matrix = benches::synthetic_user_items(USERS, POSTS, INTERACTIONS, SEED);
    let mut group = c.benchmark_group("als");
    group.sample_size(10);
    group.bench_function(format!("iteration/{}nnz/f{FACTORS}", matrix.nnz()), |b| {
        let params = AlsParams {
            factors: FACTORS,
            regularization: 10.0,
            alpha: 1.0,
            iterations: 1,
            ..AlsParams::default()
        }
        .check()
        .expect("valid parameters");
        b.iter(|| params.fit(&matrix).expect("fit"));
    });
    group.finish();
}

criterion_group!(benches, als_iteration);
criterion_main!(benches);
