#!/usr/bin/env node
// Request/response rate benchmark (issue 12): loopback TCP transactions per
// second (64-byte request, 64-byte response, netperf TCP_RR style) between
// two processes of build/tcp_rr (c/tcp_rr.c, timed inside the C program),
// untraced and traced, interleaved:
//
//   none              nothing attached
//   ours tp_btf       Tracer.start({ backend: 'tp_btf', udpPeers: false })
//   ours tracepoint   Tracer.start({ backend: 'tracepoint', udpPeers: false })
//
// Every round runs each configuration once in a rotated order, the tracer
// started before and closed after its turn. The figure is traced ÷ untraced:
// per round (the two samples of one round are seconds apart, so drift of the
// shared machine cancels), then the median over rounds with p10/p90.
// Goal: >= 0.97. A benchmark, not a test: a missed goal prints MISS, exit 0.
//
//   node rr-rate.mjs [--rounds 15] [--ms 1000] [--payload 64] [--out <file.json>]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tracer } from '@tracer-bpf/tracer';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const RR = join(HERE, 'build', 'tcp_rr');
const GOAL = 0.97;
const { log, die } = reporter('rr-rate');
const o = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { rounds: 15, ms: 1000, payload: 64, out: join(REPO, 'bench-results', 'rr-rate.json') },
  ints: { rounds: 'rounds', ms: 'ms', payload: 'payload' },
  strings: { out: 'out' },
  die,
});
if (process.getuid?.() !== 0) die('run as root: the traced rows load BPF programs');
if (!existsSync(RR)) die(`${RR} is missing: run tools/bench/build.sh`);

const CONFIGS = {
  none: undefined,
  'ours tp_btf': { backend: 'tp_btf', udpPeers: false },
  'ours tracepoint': { backend: 'tracepoint', udpPeers: false },
};
const names = Object.keys(CONFIGS);

function transactions() {
  const r = spawnSync(RR, [String(o.ms), String(o.payload)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcp_rr failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout).perSecond;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};

const t0 = Date.now();
transactions(); // warm-up: page cache, the CPUs' frequency
const samples = Object.fromEntries(names.map((n) => [n, []]));
const orders = [];
for (let r = 0; r < o.rounds; r++) {
  const order = names.map((_, i) => names[(i + r) % names.length]);
  orders.push(order);
  for (const name of order) {
    const opts = CONFIGS[name];
    const t = opts ? await Tracer.start(opts) : undefined;
    try {
      samples[name].push(transactions());
      // the tracer saw the connection: a traced row that traced nothing would be a lie
      if (t && t.stats().programs.every((p) => p.runCount === 0n) && t.snapshot().length === 0) log(`${name}: the tracer saw nothing`);
    } finally {
      t?.close();
    }
  }
  log(`round ${r + 1}/${o.rounds}: ${order.map((n) => `${n} ${Math.round(samples[n][r])}`).join(', ')} /s`);
}

const rows = names.map((name) => {
  const st = stats(samples[name]);
  const ratios = samples[name].map((v, i) => v / samples.none[i]);
  return { name, ...st, ratio: name === 'none' ? null : { median: stats(ratios).median, p10: pct(ratios, 0.1), p90: pct(ratios, 0.9), samples: ratios } };
});
const f0 = (x) => String(Math.round(x)).padStart(9);
const f3 = (x) => x.toFixed(3).padStart(7);
console.log(`\nloopback TCP ${o.payload}-byte request/response, transactions/s (${o.rounds} interleaved rounds of ${o.ms} ms)`);
console.log(`${'config'.padEnd(18)}${'median'.padStart(9)}${'min'.padStart(9)}${'p90'.padStart(9)}   traced/untraced per round: median [p10, p90]`);
for (const r of rows) {
  console.log(`${r.name.padEnd(18)}${f0(r.median)}${f0(r.min)}${f0(r.p90)}   ${r.ratio ? `${f3(r.ratio.median)} [${r.ratio.p10.toFixed(3)}, ${r.ratio.p90.toFixed(3)}]` : ''}`);
}
const goals = rows
  .filter((r) => r.ratio)
  .map((r) => ({ name: r.name, ratio: r.ratio.median, pass: r.ratio.median >= GOAL }));
for (const g of goals) console.log(`Goal: ${g.name} traced/untraced >= ${GOAL} ... ${g.pass ? 'PASS' : 'MISS'}  ${g.ratio.toFixed(3)}`);

mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, `${JSON.stringify({ env: environment(), config: { rounds: o.rounds, ms: o.ms, payload: o.payload, orders, configs: CONFIGS }, rows, goals, elapsedS: (Date.now() - t0) / 1000 }, null, 2)}\n`);
log(`wrote ${o.out}`);
