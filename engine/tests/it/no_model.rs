//! Serving before the first model: followed, trending and new posts, then the first swap.

use std::collections::HashSet;
use std::sync::Arc;

use engine::{Engine, Error, FeedConfig, InMemoryGraph, InteractionKind, PostMeta, Reason};

use crate::*;

fn new_post(id: &str, author: &str, created_at: i64) -> PostMeta {
    PostMeta {
        id: id.into(),
        author: author.into(),
        created_at,
        deleted: false,
        topics: vec![],
        text: String::new(),
    }
}

fn without_model(graph: &Arc<InMemoryGraph>) -> Engine<Arc<InMemoryGraph>> {
    Engine::without_model(Arc::clone(graph), FeedConfig::default()).unwrap()
}

/// Adds `n` posts `n0..` by authors `a0..a6`, one minute apart, to the graph and the engine.
fn add_posts(engine: &Engine<Arc<InMemoryGraph>>, graph: &InMemoryGraph, n: usize) {
    for i in 0..n {
        let meta = new_post(
            &format!("n{i}"),
            &format!("a{}", i % 7),
            NOW - 60 * i as i64,
        );
        graph.add_post(meta.clone());
        engine.add_post(meta);
    }
}

#[test]
fn an_engine_without_a_model_serves_followed_trending_and_new_posts() {
    // The graph knows the planted world's posts; the engine knows no model.
    let graph = graph();
    // No diversity rule: the page holds every candidate, in rank order.
    let config = FeedConfig {
        diversity_window: 0,
        ..FeedConfig::default()
    };
    let engine = Engine::without_model(Arc::clone(&graph), config).unwrap();
    assert!(!engine.has_model());
    assert_eq!(engine.model_version(), "");
    add_posts(&engine, &graph, 5);
    graph.follow("newbie", "u7");
    engine.record_engagement("p33", InteractionKind::Share, NOW - 60);
    let page = engine.feed("newbie", &first(100)).unwrap();
    assert_eq!(page.model_version, "");
    assert_eq!(page.sources.similar, 0);
    assert_eq!(page.sources.popular, 0);
    let reasons_of = |post: &str| {
        page.items
            .iter()
            .find(|it| it.post == post)
            .map(|it| it.reasons.clone())
            .unwrap_or_else(|| panic!("{post} missing from {:?}", posts(&page)))
    };
    // Followed: the newest posts of u7 in the graph (the engine never saw them).
    let by_u7: Vec<usize> = (0..ITEMS).filter(|&i| author_of(i) == "u7").collect();
    assert!(by_u7.len() <= FeedConfig::default().followed_per_author);
    for &i in &by_u7 {
        assert_eq!(reasons_of(&post_id(i)), vec![Reason::Followed]);
    }
    assert_eq!(reasons_of("p33"), vec![Reason::Trending]);
    for i in 0..5 {
        assert_eq!(reasons_of(&format!("n{i}")), vec![Reason::Fresh]);
    }
    assert_eq!(page.items.len(), by_u7.len() + 1 + 5);
    assert_eq!(page.next_cursor, None);
    assert_eq!(engine.user_vector("newbie").unwrap(), None);
}

#[test]
fn without_a_model_pages_walk_every_post_once_and_are_never_empty_while_one_is_left() {
    let graph = Arc::new(InMemoryGraph::new());
    let engine = without_model(&graph);
    add_posts(&engine, &graph, 230);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let request = match &cursor {
            None => first(100),
            Some(c) => next(100, c),
        };
        let page = engine.feed("reader", &request).unwrap();
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
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 230);
    // Filters never empty a page while an admissible post is left.
    for i in 1..230 {
        graph.mark_seen("picky", &format!("n{i}"));
    }
    let page = engine.feed("picky", &first(20)).unwrap();
    assert_eq!(posts(&page), vec!["n0"]);
    // Own posts are filtered too.
    let page = engine.feed("a3", &first(100)).unwrap();
    assert!(page.items.iter().all(|it| it.author != "a3"));
    assert_eq!(page.items.len(), 100);
}

#[test]
fn interactions_without_a_model_count_towards_trending_and_fold_in_nothing() {
    let graph = Arc::new(InMemoryGraph::new());
    let engine = without_model(&graph);
    add_posts(&engine, &graph, 30);
    for user in ["x", "y"] {
        graph.interact(user, "n20", InteractionKind::Like);
        engine
            .record_interaction(user, "n20", InteractionKind::Like, NOW - 10)
            .unwrap();
    }
    engine.refresh_user("x").unwrap();
    assert_eq!(engine.user_vector("x").unwrap(), None);
    let trending = engine.trending_at(5, NOW);
    assert_eq!(trending.len(), 1);
    assert_eq!(trending[0].0, "n20");
    let want = 2.0 * 3.0 * (-10.0f64 / (6.0 * 3600.0)).exp2();
    assert!((f64::from(trending[0].1) - want).abs() < 1e-4);
    let page = engine.feed("z", &first(5)).unwrap();
    assert_eq!(page.items[0].post, "n20");
    assert_eq!(page.items[0].reasons, vec![Reason::Trending, Reason::Fresh]);
    assert_eq!(page.sources.trending, 1);
}

#[test]
fn the_first_swap_installs_a_model_and_keeps_the_posts_added_before() {
    let world = World::publish();
    let engine = without_model(&world.graph);
    let late = new_post("late", "u1", NOW - 20);
    world.graph.add_post(late.clone());
    engine.add_post(late);
    assert_eq!(engine.swap(world.artifact()), "");
    assert!(engine.has_model());
    assert_eq!(engine.model_version(), "v1");
    let page = engine.feed("stranger", &first(100)).unwrap();
    assert_eq!(page.model_version, "v1");
    assert!(page.sources.popular > 0);
    let it = page.items.iter().find(|it| it.post == "late").unwrap();
    assert!(it.reasons.contains(&Reason::Fresh));
    // Under the model it has a vector (its author's mean) and is found by similarity.
    let page = engine.feed("u5", &first(100)).unwrap();
    let it = page.items.iter().find(|it| it.post == "late").unwrap();
    assert!(it.reasons.contains(&Reason::Similar));
    assert!(engine.user_vector("u5").unwrap().is_some());
}

#[test]
fn an_invalid_config_is_rejected_without_a_model_too() {
    let config = FeedConfig {
        max_page_size: 0,
        ..FeedConfig::default()
    };
    let err = Engine::without_model(Arc::new(InMemoryGraph::new()), config).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "max_page_size",
            ..
        }
    ));
}
