//! Seeding a generated network and exporting what the pipeline trains on, against an oracle
//! computed from the generator's output directly.

use std::collections::HashMap;

use datasets::synthetic::{EventKind, SyntheticConfig};

use crate::TestApp;

crate::both!(
    seed_then_export_matches_the_network,
    weights_and_decay_follow_the_options,
);

async fn seed_then_export_matches_the_network(app: TestApp) {
    let config = SyntheticConfig {
        users: 60,
        posts: 200,
        interactions: 3000,
        ..SyntheticConfig::default()
    };
    let net = datasets::synthetic::generate(&config).unwrap();
    let store = &app.state.store;
    assert!(store.is_empty().await.unwrap());
    // A fresh database: users 1.. are the network's users in order, posts likewise.
    let counts = store.seed(&net, "demo", "").await.unwrap();
    assert_eq!(
        (counts.users, counts.posts, counts.follows),
        (60, 200, net.follows.len())
    );

    // Oracle: one row per (user, post), views once, likes once, every comment, weights 1/4/6.
    let mut seen_view = std::collections::HashSet::new();
    let mut seen_like = std::collections::HashSet::new();
    let mut expected: HashMap<(i64, i64), f32> = HashMap::new();
    for e in &net.interactions {
        let key = (e.user as i64 + 1, e.post as i64 + 1);
        let w = match e.kind {
            EventKind::View if seen_view.insert(key) => 1.0,
            EventKind::Like if seen_like.insert(key) => 4.0,
            EventKind::Comment => 6.0,
            _ => 0.0,
        };
        if w > 0.0 {
            *expected.entry(key).or_default() += w;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interactions.csv");
    let export = store.export_interactions(&path).await.unwrap();
    assert_eq!(export.pairs, expected.len());
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["user", "item", "weight", "timestamp"]
    );
    let mut got: HashMap<(i64, i64), f32> = HashMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        got.insert(
            (row[0].parse().unwrap(), row[1].parse().unwrap()),
            row[2].parse().unwrap(),
        );
    }
    assert_eq!(got, expected);

    // Deleting a post drops its rows from the next export; posts.csv lists the live posts.
    store.delete_post(1).await.unwrap();
    let export = store.export_interactions(&path).await.unwrap();
    assert_eq!(
        export.pairs,
        expected.keys().filter(|(_, p)| *p != 1).count()
    );
    let posts = dir.path().join("posts.csv");
    assert_eq!(store.export_posts(&posts).await.unwrap(), 199);
    let mut reader = csv::Reader::from_path(&posts).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["id", "author", "created_at", "topics", "text"]
    );
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[0], "2");
    assert_eq!(
        first[1].parse::<i64>().unwrap(),
        net.posts[1].author as i64 + 1
    );
    // Seeded users have no password: they cannot log in.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            serde_json::json!({"handle": "demo", "password": "anything-at-all"}),
        )
        .await;
    r.assert_error(axum::http::StatusCode::UNAUTHORIZED, "invalid_credentials");
}

/// Per-kind weights and the half-life, against an oracle read from the event tables.
async fn weights_and_decay_follow_the_options(app: TestApp) {
    use api::store::export::ExtractWeights;
    use datasets::synthetic::EventWeights;
    let net = datasets::synthetic::generate(&SyntheticConfig {
        users: 40,
        posts: 100,
        interactions: 1500,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let store = &app.state.store;
    store.seed(&net, "demo", "").await.unwrap();
    let pool = &store.pool;
    let likes: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT user_id, post_id, created_at FROM likes")
            .fetch_all(pool)
            .await
            .unwrap();
    let comments: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT author_id, post_id, created_at FROM comments")
            .fetch_all(pool)
            .await
            .unwrap();
    let newest = likes.iter().chain(&comments).map(|e| e.2).max().unwrap();
    let half = 86_400.0 * 3.0;
    // Views weigh nothing here; a like 2, a comment 3, each halved every three days of age.
    let mut expected: HashMap<(i64, i64), (f64, i64)> = HashMap::new();
    for (list, w) in [(&likes, 2.0), (&comments, 3.0)] {
        for &(user, post, at) in list.iter() {
            let e = expected.entry((user, post)).or_insert((0.0, at));
            e.0 += w * (-((newest - at) as f64) / half).exp2();
            e.1 = e.1.max(at);
        }
    }
    let weights = ExtractWeights {
        kinds: EventWeights {
            view: 0.0,
            like: 2.0,
            comment: 3.0,
        },
        half_life_secs: Some(half),
    };
    let mut got = Vec::new();
    let counts = store
        .stream_interactions(&weights, |row| got.push(row))
        .await
        .unwrap();
    assert_eq!(counts.events, likes.len() + comments.len());
    assert_eq!(got.len(), expected.len());
    assert!(
        got.windows(2)
            .all(|w| (w[0].user, w[0].post) < (w[1].user, w[1].post)),
        "sorted by (user, post), each pair once"
    );
    for row in &got {
        let (weight, at) = expected[&(row.user, row.post)];
        assert!(
            (f64::from(row.weight) - weight).abs() < 1e-4 * weight.max(1.0),
            "{row:?} against {weight}"
        );
        assert_eq!(row.timestamp, at);
    }
    // The newest event weighs its full kind weight.
    assert!(got.iter().any(|r| r.timestamp == newest));
}
