#!/usr/bin/env node
// Tracer start-up benchmark (issue 12, "start time"): how long Tracer.start()
// takes from the call to its return (kernel BTF, offsets, load, verifier,
// attach), per backend this kernel runs, in two settings side by side:
//
//   first   the first start of a fresh process (a child per sample): what a
//           user's command pays (nettop, a service starting)
//   first → snapshot   in that same child, from the start() call to the
//           return of its first snapshot(): the first numbers a user sees
//   again   a later start in the same process (BTF, offsets and kallsyms
//           already read): what a restart or a test pays
//
// Samples are interleaved over the backends (round-robin) so that the
// machine's noise falls on every row alike. Prints median, min, p90 and max
// per row and writes the samples to bench-results/tracer-start-<date>.json.
//
//   node tools/bench/tracer-start.mjs [--runs N] [--out DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeFeature } from '@tracer-bpf/loader';
import { Tracer } from '@tracer-bpf/tracer';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, die } = reporter('tracer-start');
const opts = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { runs: 20, out: join(here, '..', '..', 'bench-results') },
  ints: { runs: 'runs' },
  strings: { out: 'out' },
  die,
});

/** One start of `backend` in this process, and its first snapshot: ms from the start() call to each return. */
async function timeStart(backend) {
  const t0 = performance.now();
  const t = await Tracer.start({ backend });
  const ms = performance.now() - t0;
  t.snapshot();
  const snapshotMs = performance.now() - t0;
  t.close();
  return { ms, snapshotMs };
}

// A child measures its own first start and prints it.
if (process.env.TRACER_START_CHILD) {
  console.log(JSON.stringify(await timeStart(process.env.TRACER_START_CHILD)));
  process.exit(0);
}

if (process.getuid?.() !== 0) die('run as root: Tracer.start() loads BPF programs');
const backends = ['fentry', 'kprobe', 'tp_btf', 'tracepoint'].filter((b) => {
  const need = { fentry: 'fentry', kprobe: 'kprobes', tp_btf: 'tpBtf', tracepoint: 'tracepoints' }[b];
  const ok = probeFeature(need).supported;
  if (!ok) log(`${b}: not on this kernel (${probeFeature(need).detail.split(';')[0]})`);
  return ok;
});
if (backends.length === 0) die('no backend runs on this kernel');

const samples = Object.fromEntries(backends.flatMap((b) => [[`${b} first`, []], [`${b} first → snapshot`, []], [`${b} again`, []]]));
// Warm-up (untimed): page cache for the objects, the addon and the kernel's BTF.
for (const b of backends) await timeStart(b);
for (let r = 0; r < opts.runs; r++) {
  for (const b of backends) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, TRACER_START_CHILD: b }, encoding: 'utf8' });
    const child = JSON.parse(out.trim().split('\n').pop());
    samples[`${b} first`].push(child.ms);
    samples[`${b} first → snapshot`].push(child.snapshotMs);
    samples[`${b} again`].push((await timeStart(b)).ms);
  }
}

const rows = Object.entries(samples).map(([name, s]) => ({ name, ...stats(s) }));
const f = (x) => x.toFixed(1).padStart(8);
console.log(`\n${'start (ms)'.padEnd(26)}${'median'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'max'.padStart(8)}`);
for (const r of rows) console.log(`${r.name.padEnd(26)}${f(r.median)}${f(r.min)}${f(r.p90)}${f(r.max)}`);
const goals = backends.map((b) => {
  const median = rows.find((r) => r.name === `${b} first → snapshot`).median;
  return { name: `${b} first → snapshot`, median, pass: median <= 300 };
});
console.log('');
for (const g of goals) console.log(`Goal: ${g.name} at most 300 ms ... ${g.pass ? 'PASS' : 'MISS'}  ${g.median.toFixed(1)} ms`);

mkdirSync(opts.out, { recursive: true });
const file = join(opts.out, `tracer-start-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ environment: environment(), runs: opts.runs, rows, goals, samples }, null, 2)}\n`);
log(`wrote ${file}`);
