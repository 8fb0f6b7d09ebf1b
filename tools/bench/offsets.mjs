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
//   node tools/bench/offsets.mjs [--runs N] [--out DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveOffsets } from '@tracer-bpf/offsetguess';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, die } = reporter('offsets');
const opts = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { runs: 20, out: join(here, '..', '..', 'bench-results') },
  ints: { runs: 'runs' },
  strings: { out: 'out' },
  die,
});

/** One resolveOffsets() call, ms (and the guess's rounds). */
async function timeResolve(source) {
  const t0 = performance.now();
  const r = await resolveOffsets({ source });
  const ms = performance.now() - t0;
  return { ms, rounds: r.guessRounds };
}

if (process.env.OFFSETS_BENCH_CHILD) {
  console.log(JSON.stringify(await timeResolve(process.env.OFFSETS_BENCH_CHILD)));
  process.exit(0);
}

if (process.getuid?.() !== 0) die('run as root: guessing loads BPF programs');
const sources = ['guess', 'btf'];
const samples = Object.fromEntries(sources.flatMap((s) => [[`${s} first`, []], [`${s} again`, []]]));
const rounds = [];
// Warm-up (untimed): page cache for the object, the addon and the kernel's BTF.
for (const s of sources) await timeResolve(s);
for (let r = 0; r < opts.runs; r++) {
  for (const s of sources) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, OFFSETS_BENCH_CHILD: s }, encoding: 'utf8' });
    samples[`${s} first`].push(JSON.parse(out.trim().split('\n').pop()).ms);
    const again = await timeResolve(s);
    samples[`${s} again`].push(again.ms);
    if (s === 'guess') rounds.push(again.rounds);
  }
}

const rows = Object.entries(samples).map(([name, s]) => ({ name, ...stats(s) }));
const f = (x) => x.toFixed(1).padStart(8);
console.log(`\n${'resolveOffsets (ms)'.padEnd(20)}${'median'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'max'.padStart(8)}${'spread'.padStart(8)}`);
for (const r of rows) console.log(`${r.name.padEnd(20)}${f(r.median)}${f(r.min)}${f(r.p90)}${f(r.max)}${f(r.p90 - r.min)}`);
console.log(`\nguess rounds (again): ${rounds.join(' ')}`);
console.log('goals (issue 10): guessing at most 50 ms, BTF at most 30 ms (medians)');

mkdirSync(opts.out, { recursive: true });
const file = join(opts.out, `offsets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ environment: environment(), runs: opts.runs, rows, samples, rounds }, null, 2)}\n`);
log(`wrote ${file}`);
