//! Users the model has never seen, and users without interactions.

use engine::{FeedConfig, Reason, UserId};

use crate::*;

#[test]
fn an_unknown_user_gets_a_full_page_of_popular_posts() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    assert_eq!(world.user_vector(&engine, STRANGER), None);
    let page = world.feed(&engine, STRANGER, &first(20));
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
    let u7 = user_id(7);
    world.social.follow(NEWBIE, u7);
    let fresh = new_post_id(1);
    engine.add_post(meta(fresh, NEWCOMER, NOW - 30, &[]));
    let page = world.feed(&engine, NEWBIE, &first(100));
    let followed: Vec<_> = page
        .items
        .iter()
        .filter(|it| it.reasons.contains(&Reason::Followed))
        .collect();
    assert_eq!(
        followed.len(),
        (0..ITEMS).filter(|&i| author_of(i) == u7).count()
    );
    assert!(followed.iter().all(|it| it.author == u7));
    let new: Vec<_> = page.items.iter().filter(|it| it.post == fresh).collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].reasons, vec![Reason::Fresh]);
    assert_eq!(page.sources.fresh, 1);
}

#[test]
fn a_cold_feed_is_never_empty_while_an_admissible_post_exists() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    // The user has seen every post but one.
    let picky = UserId(1_060);
    let popular_last = post_id(ITEMS - 1);
    for i in 0..ITEMS {
        if post_id(i) != popular_last {
            world.social.mark_seen(picky, post_id(i));
        }
    }
    let page = world.feed(&engine, picky, &first(10));
    assert_eq!(posts(&page), vec![popular_last]);
    assert_eq!(page.next_cursor, None);
}
