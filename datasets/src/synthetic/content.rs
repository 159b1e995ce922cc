//! Posts: author, creation time, 1–3 topics biased to the author's interests, hidden quality, text.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use super::Post;
use super::config::ValidSyntheticConfig;
use super::graph::People;
use super::sampling::{Weighted, categorical};
use super::text::TextGenerator;

/// Posts in creation order (post id order is time order) and their hidden quality.
pub(crate) fn posts(
    cfg: &ValidSyntheticConfig,
    people: &People,
    text: &TextGenerator<'_>,
    rng: &mut ChaCha8Rng,
) -> (Vec<Post>, Vec<f32>) {
    let c = cfg.config();
    let (start, end) = (cfg.start_timestamp(), c.end_timestamp);
    let mut created: Vec<i64> = (0..c.posts).map(|_| rng.random_range(start..end)).collect();
    created.sort_unstable();
    // Active and popular accounts post more.
    let authors = Weighted::new(
        people
            .activity
            .iter()
            .zip(&people.popularity)
            .map(|(&a, &p)| f64::from(a) * f64::from(p).sqrt()),
    )
    .expect("positive weights");
    let quality_dist = LogNormal::new(0.0, 0.8).expect("valid");

    let mut posts = Vec::with_capacity(c.posts);
    let mut quality = Vec::with_capacity(c.posts);
    for (id, created_at) in created.into_iter().enumerate() {
        let author = authors.sample(rng);
        let affinity = &people.affinity[author * c.topics..(author + 1) * c.topics];
        let wanted = match rng.random::<f64>() {
            x if x < 0.55 => 1,
            x if x < 0.85 => 2,
            _ => 3,
        }
        .min(c.topics);
        let mut topics: Vec<u32> = Vec::with_capacity(wanted);
        for _ in 0..wanted * 10 {
            let t = categorical(affinity, rng) as u32;
            if !topics.contains(&t) {
                topics.push(t);
                if topics.len() == wanted {
                    break;
                }
            }
        }
        let body = text.post(&topics, rng);
        quality.push(quality_dist.sample(rng) as f32);
        posts.push(Post {
            id: id as u32,
            author: author as u32,
            created_at,
            topics,
            text: body,
        });
    }
    (posts, quality)
}
