//! Writes a graph of ours in hnsw_rs 0.3's dump format (`Full` mode, description magic v4), so
//! that artifacts keep one format whichever builder made them: older artifacts, built and dumped
//! by hnsw_rs, still load, and hnsw_rs's own loader and search read ours (tested).
//!
//! The layout mirrors `validate` (which checks it on load): native-endian integers, `usize`
//! counts. Points are stored layer by layer at their own level, ascending by item id within a
//! layer, so the entry point (the lowest id on the top level) is rank 0 of the top layer, where
//! `FlatGraph::from_hnsw` finds it. Every point carries 16 neighbour lists (empty above its level),
//! each neighbour as (item id, its layer, its rank there, the `DistDot` distance of the vectors
//! stored in the data file). The data file holds the items as `mips::item_vector` maps them, which
//! is what hnsw_rs's builder stored and what the loader checks bit for bit.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;

use hnsw_rs::anndists::dist::DistDot;
use ndarray::ArrayView2;

use rayon::prelude::*;

use super::build::{Graph, MAX_LEVEL};
use super::flat::FlatGraph;
use super::mips;
use crate::error::{Error, Result};
use crate::kernels;

const MAGIC_DESCRIPTION_V4: u32 = 0x002a_6779;
const MAGIC_LAYER: u32 = 0x000a_676f;
const MAGIC_POINT: u32 = 0x000a_678f;
const MAGIC_DATA: u32 = 0xa67f_0000;
const DUMP_MODE_FULL: u8 = 1;

/// The vectors stored in the data file, row-major.
fn stored_vectors(items: ArrayView2<'_, f32>) -> Vec<f32> {
    let max_norm = mips::max_norm(items);
    let mut out = Vec::with_capacity(items.len());
    for row in items.rows() {
        out.extend(mips::item_vector(row.iter().copied(), max_norm));
    }
    out
}

/// The `DistDot` distance hnsw_rs is given for a link: `1 - a·b` of the stored vectors.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - kernels::dot(a, b)
}

/// Orders every list of `graph` as hnsw_rs's loader does (by the distance the dump stores,
/// nearest first; ties by id), so that a built index and its reloaded dump walk the same lists in
/// the same order.
pub(crate) fn order_as_stored(graph: &mut Graph, items: ArrayView2<'_, f32>) {
    let dim = items.ncols();
    let stored = stored_vectors(items);
    let row = |id: u32| &stored[id as usize * dim..][..dim];
    let order = |node: u32, list: &mut [u32]| {
        let mut keyed: Vec<(f32, u32)> = list
            .iter()
            .map(|&nb| (distance(row(node), row(nb)), nb))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (slot, (_, nb)) in list.iter_mut().zip(keyed) {
            *slot = nb;
        }
    };
    let stride = graph.stride();
    graph
        .bottom
        .par_chunks_mut(stride)
        .enumerate()
        .for_each(|(node, r)| {
            let len = r[0] as usize;
            order(node as u32, &mut r[1..=len]);
        });
    graph
        .upper
        .par_iter_mut()
        .enumerate()
        .for_each(|(node, layers)| {
            for list in layers {
                order(node as u32, list);
            }
        });
}

/// Writes `graph` over `items` to new files at `graph_path` and `data_path` (never overwriting).
///
/// # Errors
///
/// [`Error::FileExists`] if a file exists, [`Error::Io`] on a write error.
pub(crate) fn write(
    graph: &FlatGraph,
    items: ArrayView2<'_, f32>,
    max_connections: usize,
    ef_construction: usize,
    graph_path: &Path,
    data_path: &Path,
) -> Result<()> {
    let create = |path: &Path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map(BufWriter::new)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::FileExists {
                        path: path.to_path_buf(),
                    }
                } else {
                    Error::io(path, e)
                }
            })
    };
    let mut g = create(graph_path)?;
    let mut d = create(data_path)?;
    write_to(
        graph,
        items,
        max_connections,
        ef_construction,
        &mut g,
        &mut d,
    )
    .and_then(|()| g.flush())
    .map_err(|e| Error::io(graph_path, e))?;
    d.flush().map_err(|e| Error::io(data_path, e))
}

fn write_to(
    graph: &FlatGraph,
    items: ArrayView2<'_, f32>,
    max_connections: usize,
    ef_construction: usize,
    g: &mut impl Write,
    d: &mut impl Write,
) -> std::io::Result<()> {
    let (n, dim) = items.dim();
    let stored = stored_vectors(items);
    let row = |id: u32| &stored[id as usize * dim..][..dim];
    let levels = graph.levels();
    // Each point's place: (layer, rank in it), points ascending by id within their own layer.
    let mut by_layer: Vec<Vec<u32>> = vec![Vec::new(); MAX_LEVEL];
    let mut place = vec![(0u8, 0i32); n];
    for (id, &level) in levels.iter().enumerate() {
        let layer = &mut by_layer[usize::from(level)];
        place[id] = (level, layer.len() as i32);
        layer.push(id as u32);
    }

    g.write_all(&MAGIC_DESCRIPTION_V4.to_ne_bytes())?;
    g.write_all(&[DUMP_MODE_FULL, max_connections as u8])?;
    g.write_all(&(1.0 / (max_connections.max(2) as f64).ln()).to_ne_bytes())?;
    g.write_all(&[MAX_LEVEL as u8])?;
    for v in [ef_construction, n, dim] {
        g.write_all(&v.to_ne_bytes())?;
    }
    for name in [
        std::any::type_name::<DistDot>(),
        std::any::type_name::<f32>(),
    ] {
        g.write_all(&name.len().to_ne_bytes())?;
        g.write_all(name.as_bytes())?;
    }
    d.write_all(&MAGIC_DATA.to_ne_bytes())?;
    d.write_all(&dim.to_ne_bytes())?;

    g.write_all(&[MAX_LEVEL as u8])?;
    for (layer, ids) in by_layer.iter().enumerate() {
        g.write_all(&MAGIC_LAYER.to_ne_bytes())?;
        g.write_all(&ids.len().to_ne_bytes())?;
        for &id in ids {
            let (level, rank) = place[id as usize];
            g.write_all(&MAGIC_POINT.to_ne_bytes())?;
            g.write_all(&(id as usize).to_ne_bytes())?;
            g.write_all(&[level])?;
            g.write_all(&rank.to_ne_bytes())?;
            for l in 0..MAX_LEVEL {
                let list = if l <= layer {
                    graph.neighbours(l, id)
                } else {
                    &[]
                };
                g.write_all(&list.len().to_ne_bytes())?;
                for &nb in list {
                    let (nb_layer, nb_rank) = place[nb as usize];
                    let distance = distance(row(id), row(nb));
                    g.write_all(&(nb as usize).to_ne_bytes())?;
                    g.write_all(&[nb_layer])?;
                    g.write_all(&nb_rank.to_ne_bytes())?;
                    g.write_all(&distance.to_ne_bytes())?;
                }
            }
            let vector = row(id);
            d.write_all(&MAGIC_DATA.to_ne_bytes())?;
            d.write_all(&(id as u64).to_ne_bytes())?;
            d.write_all(&((vector.len() * 4) as u64).to_ne_bytes())?;
            for x in vector {
                d.write_all(&x.to_ne_bytes())?;
            }
        }
    }
    let entry = graph.entry_point();
    let (level, rank) = place[entry as usize];
    g.write_all(&(entry as usize).to_ne_bytes())?;
    g.write_all(&[level])?;
    g.write_all(&rank.to_ne_bytes())?;
    Ok(())
}
