//! Trending at scale: the cost of keeping the ranked trending list current, and of one
//! recorded engagement, with a million posts engaged with inside the window.
//!
//! `cargo bench -p benches --bench trending`. A model-less engine holds [`POSTS`] posts and
//! [`EVENTS`] engagements spread over the trending window (popularity heavy-tailed). Measured:
//!
//! - `refresh`: `Engine::trending_at` at a time one refresh period later than the previous
//!   call, so every call finds the shared snapshot stale and builds the next one: what every
//!   replica pays once per `FeedConfig::trending_refresh` (1 s);
//! - `record`: one engagement (a tailer applying a like).
//!
//! `SOCIAL_LIVE_TRENDING_POSTS` and `SOCIAL_LIVE_TRENDING_EVENTS` override the sizes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use engine::{Engine, FeedConfig, InteractionKind, PostId, PostMeta, UserId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Posts in the catalog, every one of them engaged with.
const POSTS: usize = 1_000_000;
/// Engagements inside the window.
const EVENTS: usize = 2_000_000;
/// "Now" of the first request (Unix seconds).
const NOW: i64 = 1_750_000_000;

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn trending(c: &mut Criterion) {
    let posts = env_size("SOCIAL_LIVE_TRENDING_POSTS", POSTS);
    let events = env_size("SOCIAL_LIVE_TRENDING_EVENTS", EVENTS);
    let config = FeedConfig::default();
    let window = config.trending_window.as_secs() as i64;
    let refresh = config.trending_refresh.as_secs().max(1) as i64;
    let engine = Engine::without_model(config).expect("default config");
    engine.load_posts((0..posts).map(|p| PostMeta {
        id: PostId(p as i64),
        author: UserId((p % 10_000) as i64),
        created_at: NOW - window,
        deleted: false,
        topics: Vec::new(),
        text: String::new(),
    }));
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let kinds = [
        InteractionKind::View,
        InteractionKind::Like,
        InteractionKind::Comment,
    ];
    // Time order, as the change log delivers them; popularity skewed (the square of a uniform
    // draw favours low ids) with every post engaged with at least once.
    let mut times: Vec<i64> = (0..events)
        .map(|_| NOW - rng.random_range(0..window / 2))
        .collect();
    times.sort_unstable();
    for (i, at) in times.into_iter().enumerate() {
        let post = if i < posts {
            i
        } else {
            let u: f64 = rng.random();
            ((u * u) * posts as f64) as usize
        };
        engine.record_engagement(PostId(post as i64), kinds[i % kinds.len()], at);
    }
    let mut group = c.benchmark_group(format!("trending/{posts}posts_{events}events"));
    group.sample_size(10);
    let mut now = NOW;
    group.bench_function("refresh", |b| {
        b.iter(|| {
            now += refresh + 1;
            black_box(engine.trending_at(20, now))
        });
    });
    let mut i = 0;
    group.bench_function("record", |b| {
        b.iter(|| {
            i += 1;
            engine.record_engagement(
                PostId((i * 7919 % posts) as i64),
                InteractionKind::Like,
                now,
            );
        });
    });
    group.finish();
}

criterion_group!(benches, trending);
criterion_main!(benches);
