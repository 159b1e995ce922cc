//! Feed assembly latency: first pages (cache miss) and next pages (cache hit) on a synthetic
//! network, in process.
//!
//! `cargo bench -p benches --bench feed`. The model is not trained: user and item factors are
//! seeded ALS-shaped vectors (`benches::factors`), indexed with the default HNSW settings,
//! published with `models::artifact::publish` into a temporary directory and loaded back, as
//! the engine loads a real model. The social network is plain seeded random data: authors
//! heavy-tailed, every user following a few dozen authors (preferentially the prolific ones),
//! posts spread over [`HISTORY_DAYS`], live engagements over the trending window, and for each
//! requested user some interactions, one hidden author and seen posts.
//!
//! The engine holds the catalog of every post (loaded with `Engine::new`); what a request
//! needs about its user comes as an `engine::UserContext`, built here from the seeded network
//! once per user before timing (the API fetches it from its store behind a cache), bounded as
//! `FeedConfig::context_interactions` and `FeedConfig::context_seen` say. Building the
//! request's lookup sets from it is inside the timed `feed` call.
//!
//! The sizes ([`USERS`], [`POSTS`]) take a long serial index build (most of the set-up);
//! `SOCIAL_LIVE_FEED_USERS`, `SOCIAL_LIVE_FEED_POSTS` and `SOCIAL_LIVE_FEED_REQUESTS` override
//! them for quicker runs.
//!
//! The serial index build dominates the set-up (about an hour at 1M posts on two shared
//! cores): `SOCIAL_LIVE_FEED_MODEL_DIR=DIR` publishes the seeded model under
//! `DIR/<users>x<posts>/` once and loads it from there on later runs (the data is seeded, so
//! it is the same model).
//!
//! Criterion reports mean and median; the percentiles the issue asks for (p50/p99 over
//! [`REQUESTS`] requests, each timed alone) are printed to stderr and written to
//! `<target>/criterion/feed-summary-context.{json,md}` (or `$SOCIAL_LIVE_BENCH_OUT`).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use engine::{
    Engine, FeedConfig, FeedRequest, Interaction, InteractionKind, PostId, PostMeta, UserContext,
    UserId,
};
use models::als::AlsParams;
use models::ann::{AnnConfig, AnnIndex};
use models::artifact::{Artifact, ArtifactContents, Counts, Manifest, SCHEMA_VERSION, publish};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

/// Users of the network (all known to the model), as in the issue.
const USERS: usize = 100_000;
/// Posts (all model items), as in the issue.
const POSTS: usize = 1_000_000;
/// Latent factors, as in the issue.
const FACTORS: usize = 64;
/// Requests timed one by one for the percentiles (distinct users).
const REQUESTS: usize = 2_000;
/// Users whose cached lists criterion's next-page bench cycles through.
const HOT_USERS: usize = 100;
/// Items per page.
const PAGE: usize = 20;
/// Posts added after every measured user's list was ranked, merged into the lists by the
/// next page ([`MERGED_ROW`]).
const NEW_POSTS: usize = 20;
/// The summary row of the next page after [`NEW_POSTS`] new posts.
const MERGED_ROW: &str = "next page after 20 new posts (merged into the cached list)";
/// Posts are spread over this many days before [`NOW`].
const HISTORY_DAYS: i64 = 30;
/// Median number of authors a user follows (log-normal, capped at [`MAX_FOLLOWS`]).
const MEDIAN_FOLLOWS: f64 = 30.0;
const MAX_FOLLOWS: usize = 500;
/// Engagements recorded inside the trending window before measuring.
const ENGAGEMENTS: usize = 100_000;
/// Interactions of every requested user (excluded from their feed, author affinity); they are
/// also the user's seen posts.
const USER_INTERACTIONS: usize = 20;
/// Topics a post can have.
const TOPICS: usize = 64;
/// "Now" of every request (Unix seconds).
const NOW: i64 = 1_750_000_000;
const SEED: u64 = 42;

const USERS_ENV: &str = "SOCIAL_LIVE_FEED_USERS";
const POSTS_ENV: &str = "SOCIAL_LIVE_FEED_POSTS";
const REQUESTS_ENV: &str = "SOCIAL_LIVE_FEED_REQUESTS";
const MODEL_DIR_ENV: &str = "SOCIAL_LIVE_FEED_MODEL_DIR";

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.replace('_', "").parse().expect("a size"))
        .unwrap_or(default)
}

fn user_id(u: usize) -> UserId {
    UserId(u as i64)
}

fn post_id(p: usize) -> PostId {
    PostId(p as i64)
}

/// The seeded social facts, by dense index.
struct Network {
    posts: Vec<PostMeta>,
    follows: Vec<Vec<u32>>,
    /// Requested users, in request order.
    requested: Vec<usize>,
    interactions: HashMap<usize, Vec<Interaction>>,
    hidden: HashMap<usize, UserId>,
}

impl Network {
    fn generate(users: usize, posts: usize, requests: usize, rng: &mut ChaCha8Rng) -> Self {
        // Authorship is heavy-tailed: P(author < a) = sqrt(a / users).
        let posts: Vec<PostMeta> = (0..posts)
            .map(|p| {
                let author = ((rng.random::<f64>().powi(2)) * users as f64) as usize;
                PostMeta {
                    id: post_id(p),
                    author: user_id(author.min(users - 1)),
                    created_at: NOW - rng.random_range(60..HISTORY_DAYS * 86_400),
                    deleted: false,
                    topics: vec![format!("t{}", rng.random_range(0..TOPICS))],
                    text: String::new(),
                }
            })
            .collect();
        let follows_dist = LogNormal::new(MEDIAN_FOLLOWS.ln(), 0.8).expect("valid log-normal");
        let follows = (0..users)
            .map(|_| {
                let n = (follows_dist.sample(rng) as usize).clamp(1, MAX_FOLLOWS);
                // The author of a random post: preferential towards prolific authors.
                let mut f: Vec<u32> = (0..n)
                    .map(|_| {
                        let p = &posts[rng.random_range(0..posts.len())];
                        p.author.0 as u32
                    })
                    .collect();
                f.sort_unstable();
                f.dedup();
                f
            })
            .collect();
        let requested: Vec<usize> = sample(rng, users, requests.min(users)).into_vec();
        let kinds = [
            InteractionKind::View,
            InteractionKind::Like,
            InteractionKind::Comment,
            InteractionKind::Share,
        ];
        let mut interactions = HashMap::new();
        let mut hidden = HashMap::new();
        for &u in &requested {
            let mut list: Vec<Interaction> = (0..USER_INTERACTIONS)
                .map(|_| Interaction {
                    post: post_id(rng.random_range(0..posts.len())),
                    kind: kinds[rng.random_range(0..kinds.len())],
                    at: NOW - rng.random_range(60..HISTORY_DAYS * 86_400),
                })
                .collect();
            list.sort_by_key(|i| std::cmp::Reverse(i.at));
            interactions.insert(u, list);
            hidden.insert(u, posts[rng.random_range(0..posts.len())].author);
        }
        Self {
            posts,
            follows,
            requested,
            interactions,
            hidden,
        }
    }
}

impl Network {
    /// What the API would fetch for user `u`: followees, the hidden author, the newest
    /// interactions and seen posts (the interacted ones), as many as `config` says.
    fn context(&self, u: usize, config: &FeedConfig) -> UserContext {
        let interactions = self.interactions.get(&u).cloned().unwrap_or_default();
        UserContext {
            followees: self.follows[u]
                .iter()
                .map(|&a| user_id(a as usize))
                .collect(),
            hidden: self.hidden.get(&u).copied().into_iter().collect(),
            seen: interactions
                .iter()
                .map(|i| i.post)
                .take(config.context_seen)
                .collect(),
            interactions: interactions
                .into_iter()
                .take(config.context_interactions)
                .collect(),
        }
    }
}

/// Publishes seeded factors for `users` x `posts` into `dir` and loads them back.
fn publish_model(dir: &std::path::Path, users: usize, posts: usize) -> Artifact {
    let space = benches::factors::FactorSpace::new(FACTORS, SEED);
    let item_factors = space.sample(posts, SEED + 1);
    let user_factors = space.sample(users, SEED + 3);
    let config = AnnConfig::default();
    let start = Instant::now();
    let index = AnnIndex::build(item_factors.view(), &config).expect("valid vectors");
    eprintln!(
        "feed: index of {posts} items built in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 4);
    let counts = LogNormal::<f64>::new(2.0, 1.5).expect("valid log-normal");
    let popularity: Vec<u32> = (0..posts)
        .map(|_| counts.sample(&mut rng).min(1e6) as u32)
        .collect();
    let user_ids: Vec<String> = (0..users).map(|u| u.to_string()).collect();
    let item_ids: Vec<String> = (0..posts).map(|p| p.to_string()).collect();
    let model = AlsParams {
        factors: FACTORS,
        ..AlsParams::default()
    };
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: "bench".to_owned(),
        created_at: "2025-06-15T00:00:00Z".to_owned(),
        model,
        ann: config,
        data_fingerprint: "00".repeat(32),
        counts: Counts {
            users,
            items: posts,
            interactions: 0,
        },
        factors: FACTORS,
        metrics: serde_json::json!({}),
        files: Default::default(),
    };
    let contents = ArtifactContents {
        user_ids: &user_ids,
        item_ids: &item_ids,
        user_factors: user_factors.view(),
        item_factors: item_factors.view(),
        popularity: &popularity,
        index: &index,
    };
    publish(dir, manifest, &contents, &[]).expect("publish");
    drop(index);
    Artifact::load_current(dir).expect("load")
}

fn first(limit: usize) -> FeedRequest {
    FeedRequest {
        limit,
        cursor: None,
        now: NOW,
    }
}

fn next(limit: usize, cursor: &str) -> FeedRequest {
    FeedRequest {
        limit,
        cursor: Some(cursor.to_owned()),
        now: NOW,
    }
}

/// Records live engagements on posts of the trending window.
fn warm_trending(engine: &Engine, net: &Network, rng: &mut ChaCha8Rng) {
    let window = engine.config().trending_window.as_secs() as i64;
    let recent: Vec<usize> = (0..net.posts.len())
        .filter(|&p| net.posts[p].created_at >= NOW - window)
        .collect();
    let kinds = [
        InteractionKind::View,
        InteractionKind::Like,
        InteractionKind::Comment,
    ];
    for _ in 0..ENGAGEMENTS.min(recent.len() * 10) {
        let p = recent[rng.random_range(0..recent.len())];
        let at = rng.random_range(net.posts[p].created_at..NOW);
        engine.record_engagement(post_id(p), kinds[rng.random_range(0..kinds.len())], at);
    }
}

struct Sizes {
    users: usize,
    posts: usize,
    requests: usize,
}

fn feed(c: &mut Criterion) {
    let sizes = Sizes {
        users: env_size(USERS_ENV, USERS),
        posts: env_size(POSTS_ENV, POSTS),
        requests: env_size(REQUESTS_ENV, REQUESTS),
    };
    let set_up = Instant::now();
    let temporary = tempfile::tempdir().expect("temporary directory");
    let artifact = match std::env::var_os(MODEL_DIR_ENV) {
        Some(root) => {
            let dir = std::path::Path::new(&root).join(format!("{}x{}", sizes.users, sizes.posts));
            std::fs::create_dir_all(&dir).expect("model directory");
            match models::artifact::current_version(&dir).expect("readable model directory") {
                Some(_) => Artifact::load_current(&dir).expect("load the kept model"),
                None => publish_model(&dir, sizes.users, sizes.posts),
            }
        }
        None => publish_model(temporary.path(), sizes.users, sizes.posts),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let net = Network::generate(sizes.users, sizes.posts, sizes.requests, &mut rng);
    let engine =
        Engine::new(artifact, net.posts.iter().cloned(), FeedConfig::default()).expect("engine");
    warm_trending(&engine, &net, &mut rng);
    let requested: Vec<(UserId, UserContext)> = net
        .requested
        .iter()
        .map(|&u| (user_id(u), net.context(u, engine.config())))
        .collect();
    // The engine keeps its own catalog: the seeded posts are no longer needed.
    drop(net);
    run(c, &engine, &requested, &sizes, set_up.elapsed());
}

fn run(
    c: &mut Criterion,
    engine: &Engine,
    users: &[(UserId, UserContext)],
    sizes: &Sizes,
    set_up: Duration,
) {
    eprintln!(
        "feed: {} users, {} posts ({} in the catalog), set up in {:.1} s",
        sizes.users,
        sizes.posts,
        engine.catalog_len(),
        set_up.as_secs_f64()
    );
    // Warm-up: a first page for some users, then drop their lists again.
    for (user, ctx) in users.iter().take(200) {
        engine.feed(*user, ctx, &first(PAGE)).expect("feed");
        engine.invalidate_user(*user);
    }

    // Per user, a first page (a cache miss: the candidate pool is gathered and ranked), then at
    // once the next page (a cache hit: cut from the cached ranked list). Interleaved, so that
    // no cached list outlives the cache's TTL however slow the first pages are.
    let mut cursors = Vec::with_capacity(users.len());
    let mut first_pages = Vec::with_capacity(users.len());
    let mut next_pages = Vec::with_capacity(users.len());
    let mut sources = engine::SourceCounts::default();
    let (mut first_hits, mut next_hits) = (0, 0);
    for (user, ctx) in users {
        let user = *user;
        engine.invalidate_user(user);
        let before = engine.stats().cache_hits;
        let start = Instant::now();
        let page = engine.feed(user, ctx, &first(PAGE)).expect("feed");
        first_pages.push(start.elapsed());
        let between = engine.stats().cache_hits;
        assert_eq!(page.items.len(), PAGE, "a full first page for {user}");
        sources.similar += page.sources.similar;
        sources.followed += page.sources.followed;
        sources.trending += page.sources.trending;
        sources.popular += page.sources.popular;
        sources.fresh += page.sources.fresh;
        let cursor = page.next_cursor.expect("a next page");
        let start = Instant::now();
        let page = engine.feed(user, ctx, &next(PAGE, &cursor)).expect("feed");
        next_pages.push(start.elapsed());
        assert_eq!(page.items.len(), PAGE, "a full next page for {user}");
        first_hits += between - before;
        next_hits += engine.stats().cache_hits - between;
        cursors.push(cursor);
    }
    // Posts written since every list was ranked: each user's next request merges them into
    // the cached list (scoring only the new posts) instead of ranking again.
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x006e_6577);
    for i in 0..NEW_POSTS {
        engine.add_post(PostMeta {
            id: post_id(sizes.posts + i),
            author: user_id(rng.random_range(0..sizes.users)),
            created_at: NOW - 60 + i as i64,
            deleted: false,
            topics: Vec::new(),
            text: String::new(),
        });
    }
    let (merges_before, builds_before) = (engine.stats().merges, engine.stats().builds);
    let mut merged_pages = Vec::with_capacity(users.len());
    for ((user, ctx), cursor) in users.iter().zip(&cursors) {
        let start = Instant::now();
        let page = engine.feed(*user, ctx, &next(PAGE, cursor)).expect("feed");
        merged_pages.push(start.elapsed());
        assert_eq!(page.items.len(), PAGE, "a full merged page for {user}");
    }
    let merges = engine.stats().merges - merges_before;
    assert_eq!(
        engine.stats().builds,
        builds_before,
        "merged, not ranked again"
    );
    summarise(
        sizes,
        set_up,
        &[
            ("first page (cache miss)", &first_pages, first_hits),
            ("next page (cache hit)", &next_pages, next_hits),
            (MERGED_ROW, &merged_pages, merges),
        ],
        &sources,
    );

    let mut group = c.benchmark_group(format!("feed/{}users_{}posts", sizes.users, sizes.posts));
    // Next pages first: the first-page bench starts new sessions, which retires these cursors.
    // Only the last users' lists are surely still cached (the TTL runs from the first page).
    let hot = users.len().min(HOT_USERS);
    let (users_hot, cursors_hot) = (&users[users.len() - hot..], &cursors[users.len() - hot..]);
    group.bench_function("next_page_cache_hit", |b| {
        let mut i = 0;
        b.iter(|| {
            let k = i % hot;
            i += 1;
            let (user, ctx) = &users_hot[k];
            black_box(
                engine
                    .feed(*user, ctx, &next(PAGE, &cursors_hot[k]))
                    .expect("feed"),
            )
        });
    });
    group.bench_function("first_page_cache_miss", |b| {
        let mut i = 0;
        b.iter(|| {
            let (user, ctx) = &users[i % users.len()];
            i += 1;
            engine.invalidate_user(*user);
            black_box(engine.feed(*user, ctx, &first(PAGE)).expect("feed"))
        });
    });
    group.finish();
}

/// One row of the summary: what was requested, the latencies, and how many requests hit the
/// cache (for the merged row: how many merged new posts into a cached list).
type Row<'a> = (&'a str, &'a [Duration], u64);

fn summarise(sizes: &Sizes, set_up: Duration, rows: &[Row<'_>], sources: &engine::SourceCounts) {
    let (first_pages, first_hits) = (rows[0].1, rows[0].2);
    use benches::summary::{latency_json, percentile};
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut md = format!(
        "{} users, {} posts, {FACTORS} factors, per-request contexts, page {PAGE}, {} requests each\n\n\
         | request | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | cache hits |\n\
         |---|---:|---:|---:|---:|---:|\n",
        sizes.users,
        sizes.posts,
        first_pages.len()
    );
    for &(name, samples, hits) in rows {
        let line = format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {hits}/{} |\n",
            ms(percentile(samples, 50.0)),
            ms(percentile(samples, 90.0)),
            ms(percentile(samples, 99.0)),
            ms(percentile(samples, 100.0)),
            samples.len()
        );
        eprint!("feed: {line}");
        md.push_str(&line);
    }
    let n = first_pages.len().max(1);
    let json = serde_json::json!({
        "bench": "feed",
        "users": sizes.users,
        "posts": sizes.posts,
        "factors": FACTORS,
        "context": "per request",
        "page": PAGE,
        "set_up_secs": set_up.as_secs_f64(),
        "first_page": latency_json(first_pages),
        "first_page_cache_hits": first_hits,
        "next_page": latency_json(rows[1].1),
        "next_page_cache_hits": rows[1].2,
        "new_posts": NEW_POSTS,
        "next_page_after_new_posts": latency_json(rows[2].1),
        "next_page_after_new_posts_merges": rows[2].2,
        "mean_first_page_sources": {
            "similar": sources.similar as f64 / n as f64,
            "followed": sources.followed as f64 / n as f64,
            "trending": sources.trending as f64 / n as f64,
            "popular": sources.popular as f64 / n as f64,
            "fresh": sources.fresh as f64 / n as f64,
        },
    });
    let paths =
        benches::summary::write("feed-summary-context", &json, &md).expect("write the summary");
    eprintln!(
        "feed: summary in {} and {}",
        paths[0].display(),
        paths[1].display()
    );
}

criterion_group!(benches, feed);
criterion_main!(benches);
