//! Structural check of an hnsw_rs dump before hnsw_rs reads it.
//!
//! hnsw_rs's reader trusts its input: on a truncated or inconsistent file it panics (`unwrap`,
//! `assert`, out-of-range indexing), calls `std::process::exit`, or reinterprets a short buffer as
//! a longer one. So the loader first walks both files here, mirroring hnsw_rs 0.3's format
//! (`hnswio.rs`: native-endian integers, `usize` counts, `Full` dump mode, description magic v4),
//! and turns every inconsistency into [`Error::CorruptIndex`].

use std::path::Path;

use crate::error::{Error, Result};

const MAGIC_DESCRIPTION_V4: u32 = 0x002a_6779;
const MAGIC_LAYER: u32 = 0x000a_676f;
const MAGIC_POINT: u32 = 0x000a_678f;
const MAGIC_DATA: u32 = 0xa67f_0000;
/// hnsw_rs's `NB_LAYER_MAX`.
const MAX_LAYERS: u8 = 16;
/// hnsw_rs's limit on the distance and type names.
const MAX_NAME_LEN: usize = 256;
/// `DumpMode::Full`.
const DUMP_MODE_FULL: u8 = 1;

/// What a valid dump describes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DumpSummary {
    pub(crate) max_connections: usize,
    pub(crate) ef_construction: usize,
    pub(crate) points: usize,
    pub(crate) dimension: usize,
}

/// A bounds-checked reader over a byte buffer.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::CorruptIndex {
            path: self.path.to_path_buf(),
            reason: format!("{} (at byte {})", reason.into(), self.pos),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt("unexpected end of file"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_ne_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_ne_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_ne_bytes(self.array()?))
    }

    fn usize(&mut self) -> Result<usize> {
        Ok(usize::from_ne_bytes(self.array()?))
    }

    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_ne_bytes(self.array()?))
    }

    fn expect_u32(&mut self, want: u32, what: &str) -> Result<()> {
        let got = self.u32()?;
        if got != want {
            return Err(self.corrupt(format!("bad {what} magic {got:#x}")));
        }
        Ok(())
    }

    /// A count that must fit in the remaining bytes at `min_bytes_each`, so a corrupt count
    /// cannot trigger a huge allocation.
    fn count(&mut self, min_bytes_each: usize, what: &str) -> Result<usize> {
        let n = self.usize()?;
        if n.saturating_mul(min_bytes_each) > self.bytes.len() - self.pos {
            return Err(self.corrupt(format!("{what} count {n} exceeds the file size")));
        }
        Ok(n)
    }

    fn name(&mut self, what: &str) -> Result<&'a str> {
        let len = self.usize()?;
        if len > MAX_NAME_LEN {
            return Err(self.corrupt(format!("{what} name length {len}")));
        }
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| self.corrupt(format!("{what} name is not UTF-8")))
    }

    fn finish(&self) -> Result<()> {
        if self.pos != self.bytes.len() {
            return Err(self.corrupt("trailing bytes"));
        }
        Ok(())
    }
}

/// Checks an hnsw_rs dump of `f32` vectors under `DistDot`: `graph` and `data` are the contents
/// of `<basename>.hnsw.graph` and `<basename>.hnsw.data`.
///
/// # Errors
///
/// [`Error::CorruptIndex`] naming the first inconsistency found.
pub(crate) fn check_dump(
    graph: &[u8],
    graph_path: &Path,
    data: &[u8],
    data_path: &Path,
) -> Result<DumpSummary> {
    let g = &mut Cursor {
        bytes: graph,
        pos: 0,
        path: graph_path,
    };
    g.expect_u32(MAGIC_DESCRIPTION_V4, "description")?;
    if g.u8()? != DUMP_MODE_FULL {
        return Err(g.corrupt("not a full dump"));
    }
    let max_connections = usize::from(g.u8()?);
    let level_scale = f64::from_ne_bytes(g.array()?);
    if !(level_scale.is_finite() && level_scale > 0.0) {
        return Err(g.corrupt(format!("bad level scale {level_scale}")));
    }
    if g.u8()? != MAX_LAYERS {
        return Err(g.corrupt("description layer count is not 16"));
    }
    let ef_construction = g.usize()?;
    let points = g.usize()?;
    let dimension = g.usize()?;
    let dist_name = g.name("distance")?;
    if dist_name.rsplit("::").next() != Some("DistDot") {
        return Err(g.corrupt(format!("distance {dist_name:?} is not DistDot")));
    }
    let type_name = g.name("type")?;
    if type_name != std::any::type_name::<f32>() {
        return Err(g.corrupt(format!("element type {type_name:?} is not f32")));
    }

    let d = &mut Cursor {
        bytes: data,
        pos: 0,
        path: data_path,
    };
    d.expect_u32(MAGIC_DATA, "data header")?;
    if d.usize()? != dimension {
        return Err(d.corrupt("data dimension differs from the graph's"));
    }
    let vector_bytes = dimension
        .checked_mul(std::mem::size_of::<f32>())
        .ok_or_else(|| d.corrupt("dimension overflows"))?;

    let layers = g.u8()?;
    if layers > MAX_LAYERS {
        return Err(g.corrupt(format!("{layers} layers")));
    }
    let mut layer_sizes = Vec::with_capacity(usize::from(layers));
    // Neighbour references, checked once every layer's size is known.
    let mut references: Vec<(u8, i32)> = Vec::new();
    for layer in 0..layers {
        g.expect_u32(MAGIC_LAYER, "layer")?;
        // A point record has at least its header and 16 neighbour counts.
        let size = g.count(4 + 8 + 1 + 4 + 8 * usize::from(MAX_LAYERS), "point")?;
        for rank in 0..size {
            g.expect_u32(MAGIC_POINT, "point")?;
            let origin = g.usize()?;
            let (point_layer, point_rank) = (g.u8()?, g.i32()?);
            if point_layer != layer || usize::try_from(point_rank).ok() != Some(rank) {
                return Err(g.corrupt(format!(
                    "point ({point_layer}, {point_rank}) stored at ({layer}, {rank})"
                )));
            }
            for _ in 0..MAX_LAYERS {
                let neighbours = g.count(8 + 1 + 4 + 4, "neighbour")?;
                for _ in 0..neighbours {
                    let _origin = g.usize()?;
                    references.push((g.u8()?, g.i32()?));
                    let distance = g.f32()?;
                    if !distance.is_finite() {
                        return Err(g.corrupt("non-finite neighbour distance"));
                    }
                }
            }
            d.expect_u32(MAGIC_DATA, "data point")?;
            if d.u64()? != origin as u64 {
                return Err(d.corrupt(format!("data point out of step with graph point {origin}")));
            }
            if d.u64()? != vector_bytes as u64 {
                return Err(d.corrupt("vector length differs from the dimension"));
            }
            d.take(vector_bytes)?;
        }
        layer_sizes.push(size);
    }
    let valid = |(layer, rank): (u8, i32)| {
        layer_sizes
            .get(usize::from(layer))
            .is_some_and(|&size| usize::try_from(rank).is_ok_and(|r| r < size))
    };
    if let Some(&bad) = references.iter().find(|&&r| !valid(r)) {
        return Err(g.corrupt(format!("neighbour reference {bad:?} to no point")));
    }
    let _entry_origin = g.usize()?;
    let entry = (g.u8()?, g.i32()?);
    if !valid(entry) {
        return Err(g.corrupt(format!("entry point {entry:?} is no point")));
    }
    let total: usize = layer_sizes.iter().sum();
    if total != points {
        return Err(g.corrupt(format!("{total} points stored, {points} described")));
    }
    g.finish()?;
    d.finish()?;
    Ok(DumpSummary {
        max_connections,
        ef_construction,
        points,
        dimension,
    })
}
