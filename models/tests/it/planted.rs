//! ALS recovers a planted community structure that MostPopular cannot see.

use models::als::AlsParams;
use models::popular::MostPopular;
use models::topk::top_k_dot;

use crate::planted;

/// Share of users whose held-out item outranks every item of the other communities, among the
/// items they have not interacted with.
fn held_out_beats_other_groups(
    world: &crate::Planted,
    rank: impl Fn(usize, &[u32]) -> Vec<u32>,
) -> f64 {
    let mut wins = 0;
    for u in 0..world.n_users {
        let (seen, _) = world.train.row(u);
        let ranking = rank(u, seen);
        let held_out_at = ranking
            .iter()
            .position(|&i| i == world.held_out[u])
            .expect("the held-out item is unseen");
        let first_foreign = ranking
            .iter()
            .position(|&i| world.group_of_item(i) != world.group_of_user(u))
            .unwrap_or(usize::MAX);
        if held_out_at < first_foreign {
            wins += 1;
        }
    }
    f64::from(wins) / world.n_users as f64
}

#[test]
fn als_ranks_held_out_items_above_other_communities() {
    let world = planted(6, 600, 240, 12, 1);
    for exact in [false, true] {
        let params = AlsParams {
            factors: 12,
            iterations: 12,
            regularization: 0.1,
            alpha: 5.0,
            exact,
            ..AlsParams::default()
        };
        let model = params.check().unwrap().fit(&world.train).unwrap();
        let share = held_out_beats_other_groups(&world, |u, seen| {
            top_k_dot(
                model.user_factors.row(u),
                model.item_factors.view(),
                world.n_items,
                seen,
            )
            .iter()
            .map(|s| s.item)
            .collect()
        });
        assert!(share >= 0.9, "exact={exact}: {share}");
    }

    // Without personalisation the held-out item has no such advantage.
    let popular = MostPopular::fit(&world.train);
    let share = held_out_beats_other_groups(&world, |_, seen| {
        popular
            .recommend(world.n_items, seen)
            .iter()
            .map(|s| s.item)
            .collect()
    });
    assert!(share < 0.5, "MostPopular: {share}");
}
