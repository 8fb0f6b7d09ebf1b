#!/usr/bin/env node
// Connections at scale (issue 12): a tracer holding 10k, 100k and 1M live TCP
// connections, each tracer in a child process of its own (started with
// maxConnections = the size + 4096 for the host's own sockets), its socket map filled from userspace by
// build/map_fill (c/map_fill.c, BPF_MAP_UPDATE_BATCH by map id) with records
// as the kernel side writes them (struct tcp_sock_rec: tuple, tcp_stats, one
// process slot, live), keyed by addresses no real socket has. Two figures per
// size, over --rounds interleaved rounds (every round asks each child in a
// rotated order):
//
//   snapshot   tracer.snapshot() and a read of every field of every
//              connection (tcp_stats joined, the client's delta), from the
//              map read to the last field (the result is a list of views:
//              reading the fields is part of the cost); ns per connection (wall; the process's CPU time too, steadier
//              on a shared machine). Split as the tracer times it (stats().lastRead): the kernel's
//              map reads (the raw-read figure, map-read.mjs has its goal) and the rest, materialise.
//              Goal: materialise <= 150 ns, flat from 10k to 1M. A breakdown (the call, the field
//              reads, and the reads by kind of field) follows the table.
//   RSS        the tracer process's RSS after the snapshot and gc() (the
//              result dropped). Goal: <= 80 MB at 100k, <= 400 MB at 1M.
//
// Per round and child: the timed snapshot, then the RSS (three full
// collections), then the same timed snapshot again, printed as `afterGc`
// beside the figure: right after a full collection V8 runs the reads cold
// (about 17 ms a snapshot here, most of the 10k figure when it was taken
// there). The figure's snapshot follows that second one, never a collection.
//
//   node --expose-gc connections-scale.mjs [--rounds 15] [--sizes 10000,100000,1000000] [--out <file.json>] [--compare <checkout>]
//
// --compare: the same children for another built checkout's tracer (e.g. the main
// branch's worktree), interleaved with this one's in every round: before/after side by side.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { abi, ConnDirection, ConnTypeBit } from '@tracer-bpf/decode';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const FILL = join(HERE, 'build', 'map_fill');
/** The network namespace inode of the fake connections (no real namespace has it). */
const FAKE_NETNS = 1;
const { log, die } = reporter('connections-scale');

/** Socket records `from`..`from + n` as the kernel writes them: keys (fake socket addresses) and struct tcp_sock_rec values. */
function records(from, n, valueSize, pid) {
  const R = abi.structs.tcp_sock_rec.fields;
  const T = abi.structs.conn_tuple.fields;
  const S = abi.structs.conn_stats.fields;
  const P = abi.structs.tcp_stats.fields;
  const C = abi.structs.conn_stats.size;
  const keys = Buffer.alloc(n * 8);
  const values = Buffer.alloc(n * valueSize);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    keys.writeBigUInt64LE(0x1000n + BigInt(i) * 64n, k * 8); // never a kernel address
    const v = k * valueSize;
    const t = v + R.tup.offset;
    values.set([127, 0, 0, 1], t + T.saddr_l.offset);
    values.set([127, 0, 0, 2], t + T.daddr_l.offset);
    values.writeUInt16LE(1024 + (i % 60000), t + T.sport.offset);
    values.writeUInt16LE(443 + Math.floor(i / 60000), t + T.dport.offset);
    values.writeUInt32LE(FAKE_NETNS, t + T.netns.offset);
    values.writeUInt32LE(pid, t + T.pid.offset);
    values.writeUInt32LE(ConnTypeBit.TCP, t + T.metadata.offset);
    const p = v + R.tcp.offset;
    values.writeUInt32LE(3, p + P.retransmits.offset);
    values.writeUInt32LE(120 + (i % 50), p + P.rtt.offset);
    values.writeUInt32LE(30, p + P.rtt_var.offset);
    values.writeUInt32LE(1000 + i, p + P.segs_out.offset);
    values.writeUInt32LE(900 + i, p + P.segs_in.offset);
    values.writeUInt16LE((1 << 1) | (1 << 2), p + P.state_transitions.offset);
    values.writeUInt8(1, p + P.state.offset);
    const s = v + R.slots.offset;
    values.writeBigUInt64LE(BigInt(10_000_000 + i), s + S.sent_bytes.offset);
    values.writeBigUInt64LE(BigInt(20_000_000 + i), s + S.recv_bytes.offset);
    values.writeBigUInt64LE(BigInt(1000 + i), s + S.sent_packets.offset);
    values.writeBigUInt64LE(BigInt(900 + i), s + S.recv_packets.offset);
    values.writeBigUInt64LE(BigInt(5e15 + i), s + S.timestamp.offset);
    values.writeBigUInt64LE(BigInt(1 + i), s + S.id.offset);
    values.writeBigUInt64LE(BigInt(4e15 + i), s + S.start.offset);
    values.writeUInt8(ConnDirection.OUTGOING, s + S.direction.offset);
    values.writeUInt32LE(pid, v + R.pids.offset);
    values.writeUInt8(1, v + R.nslots.offset);
    values.writeUInt8(1, v + R.live.offset);
    if (C * 4 + R.slots.offset > R.pids.offset) throw new Error('layout: slots overlap pids');
  }
  return { keys, values };
}

/** The id of this process's BPF map called `name` (its fdinfo, then bpftool). */
function ownMapId(name) {
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let m;
    try {
      m = /^map_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    } catch {
      continue;
    }
    if (!m) continue;
    const info = JSON.parse(spawnSync('bpftool', ['map', 'show', 'id', m[1], '-j'], { encoding: 'utf8' }).stdout || '{}');
    if (info.name === name) return { id: info.id, valueSize: info.bytes_value };
  }
  throw new Error(`no map ${name} among this process's descriptors`);
}

/**
 * Every field of every connection read (a checksum of them all, so none is
 * skipped), and how many of the fake connections are there whole: a snapshot
 * that dropped or mangled some would be fast and wrong.
 */
function readAll(conns) {
  let sum = 0;
  let fake = 0;
  for (const c of conns) {
    sum += (c.id === 0n ? 0 : 1) + (c.idIsCookie ? 1 : 0) + c.protocol.length + c.family.length + c.pid + (c.command?.length ?? 0) + c.netns;
    sum += c.localAddress.length + c.localPort + c.remoteAddress.length + c.remotePort + c.direction.length;
    sum += Number(c.sentBytes) + Number(c.recvBytes) + Number(c.sentPackets) + Number(c.recvPackets) + Number(c.start) + Number(c.lastUpdate);
    sum += (c.seenLate ? 1 : 0) + (c.assured ? 1 : 0) + (c.closed?.length ?? 0);
    const t = c.tcp;
    if (t) sum += t.retransmits + t.rttUs + t.rttVarUs + t.segsOut + t.segsIn + t.states.length + (t.state?.length ?? 0);
    const d = c.delta;
    sum += Number(d.sentBytes) + Number(d.recvBytes) + Number(d.sentPackets) + Number(d.recvPackets) + d.retransmits;
    if (c.netns === FAKE_NETNS && t?.retransmits === 3 && Number(c.sentBytes) >= 10_000_000 && c.localAddress === '127.0.0.1' && c.remoteAddress === '127.0.0.2') fake++;
  }
  return { fake, sum };
}

/**
 * The reads of readAll() by kind of field, a loop each: what a view's fields
 * cost (array loads behind getters, text from caches, the small objects of
 * tcp and delta, the id's BigInt), printed as the breakdown of the figure.
 */
const FIELD_LOOPS = {
  iterate: (cs) => { let x = 0; for (const c of cs) if (c) x++; return x; },
  numbers: (cs) => { let x = 0; for (const c of cs) x += c.pid + c.netns + c.localPort + c.remotePort + Number(c.sentBytes) + Number(c.recvBytes) + Number(c.sentPackets) + Number(c.recvPackets) + Number(c.start) + Number(c.lastUpdate); return x; },
  flags: (cs) => { let x = 0; for (const c of cs) x += c.protocol.length + c.family.length + c.direction.length + (c.command?.length ?? 0) + (c.closed?.length ?? 0) + (c.seenLate ? 1 : 0) + (c.assured ? 1 : 0) + (c.idIsCookie ? 1 : 0); return x; },
  addresses: (cs) => { let x = 0; for (const c of cs) x += c.localAddress.length + c.remoteAddress.length; return x; },
  tcp: (cs) => { let x = 0; for (const c of cs) { const t = c.tcp; if (t) x += t.retransmits + t.rttUs + t.rttVarUs + t.segsOut + t.segsIn + t.states.length + (t.state?.length ?? 0); } return x; },
  delta: (cs) => { let x = 0; for (const c of cs) { const d = c.delta; x += Number(d.sentBytes) + Number(d.recvBytes) + Number(d.sentPackets) + Number(d.recvPackets) + d.retransmits; } return x; },
  id: (cs) => { let x = 0; for (const c of cs) x += c.id === 0n ? 0 : 1; return x; },
};

/**
 * This process's socket map filled with N fake connections, written to files
 * a chunk at a time: the bench's own records must not stay in the RSS it
 * reports (when they were made whole inside the async child, that function
 * kept them alive: +43 MB at 100k, +430 MB at 1M).
 */
function fillSocketMap(n) {
  const { id, valueSize } = ownMapId('sock_state');
  const dir = mkdtempSync(join(tmpdir(), 'conn-scale-'));
  try {
    // In chunks: the records of 1M connections are 424 MB that this process's RSS would keep.
    for (let from = 0; from < n; from += 4096) {
      const { keys, values } = records(from, Math.min(4096, n - from), valueSize, process.pid);
      appendFileSync(join(dir, 'k'), keys);
      appendFileSync(join(dir, 'v'), values);
    }
    const r = spawnSync(FILL, [String(id), join(dir, 'k'), join(dir, 'v')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`map_fill: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- child: one tracer of N connections
async function child(n) {
  // room for the host's own sockets besides the N
  // --compare: another checkout's built tracer, in a child of its own
  const { Tracer } = await import(process.env.CONN_SCALE_TRACER ? pathToFileURL(process.env.CONN_SCALE_TRACER).href : '@tracer-bpf/tracer');
  const tracer = await Tracer.start({ backend: 'tp_btf', maxConnections: n + 4096, udpPeers: false });
  fillSocketMap(n);
  const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  say({ ready: n });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'snapshot') {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      // Timed: the snapshot and a read of every field of every connection
      // (a result of lazy views costs its reads; Number() takes bigint and number alike).
      let conns = tracer.snapshot();
      const tc = process.hrtime.bigint();
      const { fake, sum } = readAll(conns);
      const ns = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(c0);
      if (!(sum > 0)) throw new Error(`checksum ${sum}`);
      // The kernel's share of the call (its map reads), as the tracer timed it (builds before lastRead: null).
      const kernelNs = tracer.stats().lastRead?.kernelReadNs ?? null;
      // Where the time went, after the timed part: the call itself, the read of every field, and (untimed for
      // the goal) the same reads split by kind of field, each kind in a loop of its own over the same list.
      const parts = { call: Number(tc - t0), fields: ns - Number(tc - t0) };
      for (const [kind, loop] of Object.entries(FIELD_LOOPS)) {
        const a = process.hrtime.bigint();
        if (!(loop(conns) >= 0)) throw new Error(`field loop ${kind}`);
        parts[kind] = Number(process.hrtime.bigint() - a);
      }
      conns = null;
      say({ ns, kernelNs, parts, cpuNs: (cpu.user + cpu.system) * 1000, fake });
    } else if (line === 'rss') {
      // The RSS figure: after full collections (the last snapshot's result dropped).
      for (let i = 0; i < 3; i++) {
        globalThis.gc();
        await new Promise((res) => setTimeout(res, 20));
      }
      const m = process.memoryUsage();
      say({ rss: m.rss, heapUsed: m.heapUsed, external: m.external });
    } else if (line === 'stop') {
      tracer.close();
      process.exit(0);
    }
  }
}

if (process.env.CONN_SCALE_CHILD) {
  await child(Number(process.env.CONN_SCALE_CHILD));
} else {
  const o = parseOptions(process.argv.slice(2), {
    script: fileURLToPath(import.meta.url),
    defaults: { rounds: 15, sizes: '10000,100000,1000000', out: join(REPO, 'bench-results', 'connections-scale.json') },
    ints: { rounds: 'rounds' },
    strings: { sizes: 'sizes', out: 'out', compare: 'compare' },
    die,
  });
  if (process.getuid?.() !== 0) die('run as root: the tracer loads BPF programs');
  const sizes = o.sizes.split(',').map(Number);
  const builds = [{ label: 'this', tracer: undefined }];
  if (o.compare) builds.push({ label: o.compare, tracer: join(o.compare, 'packages', 'tracer', 'dist', 'index.js') });
  const runs = builds.flatMap((b) => sizes.map((n) => ({ ...b, n, key: `${b.label} ${n}` })));
  const t0 = Date.now();
  const children = new Map();
  for (const run of runs) {
    const env = { ...process.env, CONN_SCALE_CHILD: String(run.n), ...(run.tracer && { CONN_SCALE_TRACER: run.tracer }) };
    const p = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value);
    const ready = await next();
    if (ready.ready !== run.n) die(`child ${run.key}: ${JSON.stringify(ready)}`);
    log(`${run.label}: a tracer with ${run.n} live connections is ready`);
    children.set(run.key, { p, next });
  }
  const samples = Object.fromEntries(runs.map((r) => [r.key, { nsPerConn: [], kernelNsPerConn: [], materialiseNsPerConn: [], afterGcMaterialiseNsPerConn: [], parts: {}, cpuNsPerConn: [], rssMiB: [], heapMiB: [] }]));
  const snapshot = async (c, key, n) => {
    c.p.stdin.write('snapshot\n');
    const res = await c.next();
    if (res.fake !== n) die(`the snapshot of ${key} had ${res.fake} of its connections`);
    return res;
  };
  try {
    for (let r = 0; r < o.rounds; r++) {
      const order = runs.map((_, i) => runs[(i + r) % runs.length]);
      for (const { n, key } of order) {
        const c = children.get(key);
        // The figure: a snapshot in a process whose last full collection was not just now (the
        // previous one here was the after-GC sample below). Then the RSS after gc(), then the
        // same snapshot again right after those full collections, printed beside it.
        const res = await snapshot(c, key, n);
        c.p.stdin.write('rss\n');
        const mem = await c.next();
        const afterGc = await snapshot(c, key, n);
        if (afterGc.kernelNs !== null) samples[key].afterGcMaterialiseNsPerConn.push((afterGc.ns - afterGc.kernelNs) / n);
        samples[key].nsPerConn.push(res.ns / n);
        for (const [k, v] of Object.entries(res.parts)) (samples[key].parts[k] ??= []).push(v / n);
        if (res.kernelNs !== null) {
          samples[key].kernelNsPerConn.push(res.kernelNs / n);
          samples[key].materialiseNsPerConn.push((res.ns - res.kernelNs) / n);
        }
        samples[key].cpuNsPerConn.push(res.cpuNs / n);
        samples[key].rssMiB.push(mem.rss / 2 ** 20);
        samples[key].heapMiB.push(mem.heapUsed / 2 ** 20);
      }
      log(`round ${r + 1}/${o.rounds}: ${order.map(({ key }) => `${key}: ${samples[key].nsPerConn.at(-1).toFixed(0)} ns/conn, RSS ${samples[key].rssMiB.at(-1).toFixed(0)} MiB`).join('; ')}`);
    }
  } finally {
    for (const { p } of children.values()) p.stdin.write('stop\n');
  }
  const opt = (xs) => (xs.length ? stats(xs) : { median: NaN, min: NaN, p90: NaN });
  const allRows = runs.map(({ label, n, key }) => ({ build: label, size: n, nsPerConn: stats(samples[key].nsPerConn), kernelNsPerConn: opt(samples[key].kernelNsPerConn), materialiseNsPerConn: opt(samples[key].materialiseNsPerConn), afterGcMaterialiseNsPerConn: opt(samples[key].afterGcMaterialiseNsPerConn), cpuNsPerConn: stats(samples[key].cpuNsPerConn), rssMiB: stats(samples[key].rssMiB), heapMiB: stats(samples[key].heapMiB) }));
  const rows = allRows.filter((r) => r.build === 'this');
  const f = (x, d = 0) => x.toFixed(d).padStart(8);
  console.log(`\nlive connections: snapshot() and every field read, ns per connection, and RSS after gc() (${o.rounds} interleaved rounds; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  console.log('(whole: the call and the reads; kernel: its map reads, the raw-read figure of map-read.mjs; materialise: whole - kernel, the goal;');
  console.log(' after gc: materialise in the snapshot right after the RSS figure\'s three full collections, where V8 runs the reads cold again)');
  console.log(`${'build'.padEnd(12)}${'size'.padEnd(10)}${'whole'.padStart(8)}${'kernel'.padStart(8)}${'mater.'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'afterGc'.padStart(8)}${'CPU ns'.padStart(8)}   ${'RSS MiB'.padStart(8)}${'min'.padStart(8)}${'p90'.padStart(8)}${'heap MiB'.padStart(10)}`);
  for (const r of allRows) console.log(`${r.build.slice(-12).padEnd(12)}${String(r.size).padEnd(10)}${f(r.nsPerConn.median)}${f(r.kernelNsPerConn.median)}${f(r.materialiseNsPerConn.median)}${f(r.materialiseNsPerConn.min)}${f(r.materialiseNsPerConn.p90)}${f(r.afterGcMaterialiseNsPerConn.median)}${f(r.cpuNsPerConn.median)}   ${f(r.rssMiB.median, 1)}${f(r.rssMiB.min, 1)}${f(r.rssMiB.p90, 1)}${f(r.heapMiB.median, 1).padStart(10)}`);
  const partNames = Object.keys(samples[runs[0].key].parts);
  console.log(`\nwhere it goes, ns per connection (medians): call = snapshot() (kernel included), fields = the read of every field; then the same reads by kind, each a loop of its own`);
  console.log(`${'build'.padEnd(12)}${'size'.padEnd(10)}${partNames.map((k) => k.padStart(10)).join('')}`);
  for (const { label, n, key } of runs) console.log(`${label.slice(-12).padEnd(12)}${String(n).padEnd(10)}${partNames.map((k) => f(stats(samples[key].parts[k]).median).padStart(10)).join('')}`);
  const goals = [];
  for (const r of rows) goals.push({ name: `materialise at ${r.size}: at most 150 ns per connection`, value: r.materialiseNsPerConn.median, pass: r.materialiseNsPerConn.median <= 150 });
  const lo = rows[0];
  const hi = rows.at(-1);
  const flat = hi.materialiseNsPerConn.median / lo.materialiseNsPerConn.median;
  goals.push({ name: `flat from ${lo.size} to ${hi.size} (ratio at most 1.3)`, value: flat, pass: flat <= 1.3 });
  const MB = 1e6 / 2 ** 20; // goals in MB, samples in MiB
  for (const [n, limit] of [[100_000, 80], [1_000_000, 400]]) {
    const r = rows.find((x) => x.size === n);
    if (r) goals.push({ name: `RSS at ${n}: at most ${limit} MB`, value: r.rssMiB.median / MB, pass: r.rssMiB.median / MB <= limit });
  }
  for (const g of goals) console.log(`Goal: ${g.name} ... ${g.pass ? 'PASS' : 'MISS'}  ${g.value.toFixed(g.value < 10 ? 2 : 0)}`);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ env: environment(), config: o, rows: allRows, goals, samples, elapsedS: (Date.now() - t0) / 1000 }, null, 2)}\n`);
  log(`wrote ${o.out}`);
}
