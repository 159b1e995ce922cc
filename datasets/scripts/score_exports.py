#!/usr/bin/env python3
"""Recompute the offline metrics of docs/EVALUATION.md from a pipeline export, independently of the Rust code.

Usage: score_exports.py EXPORT_DIR [--k 10] [--report report.json] [--min-ndcg X]

EXPORT_DIR holds train.tsv and test.tsv (`user item timestamp`, header) and recs.tsv (`user item rank`,
header, rank 1 is best). Prints the metrics; with --report, checks that the pipeline's own numbers for the
model agree to 1e-6; with --min-ndcg, exits non-zero when NDCG@K is below the threshold.
Only the Python standard library is used, so it runs anywhere.
"""

import argparse
import csv
import json
import math
import sys
from collections import defaultdict


def read_pairs(path, value_column):
    rows = defaultdict(list)
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        expected = ["user", "item", value_column]
        if header != expected:
            sys.exit(f"{path}: header {header} is not {expected}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 3:
                sys.exit(f"{path}:{line}: expected 3 fields, got {len(row)}")
            rows[row[0]].append((row[1], int(float(row[2]))))
    return rows


def score(export_dir, k):
    train = read_pairs(f"{export_dir}/train.tsv", "timestamp")
    test = read_pairs(f"{export_dir}/test.tsv", "timestamp")
    recs = read_pairs(f"{export_dir}/recs.tsv", "rank")
    catalog = {i for rows in (train, test) for items in rows.values() for i, _ in items}
    users = sorted(u for u, items in test.items() if items)
    totals = defaultdict(float)
    recommended = set()
    for user in users:
        relevant = {i for i, _ in test[user]}
        seen = {i for i, _ in train.get(user, [])}
        ranked = [i for i, _ in sorted(recs.get(user, []), key=lambda x: x[1])][:k]
        if len(ranked) != len(set(ranked)):
            sys.exit(f"recs.tsv: user {user} has a repeated item")
        if seen & set(ranked):
            sys.exit(f"recs.tsv: user {user} is recommended an item from their train set")
        recommended.update(ranked)
        hits = [1 if i in relevant else 0 for i in ranked]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), k)))
        totals["ndcg"] += dcg / idcg
        totals["recall"] += sum(hits) / len(relevant)
        totals["precision"] += sum(hits) / k
        totals["hit_rate"] += 1.0 if any(hits) else 0.0
    metrics = {name: value / len(users) for name, value in totals.items()}
    metrics["coverage"] = len(recommended) / len(catalog)
    metrics["users"] = len(users)
    metrics["catalog"] = len(catalog)
    return metrics


def find_model_metrics(report):
    """The pipeline's test metrics of the trained model, wherever the report keeps them."""
    for path in (("evaluation", "model"), ("metrics", "model"), ("test", "model")):
        node = report
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node.get("metrics", node)
    sys.exit("report.json: no model metrics found")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--report")
    parser.add_argument("--min-ndcg", type=float)
    args = parser.parse_args()

    metrics = score(args.export_dir, args.k)
    print(json.dumps(metrics, indent=2, sort_keys=True))
    if args.report:
        with open(args.report) as f:
            theirs = find_model_metrics(json.load(f))
        for name in ("ndcg", "recall", "precision", "hit_rate", "coverage"):
            if name in theirs and abs(theirs[name] - metrics[name]) > 1e-6:
                sys.exit(f"{name}: report says {theirs[name]:.6f}, export gives {metrics[name]:.6f}")
        print("report agrees with the independent recomputation")
    if args.min_ndcg is not None and metrics["ndcg"] < args.min_ndcg:
        sys.exit(f"NDCG@{args.k} = {metrics['ndcg']:.4f} is below {args.min_ndcg}")


if __name__ == "__main__":
    main()
