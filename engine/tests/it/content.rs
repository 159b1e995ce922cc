//! New posts placed by the artifact's content encoder: a post whose author the model has never
//! seen is ranked with the items its text talks like.

use std::path::Path;

use engine::{Engine, PostId, PostMeta, Reason, UserContext, UserId};
use models::als::AlsModel;
use models::ann::AnnIndex;
use models::artifact::{
    Artifact, ArtifactContents, Counts, Manifest, OptionalContents, SCHEMA_VERSION, publish_with,
};
use models::content::{ContentEncoder, ContentParams, PostContent};
use models::popular::MostPopular;
use ndarray::{Array1, ArrayView1};

use crate::*;

/// The words each community's posts use.
const WORDS: [[&str; 4]; GROUPS] = [
    ["football", "goal", "league", "match"],
    ["pasta", "recipe", "oven", "garlic"],
    ["jazz", "guitar", "concert", "album"],
    ["rocket", "orbit", "telescope", "planet"],
];

/// The text of model item `i`: two words of its community and a word every post uses.
fn text_of(i: usize) -> String {
    let words = WORDS[group_of_item(i)];
    format!("{} {} today", words[i % 4], words[(i / 4) % 4])
}

/// Trains the planted world, fits an encoder from the items' texts (no topics) to their
/// vectors, and publishes both under `root`.
fn publish_with_encoder(root: &Path) -> (AlsModel, ContentEncoder) {
    let model = train(42);
    let popularity = MostPopular::fit(&interactions(42));
    let index = AnnIndex::build(model.item_factors.view(), &EXACT).unwrap();
    let user_ids: Vec<String> = (0..USERS).map(|u| u.to_string()).collect();
    let item_ids: Vec<String> = (0..ITEMS).map(|i| i.to_string()).collect();
    let texts: Vec<String> = (0..ITEMS).map(text_of).collect();
    let posts: Vec<PostContent<'_>> = texts
        .iter()
        .map(|text| PostContent { topics: &[], text })
        .collect();
    let encoder = ContentParams::default()
        .check()
        .unwrap()
        .fit(&posts, model.item_factors.view())
        .unwrap()
        .encoder;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: "v1".to_owned(),
        created_at: "2025-06-15T00:00:00Z".to_owned(),
        model: model.params.clone(),
        ann: EXACT,
        data_fingerprint: "00".repeat(32),
        counts: Counts {
            users: USERS,
            items: ITEMS,
            interactions: 0,
        },
        factors: model.params.factors,
        metrics: serde_json::json!({}),
        files: Default::default(),
    };
    let contents = ArtifactContents {
        user_ids: &user_ids,
        item_ids: &item_ids,
        user_factors: model.user_factors.view(),
        item_factors: model.item_factors.view(),
        popularity: popularity.counts(),
        index: &index,
    };
    let optional = OptionalContents {
        content_encoder: Some(&encoder),
    };
    publish_with(root, manifest, &contents, optional, &[]).unwrap();
    (model, encoder)
}

/// A published world whose artifact has a content encoder.
struct ContentWorld {
    _dir: tempfile::TempDir,
    model: AlsModel,
    encoder: ContentEncoder,
    engine: Engine,
}

impl ContentWorld {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (model, encoder) = publish_with_encoder(dir.path());
        let artifact = Artifact::load_current(dir.path()).unwrap();
        assert_eq!(artifact.content_encoder.as_ref(), Some(&encoder));
        let engine = Engine::new(artifact, catalog(), model_only()).unwrap();
        Self {
            _dir: dir,
            model,
            encoder,
            engine,
        }
    }

    fn add(&self, id: PostId, author: UserId, topics: &[&str], text: &str) -> PostMeta {
        let meta = PostMeta {
            text: text.into(),
            ..meta(id, author, NOW - 10, topics)
        };
        self.engine.add_post(meta.clone());
        meta
    }

    /// `user`'s whole model-only feed, in order.
    fn ranking(&self, user: UserId) -> Vec<engine::FeedItem> {
        let ctx = UserContext::default();
        let mut items = Vec::new();
        let mut page = self.engine.feed(user, &ctx, &first(100)).unwrap();
        loop {
            items.extend(page.items.iter().cloned());
            match page.next_cursor.clone() {
                Some(cursor) => page = self.engine.feed(user, &ctx, &next(100, &cursor)).unwrap(),
                None => return items,
            }
        }
    }
}

/// The groups of the model items ranked above `post` in `ranking` (other new posts left out).
fn groups_above(ranking: &[engine::FeedItem], post: PostId) -> Vec<usize> {
    let at = ranking
        .iter()
        .position(|it| it.post == post)
        .unwrap_or_else(|| panic!("{post} missing"));
    ranking[..at]
        .iter()
        .filter(|it| is_item(it.post))
        .map(|it| group_of_item(item_of(it.post) as usize))
        .collect()
}

fn dot(a: ArrayView1<'_, f32>, b: &[f32]) -> f32 {
    a.dot(&Array1::from(b.to_vec()))
}

#[test]
fn a_new_post_by_an_unknown_author_is_ranked_with_the_group_its_text_matches() {
    let world = ContentWorld::new();
    // No known author and no topic: without the encoder it would have no vector at all.
    let jazz = new_post_id(1);
    let meta = world.add(jazz, NEWCOMER, &[], "Jazz concert tonight: new album!");
    let vector = world.encoder.encode(&meta.topics, &meta.text).unwrap();
    for u in 0..USERS {
        let user = user_id(u);
        let ranking = world.ranking(user);
        let it = ranking.iter().find(|it| it.post == jazz).unwrap();
        assert_eq!(it.reasons, vec![Reason::Similar]);
        // The engine scored it with the encoder's vector.
        let want = dot(world.model.user_factors.row(u), &vector);
        assert!(
            (it.score - want).abs() < 1e-5,
            "{user}: {} vs {want}",
            it.score
        );
        let above = groups_above(&ranking, jazz);
        if group_of_user(u) == 2 {
            // Among the jazz community's items: only they are ranked above it.
            assert!(above.iter().all(|&g| g == 2), "{user}: {above:?}");
        } else {
            // Below every item of the user's own community (their own posts are not in their
            // feed).
            let own = |groups: &[usize]| groups.iter().filter(|&&g| g == group_of_user(u)).count();
            let in_feed: Vec<usize> = ranking
                .iter()
                .filter(|it| is_item(it.post))
                .map(|it| group_of_item(item_of(it.post) as usize))
                .collect();
            assert_eq!(own(&above), own(&in_feed), "{user}: {above:?}");
        }
    }
}

#[test]
fn the_encoder_comes_before_the_authors_mean_and_falls_back_to_it() {
    let world = ContentWorld::new();
    // u2 writes in community 2, but this post talks like community 0.
    let (football, unknown, u2) = (new_post_id(1), new_post_id(2), user_id(2));
    let meta = world.add(football, u2, &[], "Late goal wins the match");
    // Nothing the encoder knows: the author's mean vector, as without an encoder.
    world.add(unknown, u2, &["g2"], "zzz qqq");
    let encoded = world.encoder.encode(&meta.topics, &meta.text).unwrap();
    assert_eq!(world.encoder.encode(&["g2".to_owned()], "zzz qqq"), None);
    let items = &world.model.item_factors;
    let by_author: Vec<usize> = (0..ITEMS).filter(|&i| author_of(i) == u2).collect();
    let mut author_mean = Array1::<f32>::zeros(items.ncols());
    for &i in &by_author {
        author_mean += &items.row(i);
    }
    author_mean /= by_author.len() as f32;

    // Users of both communities (not u2: nobody is shown their own posts).
    for u in [0, 4, 6] {
        let ranking = world.ranking(user_id(u));
        let user = world.model.user_factors.row(u);
        let score = |post: PostId| ranking.iter().find(|it| it.post == post).unwrap().score;
        assert!((score(football) - dot(user, &encoded)).abs() < 1e-5);
        assert!((score(unknown) - user.dot(&author_mean)).abs() < 1e-5);
    }
    // A football fan sees it among the football items.
    let above = groups_above(&world.ranking(user_id(0)), football);
    assert!(above.iter().all(|&g| g == 0), "{above:?}");
}
