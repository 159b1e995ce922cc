// Feed load through a proxy in front of replicas: GET /v1/feed?limit=20 at a fixed, open-loop
// rate (loadtest, pinned in ../load/package.json), each request from a user drawn from the first
// BENCH_SEEDED_USERS seeded accounts (tokens signed with the servers' SOCIAL_LIVE_JWT_SECRET, for
// the live session of each user that run.sh inserted: `--sessions FILE`, lines `user,session`).
// Started by run.sh.
//
//   node feed.mjs --base http://127.0.0.1:18090 --rate 1000 --seconds 60 --users 100000 --sessions S.csv
//
// Latency is timed from each request's scheduled send to the end of its body (fractional ms).
// A user's first request in a run ranks their feed (a cache miss: their context is read from
// the database and the ranking built); later ones page from the cached ranking. Drawing from a
// large pool makes most requests misses at first; run.sh reports the share from the replicas'
// own counters.

import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../load/', import.meta.url));
const { loadTest } = require('loadtest');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const BASE = args.base ?? 'http://127.0.0.1:18090';
const RATE = Number(args.rate ?? 1000);
const SECONDS = Number(args.seconds ?? 60);
const USERS = Number(args.users ?? 10000);
const SECRET = process.env.BENCH_JWT_SECRET;
if (!SECRET) throw new Error('BENCH_JWT_SECRET is required');

// Each user's session (without a file, 0: binaries before sessions ignore it).
const SESSIONS = new Map(
  (args.sessions ? readFileSync(args.sessions, 'utf8') : '')
    .split('\n')
    .filter((l) => l.includes(','))
    .map((l) => l.split(',').map(Number)),
);

/// HS256 access token with the claims `api/src/auth/jwt.rs` issues (and the `role` that binaries
/// before sessions read).
function signToken(userId, ttlSecs = 7200) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const sid = SESSIONS.get(userId) ?? 0;
  const claims = b64({ sub: String(userId), sid, role: 'user', iat: now, exp: now + ttlSecs });
  const mac = createHmac('sha256', SECRET).update(`${head}.${claims}`).digest('base64url');
  return `${head}.${claims}.${mac}`;
}

// mulberry32, seeded: every run draws the same users in the same order.
let seed = 42;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const tokens = new Map();
const token = (id) => {
  if (!tokens.has(id)) tokens.set(id, signToken(id));
  return tokens.get(id);
};

const latencies = [];
const statuses = {};
let connectionErrors = 0;
const result = await loadTest({
  url: BASE,
  requestsPerSecond: RATE,
  maxSeconds: SECONDS,
  agentKeepAlive: true,
  timeout: 15000,
  quiet: true,
  requestGenerator: (_options, params, client, callback) => {
    params.method = 'GET';
    params.path = '/v1/feed?limit=20';
    params.headers.authorization = `Bearer ${token(1 + Math.floor(random() * USERS))}`;
    const request = client(params, callback);
    request.labels = { t0: process.hrtime.bigint() };
    return request;
  },
  statusCallback: (error, res) => {
    if (!res) {
      connectionErrors++;
      return;
    }
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    latencies.push(Number(process.hrtime.bigint() - res.labels.t0) / 1e6);
  },
});
latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))];
const ok = Object.entries(statuses)
  .filter(([s]) => s >= 200 && s < 300)
  .reduce((n, [, c]) => n + c, 0);
const out = {
  offered_rps: RATE,
  seconds: SECONDS,
  users: USERS,
  achieved_rps: latencies.length / result.elapsedSeconds,
  responses: latencies.length,
  ok,
  non_2xx: latencies.length - ok,
  connection_errors: connectionErrors,
  statuses,
  p50_ms: at(50),
  p90_ms: at(90),
  p99_ms: at(99),
  max_ms: latencies.at(-1),
};
console.log(JSON.stringify(out));
if (args.out) writeFileSync(args.out, JSON.stringify(out, null, 2));
