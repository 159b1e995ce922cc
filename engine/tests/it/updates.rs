//! What the API calls besides feeds: trending posts, unlikes, edited posts, authors.

use engine::{FeedConfig, InteractionKind, PostId, PostMeta, Reason, UserId};
use ndarray::{Array1, Array2};

use crate::*;

const HALF_LIFE: f64 = 6.0 * 3600.0;

fn decayed(weight: f64, age: i64) -> f64 {
    weight * (-(age as f64) / HALF_LIFE).exp2()
}

#[test]
fn trending_lists_posts_by_decayed_engagement_without_deleted_or_unknown_ones() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let ghost = PostId(99_999);
    for _ in 0..3 {
        engine.record_engagement(post_id(3), InteractionKind::Like, NOW - 600);
    }
    engine.record_engagement(post_id(4), InteractionKind::View, NOW - 60);
    engine.record_engagement(post_id(4), InteractionKind::View, NOW - 3600);
    engine.record_engagement(post_id(5), InteractionKind::Share, NOW - 60);
    engine.record_engagement(ghost, InteractionKind::Share, NOW - 60);
    engine.record_engagement(post_id(6), InteractionKind::Share, NOW - 49 * 3600);
    engine.delete_post(post_id(5));
    let got = engine.trending_at(10, NOW);
    let ids: Vec<PostId> = got.iter().map(|(p, _)| *p).collect();
    assert_eq!(ids, vec![post_id(3), post_id(4)]);
    let want = [decayed(9.0, 600), decayed(1.0, 60) + decayed(1.0, 3600)];
    for ((_, score), want) in got.iter().zip(want) {
        assert!((f64::from(*score) - want).abs() < 1e-4, "{score} vs {want}");
    }
    assert_eq!(engine.trending_at(1, NOW).len(), 1);
    assert!(engine.trending_at(0, NOW).is_empty());
}

#[test]
fn trending_at_the_system_time_counts_recent_engagement() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let now = engine::feed::unix_now();
    engine.record_engagement(post_id(8), InteractionKind::Comment, now - 5);
    let got = engine.trending(5);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, post_id(8));
    assert!((got[0].1 - 4.0).abs() < 0.01);
}

/// An unlike takes its like's engagement back exactly: the post ranks as if never liked, and
/// a post left with none leaves the list.
#[test]
fn retracted_engagement_counts_as_never_recorded() {
    let world = World::publish();
    let engine = world.engine(FeedConfig {
        trending_refresh: std::time::Duration::ZERO,
        ..FeedConfig::default()
    });
    engine.record_engagement(post_id(3), InteractionKind::Like, NOW - 600);
    engine.record_engagement(post_id(3), InteractionKind::View, NOW - 60);
    engine.record_engagement(post_id(4), InteractionKind::Like, NOW - 30);
    engine.retract_engagement(post_id(3), InteractionKind::Like, NOW - 600);
    engine.retract_engagement(post_id(4), InteractionKind::Like, NOW - 30);
    let got = engine.trending_at(10, NOW);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, post_id(3));
    assert!((f64::from(got[0].1) - decayed(1.0, 60)).abs() < 1e-6);
}

#[test]
fn reset_trending_forgets_every_engagement() {
    let world = World::publish();
    // Ranked on every request: an engagement shows at once.
    let engine = world.engine(FeedConfig {
        trending_refresh: std::time::Duration::ZERO,
        ..FeedConfig::default()
    });
    engine.record_engagement(post_id(3), InteractionKind::Like, NOW - 600);
    engine.record_engagement(post_id(4), InteractionKind::Share, NOW - 60);
    assert_eq!(engine.trending_at(10, NOW).len(), 2);
    let page = world.feed(&engine, STRANGER, &first(5));
    assert_eq!(page.sources.trending, 2);
    engine.reset_trending();
    assert!(engine.trending_at(10, NOW).is_empty());
    engine.invalidate_user(STRANGER);
    let page = world.feed(&engine, STRANGER, &first(5));
    assert_eq!(page.sources.trending, 0);
    assert!(
        page.items
            .iter()
            .all(|it| it.reasons == vec![Reason::Popular])
    );
    // Warming again counts from zero.
    engine.record_engagement(post_id(4), InteractionKind::View, NOW);
    let got = engine.trending_at(10, NOW);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, post_id(4));
    assert!((got[0].1 - 1.0).abs() < 1e-6);
}

#[test]
fn interactions_changed_after_an_unlike_folds_in_again_without_counting_engagement() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let (p2, p6, p10) = (post_id(2), post_id(6), post_id(10));
    for post in [p2, p6, p10] {
        world.interact(&engine, NEWBIE, post, InteractionKind::Like, NOW - 60);
    }
    let page = world.feed(&engine, NEWBIE, &first(10));
    let trending_before = engine.trending_at(10, NOW);
    assert!(
        world
            .social
            .remove_interaction(NEWBIE, p10, InteractionKind::Like)
    );
    engine.interactions_changed(NEWBIE);
    // The vector is the fold-in of the remaining likes: the same as a user who only ever
    // liked those.
    let twin = UserId(1_050);
    for post in [p2, p6] {
        world.interact(&engine, twin, post, InteractionKind::Like, NOW - 60);
    }
    let got = world.user_vector(&engine, NEWBIE).unwrap();
    let want = world.user_vector(&engine, twin).unwrap();
    assert_eq!(got, want);
    // No engagement was counted by the change (the twin's likes were).
    let trending_after = engine.trending_at(10, NOW);
    let score = |list: &[(PostId, f32)], post: PostId| {
        list.iter()
            .find(|(p, _)| *p == post)
            .map(|(_, s)| *s)
            .unwrap()
    };
    assert_eq!(score(&trending_after, p10), score(&trending_before, p10));
    // The cached list was dropped: the next page is ranked again.
    let builds = engine.stats().builds;
    let cursor = page.next_cursor.unwrap();
    world.feed(&engine, NEWBIE, &next(10, &cursor));
    assert_eq!(engine.stats().builds, builds + 1);
}

#[test]
fn interactions_changed_of_a_user_with_no_model_interactions_left_restores_the_trained_vector() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u3 = user_id(3);
    world.interact(&engine, u3, post_id(40), InteractionKind::Like, NOW);
    assert_ne!(
        world.user_vector(&engine, u3).unwrap(),
        world.model.user_factors.row(3).to_vec()
    );
    world
        .social
        .remove_interaction(u3, post_id(40), InteractionKind::Like);
    engine.interactions_changed(u3);
    assert_eq!(
        world.user_vector(&engine, u3).unwrap(),
        world.model.user_factors.row(3).to_vec()
    );
}

#[test]
fn author_of_names_the_author_of_live_posts_only() {
    let world = World::publish();
    let only_catalog = meta(new_post_id(1), NEWCOMER, NOW - 100, &[]);
    let engine = engine::Engine::new(
        world.artifact(),
        catalog().into_iter().chain([only_catalog]),
        FeedConfig::default(),
    )
    .unwrap();
    assert_eq!(engine.catalog_len(), ITEMS + 1);
    // A model item, a post only the catalog knows, a fresh post.
    assert_eq!(engine.author_of(post_id(7)), Some(author_of(7)));
    assert_eq!(engine.author_of(new_post_id(1)), Some(NEWCOMER));
    engine.add_post(meta(new_post_id(2), user_id(4), NOW - 5, &[]));
    assert_eq!(engine.author_of(new_post_id(2)), Some(user_id(4)));
    // Deleted or unknown: none.
    for post in [post_id(7), new_post_id(1), new_post_id(2)] {
        engine.delete_post(post);
        assert_eq!(engine.author_of(post), None, "{post}");
    }
    assert_eq!(engine.author_of(PostId(123_456)), None);
    assert_eq!(engine.catalog_len(), ITEMS - 1);
}

fn mean_of_group(items: &Array2<f32>, group: usize) -> Array1<f32> {
    let rows: Vec<usize> = (0..ITEMS).filter(|&i| group_of_item(i) == group).collect();
    let mut m = Array1::<f32>::zeros(items.ncols());
    for &r in &rows {
        m += &items.row(r);
    }
    m / rows.len() as f32
}

#[test]
fn update_post_recomputes_a_new_posts_vector_and_reranks() {
    let world = World::publish();
    // Pages of every item: the edited post is on the page wherever it ranks.
    let engine = world.engine(FeedConfig {
        max_page_size: 200,
        ..model_only()
    });
    let edited = new_post_id(1);
    let u6 = user_id(6);
    let mut meta = PostMeta {
        text: "about group two".into(),
        ..meta(edited, NEWCOMER, NOW - 10, &["g2"])
    };
    engine.add_post(meta.clone());
    let user = world.model.user_factors.row(6).to_owned();
    let score_of = |page: &engine::FeedPage| {
        page.items
            .iter()
            .find(|it| it.post == edited)
            .map(|it| it.score)
    };
    let page = world.feed(&engine, u6, &first(200));
    let before = score_of(&page).expect("ranked");
    let items = &world.model.item_factors;
    assert!((before - user.dot(&mean_of_group(items, 2))).abs() < 1e-5);
    // Edited to another topic: its vector follows, and fresh feeds are ranked again.
    meta.topics = vec!["g1".into()];
    meta.text = "about group one".into();
    let hits = engine.stats().cache_hits;
    engine.update_post(meta.clone());
    let page = world.feed(&engine, u6, &first(200));
    assert_eq!(engine.stats().cache_hits, hits);
    let after = score_of(&page).expect("ranked");
    let want = user.dot(&mean_of_group(items, 1));
    assert!((after - want).abs() < 1e-5, "{after} vs {want}");
    // The edited version is the one replayed into the next model.
    let v2 = publish_version(world.dir.path(), "v2", 7);
    reload(&engine, world.dir.path()).unwrap();
    let page = world.feed(&engine, u6, &first(200));
    let want = v2
        .user_factors
        .row(6)
        .dot(&mean_of_group(&v2.item_factors, 1));
    let got = score_of(&page).expect("ranked");
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn update_post_of_a_model_post_changes_nothing_in_the_engine() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u6 = user_id(6);
    let page = world.feed(&engine, u6, &first(10));
    let hits = engine.stats().cache_hits;
    let mut meta = catalog()[3].clone();
    meta.topics = vec!["g0".into()];
    meta.text = "edited".into();
    engine.update_post(meta);
    // The cached list is still good: the model's vector stays until the next model.
    let again = world.feed(&engine, u6, &first(10));
    assert_eq!(engine.stats().cache_hits, hits + 1);
    assert_eq!(posts(&again), posts(&page));
}

#[test]
fn update_post_adds_an_unknown_post_and_deletes_a_deleted_one() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let unseen = new_post_id(3);
    let meta = meta(unseen, NEWCOMER, NOW - 5, &[]);
    engine.update_post(meta.clone());
    let page = world.feed(&engine, STRANGER, &first(100));
    let it = page.items.iter().find(|it| it.post == unseen).unwrap();
    assert_eq!(page.sources.fresh, 1);
    assert_eq!(it.reasons, vec![Reason::Fresh]);
    engine.update_post(PostMeta {
        deleted: true,
        ..meta
    });
    let page = world.feed(&engine, STRANGER, &first(100));
    assert!(page.items.iter().all(|it| it.post != unseen));
    assert_eq!(engine.catalog_len(), ITEMS);
}
