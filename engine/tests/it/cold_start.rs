//! Users the model has never seen, and users without interactions.

use engine::{FeedConfig, PostMeta, Reason};

use crate::*;

#[test]
fn an_unknown_user_gets_a_full_page_of_popular_posts() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    assert_eq!(engine.user_vector("stranger").unwrap(), None);
    let page = engine.feed("stranger", &first(20)).unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(page.next_cursor.is_some());
    assert!(
        page.items
            .iter()
            .all(|it| it.reasons == vec![Reason::Popular])
    );
    assert_eq!(page.sources.similar, 0);
    assert_eq!(page.sources.popular, FeedConfig::default().trending_quota);
}

#[test]
fn a_cold_user_sees_followed_authors_and_new_posts() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    world.graph.follow("newbie", "u7");
    let fresh = PostMeta {
        id: "fresh-1".into(),
        author: "someone-new".into(),
        created_at: NOW - 30,
        deleted: false,
        topics: vec![],
        text: String::new(),
    };
    world.graph.add_post(fresh.clone());
    engine.add_post(fresh);
    let page = engine.feed("newbie", &first(100)).unwrap();
    let followed: Vec<_> = page
        .items
        .iter()
        .filter(|it| it.reasons.contains(&Reason::Followed))
        .collect();
    assert_eq!(
        followed.len(),
        (0..ITEMS).filter(|&i| author_of(i) == "u7").count()
    );
    assert!(followed.iter().all(|it| it.author == "u7"));
    let new: Vec<_> = page
        .items
        .iter()
        .filter(|it| it.post == "fresh-1")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].reasons, vec![Reason::Fresh]);
    assert_eq!(page.sources.fresh, 1);
}

#[test]
fn a_cold_feed_is_never_empty_while_an_admissible_post_exists() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    // The user has seen every post but one.
    let popular_last = post_id(ITEMS - 1);
    for i in 0..ITEMS {
        if post_id(i) != popular_last {
            world.graph.mark_seen("picky", &post_id(i));
        }
    }
    let page = engine.feed("picky", &first(10)).unwrap();
    assert_eq!(posts(&page), vec![popular_last]);
    assert_eq!(page.next_cursor, None);
}
