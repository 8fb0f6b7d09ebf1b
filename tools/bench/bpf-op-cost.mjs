#!/usr/bin/env node
// What single operations cost inside a BPF program here: the profile behind
// syscall-cost's figures (which part of a tracer event is expensive on this
// kernel and machine). Each program of bpf/test/op_cost.bpf.c, on
// tp_btf/sock_send_length, does one thing (a helper call, a map access); one
// is attached at a time while build/syscall_loop drives pinned UDP sends, and
// run_time_ns / run_cnt (BPF stats on) gives ns per run. Programs are
// interleaved over --rounds rounds (rotating order); the table shows the
// median ns per run, its spread, and the difference to `empty` (the cost of
// the operation itself). A benchmark, not a test: exit status 1 only when
// something breaks.
//
//   node bpf-op-cost.mjs [--rounds 7] [--iterations 50000] [--cpu <n>] [--out <file.json>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testObjectFile } from '@tracer-bpf/bpf/test';
import { BpfObject, enableBpfStats } from '@tracer-bpf/loader';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOOP = join(HERE, 'build', 'syscall_loop');
const OPS = [
  'empty',
  'ktime_get_ns',
  'jiffies64',
  'get_current_pid_tgid',
  'probe_read_8',
  'probe_read_128',
  'get_socket_cookie',
  'percpu_array_add',
  'hash_key8_add',
  'hash_key8_add_twice',
  'hash_key48_add',
  'percpu_hash_key8_sum',
];

const { log, die } = reporter('bpf-op-cost');
const o = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { rounds: 7, iterations: 50_000, cpu: -1, out: join(HERE, '..', '..', 'bench-results', 'bpf-op-cost.json') },
  ints: { rounds: 'rounds', iterations: 'iterations', cpu: 'cpu' },
  strings: { out: 'out' },
  die,
});
if (o.cpu < 0) o.cpu = os.cpus().length - 1;
if (process.getuid?.() !== 0) die('needs root (BPF programs and BPF stats)');

/** ns per run of program `name` over one workload run. */
async function measure(name) {
  const obj = BpfObject.open(testObjectFile('opCost'));
  try {
    for (const op of OPS) obj.program(op).setAutoload(op === name);
    await obj.load();
    const report = obj.attachAll();
    if (!report.ok) throw report.failed[0].error;
    const p = obj.program(name);
    const before = p.stats();
    execFileSync(LOOP, [String(o.cpu), String(o.iterations), String(o.iterations / 10), '1', 'udp'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const after = p.stats();
    const runs = Number(after.runCount - before.runCount);
    if (runs === 0) throw new Error(`${name} never ran`);
    return Number(after.runTimeNs - before.runTimeNs) / runs;
  } finally {
    obj.close();
  }
}

const t0 = Date.now();
const samples = Object.fromEntries(OPS.map((op) => [op, []]));
const scope = enableBpfStats();
try {
  for (let r = 0; r < o.rounds; r++) {
    const order = OPS.map((_, i) => OPS[(i + r) % OPS.length]);
    for (const op of order) samples[op].push(await measure(op));
    log(`round ${r + 1}/${o.rounds}`);
  }
} catch (e) {
  die(e instanceof Error ? e.message : String(e));
} finally {
  scope.close();
}

const r1 = (x) => Math.round(x * 10) / 10;
const results = {};
for (const op of OPS) {
  const s = stats(samples[op]);
  results[op] = { samplesNs: samples[op].map(r1), medianNs: r1(s.median), minNs: r1(s.min), p90Ns: r1(s.p90) };
}
const base = results.empty.medianNs;
console.log('\n  ns per run of one BPF program on tp_btf/sock_send_length (BPF stats on), UDP sends');
console.log('  operation               median   [min, p90]        cost (median - empty)');
for (const op of OPS) {
  const x = results[op];
  x.costNs = op === 'empty' ? 0 : r1(x.medianNs - base);
  console.log(`  ${op.padEnd(22)} ${String(x.medianNs).padStart(7)}   [${x.minNs}, ${x.p90Ns}]`.padEnd(52) + (op === 'empty' ? '(stats and dispatch)' : `${x.costNs >= 0 ? '+' : ''}${x.costNs}`));
}
mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, JSON.stringify({ benchmark: 'bpf-op-cost', env: environment(), config: { rounds: o.rounds, iterations: o.iterations, cpu: o.cpu, hook: 'tp_btf/sock_send_length', workload: 'udp sendto+recvfrom, pinned' }, results, elapsedS: r1((Date.now() - t0) / 1000) }, null, 2) + '\n');
console.log(`\nJSON: ${o.out}`);
