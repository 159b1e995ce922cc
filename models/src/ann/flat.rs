//! The read-only serving layout of a built HNSW graph, and the search that runs on it.
//!
//! hnsw_rs keeps every point behind an `Arc` with its neighbours behind a lock, so a search pays
//! pointer chasing, reference counting and a hash-set of visited points on every step. Once the
//! graph is built (or loaded) it never changes, so it is copied once into flat arrays: the
//! neighbour lists of every layer as CSR (offsets and `u32` item ids), the entry point and the
//! top level. The item vectors are the index's own row-major copy (`AnnIndex::items`), scored
//! with the true dot product: the graph was built on the items scaled by one positive factor
//! and searched with the normalised query, which orders items exactly as the raw dot product does
//! (see `mips`), so the same graph is walked by the same order and the scores need no re-ranking.
//!
//! The search is the HNSW one (Malkov & Yashunin 2018, algorithm 5) as hnsw_rs runs it: a greedy
//! descent through the upper layers that looks at the pivot's neighbours once per layer (the
//! textbook repeats it until nothing improves; on our data that changed recall by less than its
//! noise, and one pass keeps the results those of hnsw_rs's own search), then a best-first
//! search on layer 0 bounded by `ef`. Excluded items are walked through like
//! any other but never enter the result set, and the search only stops once `ef` allowed items
//! are held (or the reachable graph is exhausted). The visited set is a generation-stamped
//! `Vec<u32>` in a thread-local scratch, reused across queries: no allocation per query once a
//! thread has searched once.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::hnsw::Hnsw;
use pulp::{Simd, WithSimd};

use super::build;
use crate::kernels::{self, Kernels};
use crate::topk::Scored;

/// One layer's adjacency: for layer 0 indexed by item id, for upper layers by rank in `nodes`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Adjacency {
    /// Item ids present on the layer, ascending (empty for layer 0, where every item is).
    nodes: Vec<u32>,
    /// `offsets[i]..offsets[i + 1]` is node `i`'s range in `neighbours`.
    offsets: Vec<u32>,
    neighbours: Vec<u32>,
}

impl Adjacency {
    fn from_lists(nodes: Vec<u32>, lists: &[Vec<u32>]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut neighbours = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        offsets.push(0);
        for list in lists {
            neighbours.extend_from_slice(list);
            offsets.push(u32::try_from(neighbours.len()).expect("fewer than 2^32 links"));
        }
        Self {
            nodes,
            offsets,
            neighbours,
        }
    }

    #[inline(always)]
    fn of_rank(&self, rank: usize) -> &[u32] {
        &self.neighbours[self.offsets[rank] as usize..self.offsets[rank + 1] as usize]
    }

    /// Neighbours of `item` on an upper layer (empty when it is not on the layer).
    fn of_item(&self, item: u32) -> &[u32] {
        match self.nodes.binary_search(&item) {
            Ok(rank) => self.of_rank(rank),
            Err(_) => &[],
        }
    }
}

/// The bottom layer, which every item is on, in rows of a fixed stride: `links[i * stride]` is
/// item `i`'s neighbour count and its neighbours follow, so expanding a node reads one
/// contiguous row instead of an offset and then a list elsewhere (one cache miss fewer).
#[derive(Clone, Debug, Default, PartialEq)]
struct Bottom {
    stride: usize,
    links: Vec<u32>,
}

impl Bottom {
    fn from_lists(lists: &[Vec<u32>]) -> Self {
        let stride = 1 + lists.iter().map(Vec::len).max().unwrap_or(0);
        let mut links = vec![0; stride * lists.len()];
        for (row, list) in links.chunks_exact_mut(stride).zip(lists) {
            row[0] = u32::try_from(list.len()).expect("fewer than 2^32 links");
            row[1..=list.len()].copy_from_slice(list);
        }
        Self { stride, links }
    }

    #[inline(always)]
    fn of(&self, item: u32) -> &[u32] {
        let row = &self.links[item as usize * self.stride..(item as usize + 1) * self.stride];
        &row[1..=row[0] as usize]
    }
}

/// The graph of an `AnnIndex` in flat arrays.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlatGraph {
    bottom: Bottom,
    /// `layers[l]` for the upper layers `l >= 1` (`layers[0]` is empty: see `bottom`);
    /// `layers.len() - 1` is the entry point's level.
    layers: Vec<Adjacency>,
    entry: u32,
}

impl FlatGraph {
    /// Copies the graph of `graph`, whose points carry the item ids `0..n`.
    ///
    /// hnsw_rs does not expose its entry point, but it is determined by the layers: a point
    /// becomes the entry point only when its level is strictly above every earlier point's, so
    /// it is the first point stored on the top layer (rank 0 there), and a dump stores and
    /// reloads that same point.
    pub(crate) fn from_hnsw(graph: &Hnsw<'_, f32, DistDot>, n: usize) -> Self {
        let indexation = graph.get_point_indexation();
        let top = usize::from(indexation.get_max_level_observed());
        let mut entry = None;
        // (item, the layers it has links on or belongs to, its neighbours per layer). A point
        // can hold links above its own level: hnsw_rs links the very first point on the layers
        // of later, higher points, and its searches follow those links like any other.
        let mut points = Vec::with_capacity(n);
        for point in indexation {
            let id = point.get_origin_id() as u32;
            let p_id = point.get_point_id();
            let level = usize::from(p_id.0);
            if level == top && p_id.1 == 0 {
                entry = Some(id);
            }
            let mut neighbourhood: Vec<Vec<u32>> = point
                .get_neighborhood_id()
                .iter()
                .take(top + 1)
                .map(|found| found.iter().map(|nb| nb.d_id as u32).collect())
                .collect();
            let on = (0..neighbourhood.len())
                .rev()
                .find(|&l| !neighbourhood[l].is_empty())
                .unwrap_or(0)
                .max(level.min(top));
            neighbourhood.resize(on + 1, Vec::new());
            points.push((id, neighbourhood));
        }
        Self::from_points(points, n, top, entry.unwrap_or(0))
    }

    /// Copies the graph built by `build`.
    pub(crate) fn from_graph(graph: &build::Graph) -> Self {
        let n = graph.levels.len();
        let points = (0..n as u32)
            .map(|id| {
                let level = usize::from(graph.levels[id as usize]);
                (
                    id,
                    (0..=level)
                        .map(|l| graph.neighbours(id, l).to_vec())
                        .collect(),
                )
            })
            .collect();
        let top = usize::from(graph.levels[graph.entry as usize]);
        Self::from_points(points, n, top, graph.entry)
    }

    /// The flat layout of the points `(item, its neighbours on each of its layers)`, `top` the
    /// entry point's level.
    fn from_points(
        mut points: Vec<(u32, Vec<Vec<u32>>)>,
        n: usize,
        top: usize,
        entry: u32,
    ) -> Self {
        let mut lists: Vec<Vec<Vec<u32>>> = vec![Vec::new(); top + 1];
        lists[0] = vec![Vec::new(); n];
        let mut nodes: Vec<Vec<u32>> = vec![Vec::new(); top + 1];
        // Upper layers are indexed by rank among the ascending ids on the layer.
        points.sort_unstable_by_key(|p| p.0);
        for (id, neighbourhood) in &points {
            for layer_nodes in nodes.iter_mut().take(neighbourhood.len()).skip(1) {
                layer_nodes.push(*id);
            }
        }
        for layer in 1..=top {
            lists[layer] = Vec::with_capacity(nodes[layer].len());
        }
        for (id, neighbourhood) in points {
            for (layer, ids) in neighbourhood.into_iter().enumerate() {
                if layer == 0 {
                    lists[0][id as usize] = ids;
                } else {
                    lists[layer].push(ids);
                }
            }
        }
        let bottom = Bottom::from_lists(&lists[0]);
        lists[0].clear();
        let layers = lists
            .iter()
            .zip(nodes)
            .map(|(l, nodes)| Adjacency::from_lists(nodes, l))
            .collect();
        Self {
            bottom,
            layers,
            entry,
        }
    }

    /// The level of the entry point.
    #[cfg(test)]
    pub(crate) fn top_level(&self) -> usize {
        self.layers.len() - 1
    }

    /// The entry point's item id.
    pub(crate) fn entry_point(&self) -> u32 {
        self.entry
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.bottom.links.len() / self.bottom.stride.max(1)
    }

    /// The top layer of every item (the highest layer whose node list holds it).
    pub(crate) fn levels(&self) -> Vec<u8> {
        let mut levels = vec![0u8; self.len()];
        for (layer, adjacency) in self.layers.iter().enumerate().skip(1) {
            for &id in &adjacency.nodes {
                levels[id as usize] = layer as u8;
            }
        }
        levels
    }

    /// Heap bytes of the layout (for the memory figures).
    pub(crate) fn heap_bytes(&self) -> usize {
        let u32s = self.bottom.links.len()
            + self
                .layers
                .iter()
                .map(|a| a.nodes.len() + a.offsets.len() + a.neighbours.len())
                .sum::<usize>();
        u32s * std::mem::size_of::<u32>()
    }

    /// The neighbours of `item` on `layer` (empty when it is not on the layer).
    pub(crate) fn neighbours(&self, layer: usize, item: u32) -> &[u32] {
        if layer == 0 {
            self.bottom.of(item)
        } else {
            self.layers[layer].of_item(item)
        }
    }

    /// Up to `ef` allowed items nearest `query` by dot product (unsorted), from the items
    /// `items` (row-major, `dim` columns). `excluded` must be sorted.
    pub(crate) fn search(
        &self,
        items: &[f32],
        dim: usize,
        query: &[f32],
        ef: usize,
        excluded: &[u32],
    ) -> Vec<Scored> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            kernels::dispatch(Search {
                graph: self,
                items,
                dim,
                query,
                ef,
                excluded,
                scratch: &mut scratch,
            })
        })
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Per-thread search state reused across queries.
#[derive(Debug, Default)]
struct Scratch {
    /// `visited[i] == generation` when item `i` was reached in the current query.
    visited: Vec<u32>,
    /// `excluded[i] == generation` when item `i` is excluded from the current query.
    excluded: Vec<u32>,
    generation: u32,
    candidates: BinaryHeap<Entry>,
    results: BinaryHeap<Reverse<Entry>>,
    /// Unvisited neighbours of the node being expanded, scored together.
    fresh: Vec<u32>,
}

impl Scratch {
    /// Starts a query over `n` items: a new generation, resized stamps and empty heaps.
    fn begin(&mut self, n: usize) {
        if self.visited.len() != n {
            self.visited = vec![0; n];
            self.excluded = vec![0; n];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.visited.fill(0);
            self.excluded.fill(0);
            self.generation = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }
}

/// A scored item in a heap: ordered by score, ties by the lower id ranking higher (as
/// `topk::rank_cmp`), so the search is a deterministic function of its inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) score: f32,
    pub(crate) id: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.id.cmp(&self.id))
    }
}

struct Search<'a> {
    graph: &'a FlatGraph,
    items: &'a [f32],
    dim: usize,
    query: &'a [f32],
    ef: usize,
    excluded: &'a [u32],
    scratch: &'a mut Scratch,
}

impl WithSimd for Search<'_> {
    type Output = Vec<Scored>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<Scored> {
        let Self {
            graph,
            items,
            dim,
            query,
            ef,
            excluded,
            scratch,
        } = self;
        let k = Kernels(simd);
        let n = items.len() / dim;
        scratch.begin(n);
        let generation = scratch.generation;
        for &id in excluded {
            if (id as usize) < n {
                scratch.excluded[id as usize] = generation;
            }
        }

        // Greedy descent through the upper layers: one pass over the pivot's neighbours per
        // layer, as hnsw_rs descends (and as it inserted), so the bottom-layer search starts
        // where hnsw_rs's would.
        let mut best = graph.entry;
        let mut best_score = score(k, items, dim, query, best);
        for layer in graph.layers[1..].iter().rev() {
            let pivot = best;
            for &nb in layer.of_item(pivot) {
                let s = score(k, items, dim, query, nb);
                if s > best_score {
                    best = nb;
                    best_score = s;
                }
            }
        }

        // Best-first search on layer 0.
        let bottom = &graph.bottom;
        let has_exclusions = !excluded.is_empty();
        let ef = ef.max(1);
        let Scratch {
            visited,
            excluded: excluded_stamp,
            candidates,
            results,
            fresh,
            ..
        } = scratch;
        visited[best as usize] = generation;
        let start = Entry {
            score: best_score,
            id: best,
        };
        candidates.push(start);
        if excluded_stamp[best as usize] != generation {
            results.push(Reverse(start));
        }
        while let Some(current) = candidates.pop() {
            if results.len() >= ef
                && let Some(Reverse(worst)) = results.peek()
                && current.score < worst.score
            {
                break;
            }
            fresh.clear();
            for &nb in bottom.of(current.id) {
                let seen = &mut visited[nb as usize];
                if *seen != generation {
                    *seen = generation;
                    fresh.push(nb);
                }
            }
            for &nb in fresh.iter() {
                let s = score(k, items, dim, query, nb);
                let entry = Entry { score: s, id: nb };
                if results.len() >= ef
                    && let Some(Reverse(worst)) = results.peek()
                    && entry <= *worst
                {
                    continue;
                }
                candidates.push(entry);
                if !has_exclusions || excluded_stamp[nb as usize] != generation {
                    results.push(Reverse(entry));
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(results.len());
        for Reverse(e) in results.drain() {
            out.push(Scored {
                item: e.id,
                score: e.score,
            });
        }
        out
    }
}

/// The dot product of `query` with item `id` (plain function, not a closure, so that it is
/// inlined into the dispatched search with its instruction set).
#[inline(always)]
fn score<S: Simd>(k: Kernels<S>, items: &[f32], dim: usize, query: &[f32], id: u32) -> f32 {
    let start = id as usize * dim;
    k.dot(query, &items[start..start + dim])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_lists_round_trip_through_csr() {
        let lists = vec![vec![1, 2], vec![], vec![0]];
        let adj = Adjacency::from_lists(vec![3, 7, 9], &lists);
        assert_eq!(adj.of_rank(0), &[1, 2]);
        assert!(adj.of_rank(1).is_empty());
        assert_eq!(adj.of_item(9), &[0]);
        assert_eq!(adj.of_item(3), &[1, 2]);
        assert!(adj.of_item(4).is_empty());
    }

    #[test]
    fn bottom_rows_hold_each_list_whatever_its_length() {
        let lists = vec![vec![4, 1], vec![], vec![0, 2, 3]];
        let bottom = Bottom::from_lists(&lists);
        assert_eq!(bottom.stride, 4);
        for (i, list) in lists.iter().enumerate() {
            assert_eq!(bottom.of(i as u32), list.as_slice());
        }
    }

    #[test]
    fn entries_order_by_score_then_lower_id_first() {
        let a = Entry { score: 1.0, id: 5 };
        let b = Entry { score: 1.0, id: 2 };
        let c = Entry { score: 0.5, id: 0 };
        assert!(b > a && a > c);
        let mut heap: BinaryHeap<Entry> = [a, b, c].into_iter().collect();
        assert_eq!(heap.pop().unwrap().id, 2);
        assert_eq!(heap.pop().unwrap().id, 5);
        assert_eq!(heap.pop().unwrap().id, 0);
    }
}
