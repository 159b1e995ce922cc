//! Integration tests of `models` through its public API: the whole train → index → publish →
//! load path, on synthetic data with a planted structure.

mod content;
mod end_to_end;
mod planted;

use models::sparse::CsrMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A planted low-rank world: users and items each belong to one of `groups` communities, and
/// users interact almost only with their community's items.
#[derive(Debug)]
pub struct Planted {
    pub groups: usize,
    pub n_users: usize,
    pub n_items: usize,
    /// The training interactions.
    pub train: CsrMatrix,
    /// One held-out in-community item per user.
    pub held_out: Vec<u32>,
}

impl Planted {
    pub fn group_of_user(&self, u: usize) -> usize {
        u % self.groups
    }

    pub fn group_of_item(&self, i: u32) -> usize {
        i as usize % self.groups
    }
}

/// `n_users` users, `n_items` items in `groups` communities; every user picks `per_user`
/// distinct items of their community (one held out) and one random item as noise.
pub fn planted(
    groups: usize,
    n_users: usize,
    n_items: usize,
    per_user: usize,
    seed: u64,
) -> Planted {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let items_per_group = n_items / groups;
    let mut triplets = Vec::new();
    let mut held_out = Vec::with_capacity(n_users);
    for u in 0..n_users {
        let g = u % groups;
        let mut picks: Vec<u32> = Vec::with_capacity(per_user);
        while picks.len() < per_user {
            let i = (rng.random_range(0..items_per_group) * groups + g) as u32;
            if !picks.contains(&i) {
                picks.push(i);
            }
        }
        let held = picks.pop().expect("per_user >= 1");
        held_out.push(held);
        for i in picks {
            triplets.push((u as u32, i, rng.random_range(1..4) as f32));
        }
        let noise = loop {
            let i = rng.random_range(0..n_items as u32);
            if i != held {
                break i;
            }
        };
        triplets.push((u as u32, noise, 1.0));
    }
    Planted {
        groups,
        n_users,
        n_items,
        train: CsrMatrix::from_triplets(n_users, n_items, &triplets).expect("valid triplets"),
        held_out,
    }
}
