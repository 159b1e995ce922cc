#!/usr/bin/env bash
# The nightly job at scale: seeds a generated network into a fresh PostgreSQL database, then runs
# `pipeline run --dataset db` on it and prints the wall time and peak resident memory of every stage.
#
#   benches/pipeline/scale.sh USERS POSTS INTERACTIONS [pipeline run options]
#
# BENCH_BIN (default target/release/social-live), DATABASE_URL (default the local server's `test`
# database; a database sl_scale_<sizes> is created beside it and dropped at the end). With
# SCALE_KEEP_DB=1 the database is kept, and a later run with the same sizes reuses it instead of
# seeding again (seeding 20M events takes a quarter of an hour).
set -euo pipefail
cd "$(dirname "$0")/../.."
users="$1" posts="$2" interactions="$3"
shift 3
bin="${BENCH_BIN:-target/release/social-live}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="sl_scale_${users}_${posts}_${interactions}"
url="${base%/*}/$db"
work="$(mktemp -d)"
if [ "${SCALE_KEEP_DB:-0}" = 1 ]; then
  trap 'rm -rf "$work"' EXIT
else
  trap 'psql -q "$base" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
# A kept database counts as seeded once its views are there (the seed's last table, one transaction).
seeded=$(psql -tAq "$url" -c "SELECT COUNT(*) > 0 FROM views" 2>/dev/null || true)
if [ "${SCALE_KEEP_DB:-0}" = 1 ] && [ "$seeded" = t ]; then
  echo "seed: reusing the kept database $db"
else
  psql -q "$base" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  t0=$(date +%s.%N)
  "$bin" --data-dir "$work" --log warn datasets seed --users "$users" --posts "$posts" \
    --interactions "$interactions" --database-url "$url"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "seed: %.1f s\n", b - a }'
fi

"$bin" --data-dir "$work" --log-format json --log info pipeline run --dataset db --database-url "$url" \
  --out "$work/models" "$@" >"$work/out.txt" 2>"$work/log.jsonl" &
pid=$!
# Resident memory every 0.2 s (kB), to attribute a peak to each stage.
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$(date +%s.%N) $rss" >>"$work/rss.txt"
  sleep 0.2
done
status=0
wait "$pid" || status=$?
cat "$work/out.txt"
python3 benches/pipeline/stages.py "$work/log.jsonl" "$work/rss.txt"
exit "$status"
