//! Serving before the first model: followed, trending and new posts, then the first swap.

use std::collections::HashSet;

use engine::{
    Engine, Error, FeedConfig, InteractionKind, PostId, PostMeta, Reason, UserContext, UserId,
};

use crate::*;

fn new_post(n: usize, author: UserId, created_at: i64) -> PostMeta {
    meta(new_post_id(n), author, created_at, &[])
}

fn without_model() -> Engine {
    Engine::without_model(FeedConfig::default()).unwrap()
}

/// Author `a` of the posts added by [`add_posts`] (unknown to every model).
fn writer(a: usize) -> UserId {
    UserId(2_000 + a as i64)
}

/// Adds `n` posts `new_post_id(0..n)` by authors `writer(0..7)`, one minute apart.
fn add_posts(engine: &Engine, n: usize) {
    for i in 0..n {
        engine.add_post(new_post(i, writer(i % 7), NOW - 60 * i as i64));
    }
}

#[test]
fn an_engine_without_a_model_serves_followed_trending_and_new_posts() {
    // The catalog holds the planted world's posts; the engine knows no model.
    // No diversity rule: the page holds every candidate, in rank order.
    let config = FeedConfig {
        diversity_window: 0,
        ..FeedConfig::default()
    };
    let engine = Engine::without_model(config).unwrap();
    engine.load_posts(catalog());
    assert!(!engine.has_model());
    assert_eq!(engine.model_version(), "");
    assert_eq!(engine.catalog_len(), ITEMS);
    add_posts(&engine, 5);
    let social = Social::default();
    let u7 = user_id(7);
    social.follow(NEWBIE, u7);
    engine.record_engagement(post_id(33), InteractionKind::Share, NOW - 60);
    let ctx = social.context(NEWBIE, engine.config());
    let page = engine.feed(NEWBIE, &ctx, &first(100)).unwrap();
    assert_eq!(page.model_version, "");
    assert_eq!(page.sources.similar, 0);
    assert_eq!(page.sources.popular, 0);
    let reasons_of = |post: PostId| {
        page.items
            .iter()
            .find(|it| it.post == post)
            .map(|it| it.reasons.clone())
            .unwrap_or_else(|| panic!("{post} missing from {:?}", posts(&page)))
    };
    // Followed: the newest posts of u7 in the catalog (never added as new posts).
    let by_u7: Vec<usize> = (0..ITEMS).filter(|&i| author_of(i) == u7).collect();
    assert!(by_u7.len() <= FeedConfig::default().followed_per_author);
    for &i in &by_u7 {
        assert_eq!(reasons_of(post_id(i)), vec![Reason::Followed]);
    }
    assert_eq!(reasons_of(post_id(33)), vec![Reason::Trending]);
    for i in 0..5 {
        assert_eq!(reasons_of(new_post_id(i)), vec![Reason::Fresh]);
    }
    assert_eq!(page.items.len(), by_u7.len() + 1 + 5);
    assert_eq!(page.next_cursor, None);
    assert_eq!(engine.user_vector(NEWBIE, &ctx).unwrap(), None);
}

#[test]
fn without_a_model_pages_walk_every_post_once_and_are_never_empty_while_one_is_left() {
    let engine = without_model();
    add_posts(&engine, 230);
    let reader = UserId(1_070);
    let ctx = UserContext::default();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let request = match &cursor {
            None => first(100),
            Some(c) => next(100, c),
        };
        let page = engine.feed(reader, &ctx, &request).unwrap();
        assert!(!page.items.is_empty());
        assert!(
            page.items
                .iter()
                .all(|it| it.reasons == vec![Reason::Fresh])
        );
        seen.extend(posts(&page));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Every post exactly once; the last page is the short one.
    assert_eq!(seen.len(), 230);
    let distinct: HashSet<&PostId> = seen.iter().collect();
    assert_eq!(distinct.len(), 230);
    // Filters never empty a page while an admissible post is left.
    let picky = UserContext {
        seen: (1..230).map(new_post_id).collect(),
        ..UserContext::default()
    };
    let page = engine.feed(UserId(1_071), &picky, &first(20)).unwrap();
    assert_eq!(posts(&page), vec![new_post_id(0)]);
    // Own posts are filtered too.
    let page = engine.feed(writer(3), &ctx, &first(100)).unwrap();
    assert!(page.items.iter().all(|it| it.author != writer(3)));
    assert_eq!(page.items.len(), 100);
}

#[test]
fn interactions_without_a_model_count_towards_trending_and_fold_in_nothing() {
    let engine = without_model();
    add_posts(&engine, 30);
    let social = Social::default();
    let liked = new_post_id(20);
    for user in [UserId(1_080), UserId(1_081)] {
        social.interact(user, liked, InteractionKind::Like);
        engine.record_engagement(liked, InteractionKind::Like, NOW - 10);
        engine.interactions_changed(user);
    }
    let x = social.context(UserId(1_080), engine.config());
    assert_eq!(engine.user_vector(UserId(1_080), &x).unwrap(), None);
    let trending = engine.trending_at(5, NOW);
    assert_eq!(trending.len(), 1);
    assert_eq!(trending[0].0, liked);
    let want = 2.0 * 3.0 * (-10.0f64 / (6.0 * 3600.0)).exp2();
    assert!((f64::from(trending[0].1) - want).abs() < 1e-4);
    let page = engine
        .feed(UserId(1_082), &UserContext::default(), &first(5))
        .unwrap();
    assert_eq!(page.items[0].post, liked);
    assert_eq!(page.items[0].reasons, vec![Reason::Trending, Reason::Fresh]);
    assert_eq!(page.sources.trending, 1);
}

#[test]
fn the_first_swap_installs_a_model_and_keeps_the_posts_added_before() {
    let world = World::publish();
    let engine = without_model();
    engine.load_posts(catalog());
    let late = new_post_id(1);
    engine.add_post(meta(late, user_id(1), NOW - 20, &[]));
    assert_eq!(engine.swap(world.artifact()), "");
    assert!(engine.has_model());
    assert_eq!(engine.model_version(), "v1");
    assert_eq!(engine.catalog_len(), ITEMS + 1);
    let page = world.feed(&engine, STRANGER, &first(100));
    assert_eq!(page.model_version, "v1");
    assert!(page.sources.popular > 0);
    let it = page.items.iter().find(|it| it.post == late).unwrap();
    assert!(it.reasons.contains(&Reason::Fresh));
    // Under the model it has a vector (its author's mean) and is found by similarity.
    let page = world.feed(&engine, user_id(5), &first(100));
    let it = page.items.iter().find(|it| it.post == late).unwrap();
    assert!(it.reasons.contains(&Reason::Similar));
    assert!(world.user_vector(&engine, user_id(5)).is_some());
}

#[test]
fn an_invalid_config_is_rejected_without_a_model_too() {
    let config = FeedConfig {
        max_page_size: 0,
        ..FeedConfig::default()
    };
    let err = Engine::without_model(config).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "max_page_size",
            ..
        }
    ));
    let err = Engine::without_model(FeedConfig {
        context_interactions: 0,
        ..FeedConfig::default()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "context_interactions",
            ..
        }
    ));
}
