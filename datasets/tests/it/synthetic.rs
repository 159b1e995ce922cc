//! The synthetic network's files: byte-identical for a seed, observable data only.

use std::path::Path;

use datasets::synthetic::{SocialNetwork, SyntheticConfig, generate, write_csv};

fn network(seed: u64) -> SocialNetwork {
    let config = SyntheticConfig {
        seed,
        users: 300,
        posts: 1_000,
        interactions: 8_000,
        ..SyntheticConfig::default()
    };
    generate(&config).unwrap()
}

fn contents(paths: &[std::path::PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn names(paths: &[std::path::PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn csv_files_are_byte_identical_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(&network(42), &dir.path().join("a")).unwrap();
    let b = write_csv(&network(42), &dir.path().join("b")).unwrap();
    let c = write_csv(&network(43), &dir.path().join("c")).unwrap();
    assert_eq!(
        names(&a),
        ["users.csv", "follows.csv", "posts.csv", "interactions.csv"]
    );
    assert_eq!(contents(&a), contents(&b));
    assert_ne!(contents(&a)[3], contents(&c)[3]);
    let interactions = String::from_utf8(contents(&a)[3].clone()).unwrap();
    assert!(interactions.starts_with("user_id,post_id,kind,timestamp\n"));
    assert_eq!(interactions.lines().count(), 8_001);
    assert_headers(&a[0], "user_id,handle,joined_at");
    assert_headers(&a[1], "follower_id,followee_id");
    assert_headers(&a[2], "post_id,author_id,created_at,topics,text");
}

fn assert_headers(path: &Path, header: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text.lines().next(), Some(header), "{}", path.display());
}

#[cfg(feature = "polars")]
mod parquet {
    use datasets::loader::{LoadOptions, load_interactions};
    use datasets::synthetic::{
        EventKind, EventWeights, read_generated, to_canonical_frame, write_manifest, write_parquet,
    };
    use polars::prelude::*;

    use super::*;

    #[test]
    fn parquet_files_are_byte_identical_for_a_seed() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_parquet(&network(42), &dir.path().join("a")).unwrap();
        let b = write_parquet(&network(42), &dir.path().join("b")).unwrap();
        let c = write_parquet(&network(43), &dir.path().join("c")).unwrap();
        assert_eq!(
            names(&a),
            [
                "users.parquet",
                "follows.parquet",
                "posts.parquet",
                "interactions.parquet"
            ]
        );
        assert_eq!(contents(&a), contents(&b));
        assert_ne!(contents(&a)[3], contents(&c)[3]);
        // Only observable columns: no community, affinity, quality.
        let posts = ParquetReader::new(std::fs::File::open(&a[2]).unwrap())
            .finish()
            .unwrap();
        let cols: Vec<String> = posts
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            cols,
            ["post_id", "author_id", "created_at", "topics", "text"]
        );
        assert_eq!(posts.height(), 1_000);
    }

    #[test]
    fn files_load_back_as_the_canonical_frame() {
        let net = network(5);
        let dir = tempfile::tempdir().unwrap();
        let parquet = write_parquet(&net, dir.path()).unwrap();
        let csv = write_csv(&net, dir.path()).unwrap();
        let ones = EventWeights {
            view: 1.0,
            like: 1.0,
            comment: 1.0,
        };
        let expected = to_canonical_frame(&net, &ones).unwrap();
        for path in [&parquet[3], &csv[3]] {
            let loaded = load_interactions(path, &LoadOptions::default()).unwrap();
            assert!(loaded.frame.equals(&expected), "{}", path.display());
            assert_eq!(loaded.columns.item, "post_id");
        }
    }

    /// What `datasets generate` writes reads back as the network it wrote: the same weighted
    /// frame, the same posts, the generator's parameters.
    #[test]
    fn a_generated_directory_reads_back_as_its_network() {
        let net = network(11);
        let dir = tempfile::tempdir().unwrap();
        // Without its manifest (written last) a directory is not a network, whatever it holds.
        write_parquet(&net, dir.path()).unwrap();
        let err = read_generated(dir.path(), &EventWeights::default()).unwrap_err();
        assert!(matches!(err, datasets::Error::NotGenerated { .. }), "{err}");
        assert!(err.to_string().contains("datasets generate"), "{err}");
        write_manifest(&net, dir.path()).unwrap();
        let weights = EventWeights {
            view: 0.0,
            ..EventWeights::default()
        };
        let read = read_generated(dir.path(), &weights).unwrap();
        assert_eq!(read.config, net.config);
        assert!(
            read.frame
                .equals(&to_canonical_frame(&net, &weights).unwrap())
        );
        assert_eq!(read.posts.len(), net.posts.len());
        for (got, want) in read.posts.iter().zip(&net.posts).step_by(37) {
            assert_eq!(got.id, want.id.to_string());
            assert_eq!(got.author, Some(want.author.to_string()));
            assert_eq!(got.created_at, Some(want.created_at));
            let topics: Vec<&str> = want
                .topics
                .iter()
                .map(|&t| net.topic_names[t as usize].as_str())
                .collect();
            assert_eq!(got.topics, topics);
            assert_eq!(got.text, want.text);
        }
        // A table in another layout is refused with the column's name; so is a bad manifest.
        let mut other = df!("user_id" => [1i64], "post_id" => [2u32]).unwrap();
        ParquetWriter::new(std::fs::File::create(dir.path().join("interactions.parquet")).unwrap())
            .finish(&mut other)
            .unwrap();
        let err = read_generated(dir.path(), &weights).unwrap_err();
        assert!(err.to_string().contains("user_id"), "{err}");
        std::fs::write(dir.path().join("network.json"), "{").unwrap();
        let err = read_generated(dir.path(), &weights).unwrap_err();
        assert!(matches!(err, datasets::Error::Manifest { .. }), "{err}");
    }

    #[test]
    fn canonical_frame_weights_events_by_kind() {
        let net = network(9);
        let frame = to_canonical_frame(&net, &EventWeights::default()).unwrap();
        assert_eq!(frame.height(), net.interactions.len());
        let weights = frame.column("weight").unwrap().f32().unwrap();
        let items = frame.column("item").unwrap().str().unwrap();
        for (r, e) in net.interactions.iter().enumerate().step_by(97) {
            let want = match e.kind {
                EventKind::View => 1.0,
                EventKind::Like => 4.0,
                EventKind::Comment => 6.0,
            };
            assert_eq!(weights.get(r), Some(want));
            assert_eq!(items.get(r), Some(e.post.to_string().as_str()));
        }
        let no_views = to_canonical_frame(
            &net,
            &EventWeights {
                view: 0.0,
                ..EventWeights::default()
            },
        )
        .unwrap();
        let views = net
            .interactions
            .iter()
            .filter(|e| e.kind == EventKind::View)
            .count();
        assert_eq!(no_views.height(), net.interactions.len() - views);
        let err = to_canonical_frame(
            &net,
            &EventWeights {
                like: -1.0,
                ..EventWeights::default()
            },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            datasets::Error::InvalidEventWeight { kind: "like", .. }
        ));
    }
}
