#!/usr/bin/env node
// Offset resolution benchmark (issue 10): how long resolveOffsets() takes from
// the call to its return, per source:
//
//   guess   guessOffsets through resolveOffsets({ source: 'guess' }): the
//           capture programs loaded and attached, the guesser's sockets,
//           the search and the check on fresh sockets, everything released
//   btf     resolveOffsets({ source: 'btf' }): /sys/kernel/btf/vmlinux read
//           and parsed, every member looked up (nothing cached between runs)
//
// Each row in two settings: `first`, the first call of a fresh process (a
// child per sample: what a user's command pays), and `again`, a later call
// in the same process. Samples interleave the rows. Prints median, min,
// p90, max and the spread (p90 - min) per row and writes the samples to
// bench-results/offsets-<date>.json. Goals: guess at most 50 ms, BTF at most 30 ms.
//
// --compare DIR: the same rows for another checkout's build (DIR holds its
// packages/offsetguess/dist, e.g. /work/main), interleaved with this one's
// sample by sample: a before/after on one machine under one load.
//
//   node tools/bench/offsets.mjs [--runs N] [--out DIR] [--compare DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as here_ from '@tracer-bpf/offsetguess';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, die } = reporter('offsets');
const opts = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { runs: 20, out: join(here, '..', '..', 'bench-results'), compare: undefined },
  ints: { runs: 'runs' },
  strings: { out: 'out', compare: 'compare' },
  die,
});

/** The offsetguess module of this checkout, or of the one at `root`. */
async function moduleOf(root) {
  return root ? import(pathToFileURL(join(root, 'packages', 'offsetguess', 'dist', 'index.js')).href) : here_;
}

/** One resolveOffsets() call: wall ms, CPU ms of the process (all threads), the guess's rounds. */
async function timeResolve(source, m = here_) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await m.resolveOffsets({ source });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, rounds: r.guessRounds };
}

if (process.env.OFFSETS_BENCH_CHILD) {
  console.log(JSON.stringify(await timeResolve(process.env.OFFSETS_BENCH_CHILD, await moduleOf(process.env.OFFSETS_BENCH_ROOT))));
  process.exit(0);
}

if (process.getuid?.() !== 0) die('run as root: guessing loads BPF programs');
const sources = ['guess', 'btf'];
// Trees: this checkout ('' in row names) and, with --compare, the other one.
const trees = [{ tag: '', root: undefined, m: here_ }];
if (opts.compare) trees.push({ tag: ` [${opts.compare}]`, root: opts.compare, m: await moduleOf(opts.compare) });
const samples = Object.fromEntries(trees.flatMap((t) => sources.flatMap((s) => [[`${s} first${t.tag}`, []], [`${s} again${t.tag}`, []]])));
const cpu = Object.fromEntries(Object.keys(samples).filter((k) => k.includes(' first')).map((k) => [k, []]));
const rounds = [];
const loads = [];
// Warm-up (untimed): page cache for the object, the addon and the kernel's BTF.
for (const t of trees) for (const s of sources) await timeResolve(s, t.m);
for (let r = 0; r < opts.runs; r++) {
  // Alternate which tree goes first.
  for (const t of r % 2 ? [...trees].reverse() : trees) {
    for (const s of sources) {
      const env = { ...process.env, OFFSETS_BENCH_CHILD: s, ...(t.root ? { OFFSETS_BENCH_ROOT: t.root } : {}) };
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env, encoding: 'utf8' });
      const child = JSON.parse(out.trim().split('\n').pop());
      samples[`${s} first${t.tag}`].push(child.ms);
      cpu[`${s} first${t.tag}`].push(child.cpuMs);
      const again = await timeResolve(s, t.m);
      samples[`${s} again${t.tag}`].push(again.ms);
      if (s === 'guess' && !t.tag) rounds.push(again.rounds);
    }
  }
  loads.push(os.loadavg()[0]);
}

const rows = Object.entries(samples).map(([name, s]) => ({ name, ...stats(s) }));
const f = (x) => x.toFixed(1).padStart(8);
const w = Math.max(20, ...rows.map((r) => r.name.length + 2));
console.log(`\n${'resolveOffsets (ms)'.padEnd(w)}${'median'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'max'.padStart(8)}${'spread'.padStart(8)}`);
for (const r of rows) console.log(`${r.name.padEnd(w)}${f(r.median)}${f(r.min)}${f(r.p90)}${f(r.max)}${f(r.p90 - r.min)}`);
// CPU time waits for no other process: steadier than wall time on a shared machine (a lower bound: idle waits are not in it).
const cpuRows = Object.entries(cpu).map(([name, c]) => ({ name, ...stats(c) }));
console.log(`\n${'CPU ms, first call'.padEnd(w)}${'median'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'max'.padStart(8)}`);
for (const r of cpuRows) console.log(`${r.name.padEnd(w)}${f(r.median)}${f(r.min)}${f(r.p90)}${f(r.max)}`);
console.log(`\nguess rounds (again): ${rounds.join(' ')}`);
console.log(`load average (1 min) over the runs: ${stats(loads).min.toFixed(2)} to ${stats(loads).max.toFixed(2)}, median ${stats(loads).median.toFixed(2)}`);
console.log('goals (issue 10): guessing at most 50 ms, BTF at most 30 ms (medians)');

mkdirSync(opts.out, { recursive: true });
const file = join(opts.out, `offsets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ environment: environment(), runs: opts.runs, compare: opts.compare ?? null, rows, samples, cpuRows, cpu, rounds, loads }, null, 2)}\n`);
log(`wrote ${file}`);
