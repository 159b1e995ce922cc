#!/usr/bin/env bash
# The README's quickstart, checked: `serve --demo` on a fresh data directory seeds the database,
# trains and publishes a model, and answers the README's curl session (register, log in, post,
# follow, like, read the feed). Needs a release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
# A free port, so that another server on the machine cannot answer in ours' place.
port="${SMOKE_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
base="http://127.0.0.1:$port"
cargo build --release --locked --quiet
env -u DATABASE_URL -u REDIS_URL "${CARGO_TARGET_DIR:-target}/release/social-live" --data-dir "$work/data" serve --demo \
  --listen "127.0.0.1:$port" --users 300 --posts 1500 --interactions 20000 >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 300); do
  kill -0 $pid 2>/dev/null || { echo "serve --demo exited early:"; cat "$work/err"; exit 1; }
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf "$base/readyz" | grep -q '"model_version":"[^"]' || { echo "no model loaded"; cat "$work/err"; exit 1; }
grep -q "demo login" "$work/out" || { echo "no demo login printed"; cat "$work/out"; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST "$base$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }

token=$(post /v1/auth/register '{"handle":"smoke_user","password":"correct-horse-1"}' | json "['access_token']")
token=$(post /v1/auth/login '{"handle":"smoke_user","password":"correct-horse-1"}' | json "['access_token']")
auth=(-H "authorization: Bearer $token")
demo_token=$(post /v1/auth/login '{"handle":"demo","password":"demo-password"}' | json "['access_token']")
post_id=$(post /v1/posts '{"text":"hello from the smoke test #rust"}' -H "authorization: Bearer $demo_token" | json "['id']")
demo_id=$(curl -sf "$base/v1/me" -H "authorization: Bearer $demo_token" | json "['id']")
curl -sf -X PUT "$base/v1/users/$demo_id/follow" "${auth[@]}"
curl -sf -X PUT "$base/v1/posts/$post_id/like" "${auth[@]}"
feed=$(curl -sf "$base/v1/feed?limit=20" "${auth[@]}")
echo "$feed" | json "['items'][0]['reasons']" >/dev/null
echo "$feed" | python3 -c "
import json, sys
page = json.load(sys.stdin)
assert page['model_version'], page
assert len(page['items']) == 20, len(page['items'])
ids = [i['post']['id'] for i in page['items']]
assert len(set(ids)) == len(ids)
print('feed ok:', len(ids), 'items, model', page['model_version'])
"
curl -sf "$base/v1/search/posts?q=smoke" | json "['items'][0]['id']" | grep -qx "$post_id"

# The README's curl session itself, as written (against this server).
session=$(awk '/A session with curl:$/ {f = 1; next} f && /^```sh/ {g = 1; next} g && /^```/ {exit} g' README.md \
  | sed "s|^api=http://127.0.0.1:8080|api=$base|")
[ -n "$session" ] || { echo "no curl session found in README.md"; exit 1; }
bash -euo pipefail -c "$session" >"$work/session" || { echo "the README's session failed:"; cat "$work/session"; exit 1; }
ada=$(post /v1/auth/login '{"handle":"ada","password":"correct-horse-1"}' | json "['access_token']")
curl -sf "$base/v1/me" -H "authorization: Bearer $ada" | python3 -c "
import json, sys
me = json.load(sys.stdin)
assert 1 <= me['following'] <= 3 and me['posts'] == 1, me
print('README session ok: follows', me['following'], 'posts', me['posts'])
"
grep -q '"items":\[{' "$work/session" || { echo "the README's next page is empty"; cat "$work/session"; exit 1; }
kill -TERM $pid
wait $pid
echo "smoke test passed"
