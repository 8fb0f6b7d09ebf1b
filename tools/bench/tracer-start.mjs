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
// per row, the median of each phase of a first start (info.startTimings),
// the load average before and after, and writes the samples to
// bench-results/tracer-start-<date>.json.
//
//   --old       also, in the same round-robin, a fresh child per backend
//               that starts with the options of the old start-up path
//               (mapPrealloc: true, tpBtfCheck: 'probe'): rows "... (old opts)"
//   --baseline DIR   also a fresh child of another built checkout's
//               tools/bench/tracer-start.mjs (e.g. the main branch): rows
//               "... (baseline)", what the start took before a change
//
//   node tools/bench/tracer-start.mjs [--runs N] [--out DIR] [--old] [--baseline DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeFeature } from '@tracer-bpf/loader';
import { Tracer } from '@tracer-bpf/tracer';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, die } = reporter('tracer-start');
const opts = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { runs: 20, out: join(here, '..', '..', 'bench-results'), old: false, baseline: undefined },
  ints: { runs: 'runs' },
  strings: { out: 'out', baseline: 'baseline' },
  flags: { old: ['old', true] },
  die,
});

/** One start of `backend` in this process, and its first snapshot: ms from the start() call to each return. */
async function timeStart(backend, options = {}) {
  const t0 = performance.now();
  const t = await Tracer.start({ ...options, backend });
  const ms = performance.now() - t0;
  t.snapshot();
  const snapshotMs = performance.now() - t0;
  const phases = t.info.startTimings;
  t.close();
  return { ms, snapshotMs, phases };
}

/** The options of the old start-up path (--old). */
const OLD_OPTIONS = { mapPrealloc: true, tpBtfCheck: 'probe' };

// A child measures its own first start and prints it.
if (process.env.TRACER_START_CHILD) {
  console.log(JSON.stringify(await timeStart(process.env.TRACER_START_CHILD, JSON.parse(process.env.TRACER_START_OPTIONS || '{}'))));
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

/** The settings each round runs, in this order, per backend: a fresh child of a script with start options. */
const variants = [{ tag: '', script: fileURLToPath(import.meta.url), options: {} }];
if (opts.old) variants.push({ tag: ' (old opts)', script: fileURLToPath(import.meta.url), options: OLD_OPTIONS });
if (opts.baseline) {
  const script = join(opts.baseline, 'tools', 'bench', 'tracer-start.mjs');
  if (!existsSync(script)) die(`--baseline: no ${script}`);
  variants.push({ tag: ' (baseline)', script, options: {} });
}
const samples = {};
const phaseSamples = {};
for (const b of backends) {
  for (const v of variants) for (const row of ['first', 'first → snapshot']) samples[`${b} ${row}${v.tag}`] = [];
  samples[`${b} again`] = [];
}
const loadBefore = os.loadavg();
// Warm-up (untimed): page cache for the objects, the addon and the kernel's BTF.
for (const b of backends) await timeStart(b);
for (let r = 0; r < opts.runs; r++) {
  for (const b of backends) {
    for (const v of variants) {
      const env = { ...process.env, TRACER_START_CHILD: b, TRACER_START_OPTIONS: JSON.stringify(v.options) };
      const out = execFileSync(process.execPath, [v.script], { env, encoding: 'utf8' });
      const child = JSON.parse(out.trim().split('\n').pop());
      samples[`${b} first${v.tag}`].push(child.ms);
      samples[`${b} first → snapshot${v.tag}`].push(child.snapshotMs);
      for (const [phase, ms] of Object.entries(child.phases ?? {})) ((phaseSamples[`${b}${v.tag}`] ??= {})[phase] ??= []).push(ms);
    }
    samples[`${b} again`].push((await timeStart(b)).ms);
  }
}
const loadAfter = os.loadavg();

const rows = Object.entries(samples).map(([name, s]) => ({ name, ...stats(s) }));
const f = (x) => x.toFixed(1).padStart(8);
const w = Math.max(26, ...rows.map((r) => r.name.length + 2));
console.log(`\n${'start (ms)'.padEnd(w)}${'median'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'max'.padStart(8)}`);
for (const r of rows) console.log(`${r.name.padEnd(w)}${f(r.median)}${f(r.min)}${f(r.p90)}${f(r.max)}`);
// Medians of each phase of a first start (info.startTimings; a baseline without it has none).
const phases = Object.fromEntries(Object.entries(phaseSamples).map(([k, byPhase]) => [k, Object.fromEntries(Object.entries(byPhase).map(([p, s]) => [p, stats(s).median]))]));
for (const [k, byPhase] of Object.entries(phases)) {
  console.log(`phases, ${k} first (median ms): ${Object.entries(byPhase).map(([p, ms]) => `${p} ${ms.toFixed(1)}`).join(', ')}`);
}
const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`load average: before ${la(loadBefore)}, after ${la(loadAfter)} (${os.cpus().length} CPUs)`);
// The goal rows: this tree's first start with its default options.
const goals = backends.map((b) => {
  const median = rows.find((r) => r.name === `${b} first → snapshot`).median;
  return { name: `${b} first → snapshot`, median, pass: median <= 300 };
});
console.log('');
for (const g of goals) console.log(`Goal: ${g.name} at most 300 ms ... ${g.pass ? 'PASS' : 'MISS'}  ${g.median.toFixed(1)} ms`);

mkdirSync(opts.out, { recursive: true });
const file = join(opts.out, `tracer-start-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ environment: environment(), runs: opts.runs, loadavg: { before: loadBefore, after: loadAfter }, variants: variants.map(({ tag, script, options }) => ({ tag, script, options })), rows, phases, goals, samples }, null, 2)}\n`);
log(`wrote ${file}`);
