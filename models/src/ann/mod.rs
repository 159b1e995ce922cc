//! Approximate maximum-inner-product search over item vectors: an HNSW graph of our own build,
//! in hnsw_rs's file format.
//!
//! The graph is an HNSW index under inner-product dissimilarity (`1 - a·b`, hnsw_rs's `DistDot`
//! and hnswlib's `ip` space), which orders items exactly by dot product for every query (the
//! `mips` module has the details, and why this is used rather than a reduction to cosine search).
//! The index keeps its own copy of the original item vectors and reports true dot products as
//! scores.
//!
//! The builder is ours (`build`): batched and parallel on rayon, cancellable and reporting
//! progress between batches, and deterministic whatever the thread count (the same items give
//! the same graph and byte-identical dump files). It writes the graph straight into the read-only
//! serving layout of flat arrays (`flat`) that every search walks, with no allocation per query
//! beyond the result (and a sorted copy of unsorted exclusions). Dumps are written by `dump` in
//! hnsw_rs 0.3's format and loaded through hnsw_rs's loader (after `validate` checks them), so
//! artifacts built by hnsw_rs before still load.

mod build;
mod dump;
mod flat;
mod mips;
mod validate;

pub use build::{BuildControl, BuildProgress};

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::topk::{Scored, rank_cmp, sorted_exclusions, top_k_dot};

/// Suffixes of the two files of a dump.
const GRAPH_SUFFIX: &str = ".hnsw.graph";
const DATA_SUFFIX: &str = ".hnsw.data";

/// HNSW build and search parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AnnConfig {
    /// Links per node on the upper layers (twice that on the bottom layer); 1..=255.
    /// Default [`AnnConfig::DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Candidate list size while inserting. Default [`AnnConfig::DEFAULT_EF_CONSTRUCTION`].
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to `k` when smaller). Default
    /// [`AnnConfig::DEFAULT_EF_SEARCH`].
    pub ef_search: usize,
}

impl AnnConfig {
    /// Default [`max_connections`](Self::max_connections): 16.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
    /// Default [`ef_construction`](Self::ef_construction): 200.
    pub const DEFAULT_EF_CONSTRUCTION: usize = 200;
    /// Default [`ef_search`](Self::ef_search): 64.
    pub const DEFAULT_EF_SEARCH: usize = 64;

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMaxConnections`] outside `1..=255` (hnsw_rs stores it in a byte and
    /// exits the process above 256), [`Error::ZeroEfConstruction`], [`Error::ZeroEfSearch`].
    pub fn check(&self) -> Result<()> {
        if !(1..=255).contains(&self.max_connections) {
            return Err(Error::InvalidMaxConnections {
                got: self.max_connections,
            });
        }
        if self.ef_construction == 0 {
            return Err(Error::ZeroEfConstruction);
        }
        if self.ef_search == 0 {
            return Err(Error::ZeroEfSearch);
        }
        Ok(())
    }
}

impl Default for AnnConfig {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            ef_construction: Self::DEFAULT_EF_CONSTRUCTION,
            ef_search: Self::DEFAULT_EF_SEARCH,
        }
    }
}

/// An HNSW index answering top-K dot-product queries over a fixed set of item vectors.
///
/// Searching takes `&self` and is safe from many threads at once.
pub struct AnnIndex {
    /// The original item vectors (standard layout), for exact scores.
    items: Array2<f32>,
    /// The graph in flat arrays, which every search walks.
    flat: flat::FlatGraph,
    config: AnnConfig,
}

impl fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnnIndex")
            .field("len", &self.len())
            .field("dim", &self.dim())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AnnIndex {
    /// Builds the index over the rows of `items` (see [`build_with`](Self::build_with)), on
    /// rayon's current thread pool, without a stop flag or progress.
    ///
    /// # Errors
    ///
    /// As [`build_with`](Self::build_with).
    pub fn build(items: ArrayView2<'_, f32>, config: &AnnConfig) -> Result<Self> {
        Ok(Self::build_with(items, config, &BuildControl::default())?
            .expect("a build without a stop flag runs to the end"))
    }

    /// Builds the index over the rows of `items`, inserting them in row order in batches planned
    /// in parallel on rayon's current thread pool (run it inside `ThreadPool::install` to choose
    /// the threads). The graph depends on the items and the configuration only: the same items
    /// give the same graph and the same dump files whatever the thread count. Keeps an owned copy
    /// of `items`.
    ///
    /// `control.stop` is checked between batches (a few hundred per 100k items) and
    /// `control.progress` called after each; returns `Ok(None)` once the stop flag is seen.
    ///
    /// # Errors
    ///
    /// Configuration errors from [`AnnConfig::check`]; [`Error::EmptyIndex`] without rows;
    /// [`Error::NonFiniteValue`] for a NaN or infinite coordinate.
    pub fn build_with(
        items: ArrayView2<'_, f32>,
        config: &AnnConfig,
        control: &BuildControl<'_>,
    ) -> Result<Option<Self>> {
        config.check()?;
        check_items(items)?;
        let items = items.as_standard_layout().into_owned();
        let Some(mut graph) = build::build(
            items.as_slice().expect("standard layout is contiguous"),
            items.ncols(),
            config.max_connections,
            config.ef_construction,
            control,
        ) else {
            tracing::debug!(items = items.nrows(), "HNSW build stopped");
            return Ok(None);
        };
        tracing::debug!(
            items = items.nrows(),
            dim = items.ncols(),
            "built HNSW index"
        );
        dump::order_as_stored(&mut graph, items.view());
        let flat = flat::FlatGraph::from_graph(&graph);
        Ok(Some(Self {
            items,
            flat,
            config: config.clone(),
        }))
    }

    /// Heap bytes the index holds: its item vectors and its graph.
    pub fn heap_bytes(&self) -> usize {
        self.items.len() * std::mem::size_of::<f32>() + self.flat.heap_bytes()
    }

    /// Number of indexed items.
    pub fn len(&self) -> usize {
        self.items.nrows()
    }

    /// Whether the index holds no items (never true: building an empty index is an error).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimension of the item vectors.
    pub fn dim(&self) -> usize {
        self.items.ncols()
    }

    /// The configuration the index was built or loaded with.
    pub fn config(&self) -> &AnnConfig {
        &self.config
    }

    /// The indexed item vectors.
    pub fn items(&self) -> ArrayView2<'_, f32> {
        self.items.view()
    }

    /// The approximate top `k` items by dot product with `query`, skipping `exclude`, searched
    /// with the configured `ef_search`. See [`search_with_ef`](Self::search_with_ef).
    ///
    /// # Panics
    ///
    /// Panics if `query.len() != self.dim()`.
    pub fn search(&self, query: ArrayView1<'_, f32>, k: usize, exclude: &[u32]) -> Vec<Scored> {
        self.search_with_ef(query, k, self.config.ef_search, exclude)
    }

    /// The approximate top `k` items by dot product with `query`, skipping `exclude` (sorted
    /// ascending; an unsorted slice is sorted into a copy).
    ///
    /// Searches the index's flat serving layout of the graph: a greedy descent through the upper
    /// layers, then a best-first search on the bottom layer holding the `max(ef, k)` best allowed
    /// items found. Excluded items still serve as stepping stones but never take a result slot,
    /// and the search goes on until it holds that many allowed items. Results carry their true
    /// dot products and are ranked as [`top_k_dot`] ranks them (descending score, ties by lower
    /// index). Should the part of the graph reachable from the entry point hold fewer than `k`
    /// allowed items while more exist, or the query be zero or non-finite (it has no direction),
    /// the answer is [`top_k_dot`]'s, exactly.
    ///
    /// # Panics
    ///
    /// Panics if `query.len() != self.dim()`.
    pub fn search_with_ef(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
        ef: usize,
        exclude: &[u32],
    ) -> Vec<Scored> {
        let (exclude, wanted) = self.prepare(query, k, exclude);
        if wanted == 0 {
            return Vec::new();
        }
        let n = self.len();
        let query = query.as_standard_layout();
        let q = query.as_slice().expect("standard layout is contiguous");
        if !mips::has_direction(q) {
            return top_k_dot(query.view(), self.items.view(), k, &exclude);
        }
        let items = self.items.as_slice().expect("kept in standard layout");
        let ef = ef.max(k).min(n);
        let mut scored = self.flat.search(items, self.dim(), q, ef, &exclude);
        if scored.len() < wanted {
            return top_k_dot(query.view(), self.items.view(), k, &exclude);
        }
        scored.sort_unstable_by(rank_cmp);
        scored.truncate(k);
        scored
    }

    /// What both searches do first: check the query's dimension, sort the exclusions, and
    /// count how many of the `k` results can exist (0: the answer is empty).
    fn prepare<'e>(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
        exclude: &'e [u32],
    ) -> (Cow<'e, [u32]>, usize) {
        assert_eq!(
            query.len(),
            self.dim(),
            "AnnIndex search: query dimension does not match the index"
        );
        let exclude = sorted_exclusions(exclude);
        let n = self.len();
        let wanted = k.min(n - count_distinct_below(&exclude, n));
        (exclude, wanted)
    }

    /// Writes the graph to `<dir>/<basename>.hnsw.graph` and `<dir>/<basename>.hnsw.data`
    /// (hnsw_rs's format, see the `dump` module) and returns the two paths. The item vectors are not written: pass
    /// them to [`load`](Self::load).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFileName`] if `basename` is not a plain file name,
    /// [`Error::Io`] if `dir` is not a directory or on a write error, [`Error::FileExists`] if
    /// either file exists (dumps never overwrite).
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<Vec<PathBuf>> {
        let paths = dump_paths(dir, basename)?;
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            ));
        }
        for path in &paths {
            if path.exists() {
                return Err(Error::FileExists { path: path.clone() });
            }
        }
        dump::write(
            &self.flat,
            self.items.view(),
            self.config.max_connections,
            self.config.ef_construction,
            &paths[0],
            &paths[1],
        )?;
        Ok(paths.to_vec())
    }

    /// Reloads an index written by [`dump`](Self::dump) for the item vectors it was built from.
    ///
    /// The dump is checked structurally before hnsw_rs reads it, and the reloaded graph is
    /// checked against `items` (every stored vector must be its item's, as [`build`](Self::build)
    /// stores it) and
    /// `config` (`max_connections` and `ef_construction`; `ef_search` is taken from `config`).
    ///
    /// hnsw_rs's loader ties the graph's lifetime to a borrow of the `HnswIo` reader, although
    /// without memory mapping (not used here) the graph owns all its data. To return an owned
    /// index without `unsafe`, the small reader (a path, a name and a counter, about 100 bytes)
    /// is leaked: one per load, negligible for an index reloaded when a model is published.
    ///
    /// # Errors
    ///
    /// Configuration and item errors as in [`build`](Self::build); [`Error::InvalidFileName`];
    /// [`Error::MissingFile`]; [`Error::Io`]; [`Error::CorruptIndex`] for a malformed dump;
    /// [`Error::IndexMismatch`] when the dump does not belong to `items` or `config`;
    /// [`Error::Hnsw`] if hnsw_rs fails.
    pub fn load(
        dir: &Path,
        basename: &str,
        items: ArrayView2<'_, f32>,
        config: &AnnConfig,
    ) -> Result<Self> {
        config.check()?;
        check_items(items)?;
        let [graph_path, data_path] = dump_paths(dir, basename)?;
        let read = |path: &Path| match std::fs::read(path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::MissingFile {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(Error::io(path, e)),
        };
        let summary = validate::check_dump(
            &read(&graph_path)?,
            &graph_path,
            &read(&data_path)?,
            &data_path,
        )?;
        let (n, d) = items.dim();
        let expect = |what, expected: usize, got: usize| {
            if expected == got {
                Ok(())
            } else {
                Err(Error::IndexMismatch {
                    what,
                    expected: expected.to_string(),
                    got: got.to_string(),
                })
            }
        };
        expect("points", n, summary.points)?;
        expect("dimension", d, summary.dimension)?;
        expect(
            "max_connections",
            config.max_connections,
            summary.max_connections,
        )?;
        expect(
            "ef_construction",
            config.ef_construction,
            summary.ef_construction,
        )?;

        let reader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, basename)));
        let graph: Hnsw<'static, f32, DistDot> =
            reader
                .load_hnsw::<f32, DistDot>()
                .map_err(|e| Error::Hnsw {
                    message: format!("{e:#}"),
                })?;
        let items = items.as_standard_layout().into_owned();
        check_graph_vectors(&graph, items.view())?;
        tracing::debug!(items = n, dim = d, "loaded HNSW index");
        let flat = flat::FlatGraph::from_hnsw(&graph, n);
        // hnsw_rs's structure (with its own copy of the vectors) is only the loader's: searches
        // walk `flat`.
        drop(graph);
        Ok(Self {
            items,
            flat,
            config: config.clone(),
        })
    }
}

/// Checks that every point of a reloaded graph holds its item's vector, each item once.
fn check_graph_vectors(graph: &Hnsw<'_, f32, DistDot>, items: ArrayView2<'_, f32>) -> Result<()> {
    let n = items.nrows();
    let max_norm = mips::max_norm(items);
    let mut seen = vec![false; n];
    for point in graph.get_point_indexation() {
        let id = point.get_origin_id();
        if id >= n || std::mem::replace(&mut seen[id], true) {
            return Err(Error::IndexMismatch {
                what: "item ids",
                expected: format!("each of 0..{n} once"),
                got: format!("id {id}"),
            });
        }
        let expected = mips::item_vector(items.row(id).iter().copied(), max_norm);
        if point.get_v() != expected.as_slice() {
            return Err(Error::IndexMismatch {
                what: "item vectors",
                expected: format!("the vector of item {id}"),
                got: "a different vector".to_owned(),
            });
        }
    }
    Ok(())
}

fn check_items(items: ArrayView2<'_, f32>) -> Result<()> {
    if items.nrows() == 0 {
        return Err(Error::EmptyIndex);
    }
    if let Some(((row, col), &value)) = items.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteValue {
            what: "item vectors",
            row,
            col,
            value,
        });
    }
    Ok(())
}

fn dump_paths(dir: &Path, basename: &str) -> Result<[PathBuf; 2]> {
    let plain = !basename.is_empty()
        && !basename.contains(['/', '\\'])
        && basename != "."
        && basename != "..";
    if !plain {
        return Err(Error::InvalidFileName {
            name: basename.to_owned(),
        });
    }
    Ok([
        dir.join(format!("{basename}{GRAPH_SUFFIX}")),
        dir.join(format!("{basename}{DATA_SUFFIX}")),
    ])
}

/// Number of distinct values below `n` in a sorted slice.
fn count_distinct_below(sorted: &[u32], n: usize) -> usize {
    let mut count = 0;
    let mut last = None;
    for &v in sorted.iter().take_while(|&&v| (v as usize) < n) {
        if last != Some(v) {
            count += 1;
            last = Some(v);
        }
    }
    count
}

/// Mean recall@k of `index` against exact [`top_k_dot`] over the rows of `queries`.
///
/// `excludes` is either empty (no exclusions) or holds one sorted exclusion list per query.
/// A returned item counts as a hit when its exact score reaches the k-th exact score, so ties at
/// the cut-off are not counted as misses. Returns hits / relevant over all queries (1.0 when no
/// query has any candidate).
///
/// # Panics
///
/// Panics if `excludes` is neither empty nor one list per query, or on a dimension mismatch.
pub fn recall_at_k(
    index: &AnnIndex,
    items: ArrayView2<'_, f32>,
    queries: ArrayView2<'_, f32>,
    excludes: &[Vec<u32>],
    k: usize,
) -> f64 {
    assert!(
        excludes.is_empty() || excludes.len() == queries.nrows(),
        "recall_at_k: one exclusion list per query, or none"
    );
    let counts: Vec<(usize, usize)> = (0..queries.nrows())
        .into_par_iter()
        .map(|i| {
            let exclude = excludes.get(i).map_or(&[][..], Vec::as_slice);
            let query = queries.row(i);
            let truth = top_k_dot(query, items, k, exclude);
            let Some(cutoff) = truth.last().map(|s| s.score) else {
                return (0, 0);
            };
            let found = index.search(query, k, exclude);
            let hits = found
                .iter()
                .filter(|s| s.score >= cutoff || truth.iter().any(|t| t.item == s.item))
                .count();
            (hits.min(truth.len()), truth.len())
        })
        .collect();
    let (hits, relevant) = counts
        .iter()
        .fold((0, 0), |(h, r), &(hi, ri)| (h + hi, r + ri));
    if relevant == 0 {
        1.0
    } else {
        hits as f64 / relevant as f64
    }
}

#[cfg(test)]
mod tests;
