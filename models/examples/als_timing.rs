//! Times ALS sweeps on seeded synthetic data (default: about 1M interactions, 64 factors).
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p models --example als_timing -- \
//!     users=50000 items=20000 interactions=1000000 factors=64 iterations=5 cg_steps=3 \
//!     [dump=/tmp/als-data]
//! ```
//!
//! With `dump=DIR` it also writes the matrix as raw little-endian arrays (`rows.u32`, `cols.u32`,
//! `weights.f32`, `shape.txt`) so the same data can be timed with another implementation.
#![allow(clippy::print_stdout)] // An example reports on standard output.

use std::collections::HashMap;
use std::io::Write;

use models::als::AlsParams;
use models::sparse::CsrMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let get = |key: &str, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args
            .get(key)
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (n_users, n_items) = (get("users", 50_000)?, get("items", 20_000)?);
    let interactions = get("interactions", 1_000_000)?;

    // Users uniform, items skewed towards low indices (a popularity long tail).
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let triplets: Vec<(u32, u32, f32)> = (0..interactions)
        .map(|_| {
            let u = rng.random_range(0..n_users) as u32;
            let i = ((rng.random::<f64>().powi(2)) * n_items as f64) as u32;
            (u, i.min(n_items as u32 - 1), 1.0)
        })
        .collect();
    let matrix = CsrMatrix::from_triplets(n_users, n_items, &triplets)?;
    println!(
        "{} users x {} items, nnz {}, threads {}",
        n_users,
        n_items,
        matrix.nnz(),
        rayon::current_num_threads()
    );
    if let Some(dir) = args.get("dump") {
        dump(&matrix, std::path::Path::new(dir))?;
    }

    let params = AlsParams {
        factors: get("factors", 64)?,
        iterations: get("iterations", 5)?,
        cg_steps: get("cg_steps", 3)?,
        exact: get("exact", 0)? == 1,
        ..AlsParams::default()
    };
    let model = params.check()?.fit_with(&matrix, &mut |s| {
        println!(
            "sweep {:2}: {:8.1} ms  loss {:.6}",
            s.iteration,
            s.elapsed.as_secs_f64() * 1e3,
            s.loss
        );
    })?;
    println!(
        "final loss {:.6}",
        model.loss_history.last().unwrap_or(&f64::NAN)
    );
    Ok(())
}

fn dump(m: &CsrMatrix, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rows = Vec::with_capacity(m.nnz() * 4);
    for r in 0..m.n_rows() {
        for _ in m.row(r).0 {
            rows.extend_from_slice(&(r as u32).to_le_bytes());
        }
    }
    let cols: Vec<u8> = m.indices().iter().flat_map(|c| c.to_le_bytes()).collect();
    let vals: Vec<u8> = m.values().iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("rows.u32"), rows)?;
    std::fs::write(dir.join("cols.u32"), cols)?;
    std::fs::write(dir.join("weights.f32"), vals)?;
    let mut shape = std::fs::File::create(dir.join("shape.txt"))?;
    writeln!(shape, "{} {}", m.n_rows(), m.n_cols())
}
