#!/usr/bin/env python3
"""Measure hnswlib on the vectors of the `ann` benchmark, for the side-by-side table in BENCHMARKS.md.

Usage: hnswlib_search.py ITEMS_NPY QUERIES_NPY [--ef 10 16 32 64 128] [--m 16] [--ef-construction 200]
                         [--k 10] [--passes 3] [--out summary.json] [--index PATH]

ITEMS_NPY and QUERIES_NPY are written by the Rust benchmark:
    SOCIAL_LIVE_BENCH_DUMP=/tmp/vec cargo bench -p benches --bench ann
gives /tmp/vec/items_100000.npy and /tmp/vec/queries_100000.npy (f32, rows are vectors).

hnswlib's 'ip' space ranks by 1 - dot product on the raw vectors (no normalisation), which is the
maximum-inner-product search Social Live's index answers. Everything runs on one thread: the build
inserts serially (num_threads=1, as Social Live's serial hnsw_rs build), and queries go through one
batched knn_query call with num_threads=1 (no per-query Python overhead), best of --passes.
Recall@k is measured against exact top-k by dot product (NumPy), as `models::topk::top_k_dot`.
--index PATH keeps the built index: the first run builds and saves it there, later runs load it and
only search (so the timed search passes can be repeated on a quiet machine without the build).
Install: pip install hnswlib==0.8.0 numpy
"""

import argparse
import json
import time

import numpy as np


def exact_top_k(items, queries, k):
    truth = []
    for start in range(0, len(queries), 100):
        scores = queries[start:start + 100] @ items.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        for row, cand in zip(scores, part):
            truth.append(set(cand[np.argsort(-row[cand], kind="stable")].tolist()))
    return truth


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("items_npy")
    parser.add_argument("queries_npy")
    parser.add_argument("--ef", type=int, nargs="+", default=[10, 16, 32, 64, 128])
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument("--index", help="save the built index here, or load it if it exists")
    args = parser.parse_args()

    import importlib.metadata

    import hnswlib

    version = importlib.metadata.version("hnswlib")

    items = np.ascontiguousarray(np.load(args.items_npy), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(args.queries_npy), dtype=np.float32)
    n, dim = items.shape
    print(f"hnswlib {version}: {n} items x {dim}, {len(queries)} queries, "
          f"M={args.m}, ef_construction={args.ef_construction}, space ip, 1 thread")

    truth = exact_top_k(items, queries, args.k)

    import os

    index = hnswlib.Index(space="ip", dim=dim)
    build = None
    if args.index and os.path.exists(args.index):
        index.load_index(args.index, max_elements=n)
        print(f"loaded the index from {args.index} (build not timed)")
    else:
        start = time.perf_counter()
        index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction,
                         random_seed=args.seed)
        index.add_items(items, np.arange(n), num_threads=1)
        build = time.perf_counter() - start
        print(f"build: {build:.1f} s")
        if args.index:
            index.save_index(args.index)

    rows = []
    print(f"| ef | recall@{args.k} | queries/s (1 thread) |")
    print("|---:|---:|---:|")
    for ef in args.ef:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(args.passes):
            start = time.perf_counter()
            labels, _ = index.knn_query(queries, k=args.k, num_threads=1)
            best = min(best, time.perf_counter() - start)
        hits = sum(len(t.intersection(row.tolist())) for t, row in zip(truth, labels))
        recall = hits / sum(len(t) for t in truth)
        qps = len(queries) / best
        rows.append({"ef": ef, "recall_at_10": recall, "qps": qps})
        print(f"| {ef} | {recall:.4f} | {qps:.0f} |")

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"library": "hnswlib", "version": version, "n": n,
                       "dim": dim, "queries": len(queries), "m": args.m,
                       "ef_construction": args.ef_construction, "build_secs": build, "search": rows},
                      f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
