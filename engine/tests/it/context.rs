//! What a request brings about its user: the fold-in of its interactions, hidden authors and
//! the seen window. And model ids that are not integers.

use std::collections::HashSet;

use engine::{Engine, FeedConfig, InteractionKind, PostId, UserContext};
use models::als::{fold_in, gram};
use models::artifact::Artifact;
use models::topk::top_k_dot;

use crate::*;

/// The oracle: `models::als::fold_in` of the context's interactions with model items.
fn folded(world: &World, ctx: &UserContext, config: &FeedConfig) -> Vec<f32> {
    let items = world.model.item_factors.view();
    let (ids, weights): (Vec<u32>, Vec<f32>) = ctx
        .interactions
        .iter()
        .map(|i| (item_of(i.post), config.weights.of(i.kind)))
        .unzip();
    fold_in(
        items,
        gram(items).view(),
        world.model.params.regularization,
        world.model.params.alpha,
        &ids,
        &weights,
    )
    .unwrap()
    .to_vec()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn interactions_changed_folds_the_next_feeds_vector_in_from_the_context() {
    let world = World::publish();
    // The context holds the newest three interactions only.
    let config = FeedConfig {
        context_interactions: 3,
        ..model_only()
    };
    let engine = world.engine(config.clone());
    let u5 = user_id(5);
    let trained = world.model.user_factors.row(5).to_vec();
    for (item, kind) in [
        (3, InteractionKind::Like),
        (7, InteractionKind::Comment),
        (11, InteractionKind::View),
    ] {
        world.social.interact(u5, post_id(item), kind);
    }
    // Not told yet: the trained vector ranks.
    assert_eq!(world.user_vector(&engine, u5).unwrap(), trained);
    engine.interactions_changed(u5);
    let page = world.feed(&engine, u5, &first(20));
    let ctx = world.context(&engine, u5);
    let want = folded(&world, &ctx, &config);
    let got = engine.user_vector(u5, &ctx).unwrap().unwrap();
    assert!(close(&got, &want), "{got:?} vs {want:?}");
    // The page was ranked with it.
    let v = ndarray::Array1::from(got.clone());
    for it in &page.items {
        let s = v.dot(&world.model.item_factors.row(item_of(it.post) as usize));
        assert!((it.score - s).abs() < 1e-4);
    }
    // A like lands in the context: until the engine is told, the folded vector stays...
    world
        .social
        .interact(u5, post_id(15), InteractionKind::Like);
    let ctx = world.context(&engine, u5);
    assert_eq!(ctx.interactions.len(), 3);
    assert_eq!(ctx.interactions[0].post, post_id(15));
    assert_eq!(engine.user_vector(u5, &ctx).unwrap().unwrap(), got);
    // ...and once told, the next feed folds in the new context (the oldest interaction fell
    // out of it).
    engine.interactions_changed(u5);
    let page = world.feed(&engine, u5, &first(20));
    let again = engine.user_vector(u5, &ctx).unwrap().unwrap();
    let want = folded(&world, &ctx, &config);
    assert!(close(&again, &want), "{again:?} vs {want:?}");
    assert!(!close(&again, &got));
    assert!(
        posts(&page)
            .iter()
            .all(|p| !ctx.interactions.iter().any(|i| i.post == *p))
    );
}

#[test]
fn posts_of_hidden_authors_are_never_served_from_any_source() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let u6 = user_id(6);
    let hidden = [user_id(1), user_id(2), user_id(10)];
    // A followed author, a trending post's author and a new post's author, all hidden.
    world.social.follow(u6, user_id(1));
    engine.record_engagement(post_id(2), InteractionKind::Share, NOW - 60);
    engine.add_post(meta(new_post_id(1), user_id(10), NOW - 5, &["g2"]));
    for author in hidden {
        world.social.hide(u6, author);
    }
    let mut served = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            None => world.feed(&engine, u6, &first(50)),
            Some(c) => world.feed(&engine, u6, &next(50, c)),
        };
        for it in &page.items {
            assert!(!hidden.contains(&it.author), "{} by {}", it.post, it.author);
        }
        served += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Everything else was served: every model item but the user's own and the hidden ones'.
    let others = (0..ITEMS)
        .filter(|&i| author_of(i) != u6 && !hidden.contains(&author_of(i)))
        .count();
    assert_eq!(served, others);
}

#[test]
fn posts_in_the_seen_window_are_never_served_however_long_the_context() {
    let world = World::publish();
    // The caller is told to fetch 4 seen posts, but the engine uses all it is given.
    let engine = world.engine(FeedConfig {
        context_seen: 4,
        ..FeedConfig::default()
    });
    let u6 = user_id(6);
    let top: Vec<PostId> = posts(&world.feed(&engine, u6, &first(12)));
    let ctx = UserContext {
        seen: top.clone(),
        ..UserContext::default()
    };
    engine.invalidate_user(u6);
    let mut served = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let request = match &cursor {
            None => first(40),
            Some(c) => next(40, c),
        };
        let page = engine.feed(u6, &ctx, &request).unwrap();
        served.extend(posts(&page));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    for post in &top {
        assert!(!served.contains(post), "{post} was seen");
    }
    let own = (0..ITEMS).filter(|&i| author_of(i) == u6).count();
    assert_eq!(served.len(), ITEMS - own - top.len());
}

#[test]
fn model_ids_that_are_not_integers_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(42);
    // User row 3 and item 5 have raw ids that are not integers.
    let user_ids: Vec<String> = (0..USERS)
        .map(|u| {
            if u == 3 {
                "alice".into()
            } else {
                u.to_string()
            }
        })
        .collect();
    let item_ids: Vec<String> = (0..ITEMS)
        .map(|i| if i == 5 { "p5".into() } else { i.to_string() })
        .collect();
    publish_named(dir.path(), "v1", &model, &user_ids, &item_ids, 42);
    let artifact = Artifact::load_current(dir.path()).unwrap();
    let engine = Engine::new(artifact, catalog(), model_only()).unwrap();
    let ctx = UserContext::default();
    // User 3 is unknown to the model: cold.
    assert_eq!(engine.user_vector(user_id(3), &ctx).unwrap(), None);
    assert!(
        engine
            .feed(user_id(3), &ctx, &first(10))
            .unwrap()
            .items
            .is_empty()
    );
    // The others rank every named item; item 5 never (post 5 is in the catalog only).
    let u1 = user_id(1);
    let mut exclude: Vec<u32> = (0..ITEMS)
        .filter(|&i| author_of(i) == u1 || i == 5)
        .map(|i| i as u32)
        .collect();
    exclude.sort_unstable();
    let want: Vec<u32> = top_k_dot(
        model.user_factors.row(1),
        model.item_factors.view(),
        100,
        &exclude,
    )
    .iter()
    .map(|s| s.item)
    .collect();
    let page = engine.feed(u1, &ctx, &first(100)).unwrap();
    let got: Vec<u32> = page.items.iter().map(|it| item_of(it.post)).collect();
    assert_eq!(got, want);
    assert_eq!(engine.author_of(post_id(5)), Some(author_of(5)));
}
