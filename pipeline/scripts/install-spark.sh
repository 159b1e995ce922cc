#!/usr/bin/env bash
# Installs PySpark for `social-live pipeline run --trainer spark` into a virtual environment.
#
#   pipeline/scripts/install-spark.sh [VENV_DIR]     default: data/spark/venv
#
# The trainer looks for <data-dir>/spark/venv/bin/python by default (`--spark-python` or
# SOCIAL_LIVE_SPARK_PYTHON name another). PySpark comes from PyPI; Spark itself runs on the JVM, so Java 17
# must be on PATH (`java -version`). Running it again is a no-op once the pinned version is installed.
set -euo pipefail

PYSPARK_VERSION="4.3.0"
NUMPY_SPEC="numpy>=1.21"
venv="${1:-data/spark/venv}"

if ! command -v java >/dev/null 2>&1; then
  echo "install-spark: java is not on PATH; Spark needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
marker="$venv/.social-live-pyspark-$PYSPARK_VERSION"
if [ -f "$marker" ] && "$venv/bin/python" -c "import pyspark, numpy" 2>/dev/null; then
  echo "install-spark: PySpark $PYSPARK_VERSION is already installed in $venv"
  exit 0
fi
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install-spark: $python is not on PATH; PySpark needs Python 3.10 or newer" >&2
  exit 1
fi
# An environment without the marker (an interrupted run, another version) is rebuilt, not patched.
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION" "$NUMPY_SPEC"
touch "$marker"
echo "install-spark: PySpark $PYSPARK_VERSION installed in $venv ($("$venv/bin/python" --version))"
