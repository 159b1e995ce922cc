#!/usr/bin/env bash
# Replicas at scale (BENCHMARKS.md, "Replicas at scale"): two `serve` replicas on one PostgreSQL
# database behind nginx (round robin), for generated networks of 1M, 5M and 20M interactions.
# Measured per binary and size: each replica's start-up time to ready, its resident memory after
# start and after the load, and feed latency at BENCH_RATE req/s through the proxy for
# BENCH_SECONDS (after a 10 s warm-up). Every binary named in BENCH_BINS runs on the same seeded
# databases, so the current code and an older commit are measured side by side, in one run.
#
#   cargo build --release -p social-live
#   BENCH_BINS="new=target/release/social-live old=/tmp/social-live-old" benches/replicas/run.sh
#
# The first binary seeds each database (`datasets seed`, no model: every replica serves from
# follows, trending and new posts, the same for every binary). A binary named `old` predates the
# change log's migration (PostgreSQL 0003): its rows in `_sqlx_migrations` are set aside while it
# runs and put back after, so both binaries start on the same tables.
#
# Users drawn by the load: uniformly from the first BENCH_POOL (20,000) seeded accounts, so that a
# share of requests are first visits of the run (a user context read and a ranking: a cache
# miss); the share is reported from the replicas' own counters.
#
# Environment: BENCH_SIZES ("1m 5m 20m"), BENCH_BINS, BENCH_PG_URL (postgres://postgres@127.0.0.1:5432),
# BENCH_RATE (1000), BENCH_SECONDS (60), BENCH_POOL (20000), BENCH_PORT (18090: nginx; the
# replicas take the next two ports), BENCH_OUT (benches/replicas/results), BENCH_DROP_DB (0: keep
# the seeded databases `sl_bench_<size>` for the next run), BENCH_RATE_LIMITS (off: the replicas'
# SOCIAL_LIVE_RATE_LIMITS; the load comes from one address).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sizes=${BENCH_SIZES:-1m 5m 20m}
bins=${BENCH_BINS:-new=$root/target/release/social-live}
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
rate=${BENCH_RATE:-1000}
seconds=${BENCH_SECONDS:-60}
pool=${BENCH_POOL:-20000}
port=${BENCH_PORT:-18090}
out=${BENCH_OUT:-$here/results}
secret=bench-secret-bench-secret-bench-secret-0123
mkdir -p "$out"

command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
nginx=$(command -v nginx)
if [[ ! -d $root/benches/load/node_modules/loadtest ]]; then
    (cd "$root/benches/load" && npm ci --ignore-scripts --no-audit --no-fund)
fi

work=$(mktemp -d)
pids=()
stop_all() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

size_of() {
    case $1 in
        1m) echo "20000 100000 1000000" ;;
        5m) echo "50000 500000 5000000" ;;
        20m) echo "100000 1000000 20000000" ;;
        *) echo "unknown size $1" >&2; exit 2 ;;
    esac
}

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

first_bin=${bins%% *}
first_bin=${first_bin#*=}

for size in $sizes; do
    read -r users posts interactions <<<"$(size_of "$size")"
    db=sl_bench_$size
    url="$pg_url/$db"
    if ! psql "$pg_url/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        psql "$pg_url/postgres" -q -c "CREATE DATABASE $db"
        echo "== seeding $db: $users users, $posts posts, $interactions interactions" >&2
        t0=$(date +%s.%N)
        DATABASE_URL=$url "$first_bin" --data-dir "$work/seed" datasets seed \
            --users "$users" --posts "$posts" --interactions "$interactions" >"$out/seed-$size.log" 2>&1
        echo "seeded in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
    fi
    rows=$(psql "$url" -tAc "SELECT (SELECT COUNT(*) FROM views) + (SELECT COUNT(*) FROM likes) + (SELECT COUNT(*) FROM comments)")
    for entry in $bins; do
        name=${entry%%=*}
        bin=${entry#*=}
        if [[ $name == old ]]; then
            psql "$url" -q -c "CREATE TABLE IF NOT EXISTS bench_hidden_migrations AS SELECT * FROM _sqlx_migrations WHERE false" \
                -c "INSERT INTO bench_hidden_migrations SELECT * FROM _sqlx_migrations WHERE version > 2" \
                -c "DELETE FROM _sqlx_migrations WHERE version > 2"
        fi
        echo "== $name on $size ($rows interaction rows)" >&2
        row="{\"binary\":\"$name\",\"size\":\"$size\",\"users\":$users,\"posts\":$posts,\"interaction_rows\":$rows"
        for i in 1 2; do
            rport=$((port + i))
            SOCIAL_LIVE_LISTEN=127.0.0.1:$rport DATABASE_URL=$url SOCIAL_LIVE_JWT_SECRET=$secret \
                SOCIAL_LIVE_MODELS_DIR="$work/models" SOCIAL_LIVE_MODEL_POLL_SECS=3600 \
                SOCIAL_LIVE_REQUEST_TIMEOUT_SECS=30 RUST_LOG=warn \
                SOCIAL_LIVE_RATE_LIMITS="${BENCH_RATE_LIMITS:-off}" \
                "$bin" --data-dir "$work/replica$i" serve >"$out/$name-$size-replica$i.log" 2>&1 &
            pid=$!
            pids+=("$pid")
            t0=$(date +%s.%N)
            until curl -sf "http://127.0.0.1:$rport/readyz" >/dev/null; do
                kill -0 "$pid" 2>/dev/null || { echo "replica $i of $name exited" >&2; tail "$out/$name-$size-replica$i.log" >&2; exit 1; }
                sleep 0.1
            done
            ready=$(echo "$(date +%s.%N) - $t0" | bc)
            row+=",\"replica${i}_ready_s\":$ready,\"replica${i}_rss_start_mib\":$(rss_mib "$pid")"
            echo "replica $i ready in $ready s, $(rss_mib "$pid") MiB" >&2
        done
        # Seeded users have no password: one live session each for the load's forged tokens
        # (binaries before sessions have no such table and ignore the token's session).
        sessions=()
        if psql "$url" -tAc "SELECT 1 FROM information_schema.tables WHERE table_name = 'sessions'" | grep -q 1 && [[ $name != old ]]; then
            psql "$url" -q -c "INSERT INTO sessions (user_id, family, created_at, last_used_at) \
                SELECT id, 'bench-' || id, 0, 0 FROM users WHERE id <= $pool ON CONFLICT (family) DO NOTHING"
            psql "$url" -tA -F, -c "SELECT user_id, id FROM sessions WHERE family LIKE 'bench-%'" >"$work/sessions.csv"
            sessions=(--sessions "$work/sessions.csv")
        fi
        cat >"$work/nginx.conf" <<EOF
worker_processes 1;
error_log $work/nginx-error.log warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    upstream replicas {
        server 127.0.0.1:$((port + 1));
        server 127.0.0.1:$((port + 2));
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
        "$nginx" -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
        pids+=("$!")
        until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
        BENCH_JWT_SECRET=$secret node "$here/feed.mjs" --base "http://127.0.0.1:$port" \
            --rate "$rate" --seconds 10 --users "$pool" "${sessions[@]}" >/dev/null
        pages0=0 hits0=0
        for i in 1 2; do
            r=http://127.0.0.1:$((port + i))
            pages0=$((pages0 + $(metric "$r" social_live_feed_pages_total | cut -d. -f1)))
            hits0=$((hits0 + $(metric "$r" social_live_feed_cache_hits_total | cut -d. -f1)))
        done
        load=$(BENCH_JWT_SECRET=$secret node "$here/feed.mjs" --base "http://127.0.0.1:$port" \
            --rate "$rate" --seconds "$seconds" --users "$pool" "${sessions[@]}")
        pages=0 hits=0
        for i in 1 2; do
            r=http://127.0.0.1:$((port + i))
            pages=$((pages + $(metric "$r" social_live_feed_pages_total | cut -d. -f1)))
            hits=$((hits + $(metric "$r" social_live_feed_cache_hits_total | cut -d. -f1)))
            row+=",\"replica${i}_rss_after_load_mib\":$(rss_mib "${pids[$((i - 1))]}")"
        done
        row+=",\"pages\":$((pages - pages0)),\"cache_hits\":$((hits - hits0)),\"load\":$load}"
        echo "$row" | tee -a "$out/results.jsonl"
        stop_all
        if [[ $name == old ]]; then
            psql "$url" -q -c "INSERT INTO _sqlx_migrations SELECT * FROM bench_hidden_migrations" \
                -c "DROP TABLE bench_hidden_migrations"
        fi
    done
    if [[ ${BENCH_DROP_DB:-0} == 1 ]]; then
        psql "$pg_url/postgres" -q -c "DROP DATABASE $db WITH (FORCE)"
    fi
done
