//! HNSW index: build time, single-thread search throughput and recall@10 against brute force.
//!
//! `cargo bench -p benches --bench ann`. Vectors are seeded and shaped like ALS item factors
//! (`benches::factors`): [`N_SMALL`] items always, [`N_LARGE`] only with
//! `SOCIAL_LIVE_BENCH_LARGE=1` (a build of a million vectors takes minutes). Queries are user-like vectors of the same space.
//!
//! Criterion times one query per iteration at each `ef` in [`EF_VALUES`] (throughput in
//! queries/s) through `AnnIndex::search_with_ef` (the flat serving layout). Recall is not a
//! timing, and the build is too slow to repeat ten times, so
//! both are measured once per size (with a best-of-[`QPS_PASSES`] queries/s over all queries
//! beside them), printed to stderr and written to `<target>/criterion/ann-summary.{json,md}`
//! (or `$SOCIAL_LIVE_BENCH_OUT`) for BENCHMARKS.md.
//!
//! `SOCIAL_LIVE_BENCH_DUMP=<dir>` also writes the vectors as `items_<n>.npy` and
//! `queries_<n>.npy` for `benches/compare/hnswlib_search.py`, which measures hnswlib on the
//! same data.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::ann::{AnnConfig, AnnIndex};
use models::topk::{Scored, top_k_dot};
use ndarray::Array2;

/// Dimension of the item vectors, as the issue asks (the ALS factors).
const DIM: usize = 64;
/// The always-run size.
const N_SMALL: usize = 100_000;
/// The opt-in size (see [`LARGE_ENV`]).
const N_LARGE: usize = 1_000_000;
/// Set to `1` to also run [`N_LARGE`], to `only` to run [`N_LARGE`] alone.
const LARGE_ENV: &str = "SOCIAL_LIVE_BENCH_LARGE";
/// A directory to dump the vectors into, for the hnswlib comparison.
const DUMP_ENV: &str = "SOCIAL_LIVE_BENCH_DUMP";
/// Queries for recall and the one-off queries/s.
const QUERIES: usize = 1_000;
/// Results per query (recall@K).
const K: usize = 10;
/// Search candidate-list sizes; 64 is `AnnConfig::DEFAULT_EF_SEARCH`.
const EF_VALUES: [usize; 5] = [10, 16, 32, 64, 128];
/// Passes over all queries for the one-off queries/s; the best pass counts (the machine is shared).
const QPS_PASSES: usize = 3;
const SEED: u64 = 42;

/// Recall@K and single-thread queries/s at one `ef`.
struct EfRow {
    ef: usize,
    recall: f64,
    qps: f64,
}

/// What one size measured outside criterion.
struct SizeSummary {
    n: usize,
    build: Duration,
    brute_force_qps: f64,
    rows: Vec<EfRow>,
}

fn sizes() -> Vec<usize> {
    match std::env::var(LARGE_ENV).as_deref() {
        Ok("1") => vec![N_SMALL, N_LARGE],
        Ok("only") => vec![N_LARGE],
        _ => vec![N_SMALL],
    }
}

/// Items and queries of one size: both from one factor space, so queries have neighbours.
fn data(n: usize) -> (Array2<f32>, Array2<f32>) {
    let space = benches::factors::FactorSpace::new(DIM, SEED);
    let items = space.sample(n, SEED + 1);
    let queries = space.sample(QUERIES, SEED + 2);
    (items, queries)
}

fn dump(n: usize, items: &Array2<f32>, queries: &Array2<f32>) {
    let Some(dir) = std::env::var_os(DUMP_ENV).map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("create the dump directory");
    for (name, a) in [("items", items), ("queries", queries)] {
        let path = dir.join(format!("{name}_{n}.npy"));
        benches::summary::write_npy_f32(&path, a.view()).expect("write the vectors");
        eprintln!("ann: wrote {}", path.display());
    }
}

fn recall(truth: &[Vec<Scored>], found: &[Vec<Scored>]) -> f64 {
    let hits: usize = truth
        .iter()
        .zip(found)
        .map(|(t, f)| {
            f.iter()
                .filter(|s| t.iter().any(|x| x.item == s.item))
                .count()
        })
        .sum();
    let relevant: usize = truth.iter().map(Vec::len).sum();
    hits as f64 / relevant as f64
}

/// Best-of-[`QPS_PASSES`] single-thread queries/s of `search` over all queries, and the results
/// of the last pass.
fn timed_passes(
    queries: &Array2<f32>,
    mut search: impl FnMut(ndarray::ArrayView1<'_, f32>) -> Vec<Scored>,
    passes: usize,
) -> (f64, Vec<Vec<Scored>>) {
    let mut best = Duration::MAX;
    let mut results = Vec::new();
    for _ in 0..passes {
        let start = Instant::now();
        results = queries.rows().into_iter().map(&mut search).collect();
        best = best.min(start.elapsed());
    }
    (queries.nrows() as f64 / best.as_secs_f64(), results)
}

fn ann(c: &mut Criterion) {
    let mut summaries = Vec::new();
    for n in sizes() {
        let (items, queries) = data(n);
        dump(n, &items, &queries);
        // One pass of brute force: it is the oracle, and slow at a million items.
        let (brute_force_qps, truth) =
            timed_passes(&queries, |q| top_k_dot(q, items.view(), K, &[]), 1);
        let config = AnnConfig::default();
        let start = Instant::now();
        let index = AnnIndex::build(items.view(), &config).expect("valid vectors");
        let build = start.elapsed();
        eprintln!(
            "ann: n={n} dim={DIM} M={} ef_construction={}: build {:.1} s (parallel, RAYON_NUM_THREADS)",
            config.max_connections,
            config.ef_construction,
            build.as_secs_f64()
        );
        let mut rows = Vec::new();
        for ef in EF_VALUES {
            let (qps, found) = timed_passes(
                &queries,
                |q| index.search_with_ef(q, K, ef, &[]),
                QPS_PASSES,
            );
            let r = recall(&truth, &found);
            eprintln!("ann: n={n} ef={ef}: recall@{K} {r:.4}, {qps:.0} queries/s (1 thread)");
            rows.push(EfRow { ef, recall: r, qps });
        }

        let mut group = c.benchmark_group(format!("ann_search/{n}"));
        group.throughput(Throughput::Elements(1));
        for ef in EF_VALUES {
            group.bench_function(format!("ef{ef}"), |b| {
                let mut next = 0;
                b.iter(|| {
                    let q = queries.row(next % QUERIES);
                    next += 1;
                    black_box(index.search_with_ef(q, K, ef, &[]))
                });
            });
        }
        group.finish();
        summaries.push(SizeSummary {
            n,
            build,
            brute_force_qps,
            rows,
        });
    }
    write_summary(&summaries);
}

fn write_summary(summaries: &[SizeSummary]) {
    let config = AnnConfig::default();
    let mut md = format!("| n | ef | recall@{K} | queries/s |\n|---:|---:|---:|---:|\n");
    let mut sizes = Vec::new();
    for s in summaries {
        for r in &s.rows {
            md.push_str(&format!(
                "| {} | {} | {:.4} | {:.0} |\n",
                s.n, r.ef, r.recall, r.qps
            ));
        }
        sizes.push(serde_json::json!({
            "n": s.n,
            "build_secs": s.build.as_secs_f64(),
            "brute_force_qps": s.brute_force_qps,
            "search": s.rows.iter().map(|r| serde_json::json!({
                "ef": r.ef, "recall_at_10": r.recall, "qps": r.qps,
            })).collect::<Vec<_>>(),
        }));
    }
    md.push_str("\n| n | build (s) | brute-force queries/s |\n|---:|---:|---:|\n");
    for s in summaries {
        md.push_str(&format!(
            "| {} | {:.1} | {:.0} |\n",
            s.n,
            s.build.as_secs_f64(),
            s.brute_force_qps
        ));
    }
    let json = serde_json::json!({
        "bench": "ann",
        "dim": DIM,
        "k": K,
        "queries": QUERIES,
        "seed": SEED,
        "max_connections": config.max_connections,
        "ef_construction": config.ef_construction,
        "qps_passes": QPS_PASSES,
        "sizes": sizes,
    });
    let paths = benches::summary::write("ann-summary", &json, &md).expect("write the summary");
    eprintln!(
        "ann: summary in {} and {}",
        paths[0].display(),
        paths[1].display()
    );
}

criterion_group!(benches, ann);
criterion_main!(benches);
