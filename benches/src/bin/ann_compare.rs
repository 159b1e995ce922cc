//! Our side of `benches/compare/ann_compare.py`: builds an `AnnIndex` over `ITEMS_NPY`, searches
//! `QUERIES_NPY` on one thread at each `--ef`, and prints one JSON object (build seconds, resident
//! memory the build added per vector, recall@k against `TRUTH_NPY` and queries/s per `ef`).
//!
//! `ann_compare ITEMS_NPY QUERIES_NPY TRUTH_NPY [--m 16] [--ef-construction 200] [--k 10]
//! [--passes 3] [--ef 16 20 24 32 ...]`. The build's thread count is rayon's (`RAYON_NUM_THREADS`).
//! The truth file holds the exact top-k item ids of every query (`int32`, one row a query), as
//! the script computes them; recall counts the returned ids found in the query's row, exactly as
//! the script counts hnswlib's.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use models::ann::{AnnConfig, AnnIndex};

struct Args {
    items: PathBuf,
    queries: PathBuf,
    truth: PathBuf,
    m: usize,
    ef_construction: usize,
    k: usize,
    passes: usize,
    efs: Vec<usize>,
}

fn parse() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut args = Args {
        items: PathBuf::new(),
        queries: PathBuf::new(),
        truth: PathBuf::new(),
        m: 16,
        ef_construction: 200,
        k: 10,
        passes: 3,
        efs: vec![16, 20, 24, 32, 48, 64],
    };
    let mut it = std::env::args().skip(1).peekable();
    while let Some(arg) = it.next() {
        let one = |it: &mut std::iter::Peekable<std::iter::Skip<std::env::Args>>| {
            it.next()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("{arg} takes a whole number"))
        };
        match arg.as_str() {
            "--m" => args.m = one(&mut it)?,
            "--ef-construction" => args.ef_construction = one(&mut it)?,
            "--k" => args.k = one(&mut it)?,
            "--passes" => args.passes = one(&mut it)?,
            "--ef" => {
                args.efs.clear();
                while let Some(v) = it.peek().and_then(|v| v.parse::<usize>().ok()) {
                    args.efs.push(v);
                    it.next();
                }
            }
            _ if !arg.starts_with("--") => positional.push(PathBuf::from(arg)),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    let [items, queries, truth] = <[PathBuf; 3]>::try_from(positional)
        .map_err(|_| "usage: ann_compare ITEMS_NPY QUERIES_NPY TRUTH_NPY [options]".to_owned())?;
    args.items = items;
    args.queries = queries;
    args.truth = truth;
    Ok(args)
}

/// Resident set size of this process in bytes (Linux), 0 where unknown.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let read = |p: &PathBuf| {
        benches::summary::read_npy_f32(p).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        })
    };
    let items = read(&args.items);
    let queries = read(&args.queries);
    let truth: Vec<HashSet<u32>> = read(&args.truth)
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&x| x as u32).collect())
        .collect();
    let config = AnnConfig {
        max_connections: args.m,
        ef_construction: args.ef_construction,
        ..AnnConfig::default()
    };
    let before = rss_bytes();
    let start = Instant::now();
    let index = AnnIndex::build(items.view(), &config).expect("build the index");
    let build_secs = start.elapsed().as_secs_f64();
    let added = rss_bytes().saturating_sub(before);
    eprintln!(
        "ours: built {} x {} in {build_secs:.1} s",
        items.nrows(),
        items.ncols()
    );

    let mut rows = Vec::new();
    for &ef in &args.efs {
        let mut best = f64::INFINITY;
        let mut hits = 0;
        for _ in 0..args.passes.max(1) {
            let start = Instant::now();
            hits = 0;
            for (q, t) in queries.rows().into_iter().zip(&truth) {
                let found = index.search_with_ef(q, args.k, ef, &[]);
                hits += found.iter().filter(|s| t.contains(&s.item)).count();
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        let relevant: usize = truth.iter().map(HashSet::len).sum();
        let recall = hits as f64 / relevant.max(1) as f64;
        let qps = queries.nrows() as f64 / best;
        eprintln!("ours: ef {ef}: recall@{} {recall:.4}, {qps:.0} q/s", args.k);
        rows.push(serde_json::json!({"ef": ef, "recall": recall, "qps": qps}));
    }
    let out = serde_json::json!({
        "library": "social-live",
        "build_secs": build_secs,
        "build_threads": rayon_threads(),
        "rss_bytes_per_vector": added as f64 / items.nrows() as f64,
        "search": rows,
    });
    // The one line of output the script parses (stdout; progress goes to stderr).
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{out}").expect("write the result");
}

/// The build's thread count as rayon sees it (`RAYON_NUM_THREADS`, else the cores).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}
