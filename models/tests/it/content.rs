//! The content encoder on a planted world: posts whose words say their community are encoded
//! next to that community's trained item vectors.

use models::als::AlsParams;
use models::content::{ContentParams, PostContent, cosine};
use ndarray::{Array1, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::planted;

/// Text for an item of group `g`: four words of the group's vocabulary and two shared fillers.
fn text(g: usize, rng: &mut ChaCha8Rng) -> String {
    let mut words: Vec<String> = (0..4)
        .map(|_| format!("g{g}word{}", rng.random_range(0..15)))
        .collect();
    words.extend((0..2).map(|_| format!("filler{}", rng.random_range(0..10))));
    words.join(" ")
}

#[test]
fn held_out_posts_are_encoded_next_to_their_community() {
    let world = planted(4, 200, 400, 12, 7);
    let model = AlsParams {
        factors: 16,
        iterations: 8,
        ..AlsParams::default()
    }
    .check()
    .unwrap()
    .fit(&world.train)
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let texts: Vec<String> = (0..world.n_items as u32)
        .map(|i| text(world.group_of_item(i), &mut rng))
        .collect();
    // Every fifth item is held out from the fit.
    let (fit, held): (Vec<usize>, Vec<usize>) = (0..world.n_items).partition(|i| i % 5 != 0);
    let no_topics: Vec<String> = Vec::new();
    let posts: Vec<PostContent<'_>> = fit
        .iter()
        .map(|&i| PostContent {
            topics: &no_topics,
            text: &texts[i],
        })
        .collect();
    let targets = model.item_factors.select(Axis(0), &fit);
    let outcome = ContentParams::default()
        .check()
        .unwrap()
        .fit(&posts, targets.view())
        .unwrap();
    let encoder = &outcome.encoder;
    assert_eq!(encoder.factors(), 16);
    assert_eq!(
        outcome.selection.len(),
        ContentParams::DEFAULT_LAMBDAS.len()
    );

    let centroid = |g: usize| -> Array1<f32> {
        let rows: Vec<usize> = fit
            .iter()
            .copied()
            .filter(|&i| world.group_of_item(i as u32) == g)
            .collect();
        model
            .item_factors
            .select(Axis(0), &rows)
            .mean_axis(Axis(0))
            .unwrap()
    };
    let centroids: Vec<Array1<f32>> = (0..world.groups).map(centroid).collect();
    let global = targets.mean_axis(Axis(0)).unwrap();
    let (mut right_group, mut encoded_cos, mut global_cos) = (0usize, 0.0f64, 0.0f64);
    for &i in &held {
        let v = encoder.encode(&no_topics, &texts[i]).unwrap();
        let nearest = (0..world.groups)
            .max_by(|&a, &b| {
                cosine(&v, centroids[a].as_slice().unwrap())
                    .total_cmp(&cosine(&v, centroids[b].as_slice().unwrap()))
            })
            .unwrap();
        right_group += usize::from(nearest == world.group_of_item(i as u32));
        let truth = model.item_factors.row(i).to_vec();
        encoded_cos += cosine(&v, &truth);
        global_cos += cosine(global.as_slice().unwrap(), &truth);
    }
    let n = held.len() as f64;
    assert_eq!(right_group, held.len(), "{right_group} of {}", held.len());
    let (encoded_cos, global_cos) = (encoded_cos / n, global_cos / n);
    assert!(
        encoded_cos > global_cos + 0.2,
        "encoded {encoded_cos} vs global mean {global_cos}"
    );
}
