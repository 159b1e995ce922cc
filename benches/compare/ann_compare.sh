#!/usr/bin/env bash
# Social Live's HNSW index against hnswlib in one run (see ann_compare.py for the sets and flags).
# Makes a venv with the pinned requirements under the cargo target dir, builds our side, runs both:
#   benches/compare/ann_compare.sh [--sets clustered64 als64 clustered128] [--n 200000] ...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/compare-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r "$here/requirements.txt"
(cd "$root" && cargo build --release --locked -p benches --bin ann_compare)
exec "$venv/bin/python" "$here/ann_compare.py" --ours "$target/release/ann_compare" \
    --out "$target/ann-compare" "$@"
