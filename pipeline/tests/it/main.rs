//! Integration tests of the pipeline: whole runs on small data.

mod content;
mod data;
mod determinism;
mod export;
mod files;
mod gate;
mod ml100k;
mod runs;
mod tune;
