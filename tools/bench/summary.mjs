#!/usr/bin/env node
// The table of issue 12 from the JSON files the benchmarks of one `pnpm bench`
// wrote in bench-results/: one line per figure with its value, goal and
// PASS/MISS (or "not run" when its file is missing). Reads only; run last.
//
//   node summary.mjs [--dir bench-results] [--out <file.json>]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment, parseOptions, reporter } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { die } = reporter('summary');
const o = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { dir: join(HERE, '..', '..', 'bench-results'), out: '' },
  strings: { dir: 'dir', out: 'out' },
  die,
});
const read = (name) => (existsSync(join(o.dir, name)) ? JSON.parse(readFileSync(join(o.dir, name), 'utf8')) : undefined);
/** The newest of the timestamped files `prefix-*.json`. */
const newest = (prefix) => {
  const f = readdirSync(o.dir).filter((n) => n.startsWith(`${prefix}-`) && n.endsWith('.json')).sort().at(-1);
  return f ? read(f) : undefined;
};

const rows = [];
const row = (figure, value, goal, pass) => rows.push({ figure, value, goal, result: pass === undefined ? 'not run' : pass ? 'PASS' : 'MISS' });
const n1 = (x) => (x == null ? '-' : x.toFixed(1));

const sc = read('syscall-cost.json');
for (const w of ['udp', 'tcp']) {
  for (const [cfg, g] of Object.entries(sc?.goals?.[w] ?? {})) row(`added ns per syscall, ${w}, ${cfg}`, `${n1(g.addedNs)} (bpftrace ${n1(g.bpftraceAddedNs)})`, '<= bpftrace', g.pass);
}
if (!sc) row('added ns per syscall', '-', '<= bpftrace');

const rr = read('rr-rate.json');
for (const g of rr?.goals ?? []) row(`TCP 64-byte request/response rate, traced / untraced, ${g.name}`, g.ratio.toFixed(3), '>= 0.97', g.pass);
if (!rr) row('TCP request/response rate traced / untraced', '-', '>= 0.97');

for (const [size, file] of [['10k', 'map-read-10k.json'], ['100k', 'map-read-100k.json'], ['1M', 'map-read-1m.json']]) {
  const m = read(file);
  const c = m?.goals?.loaderWithin1_3xOfC;
  const b = m?.goals?.loaderAtLeast15xFasterThanBpftool;
  row(`raw read of ${size} entries, loader / C batch floor`, c ? c.ratioMedian.toFixed(2) : '-', '<= 1.3', c?.pass);
  row(`raw read of ${size} entries, bpftool / loader`, b ? b.speedupMedian.toFixed(1) : '-', '>= 15', b?.pass);
}

const cs = read('connections-scale.json');
for (const r of (cs?.rows ?? []).filter((x) => (x.build ?? 'this') === 'this')) {
  const m = r.materialiseNsPerConn?.median ?? r.nsPerConn.median;
  const afterGc = r.afterGcMaterialiseNsPerConn?.median;
  row(`materialise every field of ${r.size} connections, ns each (whole ${Math.round(r.nsPerConn.median)}, kernel read ${Math.round(r.kernelNsPerConn?.median ?? NaN)}${afterGc === undefined ? '' : `; right after a full GC ${Math.round(afterGc)}`})`, Math.round(m), '<= 150', m <= 150);
}
const flat = cs?.goals?.find((g) => g.name.startsWith('flat'));
if (flat) row(`materialise ns per connection, ${flat.name.replace(/ \(.*/, '')} (ratio)`, flat.value.toFixed(2), '<= 1.3', flat.pass);
for (const g of cs?.goals?.filter((x) => x.name.startsWith('RSS')) ?? []) row(`tracer RSS after gc(), ${g.name.replace(/^RSS at (\d+):.*/, '$1')} live connections, MB`, Math.round(g.value), g.name.replace(/.*: /, ''), g.pass);
if (!cs) row('snapshot() / RSS with 10k-1M connections', '-', '<= 150 ns, <= 80 / 400 MB');

// offsets.mjs writes offsets-<date>.json: rows 'guess again', 'btf first', ... (medians, ms)
const off = newest('offsets');
const offMedian = (name) => off?.rows?.find((r) => r.name === name)?.median;
for (const setting of ['again', 'first']) {
  const g = offMedian(`guess ${setting}`);
  const b = offMedian(`btf ${setting}`);
  const label = setting === 'again' ? 'a later call in the process' : "a fresh process's first call";
  row(`offsets ready by guessing / by BTF, ms, ${label}`, g === undefined ? '-' : `${n1(g)} / ${n1(b)}`, '<= 50 / 30 ms', g === undefined ? undefined : g <= 50 && b <= 30);
}

const cl = read('closed-loss.json');
row(`closed connections lost at ${cl ? Math.round(cl.closesPerSecond.median) : '20k'} closes/s for ${cl?.config?.seconds ?? 10} s (median round; all rounds: ${cl ? cl.rounds.reduce((a, r) => a + r.lost, 0) : '-'} of ${cl ? cl.rounds.reduce((a, r) => a + r.closes, 0) : '-'})`, cl ? String(cl.lost.median) : '-', '0', cl?.goal?.pass);

const ts = newest('tracer-start');
for (const g of ts?.goals ?? []) row(`start -> first snapshot, ${g.name.replace(/ first.*/, '')}, ms`, n1(g.median), '<= 300', g.pass);
if (!ts?.goals) row('start -> first snapshot, ms', '-', '<= 300');

const w = ['figure', 'value', 'goal', 'result'].map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
const line = (r) => `| ${String(r.figure).padEnd(w[0])} | ${String(r.value).padStart(w[1])} | ${String(r.goal).padEnd(w[2])} | ${String(r.result).padEnd(w[3])} |`;
console.log(`\nissue 12, this run (${o.dir}):\n`);
console.log(line({ figure: 'figure', value: 'value', goal: 'goal', result: 'result' }));
console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (o.out) writeFileSync(o.out, `${JSON.stringify({ env: environment(), rows }, null, 2)}\n`);
