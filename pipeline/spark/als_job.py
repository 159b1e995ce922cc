"""Implicit ALS on Apache Spark MLlib: the job behind `social-live pipeline run --trainer spark`.

The pipeline writes the training split as Parquet (`user` and `item`: the pipeline's int32 indices,
`weight`: float32, what the native trainer would see), runs this script with the Python that has
PySpark (`pipeline/scripts/install-spark.sh`), and reads back what it writes into `--output`:

- `user_factors/`, `item_factors/`: Parquet, `id` (int32, the index) and `features` (array<float>,
  `--factors` long), one row per user or item with at least one training interaction;
- `result.json`: the Spark version, the master, the ALS parameters as Spark took them, row counts and
  the fit's wall time.

It exits 0 on success; 3 when PySpark cannot be imported and 4 when Spark cannot start (no Java), with
one line on stderr saying so; any other failure is Spark's own traceback and exit 1.

Spark's regularization differs from the native trainer's: MLlib scales `regParam` by each user's and
item's number of interactions (ALS-WR). The pipeline passes the native penalty divided by the mean
interactions per user (`--reg-param`), so that a typical user is penalised as natively.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="the training triples (Parquet file or directory)")
    p.add_argument("--output", required=True, help="directory for the factors and result.json")
    p.add_argument("--master", default="local[*]", help="Spark master URL")
    p.add_argument("--factors", type=int, required=True)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--reg-param", type=float, required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--blocks", type=int, default=0, help="user and item blocks (0: Spark's default parallelism)")
    p.add_argument("--checkpoint-dir", help="where Spark checkpoints long lineages (every 10 iterations)")
    p.add_argument("--driver-memory", help="spark.driver.memory, e.g. 4g")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        import pyspark
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import SparkSession
    except ImportError as e:
        print(
            f"PySpark is not installed for {sys.executable} ({e}): run pipeline/scripts/install-spark.sh "
            "or pass --spark-python",
            file=sys.stderr,
        )
        return 3

    builder = (
        SparkSession.builder.master(args.master)
        .appName("social-live-als")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.parquet.compression.codec", "uncompressed")
        .config("spark.sql.shuffle.partitions", "8")
    )
    if args.driver_memory:
        builder = builder.config("spark.driver.memory", args.driver_memory)
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # noqa: BLE001: Spark raises its own gateway errors
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"Spark could not start (is Java 17 installed and on PATH?): {first}", file=sys.stderr)
        return 4
    spark.sparkContext.setLogLevel("WARN")
    if args.checkpoint_dir:
        spark.sparkContext.setCheckpointDir(args.checkpoint_dir)

    ratings = spark.read.parquet(args.input)
    blocks = args.blocks or spark.sparkContext.defaultParallelism
    als = ALS(
        rank=args.factors,
        maxIter=args.iterations,
        regParam=args.reg_param,
        alpha=args.alpha,
        implicitPrefs=True,
        nonnegative=False,
        userCol="user",
        itemCol="item",
        ratingCol="weight",
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        seed=args.seed,
        checkpointInterval=10,
    )
    start = time.monotonic()
    model = als.fit(ratings)
    users = model.userFactors
    items = model.itemFactors
    users.write.mode("overwrite").parquet(os.path.join(args.output, "user_factors"))
    items.write.mode("overwrite").parquet(os.path.join(args.output, "item_factors"))
    seconds = time.monotonic() - start
    result = {
        "spark_version": pyspark.__version__,
        "master": spark.sparkContext.master,
        "default_parallelism": spark.sparkContext.defaultParallelism,
        "blocks": blocks,
        "rank": args.factors,
        "max_iter": args.iterations,
        "reg_param": args.reg_param,
        "alpha": args.alpha,
        "seed": args.seed,
        "users": users.count(),
        "items": items.count(),
        "fit_seconds": seconds,
    }
    with open(os.path.join(args.output, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
