//! The index against the brute-force oracle [`top_k_dot`], and its dump format.

use super::*;
use crate::kernels;
use hnsw_rs::hnswio::HnswIo;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Gaussian directions with norms spread over `[0.2, 3)`, so inner product and cosine rankings
/// differ.
fn random_items(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 1.0).unwrap();
    let mut items = Array2::from_shape_simple_fn((n, d), || normal.sample(&mut rng));
    for mut row in items.rows_mut() {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        let target = rng.random_range(0.2..3.0f32);
        row.mapv_inplace(|v| v / norm * target);
    }
    items
}

fn small_config() -> AnnConfig {
    AnnConfig {
        max_connections: 12,
        ef_construction: 64,
        ef_search: 32,
    }
}

/// A fresh dump of `index` in a temporary directory.
fn dumped(index: &AnnIndex) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = index.dump(dir.path(), "index").unwrap();
    (dir, paths)
}

#[test]
fn recall_at_10_is_high_with_exclusions_on_varied_norms() {
    let items = random_items(5000, 32, 1);
    let index = AnnIndex::build(items.view(), &AnnConfig::default()).unwrap();
    let queries = random_items(200, 32, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Each query excludes some of its own true top items and a random spread of others.
    let excludes: Vec<Vec<u32>> = queries
        .rows()
        .into_iter()
        .map(|q| {
            let mut ex: Vec<u32> = top_k_dot(q, items.view(), 10, &[])
                .iter()
                .step_by(2)
                .map(|s| s.item)
                .collect();
            ex.extend((0..50).map(|_| rng.random_range(0..5000)));
            ex.sort_unstable();
            ex.dedup();
            ex
        })
        .collect();
    let recall = recall_at_k(&index, items.view(), queries.view(), &excludes, 10);
    assert!(recall >= 0.95, "recall@10 with exclusions = {recall}");
    let recall = recall_at_k(&index, items.view(), queries.view(), &[], 10);
    assert!(recall >= 0.95, "recall@10 = {recall}");
}

#[test]
fn results_are_exact_scores_ranked_and_never_excluded() {
    let items = random_items(800, 16, 4);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let queries = random_items(30, 16, 5);
    let exclude: Vec<u32> = (0..800).step_by(7).collect();
    for q in queries.rows() {
        let found = index.search(q, 15, &exclude);
        assert_eq!(found.len(), 15);
        for s in &found {
            assert!(exclude.binary_search(&s.item).is_err());
            let exact = kernels::dot(
                q.as_slice().unwrap(),
                items.row(s.item as usize).as_slice().unwrap(),
            );
            assert_eq!(s.score, exact);
        }
        assert!(found.windows(2).all(|w| rank_cmp(&w[0], &w[1]).is_lt()));
    }
}

#[test]
fn heavy_exclusions_still_fill_k_results() {
    let items = random_items(2000, 16, 6);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    // Keep only every tenth item.
    let exclude: Vec<u32> = (0..2000).filter(|i| i % 10 != 0).collect();
    let queries = random_items(50, 16, 7);
    let excludes = vec![exclude.clone(); 50];
    for q in queries.rows() {
        let found = index.search(q, 10, &exclude);
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|s| s.item % 10 == 0));
    }
    let recall = recall_at_k(&index, items.view(), queries.view(), &excludes, 10);
    assert!(recall >= 0.9, "recall@10 with 90% excluded = {recall}");
}

#[test]
fn degenerate_queries_and_sizes() {
    let items = random_items(50, 8, 8);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let q = items.row(3);
    assert!(index.search(q, 0, &[]).is_empty());
    let all: Vec<u32> = (0..50).collect();
    assert!(index.search(q, 5, &all).is_empty());
    // More than is left: everything allowed, in exact order.
    let exclude: Vec<u32> = (0..45).collect();
    assert_eq!(
        index.search(q, 10, &exclude),
        top_k_dot(q, items.view(), 10, &exclude)
    );
    // A zero query has no direction: the exact answer is all ties, lowest indices first.
    let zero = ndarray::Array1::<f32>::zeros(8);
    assert_eq!(
        index.search(zero.view(), 4, &[1]),
        top_k_dot(zero.view(), items.view(), 4, &[1])
    );

    let one = random_items(1, 8, 9);
    let index = AnnIndex::build(one.view(), &small_config()).unwrap();
    let found = index.search(q, 3, &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].item, 0);
}

#[test]
fn all_zero_items_are_indexable() {
    let items = Array2::<f32>::zeros((20, 4));
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let q = ndarray::array![1.0f32, 0.0, 0.0, 0.0];
    let found = index.search(q.view(), 3, &[]);
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|s| s.score == 0.0));
}

#[test]
fn dump_then_load_gives_identical_results() {
    let items = random_items(1500, 24, 10);
    let config = small_config();
    let index = AnnIndex::build(items.view(), &config).unwrap();
    let (dir, paths) = dumped(&index);
    assert_eq!(
        paths,
        vec![
            dir.path().join("index.hnsw.graph"),
            dir.path().join("index.hnsw.data")
        ]
    );
    let loaded = AnnIndex::load(dir.path(), "index", items.view(), &config).unwrap();
    assert_eq!((loaded.len(), loaded.dim()), (1500, 24));
    let queries = random_items(100, 24, 11);
    for (i, q) in queries.rows().into_iter().enumerate() {
        let exclude: Vec<u32> = (0..1500u32)
            .filter(|j| (*j as usize + i).is_multiple_of(13))
            .collect();
        assert_eq!(
            index.search(q, 10, &exclude),
            loaded.search(q, 10, &exclude)
        );
        assert_eq!(
            index.search_with_ef(q, 5, 8, &[]),
            loaded.search_with_ef(q, 5, 8, &[])
        );
    }
    // A reloaded index dumps the same files again, byte for byte.
    let (dir2, paths2) = dumped(&loaded);
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    for (a, b) in paths.iter().zip(&paths2) {
        assert_eq!(read(a), read(b));
    }
    drop(dir2);
}

/// `build` on a rayon pool of `threads` threads.
fn build_on(threads: usize, items: &Array2<f32>, config: &AnnConfig) -> AnnIndex {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| AnnIndex::build(items.view(), config).unwrap())
}

/// hnsw_rs's own reading of a dump (its loader borrows the reader: leaked, as in `load`).
fn hnsw_rs_graph(dir: &Path) -> Hnsw<'static, f32, DistDot> {
    let reader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, "index")));
    reader.load_hnsw::<f32, DistDot>().unwrap()
}

#[test]
fn builds_on_any_thread_count_dump_byte_identical_files() {
    let items = random_items(3000, 16, 12);
    let a = build_on(1, &items, &small_config());
    let b = build_on(2, &items, &small_config());
    let c = build_on(3, &items, &small_config());
    assert_eq!(a.flat, c.flat);
    let (_da, pa) = dumped(&a);
    let (_db, pb) = dumped(&b);
    for (x, y) in pa.iter().zip(&pb) {
        let (x, y) = (std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        assert!(!x.is_empty());
        assert_eq!(x, y);
    }
}

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AnnIndex>();
}

#[test]
fn config_rejects_bad_max_connections() {
    for bad in [0, 256, 1000] {
        let config = AnnConfig {
            max_connections: bad,
            ..AnnConfig::default()
        };
        assert!(matches!(
            config.check(),
            Err(Error::InvalidMaxConnections { got }) if got == bad
        ));
    }
}

#[test]
fn config_rejects_zero_ef_construction() {
    let config = AnnConfig {
        ef_construction: 0,
        ..AnnConfig::default()
    };
    assert!(matches!(config.check(), Err(Error::ZeroEfConstruction)));
}

#[test]
fn config_rejects_zero_ef_search() {
    let config = AnnConfig {
        ef_search: 0,
        ..AnnConfig::default()
    };
    assert!(matches!(config.check(), Err(Error::ZeroEfSearch)));
    let items = random_items(5, 2, 13);
    assert!(matches!(
        AnnIndex::build(items.view(), &config),
        Err(Error::ZeroEfSearch)
    ));
}

#[test]
fn build_rejects_empty_and_non_finite_items() {
    let empty = Array2::<f32>::zeros((0, 4));
    assert!(matches!(
        AnnIndex::build(empty.view(), &small_config()),
        Err(Error::EmptyIndex)
    ));
    let mut items = random_items(5, 3, 14);
    items[[2, 1]] = f32::NAN;
    assert!(matches!(
        AnnIndex::build(items.view(), &small_config()),
        Err(Error::NonFiniteValue { row: 2, col: 1, .. })
    ));
}

#[test]
fn dump_never_overwrites_and_checks_its_target() {
    let items = random_items(30, 4, 15);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let (dir, paths) = dumped(&index);
    assert!(matches!(
        index.dump(dir.path(), "index"),
        Err(Error::FileExists { path }) if path == paths[0]
    ));
    for bad in ["", "a/b", ".."] {
        assert!(matches!(
            index.dump(dir.path(), bad),
            Err(Error::InvalidFileName { .. })
        ));
    }
    assert!(matches!(
        index.dump(&dir.path().join("missing"), "index"),
        Err(Error::Io { .. })
    ));
}

#[test]
fn load_reports_missing_files() {
    let items = random_items(30, 4, 16);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let (dir, paths) = dumped(&index);
    std::fs::remove_file(&paths[1]).unwrap();
    assert!(matches!(
        AnnIndex::load(dir.path(), "index", items.view(), &small_config()),
        Err(Error::MissingFile { path }) if path == paths[1]
    ));
}

#[test]
fn load_rejects_corrupt_dumps_without_panicking() {
    let items = random_items(200, 6, 17);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let (dir, paths) = dumped(&index);
    let graph = std::fs::read(&paths[0]).unwrap();
    let data = std::fs::read(&paths[1]).unwrap();
    let load = || AnnIndex::load(dir.path(), "index", items.view(), &small_config());

    type Corruption = (usize, Box<dyn Fn(&mut Vec<u8>)>);
    let corruptions: Vec<Corruption> = vec![
        (0, Box::new(|g| g.truncate(g.len() / 2))),
        (0, Box::new(|g| g[0] ^= 0xff)),
        (0, Box::new(|g| g.push(0))),
        // The dump-mode byte after the 4-byte magic: a "light" dump.
        (0, Box::new(|g| g[4] = 0)),
        (1, Box::new(|d| d.truncate(d.len() - 3))),
        (1, Box::new(|d| d[0] ^= 0x01)),
    ];
    for (file, corrupt) in &corruptions {
        let mut bytes = if *file == 0 {
            graph.clone()
        } else {
            data.clone()
        };
        corrupt(&mut bytes);
        std::fs::write(&paths[*file], &bytes).unwrap();
        assert!(
            matches!(load(), Err(Error::CorruptIndex { .. })),
            "corruption of file {file} not detected"
        );
        std::fs::write(&paths[0], &graph).unwrap();
        std::fs::write(&paths[1], &data).unwrap();
    }
    assert!(load().is_ok());
}

#[test]
fn load_rejects_dumps_of_other_items_or_configs() {
    let items = random_items(100, 6, 18);
    let config = small_config();
    let index = AnnIndex::build(items.view(), &config).unwrap();
    let (dir, _) = dumped(&index);
    let load = |items: ArrayView2<'_, f32>, config: &AnnConfig| {
        AnnIndex::load(dir.path(), "index", items, config)
    };

    let fewer = items.slice(ndarray::s![..99, ..]);
    assert!(matches!(
        load(fewer, &config),
        Err(Error::IndexMismatch { what: "points", .. })
    ));
    let narrower = items.slice(ndarray::s![.., ..5]);
    assert!(matches!(
        load(narrower, &config),
        Err(Error::IndexMismatch {
            what: "dimension",
            ..
        })
    ));
    let mut moved = items.clone();
    moved[[40, 0]] += 0.5;
    assert!(matches!(
        load(moved.view(), &config),
        Err(Error::IndexMismatch {
            what: "item vectors",
            ..
        })
    ));
    let other = AnnConfig {
        max_connections: 13,
        ..config.clone()
    };
    assert!(matches!(
        load(items.view(), &other),
        Err(Error::IndexMismatch {
            what: "max_connections",
            ..
        })
    ));
    let other = AnnConfig {
        ef_construction: 65,
        ..config.clone()
    };
    assert!(matches!(
        load(items.view(), &other),
        Err(Error::IndexMismatch {
            what: "ef_construction",
            ..
        })
    ));
    // ef_search is a search-time setting and may differ.
    let other = AnnConfig {
        ef_search: 100,
        ..config
    };
    assert_eq!(load(items.view(), &other).unwrap().config().ef_search, 100);
}

#[test]
fn recall_is_one_against_itself_and_handles_empty_truth() {
    let items = random_items(60, 4, 19);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let queries = random_items(5, 4, 20);
    let everything: Vec<u32> = (0..60).collect();
    let excludes = vec![everything; 5];
    assert_eq!(
        recall_at_k(&index, items.view(), queries.view(), &excludes, 10),
        1.0
    );
    // With ef >= n the search is exhaustive.
    let exhaustive = AnnIndex::build(
        items.view(),
        &AnnConfig {
            ef_search: 60,
            ..small_config()
        },
    )
    .unwrap();
    assert_eq!(
        recall_at_k(&exhaustive, items.view(), queries.view(), &[], 5),
        1.0
    );
}

/// Recall@k of `search` against [`top_k_dot`] over the rows of `queries`, with one exclusion
/// list per query.
fn recall_of(
    items: &Array2<f32>,
    queries: &Array2<f32>,
    excludes: &[Vec<u32>],
    k: usize,
    search: impl Fn(ndarray::ArrayView1<'_, f32>, &[u32]) -> Vec<Scored>,
) -> f64 {
    let (mut hits, mut relevant) = (0, 0);
    for (q, ex) in queries.rows().into_iter().zip(excludes) {
        let truth = top_k_dot(q, items.view(), k, ex);
        let found = search(q, ex);
        hits += found
            .iter()
            .filter(|s| truth.iter().any(|t| t.item == s.item))
            .count();
        relevant += truth.len();
    }
    hits as f64 / relevant as f64
}

#[test]
fn hnsw_rs_reads_every_link_of_a_dump() {
    let items = random_items(3000, 16, 20);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let (dir, _) = dumped(&index);
    let graph = hnsw_rs_graph(dir.path());
    let indexation = graph.get_point_indexation();
    assert_eq!(
        index.flat.top_level(),
        usize::from(indexation.get_max_level_observed())
    );
    assert!(index.flat.top_level() >= 1, "the test needs upper layers");
    for point in indexation {
        let id = point.get_origin_id() as u32;
        for (layer, found) in point.get_neighborhood_id().iter().enumerate() {
            let expected: Vec<u32> = found.iter().map(|nb| nb.d_id as u32).collect();
            if layer > index.flat.top_level() {
                assert!(expected.is_empty(), "item {id} layer {layer}: {expected:?}");
                continue;
            }
            assert_eq!(
                index.flat.neighbours(layer, id),
                expected.as_slice(),
                "item {id}, layer {layer}"
            );
        }
    }
    // The entry point is the one point on the top layer, whatever hnsw_rs's search starts from.
    let top = index.flat.top_level();
    let on_top: Vec<usize> = indexation
        .get_layer_iterator(top)
        .map(|p| p.get_origin_id())
        .collect();
    assert!(on_top.contains(&(index.flat.entry_point() as usize)));
}

#[test]
fn serving_search_recalls_at_least_as_much_as_hnsw_rs_on_the_same_graph() {
    let items = random_items(6000, 24, 21);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let (dir, _) = dumped(&index);
    let graph = hnsw_rs_graph(dir.path());
    // hnsw_rs's search of the same graph, re-scored with the true dot products.
    let reference_search_with_ef = |q: ArrayView1<'_, f32>, k: usize, ef: usize| {
        let target = mips::query_vector(q.iter().copied()).unwrap();
        let mut scored: Vec<Scored> = graph
            .search_filter(&target, ef, ef, None)
            .iter()
            .map(|nb| Scored {
                item: nb.d_id as u32,
                score: kernels::dot(
                    q.as_slice().unwrap(),
                    items.row(nb.d_id).as_slice().unwrap(),
                ),
            })
            .collect();
        scored.sort_by(rank_cmp);
        scored.truncate(k);
        scored
    };
    let queries = random_items(300, 24, 22);
    let none = vec![Vec::new(); queries.nrows()];
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let some: Vec<Vec<u32>> = queries
        .rows()
        .into_iter()
        .map(|q| {
            let mut ex: Vec<u32> = top_k_dot(q, items.view(), 6, &[])
                .iter()
                .map(|s| s.item)
                .collect();
            ex.extend((0..100).map(|_| rng.random_range(0..6000u32)));
            ex.sort_unstable();
            ex.dedup();
            ex
        })
        .collect();
    for ef in [10, 16, 32, 64] {
        let flat = recall_of(&items, &queries, &none, 10, |q, ex| {
            index.search_with_ef(q, 10, ef, ex)
        });
        let reference = recall_of(&items, &queries, &none, 10, |q, _| {
            reference_search_with_ef(q, 10, ef)
        });
        // The same walk of the same graph: the same recall but for rare ties broken apart by
        // rounding (the graph scores scaled vectors, the serving layout the raw ones).
        assert!(
            flat >= reference - 0.001,
            "ef {ef}: serving layout {flat} < hnsw_rs {reference}"
        );
        let same = queries
            .rows()
            .into_iter()
            .filter(|q| {
                index.search_with_ef(*q, 10, ef, &[]) == reference_search_with_ef(*q, 10, ef)
            })
            .count();
        assert!(
            same * 100 >= queries.nrows() * 98,
            "ef {ef}: {same} identical answers"
        );
        if ef >= 32 {
            assert!(flat >= 0.95, "ef {ef}: recall@10 {flat}");
        }
    }
    // hnsw_rs's filtered search never stops early (it walks nearly the whole graph), so with
    // exclusions the serving layout is held to the recall the index promises instead.
    for (ef, floor) in [(32, 0.93), (64, 0.97)] {
        let flat = recall_of(&items, &queries, &some, 10, |q, ex| {
            index.search_with_ef(q, 10, ef, ex)
        });
        assert!(flat >= floor, "ef {ef} with exclusions: recall@10 {flat}");
    }
}

#[test]
fn ef_as_large_as_the_index_finds_the_exact_top_k() {
    let items = random_items(400, 8, 24);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let queries = random_items(40, 8, 25);
    for (i, q) in queries.rows().into_iter().enumerate() {
        let exclude: Vec<u32> = (0..400u32)
            .filter(|j| (j + i as u32).is_multiple_of(5))
            .collect();
        assert_eq!(
            index.search_with_ef(q, 10, 400, &exclude),
            top_k_dot(q, items.view(), 10, &exclude)
        );
    }
}

#[test]
fn excluding_the_true_best_items_still_returns_k_ranked_allowed_results() {
    let items = random_items(3000, 16, 26);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let queries = random_items(50, 16, 27);
    for q in queries.rows() {
        // The whole neighbourhood the search would start its result set from is excluded.
        let mut exclude: Vec<u32> = top_k_dot(q, items.view(), 200, &[])
            .iter()
            .map(|s| s.item)
            .collect();
        exclude.sort_unstable();
        for ef in [1, 10, 64] {
            let found = index.search_with_ef(q, 10, ef, &exclude);
            assert_eq!(found.len(), 10, "ef {ef}");
            assert!(
                found
                    .iter()
                    .all(|s| exclude.binary_search(&s.item).is_err())
            );
            assert!(found.windows(2).all(|w| rank_cmp(&w[0], &w[1]).is_lt()));
            let mut ids: Vec<u32> = found.iter().map(|s| s.item).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 10);
        }
    }
}

#[test]
fn one_item_index_and_empty_query_sets() {
    let one = random_items(1, 8, 28);
    let index = AnnIndex::build(one.view(), &small_config()).unwrap();
    assert_eq!(index.flat.top_level(), 0);
    let q = random_items(1, 8, 29);
    let found = index.search(q.row(0), 5, &[]);
    assert_eq!(found, top_k_dot(q.row(0), one.view(), 5, &[]));
    assert_eq!(found.len(), 1);
    assert!(index.search(q.row(0), 5, &[0]).is_empty());
    // Exclusions beyond the index are ignored.
    assert_eq!(index.search(q.row(0), 5, &[3, 9]).len(), 1);

    let items = random_items(200, 8, 30);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let no_queries = Array2::<f32>::zeros((0, 8));
    assert_eq!(
        recall_at_k(&index, items.view(), no_queries.view(), &[], 10),
        1.0
    );
    // The scratch of one thread serves indexes of different sizes in turn.
    let small = index.search(items.row(0), 3, &[]);
    let single = AnnIndex::build(one.view(), &small_config()).unwrap();
    assert_eq!(single.search(items.row(0), 3, &[]).len(), 1);
    assert_eq!(index.search(items.row(0), 3, &[]), small);
}

#[test]
fn serving_layout_is_deterministic_and_survives_dump_and_load() {
    let items = random_items(2000, 16, 31);
    let config = small_config();
    let index = AnnIndex::build(items.view(), &config).unwrap();
    let again = AnnIndex::build(items.view(), &config).unwrap();
    assert_eq!(index.flat, again.flat);
    let (dir, _) = dumped(&index);
    let loaded = AnnIndex::load(dir.path(), "index", items.view(), &config).unwrap();
    assert_eq!(index.flat, loaded.flat);
    let queries = random_items(60, 16, 32);
    for q in queries.rows() {
        for ef in [10, 40] {
            assert_eq!(
                index.search_with_ef(q, 10, ef, &[5, 17]),
                loaded.search_with_ef(q, 10, ef, &[5, 17])
            );
        }
    }
}

#[test]
fn searches_from_many_threads_agree_with_one() {
    let items = random_items(2000, 16, 33);
    let index = AnnIndex::build(items.view(), &small_config()).unwrap();
    let queries = random_items(64, 16, 34);
    let serial: Vec<Vec<Scored>> = queries
        .rows()
        .into_iter()
        .map(|q| index.search(q, 10, &[1, 2, 3]))
        .collect();
    let parallel: Vec<Vec<Scored>> = (0..queries.nrows())
        .into_par_iter()
        .map(|i| index.search(queries.row(i), 10, &[1, 2, 3]))
        .collect();
    assert_eq!(serial, parallel);
}

/// Points in `clusters` Gaussian clusters (centres N(0, I), spread `sigma`), L2-normalised: the
/// shape of the sets in `benches/compare`.
fn clustered_items(n: usize, d: usize, clusters: usize, sigma: f32, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 1.0).unwrap();
    let centres = Array2::from_shape_simple_fn((clusters, d), || normal.sample(&mut rng));
    let mut items = Array2::zeros((n, d));
    for mut row in items.rows_mut() {
        let c = centres.row(rng.random_range(0..clusters));
        for (x, &m) in row.iter_mut().zip(c) {
            *x = m + sigma * normal.sample(&mut rng);
        }
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row.mapv_inplace(|v| v / norm);
    }
    items
}

#[test]
fn parallel_build_recalls_the_brute_force_top_10_on_clustered_and_varied_norm_vectors() {
    let config = AnnConfig {
        max_connections: 16,
        ef_construction: 100,
        ef_search: AnnConfig::DEFAULT_EF_SEARCH,
    };
    for (name, items, queries) in [
        (
            "clustered",
            clustered_items(8000, 32, 80, 0.5, 40),
            clustered_items(200, 32, 80, 0.5, 40 + 1),
        ),
        (
            "varied norms",
            random_items(8000, 32, 42),
            random_items(200, 32, 43),
        ),
    ] {
        let index = build_on(2, &items, &config);
        let recall = recall_at_k(&index, items.view(), queries.view(), &[], 10);
        assert!(
            recall >= 0.95,
            "{name}: recall@10 {recall} at the default ef"
        );
    }
}

#[test]
fn a_raised_stop_flag_stops_the_build_and_progress_reaches_the_end() {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;
    let items = random_items(3000, 8, 44);
    let seen = Mutex::new(Vec::new());
    let record = |p: BuildProgress| seen.lock().unwrap().push(p);
    let control = BuildControl {
        stop: None,
        progress: Some(&record),
    };
    let index = AnnIndex::build_with(items.view(), &small_config(), &control)
        .unwrap()
        .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0].inserted < w[1].inserted));
    assert_eq!(
        seen.last(),
        Some(&BuildProgress {
            inserted: 3000,
            total: 3000
        })
    );
    assert_eq!(
        index.flat,
        AnnIndex::build(items.view(), &small_config()).unwrap().flat
    );

    // Raised before the build: nothing is built. Raised from the progress callback: the build
    // stops at the next batch.
    let stop = AtomicBool::new(true);
    let control = BuildControl {
        stop: Some(&stop),
        progress: None,
    };
    assert!(
        AnnIndex::build_with(items.view(), &small_config(), &control)
            .unwrap()
            .is_none()
    );
    let stop = AtomicBool::new(false);
    let calls = Mutex::new(0usize);
    let raise = |p: BuildProgress| {
        *calls.lock().unwrap() += 1;
        if p.inserted >= 1000 {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let control = BuildControl {
        stop: Some(&stop),
        progress: Some(&raise),
    };
    assert!(
        AnnIndex::build_with(items.view(), &small_config(), &control)
            .unwrap()
            .is_none()
    );
    assert!(*calls.lock().unwrap() < seen.len());
}
