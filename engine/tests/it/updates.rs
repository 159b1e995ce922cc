//! What the API calls besides feeds: trending posts, unlikes, edited posts.

use engine::{FeedConfig, InteractionKind, PostMeta, Reason, SocialGraph};
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
    for _ in 0..3 {
        engine.record_engagement("p3", InteractionKind::Like, NOW - 600);
    }
    engine.record_engagement("p4", InteractionKind::View, NOW - 60);
    engine.record_engagement("p4", InteractionKind::View, NOW - 3600);
    engine.record_engagement("p5", InteractionKind::Share, NOW - 60);
    engine.record_engagement("ghost", InteractionKind::Share, NOW - 60);
    engine.record_engagement("p6", InteractionKind::Share, NOW - 49 * 3600);
    engine.delete_post("p5");
    let got = engine.trending_at(10, NOW);
    let ids: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(ids, vec!["p3", "p4"]);
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
    engine.record_engagement("p8", InteractionKind::Comment, now - 5);
    let got = engine.trending(5);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "p8");
    assert!((got[0].1 - 4.0).abs() < 0.01);
}

#[test]
fn refresh_user_after_an_unlike_folds_in_again_without_counting_engagement() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    for post in ["p2", "p6", "p10"] {
        world.graph.interact("newbie", post, InteractionKind::Like);
        engine
            .record_interaction("newbie", post, InteractionKind::Like, NOW - 60)
            .unwrap();
    }
    let page = engine.feed("newbie", &first(10)).unwrap();
    let trending_before = engine.trending_at(10, NOW);
    assert!(
        world
            .graph
            .remove_interaction("newbie", "p10", InteractionKind::Like)
    );
    engine.refresh_user("newbie").unwrap();
    // The vector is the fold-in of the remaining likes: the same as a user who only ever
    // liked those.
    for post in ["p2", "p6"] {
        world.graph.interact("twin", post, InteractionKind::Like);
        engine
            .record_interaction("twin", post, InteractionKind::Like, NOW - 60)
            .unwrap();
    }
    let got = engine.user_vector("newbie").unwrap().unwrap();
    let want = engine.user_vector("twin").unwrap().unwrap();
    assert_eq!(got, want);
    // No engagement was counted by the refresh (the twin's likes were).
    let trending_after = engine.trending_at(10, NOW);
    let score = |list: &[(String, f32)], post: &str| {
        list.iter()
            .find(|(p, _)| p == post)
            .map(|(_, s)| *s)
            .unwrap()
    };
    assert_eq!(
        score(&trending_after, "p10"),
        score(&trending_before, "p10")
    );
    // The cached list was dropped: the next page is ranked again.
    let builds = engine.stats().builds;
    let cursor = page.next_cursor.unwrap();
    engine.feed("newbie", &next(10, &cursor)).unwrap();
    assert_eq!(engine.stats().builds, builds + 1);
}

#[test]
fn refresh_user_of_a_user_with_no_model_interactions_left_restores_the_trained_vector() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    world.graph.interact("u3", "p40", InteractionKind::Like);
    engine
        .record_interaction("u3", "p40", InteractionKind::Like, NOW)
        .unwrap();
    assert_ne!(
        engine.user_vector("u3").unwrap().unwrap(),
        world.model.user_factors.row(3).to_vec()
    );
    world
        .graph
        .remove_interaction("u3", "p40", InteractionKind::Like);
    engine.refresh_user("u3").unwrap();
    assert_eq!(
        engine.user_vector("u3").unwrap().unwrap(),
        world.model.user_factors.row(3).to_vec()
    );
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
    let mut meta = PostMeta {
        id: "edited".into(),
        author: "newcomer".into(),
        created_at: NOW - 10,
        deleted: false,
        topics: vec!["g2".into()],
        text: "about group two".into(),
    };
    world.graph.add_post(meta.clone());
    engine.add_post(meta.clone());
    let user = world.model.user_factors.row(6).to_owned();
    let score_of = |page: &engine::FeedPage| {
        page.items
            .iter()
            .find(|it| it.post == "edited")
            .map(|it| it.score)
    };
    let page = engine.feed("u6", &first(200)).unwrap();
    let before = score_of(&page).expect("ranked");
    let items = &world.model.item_factors;
    assert!((before - user.dot(&mean_of_group(items, 2))).abs() < 1e-5);
    // Edited to another topic: its vector follows, and fresh feeds are ranked again.
    meta.topics = vec!["g1".into()];
    meta.text = "about group one".into();
    world.graph.add_post(meta.clone());
    let hits = engine.stats().cache_hits;
    engine.update_post(meta.clone());
    let page = engine.feed("u6", &first(200)).unwrap();
    assert_eq!(engine.stats().cache_hits, hits);
    let after = score_of(&page).expect("ranked");
    let want = user.dot(&mean_of_group(items, 1));
    assert!((after - want).abs() < 1e-5, "{after} vs {want}");
    // The edited version is the one replayed into the next model.
    let v2 = publish_version(world.dir.path(), "v2", 7);
    engine.reload_if_changed(world.dir.path()).unwrap();
    let page = engine.feed("u6", &first(200)).unwrap();
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
    let page = engine.feed("u6", &first(10)).unwrap();
    let hits = engine.stats().cache_hits;
    let mut meta = world.graph.post_meta("p3").unwrap();
    meta.topics = vec!["g0".into()];
    meta.text = "edited".into();
    engine.update_post(meta);
    // The cached list is still good: the model's vector stays until the next model.
    let again = engine.feed("u6", &first(10)).unwrap();
    assert_eq!(engine.stats().cache_hits, hits + 1);
    assert_eq!(posts(&again), posts(&page));
}

#[test]
fn update_post_adds_an_unknown_post_and_deletes_a_deleted_one() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let meta = PostMeta {
        id: "unseen".into(),
        author: "someone".into(),
        created_at: NOW - 5,
        deleted: false,
        topics: vec![],
        text: String::new(),
    };
    world.graph.add_post(meta.clone());
    engine.update_post(meta.clone());
    let page = engine.feed("stranger", &first(100)).unwrap();
    let it = page.items.iter().find(|it| it.post == "unseen").unwrap();
    assert_eq!(page.sources.fresh, 1);
    assert_eq!(it.reasons, vec![Reason::Fresh]);
    engine.update_post(PostMeta {
        deleted: true,
        ..meta
    });
    let page = engine.feed("stranger", &first(100)).unwrap();
    assert!(page.items.iter().all(|it| it.post != "unseen"));
}
