//! Posts added while a user's ranked list is cached are merged into it, not ranked again: the
//! merged list must be the list a new ranking gives, and paging must stay exact across it.

use std::collections::HashSet;

use engine::{Engine, FeedConfig, FeedPage, InMemoryGraph, PostMeta, Reason};

use crate::*;

fn new_post(id: &str, author: &str, minutes_ago: i64, topic: &str) -> PostMeta {
    PostMeta {
        id: id.into(),
        author: author.into(),
        created_at: NOW - 60 * minutes_ago,
        deleted: false,
        topics: vec![topic.into()],
        text: format!("about {topic}"),
    }
}

fn add(world: &World, engine: &Engine<Arc<InMemoryGraph>>, meta: PostMeta) {
    world.graph.add_post(meta.clone());
    engine.add_post(meta);
}

/// The page `engine` serves `user` after dropping their cached list: a ranking from scratch.
fn ranked_again(engine: &Engine<Arc<InMemoryGraph>>, user: &str, limit: usize) -> FeedPage {
    engine.invalidate_user(user);
    let builds = engine.stats().builds;
    let page = engine.feed(user, &first(limit)).unwrap();
    assert_eq!(engine.stats().builds, builds + 1);
    page
}

#[test]
fn added_posts_are_merged_into_the_cached_list_exactly_as_a_new_ranking_places_them() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    world.graph.follow("u6", "u1");
    engine.feed("u6", &first(100)).unwrap();
    // One by a followed author, one by a stranger in the user's community (u6 is in group 2),
    // one by a stranger elsewhere, and one of the user's own (never served to them).
    add(&world, &engine, new_post("n-followed", "u1", 1, "g1"));
    add(&world, &engine, new_post("n-close", "u3", 2, "g2"));
    add(&world, &engine, new_post("n-far", "u5", 3, "g1"));
    add(&world, &engine, new_post("n-own", "u6", 4, "g2"));

    let merged = engine.feed("u6", &first(100)).unwrap();
    let stats = engine.stats();
    assert_eq!((stats.builds, stats.merges, stats.cache_hits), (1, 1, 1));
    let ids = posts(&merged);
    for post in ["n-followed", "n-close", "n-far"] {
        assert!(ids.contains(&post.to_owned()), "{post} missing: {ids:?}");
    }
    assert!(!ids.contains(&"n-own".to_owned()));
    let followed = merged
        .items
        .iter()
        .find(|it| it.post == "n-followed")
        .unwrap();
    assert_eq!(
        followed.reasons,
        vec![Reason::Similar, Reason::Followed, Reason::Fresh]
    );

    let oracle = ranked_again(&engine, "u6", 100);
    assert_eq!(merged.items, oracle.items);
    assert_eq!(merged.sources, oracle.sources);
}

#[test]
fn only_the_newest_posts_take_the_explore_slot_when_many_were_added() {
    let config = FeedConfig {
        similar_quota: 0,
        followed_quota: 0,
        trending_quota: 0,
        fresh_quota: 2,
        ..FeedConfig::default()
    };
    let world = World::publish();
    let engine = world.engine(config);
    add(&world, &engine, new_post("old", "u1", 50, "g0"));
    assert_eq!(posts(&engine.feed("u6", &first(1)).unwrap()), ["old"]);
    for (i, minutes_ago) in [9, 3, 7, 1, 5].into_iter().enumerate() {
        add(
            &world,
            &engine,
            new_post(&format!("n{i}"), "u2", minutes_ago, "g0"),
        );
    }
    // A page of two: a longer one would be topped up by ranking again what is left.
    let merged = engine.feed("u6", &first(2)).unwrap();
    assert_eq!((engine.stats().builds, engine.stats().merges), (1, 1));
    // The two newest take the explore slot; "old" leaves it, and the list, as in a new ranking.
    assert_eq!(posts(&merged), ["n3", "n1"], "{merged:?}");
    assert_eq!(merged.sources.fresh, 2);
    let oracle = ranked_again(&engine, "u6", 2);
    assert_eq!(merged.items, oracle.items);
    assert_eq!(merged.sources, oracle.sources);
}

#[test]
fn a_post_added_between_pages_is_served_next_without_repeats_or_skips() {
    // u2 writes in u6's community (group 2). No diversity rule: the new post would push one of
    // u2's other posts down, which is right but not what this test is about.
    let config = FeedConfig {
        diversity_window: 0,
        ..FeedConfig::default()
    };
    let world = World::publish();
    let engine = world.engine(config.clone());
    world.graph.follow("u6", "u2");
    let one = engine.feed("u6", &first(10)).unwrap();
    add(&world, &engine, new_post("hot", "u2", 0, "g2"));
    let cursor = one.next_cursor.clone().unwrap();
    let two = engine.feed("u6", &next(10, &cursor)).unwrap();
    assert_eq!((engine.stats().builds, engine.stats().merges), (1, 1));
    let ids = posts(&two);
    assert!(ids.contains(&"hot".to_owned()), "{ids:?}");
    // Without it, page two is what it was before the post came: nothing skipped.
    let without = World::publish();
    let reference = without.engine(config);
    without.graph.follow("u6", "u2");
    let ref_one = reference.feed("u6", &first(10)).unwrap();
    assert_eq!(posts(&ref_one), posts(&one));
    let ref_two = reference
        .feed("u6", &next(10, ref_one.next_cursor.as_deref().unwrap()))
        .unwrap();
    let rest: Vec<String> = ids.into_iter().filter(|p| p != "hot").collect();
    assert_eq!(rest, posts(&ref_two)[..9]);
    let mut seen: HashSet<String> = posts(&one).into_iter().collect();
    for post in posts(&two) {
        assert!(seen.insert(post.clone()), "{post} served twice");
    }
}

#[test]
fn deleting_a_post_keeps_the_cached_list_and_filters_the_post() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let page = engine.feed("u6", &first(10)).unwrap();
    let gone = page.items[0].post.clone();
    world.graph.delete_post(&gone);
    engine.delete_post(&gone);
    let again = engine.feed("u6", &first(10)).unwrap();
    assert_eq!(engine.stats().builds, 1);
    assert_eq!(posts(&again)[..9], posts(&page)[1..]);
    assert!(!posts(&again).contains(&gone));
}
