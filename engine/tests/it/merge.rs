//! Posts added while a user's ranked list is cached are merged into it, not ranked again: the
//! merged list must be the list a new ranking gives, and paging must stay exact across it.

use std::collections::HashSet;

use engine::{Engine, FeedConfig, FeedPage, PostId, PostMeta, Reason, UserId};

use crate::*;

fn new_post(id: PostId, author: UserId, minutes_ago: i64, topic: &str) -> PostMeta {
    PostMeta {
        text: format!("about {topic}"),
        ..meta(id, author, NOW - 60 * minutes_ago, &[topic])
    }
}

/// The page `engine` serves `user` after dropping their cached list: a ranking from scratch.
fn ranked_again(world: &World, engine: &Engine, user: UserId, limit: usize) -> FeedPage {
    engine.invalidate_user(user);
    let builds = engine.stats().builds;
    let page = world.feed(engine, user, &first(limit));
    assert_eq!(engine.stats().builds, builds + 1);
    page
}

#[test]
fn added_posts_are_merged_into_the_cached_list_exactly_as_a_new_ranking_places_them() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u6 = user_id(6);
    world.social.follow(u6, user_id(1));
    world.feed(&engine, u6, &first(100));
    // One by a followed author, one by a stranger in the user's community (u6 is in group 2),
    // one by a stranger elsewhere, and one of the user's own (never served to them).
    let (n_followed, n_close, n_far, n_own) = (
        new_post_id(1),
        new_post_id(2),
        new_post_id(3),
        new_post_id(4),
    );
    engine.add_post(new_post(n_followed, user_id(1), 1, "g1"));
    engine.add_post(new_post(n_close, user_id(3), 2, "g2"));
    engine.add_post(new_post(n_far, user_id(5), 3, "g1"));
    engine.add_post(new_post(n_own, u6, 4, "g2"));

    let merged = world.feed(&engine, u6, &first(100));
    let stats = engine.stats();
    assert_eq!((stats.builds, stats.merges, stats.cache_hits), (1, 1, 1));
    let ids = posts(&merged);
    for post in [n_followed, n_close, n_far] {
        assert!(ids.contains(&post), "{post} missing: {ids:?}");
    }
    assert!(!ids.contains(&n_own));
    let followed = merged
        .items
        .iter()
        .find(|it| it.post == n_followed)
        .unwrap();
    assert_eq!(
        followed.reasons,
        vec![Reason::Similar, Reason::Followed, Reason::Fresh]
    );

    let oracle = ranked_again(&world, &engine, u6, 100);
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
    let u6 = user_id(6);
    let old = new_post_id(100);
    engine.add_post(new_post(old, user_id(1), 50, "g0"));
    assert_eq!(posts(&world.feed(&engine, u6, &first(1))), [old]);
    for (i, minutes_ago) in [9, 3, 7, 1, 5].into_iter().enumerate() {
        engine.add_post(new_post(new_post_id(i), user_id(2), minutes_ago, "g0"));
    }
    // A page of two: a longer one would be topped up by ranking again what is left.
    let merged = world.feed(&engine, u6, &first(2));
    assert_eq!((engine.stats().builds, engine.stats().merges), (1, 1));
    // The two newest take the explore slot; "old" leaves it, and the list, as in a new ranking.
    assert_eq!(
        posts(&merged),
        [new_post_id(3), new_post_id(1)],
        "{merged:?}"
    );
    assert_eq!(merged.sources.fresh, 2);
    let oracle = ranked_again(&world, &engine, u6, 2);
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
    let (u6, u2) = (user_id(6), user_id(2));
    world.social.follow(u6, u2);
    let one = world.feed(&engine, u6, &first(10));
    let hot = new_post_id(1);
    engine.add_post(new_post(hot, u2, 0, "g2"));
    let cursor = one.next_cursor.clone().unwrap();
    let two = world.feed(&engine, u6, &next(10, &cursor));
    assert_eq!((engine.stats().builds, engine.stats().merges), (1, 1));
    let ids = posts(&two);
    assert!(ids.contains(&hot), "{ids:?}");
    // Without it, page two is what it was before the post came: nothing skipped.
    let without = World::publish();
    let reference = without.engine(config);
    without.social.follow(u6, u2);
    let ref_one = without.feed(&reference, u6, &first(10));
    assert_eq!(posts(&ref_one), posts(&one));
    let ref_two = without.feed(
        &reference,
        u6,
        &next(10, ref_one.next_cursor.as_deref().unwrap()),
    );
    let rest: Vec<PostId> = ids.into_iter().filter(|p| *p != hot).collect();
    assert_eq!(rest, posts(&ref_two)[..9]);
    let mut seen: HashSet<PostId> = posts(&one).into_iter().collect();
    for post in posts(&two) {
        assert!(seen.insert(post), "{post} served twice");
    }
}

#[test]
fn deleting_a_post_keeps_the_cached_list_and_filters_the_post() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u6 = user_id(6);
    let page = world.feed(&engine, u6, &first(10));
    let gone = page.items[0].post;
    engine.delete_post(gone);
    let again = world.feed(&engine, u6, &first(10));
    assert_eq!(engine.stats().builds, 1);
    assert_eq!(posts(&again)[..9], posts(&page)[1..]);
    assert!(!posts(&again).contains(&gone));
}
