// @ts-nocheck -- plain JS run by node against the built package
// Run in a child process (as root) by test/guess.kernel.test.ts, inside the
// namespaces the test set up: resolveOffsets() with each source given, one
// JSON line per run on stdout. `--watch FILE`: FILE's atime before and after
// every run is reported (the test binds it over /sys/kernel/btf/vmlinux to
// see whether the guesser read it). `--record`: every guess's samples (what
// it captured and knew) on a line of their own, gzipped, base64.
import { statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { resolveOffsets, samplesToJson } from '../../dist/index.js';

const args = process.argv.slice(2);
const watch = args.includes('--watch') ? args[args.indexOf('--watch') + 1] : undefined;
const sources = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--watch');
const record = args.includes('--record');
let seen;
const onSamples = (samples, fresh) => (seen = { samples, fresh });
const atime = () => (watch ? statSync(watch).atimeMs : undefined);
for (const source of sources) {
  const before = atime();
  try {
    const r = await resolveOffsets({ source, onSamples });
    const after = atime();
    console.log(JSON.stringify({ source, got: r.source, offsets: r.offsets, reason: r.reason, ms: r.guessMs, rounds: r.guessRounds, read: before !== after, pid: process.pid }));
  } catch (e) {
    console.log(JSON.stringify({ source, error: e.message, code: e.code, field: e.field }));
  }
  if (record && seen) {
    const text = `{"samples":${samplesToJson(seen.samples)},"fresh":${seen.fresh ? samplesToJson(seen.fresh) : 'null'}}`;
    console.log(`OFFSETGUESS_SAMPLES ${gzipSync(text).toString('base64')}`);
    seen = undefined;
  }
}
