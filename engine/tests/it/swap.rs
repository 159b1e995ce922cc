//! Hot swap of model versions.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use engine::{FeedConfig, Reason, ReloadCheck, UserContext};
use models::artifact::Artifact;

use crate::*;

#[test]
fn concurrent_feeds_during_swaps_each_come_from_exactly_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = publish_version(dir.path(), "v1", 42);
    let v2 = publish_version(dir.path(), "v2", 7);
    let load = |v: &str| Artifact::load(&dir.path().join(v)).unwrap();
    let engine = Arc::new(engine::Engine::new(load("v1"), catalog(), model_only()).unwrap());
    let models = Arc::new([("v1", v1), ("v2", v2)]);
    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(5));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let engine = Arc::clone(&engine);
            let models = Arc::clone(&models);
            let (done, start, served) =
                (Arc::clone(&done), Arc::clone(&start), Arc::clone(&served));
            thread::spawn(move || {
                let mut versions = Vec::new();
                start.wait();
                // Keep requesting until every swap is done, and at least 40 times.
                let mut round = 0;
                while round < 40 || !done.load(Ordering::SeqCst) {
                    round += 1;
                    let u = (t * 11 + round) % USERS;
                    let user = user_id(u);
                    let ctx = UserContext::default();
                    let page = engine.feed(user, &ctx, &first(10)).unwrap();
                    let model = &models
                        .iter()
                        .find(|(v, _)| *v == page.model_version)
                        .expect("a known version")
                        .1;
                    for it in &page.items {
                        let want = model
                            .user_factors
                            .row(u)
                            .dot(&model.item_factors.row(item_of(it.post) as usize));
                        assert!((it.score - want).abs() < 1e-5, "mixed models in one page");
                    }
                    let next_page = engine
                        .feed(user, &ctx, &next(10, page.next_cursor.as_deref().unwrap()))
                        .unwrap();
                    assert_eq!(next_page.items.len(), 10);
                    versions.push(page.model_version);
                    served.fetch_add(1, Ordering::SeqCst);
                }
                versions
            })
        })
        .collect();
    start.wait();
    for round in 0..8 {
        let v = if round % 2 == 0 { "v2" } else { "v1" };
        let old = engine.swap(load(v));
        assert_ne!(old, v);
        // Each of the 4 workers has at most one request in flight: after 5 more completions, at
        // least one request started after this swap, so every version is served (no timing luck).
        let before = served.load(Ordering::SeqCst);
        while served.load(Ordering::SeqCst) < before + 5 {
            thread::yield_now();
        }
    }
    done.store(true, Ordering::SeqCst);
    let mut seen = HashSet::new();
    for w in workers {
        seen.extend(w.join().unwrap());
    }
    // Every page named one of the two versions, and the swaps happened under load.
    assert_eq!(seen, HashSet::from(["v1".to_owned(), "v2".to_owned()]));
    assert_eq!(engine.model_version(), "v1");
}

#[test]
fn posts_added_before_a_swap_stay_candidates_under_the_new_model() {
    let dir = tempfile::tempdir().unwrap();
    publish_version(dir.path(), "v1", 42);
    let engine = engine::Engine::new(
        Artifact::load(&dir.path().join("v1")).unwrap(),
        catalog(),
        FeedConfig::default(),
    )
    .unwrap();
    let late = new_post_id(1);
    engine.add_post(meta(late, user_id(1), NOW - 20, &[]));
    publish_version(dir.path(), "v2", 7);
    assert_eq!(reload(&engine, dir.path()).as_deref(), Some("v2"));
    assert_eq!(reload(&engine, dir.path()), None);
    let ctx = UserContext::default();
    let page = engine.feed(STRANGER, &ctx, &first(100)).unwrap();
    assert_eq!(page.model_version, "v2");
    let it = page.items.iter().find(|it| it.post == late).unwrap();
    assert!(it.reasons.contains(&Reason::Fresh));
    // An interested user finds it by similarity under the new model too.
    let page = engine.feed(user_id(5), &ctx, &first(100)).unwrap();
    let it = page.items.iter().find(|it| it.post == late).unwrap();
    assert!(it.reasons.contains(&Reason::Similar));
}

#[test]
fn the_background_reloader_swaps_in_a_newly_published_version() {
    let world = World::publish();
    let engine = Arc::new(world.engine(FeedConfig::default()));
    let reloader = engine.spawn_reloader(
        world.dir.path().to_owned(),
        std::time::Duration::from_millis(10),
    );
    assert_eq!(engine.model_version(), "v1");
    publish_version(world.dir.path(), "v2", 7);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while engine.model_version() != "v2" {
        assert!(std::time::Instant::now() < deadline, "not reloaded");
        thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(reloader);
    assert_eq!(
        world.feed(&engine, user_id(1), &first(5)).model_version,
        "v2"
    );
}

#[test]
fn a_swap_drops_the_tombstones_no_served_model_needs() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let late = new_post_id(1);
    engine.add_post(meta(late, user_id(1), NOW - 20, &["g1"]));
    // A model post and a post added since the model: both tombstoned.
    for post in [post_id(3), late] {
        engine.delete_post(post);
    }
    assert_eq!(engine.tombstones(), 2);
    let u9 = user_id(9);
    world.social.follow(u9, user_id(1));
    world.social.follow(u9, user_id(3));
    let swap_to = |version: &str, seed: u64| {
        publish_version(world.dir.path(), version, seed);
        reload(&engine, world.dir.path()).unwrap();
        let page = world.feed(&engine, u9, &first(100));
        assert_eq!(page.model_version, version);
        for gone in [post_id(3), late] {
            assert!(!posts(&page).contains(&gone), "{gone} served");
        }
    };
    // The new models still know p3 (the planted world keeps its items): its tombstone stays;
    // "late" is known to no model and no longer in the fresh buffer: its tombstone goes.
    swap_to("v2", 7);
    assert_eq!(engine.tombstones(), 1);
    swap_to("v3", 8);
    assert_eq!(engine.tombstones(), 1);
}

/// Flips one byte in the middle of `file` of `version` (an outside test's corruption).
fn flip_byte(root: &std::path::Path, version: &str, file: &str) {
    let path = root.join(version).join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_corrupt_current_version_is_refused_and_the_newest_valid_one_served() {
    let dir = tempfile::tempdir().unwrap();
    publish_version(dir.path(), "v1", 42);
    publish_version(dir.path(), "v2", 7);
    flip_byte(dir.path(), "v2", "item_factors.npy");
    let engine = engine::Engine::without_model(FeedConfig::default()).unwrap();
    let done = engine.reload(dir.path(), ReloadCheck::Pointer).unwrap();
    assert_eq!(done.changed.as_deref(), Some("v1"));
    assert_eq!(done.health.wanted.as_deref(), Some("v2"));
    assert_eq!(done.health.problems.len(), 1, "{:?}", done.health.problems);
    let (version, why) = &done.health.problems[0];
    assert_eq!(version, "v2");
    assert!(why.contains("item_factors.npy"), "{why}");
    assert!(!why.contains('/'), "a path in {why}");
    assert!(engine.model_health().is_fallback(&engine.model_version()));
    // The poll does not load the refused version again while the pointer stays.
    assert_eq!(reload(&engine, dir.path()), None);
    assert_eq!(engine.model_version(), "v1");
    // A newer good version is taken as soon as it is published, and the fallback ends.
    publish_version(dir.path(), "v3", 8);
    assert_eq!(reload(&engine, dir.path()).as_deref(), Some("v3"));
    let health = engine.model_health();
    assert!(health.problems.is_empty(), "{:?}", health.problems);
    assert!(!health.is_fallback("v3"));
}

#[test]
fn files_damaged_under_the_served_model_are_found_by_a_files_check() {
    let dir = tempfile::tempdir().unwrap();
    publish_version(dir.path(), "v1", 42);
    publish_version(dir.path(), "v2", 7);
    let engine = engine::Engine::without_model(FeedConfig::default()).unwrap();
    assert_eq!(reload(&engine, dir.path()).as_deref(), Some("v2"));
    flip_byte(dir.path(), "v2", "item_factors.npy");
    // The pointer alone did not move: the served model stays.
    assert_eq!(reload(&engine, dir.path()), None);
    let done = engine.reload(dir.path(), ReloadCheck::Files).unwrap();
    assert_eq!(done.changed.as_deref(), Some("v1"));
    assert_eq!(engine.model_version(), "v1");
    assert_eq!(done.health.problems[0].0, "v2");
}

#[test]
fn with_every_version_damaged_the_served_model_stays_and_none_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    publish_version(dir.path(), "v1", 42);
    flip_byte(dir.path(), "v1", "item_factors.npy");
    let engine = engine::Engine::without_model(FeedConfig::default()).unwrap();
    let done = engine.reload(dir.path(), ReloadCheck::Files).unwrap();
    assert_eq!(done.changed, None);
    assert_eq!(engine.model_version(), "");
    assert!(done.health.is_fallback(""));
    // Feeds are still served, without a model.
    let page = engine
        .feed(STRANGER, &UserContext::default(), &first(5))
        .unwrap();
    assert_eq!(page.model_version, "");
}
