//! Integration tests of the pipeline: whole runs on small data.

mod content;
mod data;
mod determinism;
mod export;
mod files;
mod ml100k;
mod runs;
mod tune;
