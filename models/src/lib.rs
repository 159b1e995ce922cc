//! Recommendation models for Social Live and the format they are published in.
//!
//! - [`sparse`]: the user × item interaction matrix ([`CsrMatrix`](sparse::CsrMatrix)).
//! - [`als`]: implicit-feedback ALS (conjugate gradient or exact solves, seeded, deterministic).
//! - [`popular`]: the MostPopular baseline.
//! - [`topk`]: exact top-K by dot product with exclusions, the oracle every index is tested
//!   against.
//! - [`ann`]: the HNSW index for maximum-inner-product search over item vectors.
//! - [`content`]: the content encoder, a post's vector from its topics and text (ridge
//!   regression onto the trained item vectors), for posts the model has not seen.
//! - [`artifact`]: the versioned model artifact, its atomic publisher and its verifying loader.
//!
//! Everything random takes a seed, and parallel code only parallelises independent rows, so the
//! same inputs give bit-identical models on a given machine. The library never prints; it logs
//! through `tracing`.
//!
//! # Example
//!
//! Fit ALS on a tiny interaction matrix and recommend the best unseen items for a user:
//!
//! ```
//! use models::als::AlsParams;
//! use models::sparse::CsrMatrix;
//! use models::topk::top_k_dot;
//!
//! // Users 0 and 1 share tastes; user 2 likes something else.
//! let user_items = CsrMatrix::from_triplets(3, 5, &[
//!     (0, 0, 1.0), (0, 1, 1.0), (0, 2, 1.0),
//!     (1, 0, 1.0), (1, 1, 1.0),
//!     (2, 3, 1.0), (2, 4, 1.0),
//! ])?;
//! let params = AlsParams { factors: 4, iterations: 10, ..AlsParams::default() };
//! let model = params.check()?.fit(&user_items)?;
//!
//! // User 1 has seen items 0 and 1 (the exclusions must be sorted).
//! let (seen, _) = user_items.row(1);
//! let recs = top_k_dot(model.user_factors.row(1), model.item_factors.view(), 1, seen);
//! assert_eq!(recs[0].item, 2); // what their look-alike, user 0, also liked
//! # Ok::<(), models::error::Error>(())
//! ```

pub mod als;
pub mod ann;
pub mod artifact;
pub mod content;
pub mod error;
mod kernels;
pub mod popular;
pub mod sparse;
pub mod topk;
