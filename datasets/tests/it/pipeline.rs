//! The crate end to end, as the pipeline uses it: fetch → load → dedup → split, and the same for the
//! synthetic network.

use std::io::Write;
use std::path::Path;

use datasets::loader::{LoadOptions, load_interactions};
use datasets::movielens::{
    Archive, Expected, Fetcher, LocalArchive, WHEEL_INTER_MEMBER, WHEEL_ITEM_MEMBER,
    content_fingerprint, load_ml100k_items,
};
use datasets::split::{Dedup, dedup, prepare, temporal_split};
use datasets::synthetic::{EventWeights, SyntheticConfig, generate, to_canonical_frame};
use sha2::{Digest, Sha256};

/// A fake recbole wheel: 3 users, user 1 with 6 ratings (one duplicate pair), users 2 and 3 with 5.
fn fake_wheel(dir: &Path) -> (std::path::PathBuf, Expected) {
    let mut inter = String::from("user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
    for (u, n) in [(1, 6), (2, 5), (3, 5)] {
        for k in 0..n {
            inter.push_str(&format!("{u}\t{}\t{}\t{}\n", 10 + k, 1 + k % 5, 1000 + k));
        }
    }
    inter.push_str("1\t10\t5\t2000\n");
    let item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n10\tTen\t1990\tDrama\n";
    let path = dir.join("recbole-1.2.1-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, bytes) in [
        (WHEEL_INTER_MEMBER, inter.as_bytes()),
        (WHEEL_ITEM_MEMBER, item.as_bytes()),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    let hex = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    let expected = Expected {
        inter_sha256: hex(inter.as_bytes()),
        item_sha256: hex(item.as_bytes()),
        inter_fingerprint: content_fingerprint(inter.as_bytes()),
        items: 1,
    };
    (path, expected)
}

#[test]
fn fetched_movielens_loads_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let (wheel, expected) = fake_wheel(dir.path());
    let fetcher = Fetcher::new(
        vec![Box::new(LocalArchive(Archive::RecboleWheel(wheel)))],
        expected,
    );
    let paths = fetcher.fetch(&dir.path().join("data")).unwrap();
    assert_eq!(load_ml100k_items(&paths.items).unwrap()[0].title, "Ten");

    let loaded = load_interactions(&paths.interactions, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.frame.height(), 17);
    let frame = dedup(loaded.frame, Dedup::KeepLatest).unwrap();
    assert_eq!(frame.height(), 16);
    let split = temporal_split(&frame).unwrap();
    // User 1 has 6 distinct items, users 2 and 3 have 5: one test item each, the latest. User 1's
    // item 10 was re-rated at t=2000, so it is user 1's latest.
    let test_items: Vec<&str> = split
        .test
        .column("item")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(test_items, ["10", "14", "14"]);
    assert_eq!(split.train.height(), 13);
    // r>=4 first: user 1 keeps items 13 (4), 14 (5) and 10 (re-rated 5): fewer than 5, all train.
    let split = prepare(
        load_interactions(&paths.interactions, &LoadOptions::default())
            .unwrap()
            .frame,
        Some(4.0),
        Dedup::KeepLatest,
    )
    .unwrap();
    assert_eq!(split.test.height(), 0);
    assert_eq!(split.train.height(), 2 + 2 + 3);
}

#[test]
fn synthetic_events_split_deterministically() {
    let config = SyntheticConfig {
        users: 200,
        posts: 800,
        interactions: 6_000,
        ..SyntheticConfig::default()
    };
    let frame = || {
        let net = generate(&config).unwrap();
        let frame = to_canonical_frame(&net, &EventWeights::default()).unwrap();
        temporal_split(&dedup(frame, Dedup::SumWeights).unwrap()).unwrap()
    };
    let (a, b) = (frame(), frame());
    assert!(a.train.equals(&b.train) && a.test.equals(&b.test));
    assert!(a.test.height() > 0);
    // A (user, post) pair engaged with more than a view weighs more than 1.
    let weights = a.train.column("weight").unwrap().f32().unwrap();
    let max = weights.iter().flatten().fold(0.0f32, f32::max);
    assert!(max >= 5.0, "max weight {max}");
}

/// The real MovieLens-100K through pip; run with `cargo nextest run -p datasets --run-ignored only`.
#[test]
#[ignore = "downloads the recbole wheel from PyPI"]
fn real_movielens_loads_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let paths = datasets::movielens::fetch_ml100k(dir.path()).unwrap();
    let loaded = load_interactions(&paths.interactions, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.frame.height(), 100_000);
    let users = loaded.frame.column("user").unwrap().n_unique().unwrap();
    let items = loaded.frame.column("item").unwrap().n_unique().unwrap();
    assert_eq!((users, items), (943, 1_682));
    let split = temporal_split(&dedup(loaded.frame, Dedup::KeepLatest).unwrap()).unwrap();
    assert_eq!(split.train.height() + split.test.height(), 100_000);
    assert_eq!(load_ml100k_items(&paths.items).unwrap().len(), 1_682);
}
