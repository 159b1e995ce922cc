#!/usr/bin/env python3
"""Time the `implicit` library's ALS on the same exported data as `social-live`, for BENCHMARKS.md.

Usage: implicit_als.py TRAIN_TSV [--factors 64] [--iterations 10] [--threads 2] [--alpha 1] [--reg 0.05]

TRAIN_TSV is a `train.tsv` written by `social-live pipeline run --export` (`user item timestamp`, header).
Every row is a positive interaction of weight 1. `implicit` scales confidence as alpha * weight where
Social Live uses 1 + alpha * weight, so Social Live's --alpha A is implicit's alpha 1 + A for binary data;
the script takes Social Live's alpha and converts. Prints the fit time per iteration (best of --repeat).
Install: pip install implicit==0.7.2 threadpoolctl
"""

import argparse
import csv
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


def load(path):
    users, items, rows, cols = {}, {}, [], []
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for user, item, _ in reader:
            rows.append(users.setdefault(user, len(users)))
            cols.append(items.setdefault(item, len(items)))
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train_tsv")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=1.0, help="Social Live's alpha (c = 1 + alpha)")
    parser.add_argument("--reg", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import implicit
    from implicit.cpu.als import AlternatingLeastSquares

    matrix = load(args.train_tsv)
    print(f"implicit {implicit.__version__}: {matrix.shape[0]} users x {matrix.shape[1]} items, "
          f"{matrix.nnz} interactions, factors {args.factors}, threads {args.threads}")
    best = float("inf")
    with threadpool_limits(1, "blas"):
        for _ in range(args.repeat):
            model = AlternatingLeastSquares(
                factors=args.factors, regularization=args.reg, alpha=1.0 + args.alpha,
                iterations=args.iterations, num_threads=args.threads, random_state=42,
                calculate_training_loss=False, use_cg=True)
            start = time.perf_counter()
            model.fit(matrix, show_progress=False)
            best = min(best, (time.perf_counter() - start) / args.iterations)
    print(f"implicit ALS (CG): {best * 1000:.1f} ms per iteration (best of {args.repeat})")


if __name__ == "__main__":
    main()
