//! Seeded data shared by the benchmarks in `benches/benches/`, and the small summaries
//! (recall, percentiles) they write beside criterion's reports for BENCHMARKS.md.

pub mod factors;
pub mod summary;

use models::sparse::CsrMatrix;

/// A user × post matrix of binary interactions from the synthetic social network generator.
///
/// Events of one user on one post collapse into one entry of weight 1, as the pipeline does with binary
/// weighting.
///
/// # Panics
/// If the generator rejects the sizes; benchmark constants are chosen so that it never does.
pub fn synthetic_user_items(
    users: usize,
    posts: usize,
    interactions: usize,
    seed: u64,
) -> CsrMatrix {
    let config = datasets::synthetic::SyntheticConfig {
        users,
        posts,
        interactions,
        seed,
        ..Default::default()
    };
    let network = datasets::synthetic::generate(&config).expect("valid synthetic configuration");
    let mut triplets: Vec<(u32, u32, f32)> = network
        .interactions
        .iter()
        .map(|event| (event.user, event.post, 1.0))
        .collect();
    triplets.sort_unstable_by_key(|&(user, post, _)| (user, post));
    triplets.dedup_by_key(|&mut (user, post, _)| (user, post));
    CsrMatrix::from_triplets(users, posts, &triplets).expect("indices within bounds")
}
