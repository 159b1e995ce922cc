//! Our HNSW builder: batched, parallel, and deterministic whatever the thread count.
//!
//! hnsw_rs inserts one point at a time behind an `Arc` and a lock per point, and its serial build
//! of 200k 64-d vectors took about 10x hnswlib's 2-thread build. This builder inserts the items in
//! row order in batches (1 point at first, growing to [`MAX_BATCH`] as the graph grows), each in
//! three steps:
//!
//! 1. *Plan*, in parallel over the batch, on the graph as it stood before the batch: each point
//!    descends greedily through the upper layers, runs the `ef_construction` search on each of
//!    its layers, adds the batch's other points on that layer as candidates (scored exactly, so
//!    points of one batch still find each other), and picks its neighbours with the HNSW
//!    heuristic (Malkov & Yashunin 2018, algorithm 4, as hnswlib runs it).
//! 2. *Link*: the new points' lists are stored.
//! 3. *Back-link*, in parallel over the targets: every chosen neighbour gets a link back; a list
//!    that overflows (`2 M` on layer 0, `M` above) is pruned by the same heuristic.
//!
//! Each parallel step is a pure function of the graph before it, gathered in batch order, so the
//! graph depends on the items and the seed only, never on the number of threads or their timing.
//! Levels are drawn up front from a ChaCha generator seeded with [`LEVEL_SEED`] (hnswlib's and
//! the paper's distribution, `floor(-ln U / ln M)`, capped at hnsw_rs's 16 layers so that the dump
//! stays hnsw_rs's format). Scores are dot products on the raw item vectors: the heuristic only
//! compares dot products of pairs of items, which a common positive scale leaves in the same order,
//! so the graph is the one the scaled vectors of `mips` would give.
//!
//! The stop flag is checked and progress reported between batches.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};

use pulp::{Simd, WithSimd};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::flat::Entry;
use crate::kernels::{self, Kernels};

/// Seed of the level draws.
pub(crate) const LEVEL_SEED: u64 = 42;
/// Largest batch inserted against one state of the graph.
const MAX_BATCH: usize = 256;
/// A batch is at most this fraction of the points already in the graph (1/8), so that early
/// points, which shape the upper layers, are inserted nearly one at a time.
const BATCH_FRACTION: usize = 8;
/// hnsw_rs's layer limit: levels are `0..MAX_LEVEL`.
pub(crate) const MAX_LEVEL: usize = 16;

/// A graph under construction, then the built one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Graph {
    /// Links per node on layer 0 (`2 M`); `bottom` rows are `1 + m0` long, the count first.
    pub(crate) m0: usize,
    /// Links per node on the upper layers (`M`).
    pub(crate) m: usize,
    pub(crate) bottom: Vec<u32>,
    /// `upper[node][layer - 1]` for the layers `1..=levels[node]`.
    pub(crate) upper: Vec<Vec<Vec<u32>>>,
    pub(crate) levels: Vec<u8>,
    pub(crate) entry: u32,
}

impl Graph {
    pub(crate) fn stride(&self) -> usize {
        self.m0 + 1
    }

    #[inline(always)]
    pub(crate) fn neighbours(&self, node: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let row = &self.bottom[node as usize * self.stride()..][..self.stride()];
            &row[1..=row[0] as usize]
        } else {
            &self.upper[node as usize][layer - 1]
        }
    }

    fn set(&mut self, node: u32, layer: usize, list: Vec<u32>) {
        if layer == 0 {
            let stride = self.stride();
            let row = &mut self.bottom[node as usize * stride..][..stride];
            row[0] = list.len() as u32;
            row[1..=list.len()].copy_from_slice(&list);
        } else {
            self.upper[node as usize][layer - 1] = list;
        }
    }

    fn top(&self) -> usize {
        usize::from(self.levels[self.entry as usize])
    }
}

/// Progress of a build: `inserted` of `total` items are in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildProgress {
    pub inserted: usize,
    pub total: usize,
}

/// What a build is told from outside: a stop flag and a progress callback.
#[derive(Default)]
pub struct BuildControl<'a> {
    /// Checked between batches: once it is `true` the build stops and returns nothing.
    pub stop: Option<&'a AtomicBool>,
    /// Called after every batch (a few hundred times per 100k items), from the building thread.
    pub progress: Option<&'a (dyn Fn(BuildProgress) + Sync)>,
}

impl std::fmt::Debug for BuildControl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildControl")
            .field("stop", &self.stop)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Draws the level of every item.
fn draw_levels(n: usize, m: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(LEVEL_SEED);
    let scale = 1.0 / (m.max(2) as f64).ln();
    (0..n)
        .map(|_| {
            let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
            ((-u.ln() * scale).floor() as usize).min(MAX_LEVEL - 1) as u8
        })
        .collect()
}

/// Builds the graph over the rows of `items` (row-major, `dim` columns, at least one row) with
/// `m` links per node (`2 m` on layer 0) and candidate lists of `ef_construction`; `None` when
/// stopped through `control`.
pub(crate) fn build(
    items: &[f32],
    dim: usize,
    m: usize,
    ef_construction: usize,
    control: &BuildControl<'_>,
) -> Option<Graph> {
    let n = items.len() / dim;
    let levels = draw_levels(n, m);
    let m0 = 2 * m;
    let mut graph = Graph {
        m0,
        m,
        bottom: vec![0; n * (m0 + 1)],
        upper: levels
            .iter()
            .map(|&l| vec![Vec::new(); usize::from(l)])
            .collect(),
        levels,
        entry: 0,
    };
    let ctx = Ctx {
        items,
        dim,
        ef: ef_construction.max(m),
    };
    let mut start = 1;
    while start < n {
        if control.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return None;
        }
        let end = n.min(start + (start / BATCH_FRACTION).clamp(1, MAX_BATCH));
        let batch: Vec<u32> = (start as u32..end as u32).collect();
        insert_batch(&mut graph, &ctx, &batch);
        start = end;
        if let Some(progress) = control.progress {
            progress(BuildProgress {
                inserted: start,
                total: n,
            });
        }
    }
    Some(graph)
}

struct Ctx<'a> {
    items: &'a [f32],
    dim: usize,
    ef: usize,
}

impl Ctx<'_> {
    #[inline(always)]
    fn row(&self, id: u32) -> &[f32] {
        &self.items[id as usize * self.dim..][..self.dim]
    }
}

fn insert_batch(graph: &mut Graph, ctx: &Ctx<'_>, batch: &[u32]) {
    // 1. Plan every point's lists on the graph as it is.
    let g: &Graph = graph;
    let plans: Vec<Vec<Vec<u32>>> = batch
        .par_iter()
        .map(|&p| {
            SCRATCH.with(|s| {
                kernels::dispatch(Plan {
                    graph: g,
                    ctx,
                    point: p,
                    batch,
                    scratch: &mut s.borrow_mut(),
                })
            })
        })
        .collect();
    // 2. Link the new points, and gather the links back (target, layer, source).
    let mut back: Vec<(u32, u8, u32)> = Vec::new();
    for (&p, plan) in batch.iter().zip(plans) {
        for (layer, list) in plan.into_iter().enumerate() {
            for &t in &list {
                back.push((t, layer as u8, p));
            }
            graph.set(p, layer, list);
        }
    }
    back.sort_unstable();
    back.dedup();
    // 3. Back-links, one task per (target, layer).
    let mut groups: Vec<&[(u32, u8, u32)]> = Vec::new();
    let mut rest = &back[..];
    while let Some(&(t, l, _)) = rest.first() {
        let len = rest.partition_point(|&(t2, l2, _)| (t2, l2) == (t, l));
        let (group, tail) = rest.split_at(len);
        groups.push(group);
        rest = tail;
    }
    let g: &Graph = graph;
    let updates: Vec<Option<(u32, usize, Vec<u32>)>> = groups
        .par_iter()
        .map(|group| {
            kernels::dispatch(BackLink {
                graph: g,
                ctx,
                group,
            })
        })
        .collect();
    for (t, layer, list) in updates.into_iter().flatten() {
        graph.set(t, layer, list);
    }
    // The first point of the batch with a level above the entry point's becomes the entry point
    // (it was linked on those layers to the batch's other points only).
    for &p in batch {
        if usize::from(graph.levels[p as usize]) > graph.top() {
            graph.entry = p;
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    visited: Vec<u32>,
    generation: u32,
    candidates: BinaryHeap<Entry>,
    results: BinaryHeap<Reverse<Entry>>,
}

impl Scratch {
    fn begin(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited = vec![0; n];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.visited.fill(0);
            self.generation = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }
}

struct Plan<'a> {
    graph: &'a Graph,
    ctx: &'a Ctx<'a>,
    point: u32,
    batch: &'a [u32],
    scratch: &'a mut Scratch,
}

impl WithSimd for Plan<'_> {
    type Output = Vec<Vec<u32>>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<Vec<u32>> {
        let Self {
            graph,
            ctx,
            point,
            batch,
            scratch,
        } = self;
        let k = Kernels(simd);
        let q = ctx.row(point);
        let level = usize::from(graph.levels[point as usize]);
        let top = graph.top();
        let mut peers: Vec<Entry> = Vec::new();
        for &o in batch {
            if o != point {
                peers.push(Entry {
                    score: k.dot(q, ctx.row(o)),
                    id: o,
                });
            }
        }
        let mut ep = Entry {
            score: k.dot(q, ctx.row(graph.entry)),
            id: graph.entry,
        };
        let mut layer = top;
        while layer > level {
            ep = greedy(k, graph, ctx, q, ep, layer);
            layer -= 1;
        }
        let mut plan = vec![Vec::new(); level + 1];
        let mut candidates: Vec<Entry> = Vec::new();
        for layer in (0..=level).rev() {
            candidates.clear();
            if layer <= top {
                search_layer(k, graph, ctx, q, ep, layer, scratch, &mut candidates);
                if let Some(best) = candidates.iter().max() {
                    ep = *best;
                }
            }
            for &peer in &peers {
                if usize::from(graph.levels[peer.id as usize]) >= layer {
                    candidates.push(peer);
                }
            }
            candidates.sort_unstable_by(|a, b| b.cmp(a));
            // As many links chosen as a list holds: 2 M on layer 0, M above (as hnsw_rs does;
            // hnswlib chooses M on layer 0 too and lets links back fill the list, which gave a
            // sparser graph and a lower recall for each ef on our tests).
            let max = if layer == 0 { graph.m0 } else { graph.m };
            plan[layer] = select(k, ctx, &candidates, max);
        }
        plan
    }
}

/// Greedy walk on `layer` from `ep` to a local maximum of the dot product with `q`.
#[inline(always)]
fn greedy<S: Simd>(
    k: Kernels<S>,
    graph: &Graph,
    ctx: &Ctx<'_>,
    q: &[f32],
    mut ep: Entry,
    layer: usize,
) -> Entry {
    loop {
        let mut moved = false;
        for &nb in graph.neighbours(ep.id, layer) {
            let e = Entry {
                score: k.dot(q, ctx.row(nb)),
                id: nb,
            };
            if e > ep {
                ep = e;
                moved = true;
            }
        }
        if !moved {
            return ep;
        }
    }
}

/// The `ctx.ef` best nodes of `layer` found from `ep` (unsorted), into `out`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn search_layer<S: Simd>(
    k: Kernels<S>,
    graph: &Graph,
    ctx: &Ctx<'_>,
    q: &[f32],
    ep: Entry,
    layer: usize,
    scratch: &mut Scratch,
    out: &mut Vec<Entry>,
) {
    scratch.begin(graph.levels.len());
    let generation = scratch.generation;
    let Scratch {
        visited,
        candidates,
        results,
        ..
    } = scratch;
    visited[ep.id as usize] = generation;
    candidates.push(ep);
    results.push(Reverse(ep));
    while let Some(current) = candidates.pop() {
        if let Some(Reverse(worst)) = results.peek()
            && results.len() >= ctx.ef
            && current < *worst
        {
            break;
        }
        for &nb in graph.neighbours(current.id, layer) {
            let seen = &mut visited[nb as usize];
            if *seen == generation {
                continue;
            }
            *seen = generation;
            let e = Entry {
                score: k.dot(q, ctx.row(nb)),
                id: nb,
            };
            if results.len() < ctx.ef || results.peek().is_some_and(|Reverse(w)| e > *w) {
                candidates.push(e);
                results.push(Reverse(e));
                if results.len() > ctx.ef {
                    results.pop();
                }
            }
        }
    }
    candidates.clear();
    out.extend(results.drain().map(|Reverse(e)| e));
}

/// The HNSW neighbour heuristic on `candidates` (sorted best first, scored against the base
/// point): a candidate is kept unless an already kept one is closer to it than the base is
/// (a larger dot product with it than its own score), up to `max`.
#[inline(always)]
fn select<S: Simd>(k: Kernels<S>, ctx: &Ctx<'_>, candidates: &[Entry], max: usize) -> Vec<u32> {
    let mut kept: Vec<u32> = Vec::with_capacity(max);
    if candidates.len() <= max {
        for c in candidates {
            kept.push(c.id);
        }
        return kept;
    }
    for c in candidates {
        if kept.len() >= max {
            break;
        }
        let cv = ctx.row(c.id);
        let mut good = true;
        for &r in &kept {
            if k.dot(cv, ctx.row(r)) > c.score {
                good = false;
                break;
            }
        }
        if good {
            kept.push(c.id);
        }
    }
    kept
}

struct BackLink<'a> {
    graph: &'a Graph,
    ctx: &'a Ctx<'a>,
    /// `(target, layer, source)`, one target and layer, sources ascending.
    group: &'a [(u32, u8, u32)],
}

impl WithSimd for BackLink<'_> {
    type Output = Option<(u32, usize, Vec<u32>)>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Self::Output {
        let Self { graph, ctx, group } = self;
        let k = Kernels(simd);
        let (target, layer, _) = group[0];
        let layer = usize::from(layer);
        let current = graph.neighbours(target, layer);
        let mut merged: Vec<u32> = current.to_vec();
        for &(_, _, source) in group {
            if !current.contains(&source) {
                merged.push(source);
            }
        }
        if merged.len() == current.len() {
            return None;
        }
        let max = if layer == 0 { graph.m0 } else { graph.m };
        if merged.len() <= max {
            return Some((target, layer, merged));
        }
        let t = ctx.row(target);
        let mut scored: Vec<Entry> = Vec::with_capacity(merged.len());
        for &id in &merged {
            scored.push(Entry {
                score: k.dot(t, ctx.row(id)),
                id,
            });
        }
        scored.sort_unstable_by(|a, b| b.cmp(a));
        Some((target, layer, select(k, ctx, &scored, max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_hnsw_distribution_and_are_seeded() {
        let levels = draw_levels(100_000, 16);
        assert_eq!(levels, draw_levels(100_000, 16));
        let above = |l: u8| levels.iter().filter(|&&x| x >= l).count() as f64 / 1e5;
        // P(level >= l) = M^-l.
        assert!((above(1) - 1.0 / 16.0).abs() < 0.005, "{}", above(1));
        assert!((above(2) - 1.0 / 256.0).abs() < 0.001, "{}", above(2));
        assert!(levels.iter().all(|&l| usize::from(l) < MAX_LEVEL));
    }

    #[test]
    fn heuristic_drops_candidates_closer_to_a_kept_one_than_to_the_base() {
        // Base along x; a and b close to each other, c on the other side.
        let items = [1.0f32, 0.0, 0.9, 0.4, 0.8, 0.5, 0.7, -0.7];
        let ctx = Ctx {
            items: &items,
            dim: 2,
            ef: 4,
        };
        let base = ctx.row(0);
        let mut cands: Vec<Entry> = (1..4)
            .map(|id| Entry {
                score: kernels::dot(base, ctx.row(id)),
                id,
            })
            .collect();
        cands.sort_unstable_by(|a, b| b.cmp(a));
        struct Sel<'a>(&'a Ctx<'a>, &'a [Entry]);
        impl WithSimd for Sel<'_> {
            type Output = Vec<u32>;
            fn with_simd<S: Simd>(self, simd: S) -> Vec<u32> {
                select(Kernels(simd), self.0, self.1, 2)
            }
        }
        // b is closer to a (dot 0.92) than to the base (0.8): dropped; c (0.35 with a) is kept.
        assert_eq!(kernels::dispatch(Sel(&ctx, &cands)), vec![1, 3]);
    }
}
