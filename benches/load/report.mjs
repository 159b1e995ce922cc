// Markdown tables of bench.mjs results: `node report.mjs results/sqlite.json results/postgres.json`.

import { readFileSync } from 'node:fs';

// The targets of the issue (p99, ms) and the rate each applies at.
const TARGETS = {
  feed_seeded: { p99: 20, rate: 1000 },
  feed_registered: { p99: 20, rate: 1000 },
  feed_pages: { p99: 20, rate: 1000 },
  feed_while_posting: { p99: 20, rate: 1000 },
  login: { p99: 100 },
  create_post: { p99: 30 },
  search: { p99: 50 },
};
const LABELS = {
  feed_seeded: 'feed, first page, 2,000 seeded users, ranking cached',
  feed_registered: 'feed, first page, 200 registered users, ranking cached',
  feed_pages: 'feed, pages 1-5 (next_cursor), seeded users',
  feed_while_posting: 'feed, first page, while 10 posts/s are created (merged into cached rankings)',
  login: 'login (highest rate meeting p99)',
  create_post: 'create post',
  search: 'search posts (one word)',
};

const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function row(name, r) {
  const t = TARGETS[name.split('@')[0]];
  const errors = r.non_2xx + r.connection_errors;
  let verdict = '';
  if (t) {
    const rateOk = r.achieved_rps >= 0.95 * r.offered_rps && (!t.rate || r.offered_rps >= t.rate);
    verdict = r.p99_ms <= t.p99 && rateOk && errors === 0 ? `met (≤ ${t.p99} ms)` : `**not met** (≤ ${t.p99} ms)`;
  }
  const cache = r.feed_cache_hit_ratio === undefined ? '' : `${Math.round(100 * r.feed_cache_hit_ratio)}%`;
  return `| ${LABELS[name] ?? name} | ${fmt(r.offered_rps)} | ${fmt(r.achieved_rps, 1)} | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${errors} | ${r.server_cpu_cores?.toFixed(2) ?? ''} | ${r.postgres_cpu_cores?.toFixed(2) ?? ''} | ${r.other_cpu_cores === undefined ? '' : Math.max(0, r.other_cpu_cores).toFixed(2)} | ${cache} | ${verdict} |`;
}

for (const file of process.argv.slice(2)) {
  const res = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`\n### ${res.backend} (model ${res.model_version}; ${res.warmup_s} s warm-up, ${res.duration_s} s measured per row)\n`);
  console.log('| request | offered req/s | achieved req/s | p50 ms | p99 ms | errors | CPU: server | PostgreSQL | other work | feed cache hits | p99 target |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const name of ['feed_seeded', 'feed_registered', 'feed_pages', 'feed_while_posting', 'login', 'create_post', 'search']) {
    if (res.phases[name]) console.log(row(name, res.phases[name]));
  }
  if (res.prime) {
    console.log(`\nPriming (every user's first feed, 2 at a time): ${res.prime.users} rankings in ${res.prime.seconds.toFixed(1)} s = ${fmt(res.prime.rankings_per_s, 1)}/s.`);
  }
  if (res.phases.feed_miss_steps) {
    console.log('\nFeed while posting 10/s, rising rates: ' + res.phases.feed_miss_steps
      .map((s) => `${s.offered_rps}/s → ${fmt(s.achieved_rps, 1)}/s, p50 ${ms(s.p50_ms)} ms, p99 ${ms(s.p99_ms)} ms, errors ${s.non_2xx + s.connection_errors}, CPU ${s.server_cpu_cores?.toFixed(2)}/${s.postgres_cpu_cores?.toFixed(2)}/${s.other_cpu_cores?.toFixed(2)}`)
      .join('; '));
  }
  if (res.phases.login_steps) {
    console.log('\nLogin steps: ' + res.phases.login_steps
      .map((s) => `${s.offered_rps}/s → ${fmt(s.achieved_rps, 1)}/s${s.aborted_rss ? ` (cut short: server RSS ${(s.aborted_rss / 1024 ** 3).toFixed(1)} GiB)` : ''}, p50 ${ms(s.p50_ms)} ms, p99 ${ms(s.p99_ms)} ms, CPU ${s.server_cpu_cores?.toFixed(2)}/${s.postgres_cpu_cores?.toFixed(2)}/${s.other_cpu_cores?.toFixed(2)}`)
      .join('; '));
  }
  console.log('\n(CPU in cores, measured over each row: the server process / PostgreSQL / other work on the machine, i.e. everything but the server, PostgreSQL and the load generator.)');
}
