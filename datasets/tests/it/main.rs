//! Integration tests of the `datasets` crate: one binary, one module per concern.

#[cfg(feature = "polars")]
mod loader;
#[cfg(feature = "polars")]
mod pipeline;
mod synthetic;
