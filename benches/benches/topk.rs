//! Exact top-K over the whole catalog, the evaluation's and the gate's cost at scale: one query at
//! a time (`top_k_dot`) against blocks of 64 queries through a matrix product per tile of items
//! (`top_k_dot_many`), side by side in one run.
//!
//! `cargo bench -p benches --bench topk`. Seeded ALS-like vectors (`benches::factors`, items and queries of one space): 200,000
//! items and 64 queries of 256 dimensions (the default factors), top 50 (the evaluation's depth),
//! on one thread (the pipeline runs one block per core).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::topk::{top_k_dot, top_k_dot_many};

const ITEMS: usize = 200_000;
const DIM: usize = 256;
const QUERIES: usize = 64;
const K: usize = 50;

fn exact_topk(c: &mut Criterion) {
    let space = benches::factors::FactorSpace::new(DIM, 7);
    let (items, queries) = (space.sample(ITEMS, 8), space.sample(QUERIES, 9));
    let none: Vec<&[u32]> = vec![&[]; QUERIES];
    let mut group = c.benchmark_group(format!("exact_top{K}/{ITEMS}x{DIM}"));
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.sample_size(10);
    group.bench_function("one_query_at_a_time", |b| {
        b.iter(|| {
            for q in queries.rows() {
                black_box(top_k_dot(q, items.view(), K, &[]));
            }
        });
    });
    group.bench_function("blocks_of_64", |b| {
        b.iter(|| black_box(top_k_dot_many(queries.view(), items.view(), K, &none)));
    });
    group.finish();
}

criterion_group!(benches, exact_topk);
criterion_main!(benches);
