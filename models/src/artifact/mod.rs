//! The versioned model artifact: what the pipeline publishes and the engine serves.
//!
//! ```text
//! <models_dir>/
//!   current                  the name of the current version, one line
//!   <version>/
//!     manifest.json          Manifest: parameters, counts, metrics, checksums
//!     user_factors.npy       f32 users x factors (NumPy format 1.0, little-endian, C order)
//!     item_factors.npy       f32 items x factors
//!     user_ids.txt           one raw id per line, in index order
//!     item_ids.txt
//!     popularity.npy         u32 training interactions per item
//!     index.hnsw.graph       hnsw_rs dump of the item index
//!     index.hnsw.data
//!     report.json, report.md, *.svg   (not checksummed)
//!   .staging-<version>/      a version being written (or abandoned by a crash)
//! ```
//!
//! [`publish`] writes a version so that a reader never sees it half-written, and
//! [`Artifact::load`] verifies every checksum and dimension before returning anything.

mod ids;
mod manifest;
mod npy;
mod read;
mod write;

pub use manifest::{CURRENT_FILE, Counts, FileEntry, MANIFEST_FILE, Manifest, SCHEMA_VERSION};
pub use read::{Artifact, current_version, load};
pub use write::{ArtifactContents, publish};

#[cfg(test)]
mod tests;
