//! Feed assembly: the model ranking against brute force, every filter, the diversity rule and
//! cursor paging.

use std::collections::HashSet;

use engine::{Error, FeedConfig, FeedRequest, InteractionKind, PostId, Reason};
use models::topk::top_k_dot;

use crate::*;

#[test]
fn the_model_ranking_equals_brute_force_top_k_with_the_same_exclusions() {
    let world = World::publish();
    let engine = world.engine(model_only());
    // u1 liked two posts (not told to the engine: the trained vector stays), hid the author
    // u5, and writes posts of their own.
    world
        .social
        .interact(user_id(1), post_id(1), InteractionKind::Like);
    world
        .social
        .interact(user_id(1), post_id(9), InteractionKind::View);
    world.social.hide(user_id(1), user_id(5));
    for u in [1usize, 2, 7, 30, 55] {
        let user = user_id(u);
        let mut exclude: Vec<u32> = world
            .context(&engine, user)
            .interactions
            .iter()
            .map(|i| item_of(i.post))
            .collect();
        for i in 0..ITEMS {
            let author = author_of(i);
            if author == user || (u == 1 && author == user_id(5)) {
                exclude.push(i as u32);
            }
        }
        exclude.sort_unstable();
        exclude.dedup();
        let expected = top_k_dot(
            world.model.user_factors.row(u),
            world.model.item_factors.view(),
            40,
            &exclude,
        );
        let page = world.feed(&engine, user, &first(40));
        assert_eq!(page.items.len(), 40);
        assert_eq!(page.model_version, "v1");
        let got: Vec<u32> = page.items.iter().map(|it| item_of(it.post)).collect();
        let want: Vec<u32> = expected.iter().map(|s| s.item).collect();
        assert_eq!(got, want, "user {user}");
        for (it, s) in page.items.iter().zip(&expected) {
            assert!((it.score - s.score).abs() < 1e-5);
            assert_eq!(it.reasons, vec![Reason::Similar]);
        }
        assert_eq!(
            page.sources.similar,
            FeedConfig::default()
                .similar_quota
                .min(ITEMS - exclude.len())
        );
    }
}

#[test]
fn seen_posts_are_filtered_even_from_a_running_session() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u2 = user_id(2);
    let page = world.feed(&engine, u2, &first(10));
    let target = page.items[3].post;
    world.social.mark_seen(u2, target);
    let again = world.feed(&engine, u2, &first(10));
    assert!(!posts(&again).contains(&target));
    // The rest keeps its order: only the seen post left.
    let mut before = posts(&page);
    before.retain(|p| *p != target);
    assert_eq!(&posts(&again)[..9], &before[..]);
}

#[test]
fn own_posts_never_appear_although_the_model_ranks_them_high() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u3 = user_id(3);
    let own: HashSet<PostId> = (0..ITEMS)
        .filter(|&i| author_of(i) == u3)
        .map(post_id)
        .collect();
    let unfiltered = top_k_dot(
        world.model.user_factors.row(3),
        world.model.item_factors.view(),
        40,
        &[],
    );
    assert!(
        unfiltered
            .iter()
            .any(|s| own.contains(&post_id(s.item as usize)))
    );
    let page = world.feed(&engine, u3, &first(100));
    assert!(page.items.len() >= 40);
    assert!(
        page.items
            .iter()
            .all(|it| !own.contains(&it.post) && it.author != u3)
    );
}

#[test]
fn hidden_authors_disappear_at_once() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u6 = user_id(6);
    let page = world.feed(&engine, u6, &first(20));
    let author = page.items[0].author;
    world.social.hide(u6, author);
    let next = world.feed(&engine, u6, &next(20, page.next_cursor.as_deref().unwrap()));
    let fresh = world.feed(&engine, u6, &first(100));
    for p in [&next, &fresh] {
        assert!(!p.items.is_empty());
        assert!(p.items.iter().all(|it| it.author != author));
    }
}

#[test]
fn deleted_posts_disappear_at_once_even_mid_session() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u9 = user_id(9);
    let big = world.feed(&engine, u9, &first(30));
    let page = world.feed(&engine, u9, &first(10));
    // A post due on the second page, and one from the first page, are deleted.
    let due = big.items[12].post;
    let shown = page.items[0].post;
    engine.delete_post(due);
    engine.delete_post(shown);
    let second = world.feed(&engine, u9, &next(10, page.next_cursor.as_deref().unwrap()));
    assert!(!posts(&second).contains(&due));
    for user in [u9, user_id(10), user_id(11), STRANGER] {
        let p = world.feed(&engine, user, &first(100));
        assert!(
            !posts(&p).contains(&due) && !posts(&p).contains(&shown),
            "{user}"
        );
    }
    assert_eq!(engine.catalog_len(), ITEMS - 2);
}

/// A post hidden by a moderator leaves feeds as a deleted one does; restored, it is back in the
/// catalog and in fresh feeds, including for a user whose list was ranked while it was hidden.
#[test]
fn hidden_posts_come_back_when_restored() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u9 = user_id(9);
    let before = world.feed(&engine, u9, &first(10));
    let post = before.items[0].post;
    let item = (0..ITEMS).find(|&i| post_id(i) == post).unwrap();
    engine.delete_post(post);
    let hidden = world.feed(&engine, u9, &first(10));
    assert!(!posts(&hidden).contains(&post));
    assert_eq!(engine.catalog_len(), ITEMS - 1);
    let mut restored = catalog().swap_remove(item);
    restored.text = "restored".into();
    engine.restore_post(restored);
    assert_eq!(engine.catalog_len(), ITEMS);
    assert_eq!(engine.author_of(post), Some(author_of(item)));
    let again = world.feed(&engine, u9, &first(10));
    assert_eq!(posts(&again), posts(&before));
}

/// A suspended author's posts leave every feed and trending at once (pages of running sessions
/// included), and come back when released or when the suspension's time is up.
#[test]
fn withheld_authors_leave_feeds_and_trending_until_released_or_expired() {
    let world = World::publish();
    let engine = world.engine(FeedConfig {
        trending_refresh: std::time::Duration::ZERO,
        ..FeedConfig::default()
    });
    let u9 = user_id(9);
    let page = world.feed(&engine, u9, &first(10));
    let author = page.items[3].author;
    let theirs = |p: &engine::FeedPage| p.items.iter().filter(|i| i.author == author).count();
    let everything = world.feed(&engine, u9, &first(100));
    assert!(theirs(&everything) > 0);
    let by_author = (0..ITEMS).find(|&i| author_of(i) == author).unwrap();
    engine.record_engagement(post_id(by_author), InteractionKind::Like, NOW - 60);
    assert!(
        engine
            .trending_at(50, NOW)
            .iter()
            .any(|(p, _)| *p == post_id(by_author))
    );

    engine.withhold_author(author, NOW + 3600);
    assert!(engine.withholds(author, NOW) && !engine.withholds(author, NOW + 3600));
    let second = world.feed(&engine, u9, &next(10, page.next_cursor.as_deref().unwrap()));
    assert_eq!(theirs(&second), 0);
    for user in [u9, user_id(10), STRANGER] {
        assert_eq!(theirs(&world.feed(&engine, user, &first(100))), 0, "{user}");
    }
    assert!(
        !engine
            .trending_at(50, NOW)
            .iter()
            .any(|(p, _)| *p == post_id(by_author))
    );
    // The time is up: back without a release.
    let later = FeedRequest {
        now: NOW + 3600,
        ..first(100)
    };
    assert!(theirs(&world.feed(&engine, user_id(10), &later)) > 0);
    assert!(
        engine
            .trending_at(50, NOW + 3600)
            .iter()
            .any(|(p, _)| *p == post_id(by_author))
    );
    // Banned (no end), then released.
    engine.withhold_author(author, i64::MAX);
    assert_eq!(theirs(&world.feed(&engine, user_id(11), &later)), 0);
    engine.release_author(author);
    assert_eq!(engine.withheld_authors(), 0);
    assert!(theirs(&world.feed(&engine, user_id(11), &first(100))) > 0);
    // A reload replaces the set.
    engine.replace_withheld([(author, i64::MAX)]);
    assert_eq!(theirs(&world.feed(&engine, user_id(12), &first(100))), 0);
    engine.replace_withheld([]);
    assert!(!engine.withholds(author, NOW));
}

#[test]
fn the_diversity_rule_holds_and_is_needed() {
    let world = World::publish();
    let u4 = user_id(4);
    let obeys = |items: &[engine::FeedItem], max: usize, window: usize| {
        items.windows(window).all(|w| {
            w.iter()
                .all(|x| w.iter().filter(|y| y.author == x.author).count() <= max)
        })
    };
    let off = world.engine(FeedConfig {
        diversity_window: 0,
        ..FeedConfig::default()
    });
    let page = world.feed(&off, u4, &first(60));
    assert!(
        !obeys(&page.items, 1, 6),
        "the test needs a feed that breaks the rule"
    );
    let on = world.engine(FeedConfig {
        max_per_author: 1,
        diversity_window: 6,
        ..FeedConfig::default()
    });
    let mut cursor: Option<String> = None;
    let mut all = Vec::new();
    for _ in 0..4 {
        let page = match &cursor {
            None => world.feed(&on, u4, &first(15)),
            Some(c) => world.feed(&on, u4, &next(15, c)),
        };
        all.extend(page.items);
        cursor = page.next_cursor;
    }
    assert!(all.len() >= 30);
    assert!(obeys(&all, 1, 6));
}

#[test]
fn pages_concatenate_to_the_single_big_page() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u8 = user_id(8);
    let big = world.feed(&engine, u8, &first(100));
    assert_eq!(big.items.len(), 100);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let page = match &cursor {
            None => world.feed(&engine, u8, &first(20)),
            Some(c) => world.feed(&engine, u8, &next(20, c)),
        };
        assert_eq!(page.items.len(), 20);
        paged.extend(page.items);
        cursor = page.next_cursor;
    }
    assert_eq!(paged, big.items);
    // One ranking served all six pages.
    let stats = engine.stats();
    assert_eq!((stats.pages, stats.cache_hits, stats.builds), (6, 5, 1));
    assert_eq!(stats.sources, big.sources);
}

#[test]
fn pages_never_repeat_a_post_even_when_the_list_is_rebuilt() {
    let world = World::publish();
    let engine = world.engine(FeedConfig {
        similar_quota: 30,
        followed_quota: 0,
        trending_quota: 10,
        fresh_quota: 0,
        ..FeedConfig::default()
    });
    let u12 = user_id(12);
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = match &cursor {
            None => world.feed(&engine, u12, &first(7)),
            Some(c) => world.feed(&engine, u12, &next(7, c)),
        };
        for it in &page.items {
            assert!(seen.insert(it.post), "{} repeated", it.post);
        }
        pages += 1;
        // Rebuild the list every other page, as a like or an expiry would; and every third
        // page drop every list, as a catalog reload does.
        if pages % 2 == 0 {
            engine.invalidate_user(u12);
        }
        if pages % 3 == 0 {
            engine.invalidate_all();
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 100);
    }
    // Every post but the user's own and the ones they interacted with in training was served.
    assert!(seen.len() > 100, "{}", seen.len());
}

#[test]
fn bad_requests_are_rejected() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let (u1, u2) = (user_id(1), user_id(2));
    assert!(matches!(
        world.try_feed(&engine, u1, &first(0)),
        Err(Error::InvalidPageSize { got: 0, max: 100 })
    ));
    assert!(matches!(
        world.try_feed(&engine, u1, &first(101)),
        Err(Error::InvalidPageSize { got: 101, .. })
    ));
    let page = world.feed(&engine, u1, &first(5));
    let cursor = page.next_cursor.unwrap();
    assert!(matches!(
        world.try_feed(&engine, u2, &next(5, &cursor)),
        Err(Error::CursorUserMismatch)
    ));
    assert!(matches!(
        world.try_feed(&engine, u1, &next(5, "not a cursor")),
        Err(Error::InvalidCursor { .. })
    ));
    for (config, field) in [
        (
            FeedConfig {
                max_page_size: 0,
                ..FeedConfig::default()
            },
            "max_page_size",
        ),
        (
            FeedConfig {
                context_seen: 0,
                ..FeedConfig::default()
            },
            "context_seen",
        ),
    ] {
        let err = engine::Engine::new(world.artifact(), catalog(), config).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}

#[test]
fn through_the_hnsw_graph_the_model_ranking_finds_most_of_the_exact_top_k() {
    let world = World::publish();
    let engine = world.engine(FeedConfig {
        exact_search_max_items: 0,
        ..model_only()
    });
    let (mut found, mut total) = (0, 0);
    for u in (0..USERS).step_by(3) {
        let user = user_id(u);
        let exclude: Vec<u32> = (0..ITEMS)
            .filter(|&i| author_of(i) == user)
            .map(|i| i as u32)
            .collect();
        let want: HashSet<u32> = top_k_dot(
            world.model.user_factors.row(u),
            world.model.item_factors.view(),
            10,
            &exclude,
        )
        .iter()
        .map(|s| s.item)
        .collect();
        let page = world.feed(&engine, user, &first(10));
        found += page
            .items
            .iter()
            .filter(|it| want.contains(&item_of(it.post)))
            .count();
        total += want.len();
    }
    assert!(found * 100 >= total * 90, "recall@10 {found}/{total}");
}

/// With few exclusions the index is searched unfiltered for more items and the exclusions are
/// dropped afterwards; with more exclusions than wanted items, it is searched filtered. Both
/// find the exact top items with the same exclusions.
#[test]
fn both_index_search_paths_apply_the_exclusions() {
    let world = World::publish();
    for u in [1usize, 2, 7] {
        let user = user_id(u);
        world
            .social
            .interact(user, post_id(u + 10), InteractionKind::Like);
        world
            .social
            .interact(user, post_id(u + 30), InteractionKind::View);
        world.social.hide(user, author_of(u + 4));
    }
    // 18 exclusions per user: 8 own posts, 8 of the hidden author, 2 interactions.
    for quota in [5, 40] {
        let engine = world.engine(FeedConfig {
            exact_search_max_items: 0,
            similar_quota: quota,
            ..model_only()
        });
        let (mut found, mut total) = (0, 0);
        for u in [1usize, 2, 7] {
            let user = user_id(u);
            let mut exclude: Vec<u32> = (0..ITEMS)
                .filter(|&i| author_of(i) == user || author_of(i) == author_of(u + 4))
                .map(|i| i as u32)
                .chain([(u + 10) as u32, (u + 30) as u32])
                .collect();
            exclude.sort_unstable();
            exclude.dedup();
            assert_eq!(exclude.len(), 18);
            let want: HashSet<u32> = top_k_dot(
                world.model.user_factors.row(u),
                world.model.item_factors.view(),
                quota,
                &exclude,
            )
            .iter()
            .map(|s| s.item)
            .collect();
            let page = world.feed(&engine, user, &first(quota));
            assert_eq!(page.items.len(), quota);
            for it in &page.items {
                assert!(!exclude.contains(&item_of(it.post)), "{user}: {}", it.post);
            }
            found += page
                .items
                .iter()
                .filter(|it| want.contains(&item_of(it.post)))
                .count();
            total += want.len();
        }
        assert!(found * 100 >= total * 90, "quota {quota}: {found}/{total}");
    }
}
