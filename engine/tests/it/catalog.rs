//! The engine's catalog: loading it after a model, and replacing it after a replica fell
//! behind its change log.

use std::collections::HashSet;

use engine::{Engine, FeedConfig, InteractionKind, PostId, PostMeta, Reason, UserContext};
use models::topk::top_k_dot;
use ndarray::{Array1, Array2};

use crate::*;

fn mean_of(items: &Array2<f32>, rows: impl Iterator<Item = usize>) -> Array1<f32> {
    let rows: Vec<usize> = rows.collect();
    let mut m = Array1::<f32>::zeros(items.ncols());
    for &r in &rows {
        m += &items.row(r);
    }
    m / rows.len() as f32
}

/// `user`'s whole feed in pages of 200.
fn ranking(world: &World, engine: &Engine, user: engine::UserId) -> Vec<engine::FeedItem> {
    let mut items = Vec::new();
    let mut page = world.feed(engine, user, &first(200));
    loop {
        items.extend(page.items.iter().cloned());
        match page.next_cursor.clone() {
            Some(cursor) => page = world.feed(engine, user, &next(200, &cursor)),
            None => return items,
        }
    }
}

fn wide() -> FeedConfig {
    FeedConfig {
        max_page_size: 200,
        ..model_only()
    }
}

#[test]
fn load_posts_after_a_model_derives_its_item_metadata_again() {
    let world = World::publish();
    // A model over an empty catalog: its items have no authors, so nothing can be served.
    let engine = Engine::new(world.artifact(), Vec::<PostMeta>::new(), wide()).unwrap();
    let u6 = user_id(6);
    assert_eq!(engine.catalog_len(), 0);
    // A post added meanwhile has no vector yet (nothing is known of its author's posts).
    let early = new_post_id(1);
    engine.add_post(meta(early, user_id(2), NOW - 10, &[]));
    assert!(posts(&world.feed(&engine, u6, &first(10))).is_empty());
    engine.load_posts(catalog());
    assert_eq!(engine.catalog_len(), ITEMS + 1);
    // The feed is the model's ranking again, and the early post has its author's mean now.
    let items = &world.model.item_factors;
    let by_author = mean_of(items, (0..ITEMS).filter(|&i| author_of(i) == user_id(2)));
    let mut all = items.clone();
    all.push_row(by_author.view()).unwrap();
    let exclude: Vec<u32> = (0..ITEMS)
        .filter(|&i| author_of(i) == u6)
        .map(|i| i as u32)
        .collect();
    let want: Vec<PostId> = top_k_dot(world.model.user_factors.row(6), all.view(), 200, &exclude)
        .iter()
        .map(|s| match s.item as usize {
            i if i == ITEMS => early,
            i => post_id(i),
        })
        .collect();
    let got = ranking(&world, &engine, u6);
    assert_eq!(got.iter().map(|it| it.post).collect::<Vec<_>>(), want);
    let it = got.iter().find(|it| it.post == early).unwrap();
    assert_eq!(it.reasons, vec![Reason::Similar]);
}

#[test]
fn replace_posts_deletes_absent_posts_and_keeps_present_ones() {
    let world = World::publish();
    let (fresh_a, fresh_b, only_catalog, unknown) = (
        new_post_id(1),
        new_post_id(2),
        new_post_id(3),
        new_post_id(4),
    );
    let engine = Engine::new(
        world.artifact(),
        catalog()
            .into_iter()
            .chain([meta(only_catalog, user_id(7), NOW - 100, &[])]),
        wide(),
    )
    .unwrap();
    let mut a = meta(fresh_a, NEWCOMER, NOW - 10, &["g2"]);
    engine.add_post(a.clone());
    engine.add_post(meta(fresh_b, NEWCOMER, NOW - 20, &["g1"]));
    for post in [post_id(10), fresh_a, only_catalog, post_id(20)] {
        engine.record_engagement(post, InteractionKind::Like, NOW - 60);
    }
    let u6 = user_id(6);
    world.feed(&engine, u6, &first(10));

    // The store lost p10, p11 and the catalog-only post, edited A to group 1, and has a post
    // the engine never heard of.
    a.topics = vec!["g1".into()];
    let live: Vec<PostMeta> = catalog()
        .into_iter()
        .filter(|m| ![post_id(10), post_id(11)].contains(&m.id))
        .chain([
            a,
            meta(fresh_b, NEWCOMER, NOW - 20, &["g1"]),
            meta(unknown, user_id(7), NOW - 5, &[]),
        ])
        .collect();
    engine.replace_posts(live);

    assert_eq!(engine.catalog_len(), ITEMS - 2 + 3);
    for gone in [post_id(10), post_id(11), only_catalog] {
        assert_eq!(engine.author_of(gone), None, "{gone}");
    }
    assert_eq!(engine.author_of(unknown), Some(user_id(7)));
    assert_eq!(engine.author_of(fresh_a), Some(NEWCOMER));
    let trending: Vec<PostId> = engine.trending_at(10, NOW).iter().map(|t| t.0).collect();
    assert_eq!(
        trending.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([fresh_a, post_id(20)])
    );
    // Every cached list was dropped; the ranking is the model's without the lost posts, and
    // A ranks with its edited topic.
    let hits = engine.stats().cache_hits;
    let got = ranking(&world, &engine, u6);
    assert_eq!(engine.stats().cache_hits, hits);
    let ids: HashSet<PostId> = got.iter().map(|it| it.post).collect();
    assert!(!ids.contains(&post_id(10)) && !ids.contains(&post_id(11)));
    assert_eq!(
        ids.len(),
        ITEMS - 2 - (0..ITEMS).filter(|&i| author_of(i) == u6).count() + 2
    );
    let items = &world.model.item_factors;
    let group1 = mean_of(items, (0..ITEMS).filter(|&i| group_of_item(i) == 1));
    let score = got.iter().find(|it| it.post == fresh_a).unwrap().score;
    assert!((score - world.model.user_factors.row(6).dot(&group1)).abs() < 1e-5);
    // Deletions survive the next model (tombstones of model items stay).
    publish_version(world.dir.path(), "v2", 7);
    reload(&engine, world.dir.path()).unwrap();
    let ids: HashSet<PostId> = ranking(&world, &engine, u6)
        .iter()
        .map(|it| it.post)
        .collect();
    assert!(!ids.contains(&post_id(10)) && !ids.contains(&post_id(11)));
}

#[test]
fn replace_posts_without_a_model_rebuilds_the_followed_source() {
    let engine = Engine::without_model(FeedConfig {
        diversity_window: 0,
        ..FeedConfig::default()
    })
    .unwrap();
    engine.load_posts(catalog());
    let u7 = user_id(7);
    let by_u7: Vec<PostId> = (0..ITEMS)
        .filter(|&i| author_of(i) == u7)
        .map(post_id)
        .collect();
    let ctx = UserContext {
        followees: vec![u7],
        ..UserContext::default()
    };
    let followed = |engine: &Engine| -> HashSet<PostId> {
        let page = engine.feed(NEWBIE, &ctx, &first(100)).unwrap();
        page.items
            .iter()
            .filter(|it| it.reasons.contains(&Reason::Followed))
            .map(|it| it.post)
            .collect()
    };
    assert_eq!(followed(&engine), by_u7.iter().copied().collect());
    let (lost, kept) = (by_u7[0], &by_u7[1..]);
    let extra = new_post_id(9);
    engine.replace_posts(catalog().into_iter().filter(|m| m.id != lost).chain([meta(
        extra,
        u7,
        NOW,
        &[],
    )]));
    let want: HashSet<PostId> = kept.iter().copied().chain([extra]).collect();
    assert_eq!(followed(&engine), want);
    assert_eq!(engine.catalog_len(), ITEMS);
    assert_eq!(engine.tombstones(), 1);
}
