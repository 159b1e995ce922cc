//! Seeding a generated network and exporting what the pipeline trains on, against an oracle
//! computed from the generator's output directly.

use std::collections::HashMap;

use datasets::synthetic::{EventKind, SyntheticConfig};

use crate::TestApp;

crate::both!(seed_then_export_matches_the_network);

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
