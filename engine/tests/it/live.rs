//! Live updates: fold-in, new posts, trending.

use engine::{FeedConfig, InteractionKind, PostId, Reason};
use models::topk::top_k_dot;
use ndarray::{Array1, Array2};

use crate::*;

/// Solves `A x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Array2<f64>, mut b: Array1<f64>) -> Array1<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[[i, col]].abs().total_cmp(&a[[j, col]].abs()))
            .unwrap();
        for k in 0..n {
            a.swap([col, k], [pivot, k]);
        }
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[[row, col]] / a[[col, col]];
            for k in col..n {
                a[[row, k]] -= f * a[[col, k]];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = Array1::zeros(n);
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[[row, k]] * x[k]).sum();
        x[row] = (b[row] - s) / a[[row, row]];
    }
    x
}

#[test]
fn a_changed_users_next_feed_folds_them_in_exactly() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let events = [
        (2, InteractionKind::Like),
        (6, InteractionKind::Comment),
        (10, InteractionKind::View),
        (2, InteractionKind::View),
    ];
    for (item, kind) in events {
        world.interact(&engine, NEWBIE, post_id(item), kind, NOW);
    }
    let got = world.user_vector(&engine, NEWBIE).unwrap();

    // Closed form: (YᵀY + Σ (c_i - 1) y_i y_iᵀ + λI) x = Σ c_i y_i, c = 1 + α w.
    let y = world.model.item_factors.mapv(f64::from);
    let f = y.ncols();
    let (lambda, alpha) = (
        f64::from(world.model.params.regularization),
        f64::from(world.model.params.alpha),
    );
    let mut a = y.t().dot(&y) + Array2::<f64>::eye(f) * lambda;
    let mut b = Array1::<f64>::zeros(f);
    // Weights per item: p2 = like 3 + view 1, p6 = comment 4, p10 = view 1.
    for (item, w) in [(2usize, 4.0), (6, 4.0), (10, 1.0)] {
        let c = 1.0 + alpha * w;
        let yi = y.row(item);
        for r in 0..f {
            for s in 0..f {
                a[[r, s]] += (c - 1.0) * yi[r] * yi[s];
            }
            b[r] += c * yi[r];
        }
    }
    let want = solve(a, b);
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (f64::from(*g) - w).abs() < 1e-4 * (1.0 + w.abs()),
            "{got:?} vs {want}"
        );
    }
}

#[test]
fn the_next_page_reflects_a_like_made_a_second_ago() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    let first_page = world.feed(&engine, NEWBIE, &first(10));
    assert!(
        first_page
            .items
            .iter()
            .all(|it| !it.reasons.contains(&Reason::Similar))
    );
    let liked: Vec<PostId> = [2, 6, 10, 14].into_iter().map(post_id).collect();
    for &post in &liked {
        world.interact(&engine, NEWBIE, post, InteractionKind::Like, NOW);
    }
    // The like dropped the cached list: the next page is ranked again.
    assert_eq!(engine.stats().builds, 1);
    let cursor = first_page.next_cursor.clone().unwrap();
    let second = world.feed(&engine, NEWBIE, &next(10, &cursor));
    assert_eq!(engine.stats().builds, 2);
    let similar: Vec<_> = second
        .items
        .iter()
        .filter(|it| it.reasons.contains(&Reason::Similar))
        .collect();
    assert!(similar.len() >= 5, "{second:?}");
    let in_group = similar
        .iter()
        .filter(|it| group_of_item(item_of(it.post) as usize) == 2)
        .count();
    assert!(
        in_group * 10 >= similar.len() * 8,
        "{in_group} of {}",
        similar.len()
    );
    for it in &second.items {
        assert!(!posts(&first_page).contains(&it.post));
        assert!(!liked.contains(&it.post));
    }
}

#[test]
fn a_new_post_is_ranked_at_once_with_its_authors_mean_vector() {
    let world = World::publish();
    let engine = world.engine(model_only());
    let u6 = user_id(6);
    let page = world.feed(&engine, u6, &first(10));
    let (new1, new2) = (new_post_id(1), new_post_id(2));
    engine.add_post(meta(new1, user_id(2), NOW - 10, &[]));
    // By topic only: an author the model has never seen.
    engine.add_post(meta(new2, NEWCOMER, NOW - 5, &["g2", "unknown-topic"]));
    assert_eq!(engine.catalog_len(), ITEMS + 2);

    let user = world.model.user_factors.row(6);
    let items = &world.model.item_factors;
    let mean = |rows: Vec<usize>| {
        let mut m = Array1::<f32>::zeros(items.ncols());
        for &r in &rows {
            m += &items.row(r);
        }
        m / rows.len() as f32
    };
    let by_author = mean((0..ITEMS).filter(|&i| author_of(i) == user_id(2)).collect());
    let by_group = mean((0..ITEMS).filter(|&i| group_of_item(i) == 2).collect());
    // The next page of the running session ranks them among the model's items.
    let second = world.feed(&engine, u6, &next(40, page.next_cursor.as_deref().unwrap()));
    for (post, vector) in [(new1, &by_author), (new2, &by_group)] {
        let it = second
            .items
            .iter()
            .find(|it| it.post == post)
            .unwrap_or_else(|| panic!("{post} missing from {:?}", posts(&second)));
        assert_eq!(it.reasons, vec![Reason::Similar]);
        assert!((it.score - user.dot(vector)).abs() < 1e-5);
    }
    // The merge of the index and the exact buffer is brute force over both.
    let mut all = items.clone();
    all.push_row(by_author.view()).unwrap();
    all.push_row(by_group.view()).unwrap();
    let shown: Vec<u32> = posts(&page).into_iter().map(item_of).collect();
    let mut exclude: Vec<u32> = (0..ITEMS)
        .filter(|&i| author_of(i) == u6)
        .map(|i| i as u32)
        .chain(shown)
        .collect();
    exclude.sort_unstable();
    let want: Vec<PostId> = top_k_dot(user, all.view(), 40, &exclude)
        .iter()
        .map(|s| match s.item as usize {
            i if i == ITEMS => new1,
            i if i == ITEMS + 1 => new2,
            i => post_id(i),
        })
        .collect();
    assert_eq!(posts(&second), want);
}

#[test]
fn engagement_makes_a_post_trend() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    for u in 40..46 {
        world.interact(
            &engine,
            user_id(u),
            post_id(77),
            InteractionKind::Like,
            NOW - 60,
        );
    }
    let page = world.feed(&engine, STRANGER, &first(10));
    assert_eq!(page.items[0].post, post_id(77));
    assert!(page.items[0].reasons.contains(&Reason::Trending));
    assert_eq!(page.sources.trending, 1);
    // Outside the window it no longer trends.
    let later = engine::FeedRequest {
        now: NOW + 3 * 24 * 3600,
        ..first(10)
    };
    engine.invalidate_user(STRANGER);
    let page = world.feed(&engine, STRANGER, &later);
    assert_eq!(page.sources.trending, 0);
}

#[test]
fn engagement_replayed_after_a_restart_trends_without_touching_users() {
    let world = World::publish();
    let engine = world.engine(FeedConfig::default());
    for at in [NOW - 100, NOW - 50] {
        engine.record_engagement(post_id(33), InteractionKind::Share, at);
    }
    let page = world.feed(&engine, STRANGER, &first(5));
    assert_eq!(page.items[0].post, post_id(33));
    assert!(page.items[0].reasons.contains(&Reason::Trending));
    assert_eq!(
        world.user_vector(&engine, user_id(1)).unwrap(),
        world.model.user_factors.row(1).to_vec()
    );
}
