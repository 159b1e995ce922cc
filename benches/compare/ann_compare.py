#!/usr/bin/env python3
"""Social Live's HNSW index against hnswlib, side by side in one run, on seeded vector sets.

Usage (through ann_compare.sh, which makes the venv and builds our binary):
    ann_compare.py --ours PATH/ann_compare [--sets clustered64 als64 clustered128] [--n 200000]
                   [--queries 2000] [--ef 16 20 24 32 48 64] [--m 16] [--ef-construction 200]
                   [--threads 2] [--passes 3] [--seed 42] [--work DIR] [--out DIR]

Each set is generated from --seed with NumPy and written to --work as .npy files; the exact top-k
ids of every query by inner product (NumPy, float64 accumulation) are written beside them, and both
indexes are measured against those same ids (recall@k = ids found / k, summed over queries). Sets:

- clustered64 / clustered128: --n L2-normalised vectors in 1,000 Gaussian clusters (centres N(0, I),
  points centre + 0.5 N(0, I), then normalised); queries drawn the same way.
- als64: unnormalised maximum-inner-product vectors shaped like ALS item factors: clustered
  directions as above, each scaled by a log-normal "popularity" norm (sigma 0.5); queries are
  clustered user-like vectors with their own log-normal norms.

Both builds use --threads threads (ours through RAYON_NUM_THREADS) with M=--m and
ef_construction=--ef-construction; hnswlib uses space 'ip' on the raw vectors. Searches run on one
thread, one query at a time for ours and one batched knn_query(num_threads=1) for hnswlib (no
per-query Python overhead), best of --passes. Memory is the resident set the build added, per vector.
Writes --out/ann-compare.{json,md}.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def clustered(rng, n, dim, centres, sigma=0.5):
    labels = rng.integers(0, len(centres), n)
    x = centres[labels] + sigma * rng.standard_normal((n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def make_set(name, n, queries, seed):
    rng = np.random.default_rng(seed)
    dim = 128 if name.endswith("128") else 64
    centres = rng.standard_normal((1000, dim))
    items = clustered(rng, n, dim, centres)
    q = clustered(rng, queries, dim, centres)
    if name.startswith("als"):
        items *= rng.lognormal(0.0, 0.5, (n, 1))
        q *= rng.lognormal(0.0, 0.5, (queries, 1))
    elif not name.startswith("clustered"):
        sys.exit(f"unknown set {name}")
    return items.astype(np.float32), q.astype(np.float32)


def exact_top_k(items, queries, k):
    items64 = items.astype(np.float64)
    out = np.empty((len(queries), k), dtype=np.int32)
    for start in range(0, len(queries), 200):
        scores = queries[start:start + 200].astype(np.float64) @ items64.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        for i, (row, cand) in enumerate(zip(scores, part)):
            out[start + i] = cand[np.argsort(-row[cand], kind="stable")]
    return out


def run_hnswlib(items, queries, truth, args):
    import hnswlib

    n, dim = items.shape
    index = hnswlib.Index(space="ip", dim=dim)
    before = rss_bytes()
    start = time.perf_counter()
    index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction,
                     random_seed=args.seed)
    index.add_items(items, np.arange(n), num_threads=args.threads)
    build = time.perf_counter() - start
    added = rss_bytes() - before
    rows = []
    k = truth.shape[1]
    for ef in args.ef:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(args.passes):
            start = time.perf_counter()
            labels, _ = index.knn_query(queries, k=k, num_threads=1)
            best = min(best, time.perf_counter() - start)
        hits = sum(len(set(t.tolist()).intersection(row.tolist())) for t, row in zip(truth, labels))
        rows.append({"ef": ef, "recall": hits / truth.size, "qps": len(queries) / best})
        print(f"  hnswlib ef {ef}: recall {rows[-1]['recall']:.4f}, {rows[-1]['qps']:.0f} q/s",
              flush=True)
    return {"library": "hnswlib", "build_secs": build, "build_threads": args.threads,
            "rss_bytes_per_vector": added / n, "search": rows}


def run_ours(paths, args):
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    cmd = [args.ours, *paths, "--m", str(args.m), "--ef-construction", str(args.ef_construction),
           "--passes", str(args.passes), "--ef", *map(str, args.ef)]
    done = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout)


def at_recall(rows, target):
    """Queries/s at `target` recall, interpolated linearly in recall between measured efs."""
    rows = sorted(rows, key=lambda r: r["recall"])
    for lo, hi in zip(rows, rows[1:]):
        if lo["recall"] <= target <= hi["recall"]:
            if hi["recall"] == lo["recall"]:
                return hi["qps"]
            t = (target - lo["recall"]) / (hi["recall"] - lo["recall"])
            return lo["qps"] + t * (hi["qps"] - lo["qps"])
    if rows and rows[0]["recall"] >= target:
        return rows[0]["qps"]  # every measured ef reaches it: the fastest measured, a lower bound
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ours", required=True)
    p.add_argument("--sets", nargs="+", default=["clustered64", "als64", "clustered128"])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--ef", type=int, nargs="+", default=[16, 20, 24, 32, 48, 64])
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--work", default="/tmp/ann-compare")
    p.add_argument("--out", default=".")
    args = p.parse_args()

    import importlib.metadata
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    results = []
    md = [f"hnswlib {importlib.metadata.version('hnswlib')}; M={args.m}, "
          f"ef_construction={args.ef_construction}, builds on {args.threads} threads, searches on "
          f"1 thread, {args.queries} queries, best of {args.passes} passes, seed {args.seed}", ""]
    for name in args.sets:
        items, queries = make_set(name, args.n, args.queries, args.seed)
        truth = exact_top_k(items, queries, args.k)
        base = os.path.join(args.work, f"{name}_{args.n}_{args.seed}")
        paths = [f"{base}_items.npy", f"{base}_queries.npy", f"{base}_truth.npy"]
        for path, a in zip(paths, (items, queries, truth)):
            np.save(path, a)
        print(f"{name}: {args.n} x {items.shape[1]}", flush=True)
        ours = run_ours(paths, args)
        theirs = run_hnswlib(items, queries, truth, args)
        results.append({"set": name, "n": args.n, "dim": items.shape[1], "ours": ours,
                        "hnswlib": theirs})
        md += [f"### {name}: {args.n:,} x {items.shape[1]}", "",
               "| ef | ours recall@10 | ours q/s | hnswlib recall@10 | hnswlib q/s |",
               "|---:|---:|---:|---:|---:|"]
        for a, b in zip(ours["search"], theirs["search"]):
            md.append(f"| {a['ef']} | {a['recall']:.4f} | {a['qps']:,.0f} | "
                      f"{b['recall']:.4f} | {b['qps']:,.0f} |")
        md.append("")
        for target in (0.95, 0.99):
            qa, qb = at_recall(ours["search"], target), at_recall(theirs["search"], target)
            ratio = f"{qa / qb:.2f}x" if qa and qb else "n/a"
            shown = [f"{q:,.0f} q/s" if q else "not reached" for q in (qa, qb)]
            md.append(f"- at recall {target}: ours {shown[0]}, hnswlib {shown[1]}: {ratio}")
        md.append(f"- build ({args.threads} threads): ours {ours['build_secs']:.1f} s, hnswlib "
                  f"{theirs['build_secs']:.1f} s; resident memory added per vector: ours "
                  f"{ours['rss_bytes_per_vector']:.0f} B, hnswlib "
                  f"{theirs['rss_bytes_per_vector']:.0f} B")
        md.append("")
        print("\n".join(md[-12:]), flush=True)
    with open(os.path.join(args.out, "ann-compare.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "ann-compare.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
