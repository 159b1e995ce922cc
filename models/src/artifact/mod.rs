//! The versioned model artifact: what the pipeline publishes and the engine serves.
//!
//! ```text
//! <models_dir>/
//!   current                  the name of the current version, one line
//!   pinned                   versions retention keeps, one a line (optional)
//!   <version>/
//!     manifest.json          Manifest: parameters, counts, metrics, checksums
//!     user_factors.npy       f32 users x factors (NumPy format 1.0, little-endian, C order)
//!     item_factors.npy       f32 items x factors
//!     user_ids.txt           one raw id per line, in index order
//!     item_ids.txt
//!     popularity.npy         u32 training interactions per item
//!     index.hnsw.graph       hnsw_rs dump of the item index
//!     index.hnsw.data
//!     content_encoder.json   optional: the content encoder (feature rules, topic vocabulary),
//!     content_weights.npy      f32 (topics + buckets) x factors,
//!     content_idf.npy          f32 buckets,
//!     content_offset.npy       f32 factors; all four or none, checksummed like the rest
//!     report.json, report.md, *.svg, gate.json   (not checksummed)
//!   .staging-<version>/      a version being written (or abandoned by a crash)
//! ```
//!
//! [`publish`] writes a version so that a reader never sees it half-written, and
//! [`Artifact::load`] verifies every checksum and dimension before returning anything.
//! [`publish_with`] also writes the optional parts ([`OptionalContents`]); a version without
//! them loads with `None` in their place, so adding one needs no schema version change.

mod content;
mod ids;
mod manifest;
mod npy;
mod read;
mod versions;
mod write;

pub use manifest::{
    CURRENT_FILE, Counts, FileEntry, GATE_FILE, MANIFEST_FILE, Manifest, PINNED_FILE,
    SCHEMA_VERSION, check_version_name,
};
pub use read::{Artifact, current_version, load};
pub use versions::{
    Choice, GateDecision, GateHoldout, VersionEntry, describe, load_servable, pinned, prune,
    read_gate, set_pinned, versions,
};
pub use write::{
    ArtifactContents, OptionalContents, keep_with, publish, publish_with, set_current,
};

#[cfg(test)]
mod tests;
