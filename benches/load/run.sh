#!/usr/bin/env bash
# HTTP API under load: latency (p50/p99) and throughput of feed, login, create post and search
# over loopback, on SQLite and on PostgreSQL. Results are recorded in BENCHMARKS.md ("HTTP API
# under load").
#
#   cargo build --release -p social-live
#   benches/load/run.sh                          # both backends
#   BENCH_BACKENDS=sqlite benches/load/run.sh    # one
#
# For each backend it starts `target/release/social-live --data-dir <fresh tmp dir> serve --demo`
# on 127.0.0.1:$BENCH_PORT (the demo seeds 2,000 users, 10,000 posts and 200,000 interactions,
# trains and publishes a model), waits until /readyz reports a model version, then runs
# bench.mjs: it registers $BENCH_USERS users (each follows 20 seeded users and likes 10 posts)
# and drives these phases with `loadtest` (npm, pinned in package.json) at fixed, open-loop
# rates, each a warm-up then a measured run:
#
#   (priming)           every user's first feed once, 2 at a time, so that the cached rows
#                       measure the steady state (each first visit ranks: a cache miss); again
#                       before feed_while_posting, by when the 5-minute sessions have expired
#   feed_seeded         GET /v1/feed?limit=20 at 1,000 req/s, first pages, over the 2,000 seeded
#                       users (their access tokens are signed with the server's
#                       SOCIAL_LIVE_JWT_SECRET, set here: seeded users have no password)
#   feed_registered     the same over the registered bench users
#   feed_pages          1,000 req/s, each seeded user following next_cursor 5 pages deep
#   login               POST /v1/auth/login at 20, 40, 60, 70, 80, ... req/s until the server
#                       falls behind (the highest rate with p99 <= 100 ms is the result); a
#                       step whose server memory grows by 3 GiB is cut short (see bench.mjs)
#   search              GET /v1/search/posts?q=<word> at 500 req/s, words drawn from seeded posts
#   create_post         POST /v1/posts at 200 req/s over the bench users
#   feed_while_posting  feed_seeded again while 10 posts/s are created (each new post is merged
#                       into the cached rankings), at 1,000 req/s; only if that misses the
#                       target, at 25, 50, 100, ... req/s until p99 > 20 ms
#
# The login limits are raised out of the way (SOCIAL_LIVE_LOGIN_MAX_PER_*), the route rate limits
# are off unless BENCH_RATE_LIMITS gives a SOCIAL_LIVE_RATE_LIMITS value, access tokens live
# two hours so none expires mid-run. PostgreSQL: a fresh database is created on the local
# server ($BENCH_PG_URL, trust auth) and dropped afterwards.
#
# Environment: BENCH_BACKENDS ("sqlite postgres"), BENCH_PORT (18080), BENCH_PG_URL
# (postgres://postgres@127.0.0.1:5432), BENCH_OUT (benches/load/results), BENCH_DURATION (20 s)
# and BENCH_WARMUP (5 s) per phase, BENCH_USERS (200), BENCH_PHASES (all; see bench.mjs),
# SOCIAL_LIVE_BIN (target/release/social-live).
#
# Output, per backend: $BENCH_OUT/<backend>.json (every figure), <backend>.server.log (the
# server's JSON log), and a table on stdout. Needs node >= 18 and npm; client and server share
# the machine's cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${SOCIAL_LIVE_BIN:-$root/target/release/social-live}
backends=${BENCH_BACKENDS:-sqlite postgres}
port=${BENCH_PORT:-18080}
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
out=${BENCH_OUT:-$here/results}
base=http://127.0.0.1:$port

[[ -x $bin ]] || { echo "no binary at $bin: run cargo build --release -p social-live" >&2; exit 1; }
if [[ ! -d $here/node_modules/loadtest ]]; then
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
fi
if curl -s -o /dev/null "$base/healthz"; then
    echo "something already listens on $base; set BENCH_PORT" >&2
    exit 1
fi
mkdir -p "$out"

server_pid=
data_dir=
pg_db=
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    server_pid=
    [[ -n $data_dir ]] && rm -rf "$data_dir"
    data_dir=
    if [[ -n $pg_db ]]; then
        psql "$pg_url/postgres" -q -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
    fi
    pg_db=
}
trap cleanup EXIT

for backend in $backends; do
    data_dir=$(mktemp -d /tmp/social-live-load.XXXXXX)
    db_url=
    version=
    if [[ $backend == postgres ]]; then
        pg_db=social_live_load_$$
        psql "$pg_url/postgres" -q -c "CREATE DATABASE $pg_db"
        db_url=$pg_url/$pg_db
    fi
    secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    log=$out/$backend.server.log
    echo "== $backend: starting the server (seeding and training take a minute)" >&2
    env ${db_url:+DATABASE_URL=$db_url} \
        SOCIAL_LIVE_JWT_SECRET="$secret" \
        SOCIAL_LIVE_ACCESS_TTL_SECS=7200 \
        SOCIAL_LIVE_LOGIN_MAX_PER_IP=1000000000 \
        SOCIAL_LIVE_RATE_LIMITS="${BENCH_RATE_LIMITS:-off}" \
        SOCIAL_LIVE_LOGIN_MAX_PER_ACCOUNT=1000000000 \
        "$bin" --data-dir "$data_dir" --log-format json serve --demo --listen "127.0.0.1:$port" \
        >"$out/$backend.stdout" 2>"$log" &
    server_pid=$!
    for _ in $(seq 1 900); do
        kill -0 "$server_pid" 2>/dev/null || { echo "the server exited; see $log" >&2; exit 1; }
        version=$(curl -s "$base/readyz" | sed -nE 's/.*"model_version":"([^"]*)".*/\1/p' || true)
        [[ -n $version ]] && break
        sleep 1
    done
    [[ -n $version ]] || { echo "no model after 900 s; see $log" >&2; exit 1; }
    echo "== $backend: ready, model $version" >&2

    # Seeded users have no password: one live session each for bench.mjs's forged tokens.
    # (`WHERE true`: SQLite cannot tell an upsert's ON CONFLICT from a join after a bare SELECT.)
    sessions_sql="INSERT INTO sessions (user_id, family, created_at, last_used_at) \
        SELECT id, 'bench-' || id, 0, 0 FROM users WHERE true ON CONFLICT (family) DO NOTHING"
    listing="SELECT user_id, id FROM sessions WHERE family LIKE 'bench-%'"
    if [[ $backend == postgres ]]; then
        psql "$db_url" -q -c "$sessions_sql"
        psql "$db_url" -tA -F, -c "$listing" >"$data_dir/sessions.csv"
    else
        python3 - "$data_dir/social-live.db" "$sessions_sql" "$listing" >"$data_dir/sessions.csv" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    db.execute(sys.argv[2])
for user, session in db.execute(sys.argv[3]):
    print(f"{user},{session}")
PY
    fi

    BENCH_JWT_SECRET=$secret node "$here/bench.mjs" --base "$base" --backend "$backend" \
        --server-pid "$server_pid" --sessions "$data_dir/sessions.csv" --out "$out/$backend.json"

    cleanup
    echo "== $backend: server log levels: $(grep -o '"level":"[A-Z]*"' "$log" | sort | uniq -c | tr '\n' ' ')" >&2
    grep -E '"level":"(WARN|ERROR)"' "$log" | head -20 >&2 || true
done

node "$here/report.mjs" $(for b in $backends; do echo "$out/$b.json"; done)
