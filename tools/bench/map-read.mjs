#!/usr/bin/env node
// Map-read benchmark: read a 100 000-entry BPF hash map (48-byte keys and
// values) four ways, side by side in the same run, in interleaved rounds:
//
//   loader batch    BpfMap.readAll({ method: 'batch' }) into preallocated, reused buffers
//   loader iterate  BpfMap.readAll({ method: 'iterate' }) (get_next_key + lookup per key)
//   C floor         build/batch_read (c/batch_read.c): bpf_map_lookup_batch from C, same
//                   libbpf, same batch size, preallocated buffers; timed inside the program
//   bpftool         `bpftool map dump id <id> -j > /dev/null`, timed as a whole command
//
// plus a diagnostic row (a lookupBatch() loop that never outgrows the caller's
// buffers: what readAll's batch path could cost), a batch-size sweep and the
// memory one batch read allocates. Prints a table and writes JSON. A benchmark,
// not a test: a missed goal is reported, not turned into an exit status.
// Exit status 1 only when something fails (a method reads the wrong count, a tool is missing).
//
//   node --expose-gc map-read.mjs [--rounds 9] [--entries 100000] [--batch 4096]
//        [--sweep-rounds 3] [--no-sweep] [--bpftool-every K] [--out <file.json>]
// --bpftool-every K: bpftool only in every K-th round (at 1M entries a dump takes minutes).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { BpfObject, libbpfVersion } from '@tracer-bpf/loader';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const C_BIN = join(HERE, 'build', 'batch_read');

// ---------------------------------------------------------------- options
const { log, die } = reporter('bench');

function parseArgs(argv) {
  return parseOptions(argv, {
    script: fileURLToPath(import.meta.url),
    defaults: { rounds: 9, entries: 100_000, batch: 4096, sweepRounds: 3, sweep: true, bpftoolEvery: 1, out: join(REPO, 'bench-results', 'map-read.json') },
    ints: { rounds: 'rounds', entries: 'entries', batch: 'batch', 'sweep-rounds': 'sweepRounds', 'bpftool-every': 'bpftoolEvery' },
    strings: { out: 'out' },
    flags: { 'no-sweep': ['sweep', false] },
    die,
  });
}

// ---------------------------------------------------------------- stats
const ns2ms = (ns) => Number(ns) / 1e6;
const r3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);

// ---------------------------------------------------------------- environment
function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
function loaderEnvironment() {
  return {
    ...environment(),
    libbpfLoader: libbpfVersion(),
    bpftool: sh('bpftool', ['version'])?.split('\n')[0] ?? null,
    gcc: sh('gcc', ['-dumpfullversion']),
    uid: process.getuid?.(),
  };
}

async function settle() {
  // Let V8 free (and account for) dead ArrayBuffers before a memory reading.
  if (!globalThis.gc) return false;
  globalThis.gc();
  await sleep(50);
  globalThis.gc();
  await sleep(10);
  return true;
}

// ---------------------------------------------------------------- fill
function fillMap(m, n) {
  const ks = m.keySize;
  const vs = m.valueBytes;
  const keys = Buffer.alloc(n * ks);
  const values = Buffer.alloc(n * vs);
  for (let i = 0; i < n; i++) {
    const k = i * ks;
    // Distinct content spread over the whole key (not just a counter in the first bytes).
    keys.writeUInt32LE(i, k);
    keys.writeUInt32LE(Math.imul(i, 0x9e3779b1) >>> 0, k + 16);
    keys.writeUInt32LE((i ^ 0xdeadbeef) >>> 0, k + ks - 4);
    const v = i * vs;
    values.writeBigUInt64LE(BigInt(i) * 3n, v);
    values.writeBigUInt64LE(BigInt(i) + 7n, v + vs - 8);
  }
  const t0 = process.hrtime.bigint();
  const done = m.updateBatch(keys, values, n);
  const t1 = process.hrtime.bigint();
  return { count: done, ms: ns2ms(t1 - t0) };
}

// ---------------------------------------------------------------- methods
function makeMethods(m, id, o) {
  const N = o.entries;
  const ks = m.keySize;
  const vs = m.valueBytes;
  // Preallocated once, touched, reused by every round.
  const bufs = {
    batch: { keys: Buffer.alloc(N * ks), values: Buffer.alloc(N * vs) },
    iterate: { keys: Buffer.alloc(N * ks), values: Buffer.alloc(N * vs) },
    diag: { keys: Buffer.alloc(N * ks), values: Buffer.alloc(N * vs) },
  };
  const devnull = openSync('/dev/null', 'w');

  // warm: one untimed read right before the timed one, as the C program does
  // (a read right after another method's is ~10% slower: cold caches/TLB).
  const loaderBatch = (batchSize, warm = true) => () => {
    const b = bufs.batch;
    if (warm) m.readAll({ method: 'batch', batchSize, keys: b.keys, values: b.values });
    const t0 = process.hrtime.bigint();
    const d = m.readAll({ method: 'batch', batchSize, keys: b.keys, values: b.values });
    const t1 = process.hrtime.bigint();
    return { ms: ns2ms(t1 - t0), count: d.count, reusedBuffers: d.keys.buffer === b.keys.buffer && d.values.buffer === b.values.buffer };
  };
  // Diagnostic: the public lookupBatch() in a loop that asks for at most what
  // is left in the caller's buffers, so it never reallocates (see README).
  const diagLoop = (batchSize, warm = true) => () => {
    const b = bufs.diag;
    if (warm) readLoop(b, batchSize);
    const t0 = process.hrtime.bigint();
    const count = readLoop(b, batchSize);
    const t1 = process.hrtime.bigint();
    return { ms: ns2ms(t1 - t0), count };
  };
  const readLoop = (b, batchSize) => {
    const cur = m.newBatchCursor();
    let count = 0;
    let batch = batchSize;
    for (;;) {
      const want = Math.min(batch, N - count);
      if (want === 0) throw new Error('diag loop: buffers full before the end of the map');
      let r;
      try {
        r = m.lookupBatch(cur, b.keys.subarray(count * ks), b.values.subarray(count * vs), want);
      } catch (err) {
        if (err?.code === 'ENOSPC' && want === batch && batch < 1 << 20) { batch *= 2; continue; }
        throw err;
      }
      count += r.count;
      if (r.done) break;
    }
    return count;
  };
  const loaderIterate = () => {
    const b = bufs.iterate;
    const t0 = process.hrtime.bigint();
    const d = m.readAll({ method: 'iterate', keys: b.keys, values: b.values });
    const t1 = process.hrtime.bigint();
    return { ms: ns2ms(t1 - t0), count: d.count, reusedBuffers: d.keys.buffer === b.keys.buffer && d.values.buffer === b.values.buffer };
  };
  // The C program does `warmup` untimed reads, then `reps` timed ones, in one process.
  const cFloor = (batchSize, reps = 1, warmup = 1) => () => {
    const r = spawnSync(C_BIN, [String(id), String(batchSize), String(reps), String(warmup)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${C_BIN} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
    const j = JSON.parse(r.stdout);
    const bad = j.counts.find((c) => c !== N);
    return { ms: ns2ms(j.samplesNs[0]), samplesMs: j.samplesNs.map(ns2ms), count: bad ?? j.count, calls: j.calls, info: j };
  };
  const bpftool = () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bpftool', ['map', 'dump', 'id', String(id), '-j'], { stdio: ['ignore', devnull, 'pipe'] });
    const t1 = process.hrtime.bigint();
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`bpftool map dump failed (${r.status ?? r.signal}): ${r.stderr}`);
    return { ms: ns2ms(t1 - t0), count: null /* counted once, outside timing */ };
  };
  const bpftoolCount = () => {
    const t0 = process.hrtime.bigint();
    const out = execFileSync('bpftool', ['map', 'dump', 'id', String(id), '-j'], { maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'pipe'] });
    const t1 = process.hrtime.bigint();
    // Counted in the bytes: at 1M entries the JSON (~1 GB) is longer than V8's longest string.
    const entry = Buffer.from('{"key":["');
    let count = 0;
    for (let at = out.indexOf(entry); at >= 0; at = out.indexOf(entry, at + entry.length)) count++;
    return {
      count,
      bytes: out.length,
      hasFormatted: out.indexOf('"formatted":') >= 0,
      msWithPipe: ns2ms(t1 - t0),
    };
  };
  return { bufs, loaderBatch, diagLoop, loaderIterate, cFloor, bpftool, bpftoolCount, close: () => closeSync(devnull) };
}

// Run `methods` (name -> fn) `rounds` times, each round in a rotated order.
// `sparse` (name -> k): that method runs only in every k-th round (bpftool at 1M entries takes minutes a dump).
function interleave(methods, rounds, expect, label, sparse = {}) {
  const names = Object.keys(methods);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const extra = Object.fromEntries(names.map((n) => [n, []]));
  const orders = [];
  for (let r = 0; r < rounds; r++) {
    const order = rotate(names, r).filter((n) => !sparse[n] || r % sparse[n] === 0);
    orders.push(order);
    const line = [];
    for (const name of order) {
      const res = methods[name]();
      if (res.count != null && res.count !== expect) {
        die(`${label}: ${name} read ${res.count} entries, expected ${expect}`);
      }
      samples[name].push(res.ms);
      extra[name].push(res);
      line.push(`${name} ${res.ms.toFixed(1)}`);
    }
    log(`${label} round ${r + 1}/${rounds}: ${line.join(', ')} ms`);
  }
  return { samples, extra, orders };
}

// ---------------------------------------------------------------- memory
async function memoryOf(fn) {
  const gcOk = await settle();
  const before = process.memoryUsage();
  const res = fn(); // result (and whatever it allocated) is still alive at the second reading
  const after = process.memoryUsage();
  const d = (k) => after[k] - before[k];
  return {
    gcExposed: gcOk,
    rssDeltaBytes: d('rss'),
    externalDeltaBytes: d('external'),
    arrayBuffersDeltaBytes: d('arrayBuffers'),
    heapUsedDeltaBytes: d('heapUsed'),
    reusedCallerBuffers: res.reusedBuffers ?? null,
    ms: res.ms,
    count: res.count,
  };
}

// ---------------------------------------------------------------- output
function table(rows, headers) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [fmt(headers), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(fmt)].join('\n');
}
const MiB = (b) => `${b >= 0 ? '+' : ''}${(b / 2 ** 20).toFixed(2)} MiB`;

// ---------------------------------------------------------------- main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tStart = process.hrtime.bigint();
  const env = loaderEnvironment();
  if (env.uid !== 0) log('not running as root: loading the BPF object needs CAP_BPF (and CAP_SYS_ADMIN for map ids)');
  if (!env.bpftool) die('bpftool not found (apt-get install bpftool)');
  if (!existsSync(C_BIN)) {
    log(`${relative(REPO, C_BIN)} missing: building it (bash tools/bench/build.sh)`);
    const r = spawnSync('bash', [join(HERE, 'build.sh')], { stdio: 'inherit' });
    if (r.status !== 0) die('building the C floor failed (needs gcc and libbpf: see tools/bench/README.md)');
  }
  if (!globalThis.gc) log('run node with --expose-gc for steadier memory readings');

  const obj = BpfObject.open(objects.loaderTest);
  obj.map('bench').setMaxEntries(o.entries);
  // Only the map is needed: load no program (nothing attaches, nothing runs).
  for (const p of obj.programs.values()) p.setAutoload(false);
  await obj.load();
  const results = {};
  try {
    const m = obj.map('bench');
    const info = m.info();
    const N = o.entries;
    log(`map bench: id ${info.id}, ${info.keySize}-byte keys, ${info.valueSize}-byte values, max_entries ${info.maxEntries}`);

    const fill = fillMap(m, N);
    if (fill.count !== N) die(`updateBatch stored ${fill.count} entries, expected ${N}`);
    log(`filled ${N} entries with one updateBatch in ${fill.ms.toFixed(1)} ms`);

    const M = makeMethods(m, info.id, o);
    // Count bpftool's entries once (outside timing); also warms its code path.
    const bt = M.bpftoolCount();
    if (bt.count !== N) die(`bpftool dumped ${bt.count} entries, expected ${N}`);
    log(`bpftool dump: ${bt.count} entries, ${(bt.bytes / 2 ** 20).toFixed(1)} MiB of JSON${bt.hasFormatted ? ' (hex + BTF-formatted)' : ''}`);

    const methods = {
      'loader batch': M.loaderBatch(o.batch),
      'loader iterate': M.loaderIterate,
      'C floor (batch)': M.cFloor(o.batch),
      bpftool: M.bpftool,
      'diag: lookupBatch loop': M.diagLoop(o.batch),
    };
    // One untimed warm-up of each in-process method and of the C program.
    for (const [name, fn] of Object.entries(methods)) {
      if (name === 'bpftool') continue;
      const r = fn();
      if (r.count !== N) die(`warm-up: ${name} read ${r.count} entries, expected ${N}`);
    }
    const mem = {
      'loader batch': await memoryOf(M.loaderBatch(o.batch, false)),
      'diag: lookupBatch loop': await memoryOf(M.diagLoop(o.batch, false)),
      'loader iterate': await memoryOf(M.loaderIterate),
    };

    log(`${o.rounds} interleaved rounds, batch size ${o.batch}`);
    const run = interleave(methods, o.rounds, N, 'main', { bpftool: o.bpftoolEvery });
    const cInfo = run.extra['C floor (batch)'][0].info;
    const st = Object.fromEntries(Object.entries(run.samples).map(([k, v]) => [k, stats(v)]));
    const cMed = st['C floor (batch)'].median;
    const cMin = st['C floor (batch)'].min;

    // ------------------------------------------------------------ sweep
    let sweep = null;
    if (o.sweep) {
      const sizes = [1024, 4096, 16384, N];
      const sm = {};
      for (const b of sizes) {
        sm[`loader batch @${b}`] = M.loaderBatch(b);
        sm[`C floor @${b}`] = M.cFloor(b);
      }
      log(`batch-size sweep: ${sizes.join(', ')} (${o.sweepRounds} interleaved rounds)`);
      const sr = interleave(sm, o.sweepRounds, N, 'sweep');
      sweep = {
        rounds: o.sweepRounds,
        sizes: sizes.map((b) => {
          const l = stats(sr.samples[`loader batch @${b}`]);
          const c = stats(sr.samples[`C floor @${b}`]);
          return {
            batchSize: b,
            loaderSamplesMs: sr.samples[`loader batch @${b}`].map(r3),
            cSamplesMs: sr.samples[`C floor @${b}`].map(r3),
            loaderMedianMs: r3(l.median),
            loaderMinMs: r3(l.min),
            cMedianMs: r3(c.median),
            cMinMs: r3(c.min),
            cCalls: sr.extra[`C floor @${b}`][0].calls,
            loaderVsC: r3(l.median / c.median),
            loaderReusedCallerBuffers: sr.extra[`loader batch @${b}`].every((x) => x.reusedBuffers),
          };
        }),
      };
      const inRange = sweep.sizes.filter((s) => s.batchSize !== N);
      sweep.bestLoader = inRange.reduce((a, b) => (b.loaderMedianMs < a.loaderMedianMs ? b : a)).batchSize;
      sweep.bestC = inRange.reduce((a, b) => (b.cMedianMs < a.cMedianMs ? b : a)).batchSize;
    }
    M.close();

    // ------------------------------------------------------------ report
    const order = ['loader batch', 'C floor (batch)', 'loader iterate', 'bpftool', 'diag: lookupBatch loop'];
    const rows = order.map((k) => [
      k,
      st[k].n,
      st[k].median.toFixed(2),
      st[k].min.toFixed(2),
      st[k].p90.toFixed(2),
      `${(st[k].median / cMed).toFixed(2)}x`,
    ]);
    const lb = st['loader batch'];
    const bp = st.bpftool;
    const g1 = lb.median / cMed;
    const g2 = bp.median / lb.median;
    const goals = {
      loaderWithin1_3xOfC: {
        pass: g1 <= 1.3,
        ratioMedian: r3(g1),
        ratioMin: r3(lb.min / cMin),
        limit: 1.3,
      },
      loaderAtLeast15xFasterThanBpftool: {
        pass: g2 >= 15,
        speedupMedian: r3(g2),
        speedupMin: r3(bp.min / lb.min),
        limit: 15,
      },
    };
    const reused = run.extra['loader batch'].every((x) => x.reusedBuffers);

    const out = [];
    out.push('');
    out.push(`Map read: ${N} entries, ${info.keySize}-byte keys, ${info.valueSize}-byte values (BPF_MAP_TYPE_HASH "bench", id ${info.id})`);
    out.push(`kernel ${env.kernel}, node ${env.node}, libbpf ${env.libbpfLoader} (loader) / ${cInfo.libbpf} (C floor: ${cInfo.linked}), ${env.bpftool}`);
    out.push(`${env.cpuModel}, ${env.cpus} CPUs; ${o.rounds} interleaved rounds (rotating order); batch size ${o.batch} (C: ${cInfo.calls} LOOKUP_BATCH calls per read)`);
    out.push('');
    out.push(table(rows, ['method', 'n', 'median ms', 'min ms', 'p90 ms', 'vs C floor']));
    out.push('');
    out.push('  loader batch   readAll({ method: "batch", batchSize, keys, values }), preallocated buffers passed every round');
    out.push('  C floor        tools/bench/c/batch_read.c: bpf_map_lookup_batch into preallocated buffers, timed inside the program');
    out.push('                 (batch rows: 1 untimed warm-up read right before each timed read, C and loader alike)');
    out.push('  loader iterate readAll({ method: "iterate" }): BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM per key (no warm-up)');
    out.push('  bpftool        `bpftool map dump id <id> -j > /dev/null` timed as a whole command: includes process start-up,');
    out.push(`                 per-entry syscalls and JSON formatting (${(bt.bytes / 2 ** 20).toFixed(0)} MiB of JSON${bt.hasFormatted ? ', hex + BTF-formatted' : ''})`);
    out.push('  diag: ...      lookupBatch() loop that never asks for more than the caller\'s buffers hold (not a goal row; see README)');
    out.push('');
    out.push(`Goal: loader batch within 1.3x of the C floor ........ ${goals.loaderWithin1_3xOfC.pass ? 'PASS' : 'MISS'}  ` +
      `${lb.median.toFixed(2)} / ${cMed.toFixed(2)} ms = ${g1.toFixed(2)}x (min/min ${(lb.min / cMin).toFixed(2)}x)`);
    out.push(`Goal: loader batch at least 15x faster than bpftool .. ${goals.loaderAtLeast15xFasterThanBpftool.pass ? 'PASS' : 'MISS'}  ` +
      `${bp.median.toFixed(2)} / ${lb.median.toFixed(2)} ms = ${g2.toFixed(1)}x (min/min ${(bp.min / lb.min).toFixed(1)}x)`);
    out.push('');
    const mb = mem['loader batch'];
    const md = mem['diag: lookupBatch loop'];
    const mi = mem['loader iterate'];
    out.push(`Memory of one read with preallocated ${((N * info.keySize) / 2 ** 20).toFixed(2)} MiB key + ${((N * m.valueBytes) / 2 ** 20).toFixed(2)} MiB value buffers${mb.gcExposed ? '' : ' (no --expose-gc: noisy)'}:`);
    out.push(`  loader batch:   external ${MiB(mb.externalDeltaBytes)}, arrayBuffers ${MiB(mb.arrayBuffersDeltaBytes)}, rss ${MiB(mb.rssDeltaBytes)}, heapUsed ${MiB(mb.heapUsedDeltaBytes)}; result in the caller's buffers: ${mb.reusedCallerBuffers ? 'yes' : 'NO'}`);
    out.push(`  diag loop:      external ${MiB(md.externalDeltaBytes)}, arrayBuffers ${MiB(md.arrayBuffersDeltaBytes)}, rss ${MiB(md.rssDeltaBytes)}, heapUsed ${MiB(md.heapUsedDeltaBytes)}; result in the caller's buffers: yes`);
    out.push(`  loader iterate: external ${MiB(mi.externalDeltaBytes)}, arrayBuffers ${MiB(mi.arrayBuffersDeltaBytes)}, rss ${MiB(mi.rssDeltaBytes)}, heapUsed ${MiB(mi.heapUsedDeltaBytes)}; result in the caller's buffers: ${mi.reusedCallerBuffers ? 'yes' : 'NO'}`);
    if (!reused) {
      out.push(`  NOTE: readAll() did not fill the caller's buffers: it reallocated them at the end of the map (see README, "Known finding").`);
    }
    if (sweep) {
      out.push('');
      out.push(`Batch-size sweep (${sweep.rounds} interleaved rounds each; median ms):`);
      out.push(table(
        sweep.sizes.map((s) => [
          s.batchSize === N ? `${s.batchSize} (= max_entries)` : s.batchSize,
          s.loaderMedianMs.toFixed(2),
          s.cMedianMs.toFixed(2),
          `${s.loaderVsC.toFixed(2)}x`,
          s.cCalls,
          s.loaderReusedCallerBuffers ? 'yes' : 'no',
        ]),
        ['batch size', 'loader ms', 'C ms', 'loader/C', 'C calls', 'loader reused buffers'],
      ));
      out.push(`  best of 1024/4096/16384: loader ${sweep.bestLoader}, C ${sweep.bestC}`);
    }
    const jsonPath = o.out;
    out.push('');
    out.push(`JSON: ${jsonPath}`);
    console.log(out.join('\n'));

    Object.assign(results, {
      benchmark: 'map-read',
      env,
      config: {
        entries: N,
        keySize: info.keySize,
        valueSize: info.valueSize,
        valueBytes: m.valueBytes,
        mapType: 'hash',
        mapId: info.id,
        maxEntries: info.maxEntries,
        batchSize: o.batch,
        rounds: o.rounds,
        orders: run.orders,
        cFloor: { binary: relative(REPO, C_BIN), libbpf: cInfo.libbpf, linked: cInfo.linked, lookupBatchCallsPerRead: cInfo.calls },
        warmupReadBeforeEachTimedRead: { 'loader batch': 1, 'C floor (batch)': 1, 'diag: lookupBatch loop': 1, 'loader iterate': 0, bpftool: 0 },
        bpftool: { command: `bpftool map dump id ${info.id} -j > /dev/null`, includes: 'process start-up, one syscall pair per entry, JSON formatting', outputBytes: bt.bytes, btfFormatted: bt.hasFormatted },
      },
      fill: { method: 'updateBatch', count: fill.count, ms: r3(fill.ms) },
      counts: {
        'loader batch': run.extra['loader batch'].map((x) => x.count),
        'loader iterate': run.extra['loader iterate'].map((x) => x.count),
        'C floor (batch)': run.extra['C floor (batch)'].map((x) => x.count),
        bpftool: bt.count,
        'diag: lookupBatch loop': run.extra['diag: lookupBatch loop'].map((x) => x.count),
      },
      methods: Object.fromEntries(order.map((k) => [k, {
        samplesMs: run.samples[k].map(r3),
        medianMs: r3(st[k].median),
        minMs: r3(st[k].min),
        p90Ms: r3(st[k].p90),
        maxMs: r3(st[k].max),
        meanMs: r3(st[k].mean),
        ratioVsCMedian: r3(st[k].median / cMed),
        ratioVsCMin: r3(st[k].min / cMin),
      }])),
      loaderBatchReusedCallerBuffers: reused,
      goals,
      memory: mem,
      sweep,
      elapsedS: r3(ns2ms(process.hrtime.bigint() - tStart) / 1000),
    });
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  } finally {
    obj.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
