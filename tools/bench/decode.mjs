#!/usr/bin/env node
// Decode benchmark: close records and tuples through @tracer-bpf/decode,
// side by side in one run, in interleaved rounds:
//
//   close records (struct conn, 144 bytes)
//     toBatch            the perf path: 25 000 batch samples of 4 records each, framed
//                        and padded as the loader delivers them (subarrays of one Buffer)
//     toBatch in place   the same samples decoded at their offsets in the delivery
//                        buffer (what a loader API handing over the raw buffer would allow)
//     decodeConn         records back to back in one Buffer (a map read / ring buffer)
//     compileStruct      the specialized decoder compiled from the layout table (eager
//                        plain objects, C field names, bigints)
//     decodeStruct       the generic table-driven decoder (interprets the table per record)
//     diag: read all     decodeConn, then every getter (bigints, address text): what
//                        using a record costs, on top of decoding it
//   tuples (struct conn_tuple, 48 bytes)
//     decodeTuple, compileStruct, decodeStruct, and diag: decodeTuple + address text
//
// Goal: decoding 100k records takes less than a tenth of the time the kernel
// needs to hand them over (about 30 ms), i.e. under 3 ms per 100k. Every decoded
// record is stored into a ring of 4096 slots, so it really is built (no escape
// analysis) and dies young, as in a consumer that handles records as they come.
// Every timed run follows an untimed run of the same method, so it pays for
// its own garbage, not for the previous method's (a full GC instead would
// shrink V8's young generation and slow every allocating method down).
// Prints a table and writes JSON. A benchmark, not a test: a missed goal is
// reported, not turned into an exit status; exit 1 only when a method decodes
// wrong values (checksums differ).
//
//   node decode.mjs [--rounds 15] [--records 100000] [--out <file.json>]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abi, compileStruct, decodeConn, decodeStruct, decodeTuple, toBatch } from '@tracer-bpf/decode';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const GOAL_MS_PER_100K = 3;

// ---------------------------------------------------------------- options
const { log, die } = reporter('bench:decode');

function parseArgs(argv) {
  const o = parseOptions(argv, {
    script: fileURLToPath(import.meta.url),
    defaults: { rounds: 15, records: 100_000, out: join(REPO, 'bench-results', 'decode.json') },
    ints: { rounds: 'rounds', records: 'records' },
    strings: { out: 'out' },
    die,
  });
  if (o.records % 4 !== 0) die('--records must be a multiple of 4 (whole batches)');
  return o;
}
const r3 = (x) => Math.round(x * 1000) / 1000;
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);

// ---------------------------------------------------------------- data
// Records are written through the generated layout table, like the kernel
// side would (offsets are never literals here either).
const S = abi.structs;
const BATCH_SLOTS = abi.enums.tracer_abi_const.CONN_CLOSED_BATCH_SIZE;

function writeTuple(dv, o, k) {
  const F = S.conn_tuple.fields;
  const v6 = k % 4 === 3; // a quarter IPv6, with non-zero high halves
  const tcp = k % 3 !== 0;
  if (v6) {
    dv.setBigUint64(o + F.saddr_h.offset, 0xb80d0120n | (BigInt(k & 0xffff) << 48n), true);
    dv.setBigUint64(o + F.saddr_l.offset, BigInt(k) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn, true);
    dv.setBigUint64(o + F.daddr_h.offset, 0x80fen, true);
    dv.setBigUint64(o + F.daddr_l.offset, 0x0100000000000000n + BigInt(k), true);
  } else {
    dv.setUint32(o + F.saddr_l.offset, 0x0000000a | ((k & 0xffffff) << 8), true); // 10.x.y.z
    dv.setUint32(o + F.daddr_l.offset, 0x0100a8c0 + ((k & 0xff) << 24), true); // 192.168.0.x
  }
  dv.setUint16(o + F.sport.offset, 32768 + (k % 28000), true);
  dv.setUint16(o + F.dport.offset, [443, 80, 53, 5432][k % 4], true);
  dv.setUint32(o + F.netns.offset, 4026531840 + (k % 7), true);
  dv.setUint32(o + F.pid.offset, 1000 + (k % 50000), true);
  const T = abi.enums.conn_type_bit;
  const Fa = abi.enums.conn_family_bit;
  dv.setUint32(o + F.metadata.offset, (tcp ? T.CONN_TYPE_TCP : T.CONN_TYPE_UDP) | (v6 ? Fa.CONN_V6 : Fa.CONN_V4), true);
}

function writeConn(dv, o, k) {
  const C = S.conn.fields;
  writeTuple(dv, o + C.tup.offset, k);
  const St = S.conn_stats.fields;
  const s = o + C.conn_stats.offset;
  dv.setBigUint64(s + St.sent_bytes.offset, BigInt(k) * 1460n + (k % 97 === 0 ? 1n << 60n : 0n), true);
  dv.setBigUint64(s + St.recv_bytes.offset, BigInt(k) * 7n, true);
  dv.setBigUint64(s + St.timestamp.offset, 9_500_000_000_000_000n + BigInt(k) * 1000n, true); // past 2^53 ns (~110 days up)
  dv.setBigUint64(s + St.start.offset, 9_400_000_000_000_000n + BigInt(k) * 1000n, true);
  dv.setBigUint64(s + St.id.offset, 0x8000000000000000n + BigInt(k), true); // a socket cookie
  const CF = abi.enums.conn_flags;
  dv.setUint32(s + St.flags.offset, CF.CONN_ID_COOKIE | (k % 3 === 0 ? CF.CONN_ASSURED : 0) | (k % 50 === 0 ? CF.CONN_SEEN_LATE : 0), true);
  dv.setUint8(s + St.direction.offset, 1 + (k % 2));
  dv.setBigUint64(s + St.sent_packets.offset, BigInt(k % 1000), true);
  dv.setBigUint64(s + St.recv_packets.offset, BigInt(k % 900), true);
  const Tc = S.tcp_stats.fields;
  const t = o + C.tcp_stats.offset;
  dv.setUint32(t + Tc.retransmits.offset, k % 5, true);
  dv.setUint32(t + Tc.rtt.offset, 200 + (k % 5000), true);
  dv.setUint32(t + Tc.rtt_var.offset, 50 + (k % 100), true);
  dv.setUint32(t + Tc.segs_out.offset, 10 + (k % 1000), true);
  dv.setUint32(t + Tc.segs_in.offset, 12 + (k % 900), true);
  dv.setUint16(t + Tc.state_transitions.offset, 0x82, true);
  dv.setUint8(t + Tc.state.offset, abi.enums.tcp_state_num.TCP_STATE_CLOSE);
  dv.setUint8(o + C.reason.offset, 1 + (k % 3));
}

function makeData(n) {
  const CONN = S.conn.size;
  const TUPLE = S.conn_tuple.size;
  const BATCH = S.batch.size;
  // Close records back to back.
  const conns = Buffer.alloc(n * CONN);
  const cdv = new DataView(conns.buffer, conns.byteOffset, conns.byteLength);
  for (let k = 0; k < n; k++) writeConn(cdv, k * CONN, k);
  // Tuples back to back (a map read's keys).
  const tuples = Buffer.alloc(n * TUPLE);
  const tdv = new DataView(tuples.buffer, tuples.byteOffset, tuples.byteLength);
  for (let k = 0; k < n; k++) writeTuple(tdv, k * TUPLE, k);
  // Perf samples as the loader delivers them: one Buffer, each record framed by
  // (u32 len, u32 cpu) and padded to 8; the raw sample is the batch (592
  // bytes) plus 4 bytes of perf padding.
  const nb = n / BATCH_SLOTS;
  const sampleLen = BATCH + 4;
  const frame = 8 + ((sampleLen + 7) & ~7);
  const perf = Buffer.alloc(nb * frame);
  const pdv = new DataView(perf.buffer, perf.byteOffset, perf.byteLength);
  const samples = new Array(nb);
  const sampleOffsets = new Array(nb);
  const B = S.batch.fields;
  for (let b = 0; b < nb; b++) {
    const f = b * frame;
    pdv.setUint32(f, sampleLen, true);
    pdv.setUint32(f + 4, b % os.cpus().length, true);
    const o = f + 8;
    for (let s = 0; s < BATCH_SLOTS; s++) writeConn(pdv, o + B[`c${s}`].offset, b * BATCH_SLOTS + s);
    pdv.setUint16(o + B.len.offset, BATCH_SLOTS, true);
    pdv.setBigUint64(o + B.id.offset, BigInt(b), true);
    samples[b] = perf.subarray(o, o + sampleLen);
    sampleOffsets[b] = o;
  }
  return { conns, tuples, samples, perf, sampleOffsets };
}

// ---------------------------------------------------------------- methods
const RING = 4096;
const ring = new Array(RING).fill(null);

function makeMethods(data, n) {
  const CONN = S.conn.size;
  const TUPLE = S.conn_tuple.size;
  const compiledConn = compileStruct('conn');
  const compiledTuple = compileStruct('conn_tuple');
  // Each method returns a checksum over what it decoded (ports and bytes), to
  // check that all of them read the same values.
  return [
    {
      key: 'toBatch', group: 'close records', kind: 'production',
      label: 'toBatch (perf samples, views)',
      run() {
        let sum = 0n;
        let r = 0;
        for (const sample of data.samples) {
          const cs = toBatch(sample).conns;
          for (let i = 0; i < cs.length; i++, r++) {
            const c = cs[i];
            ring[r & (RING - 1)] = c;
            if ((r & 0xfff) === 0) sum += c.stats.sentBytes + BigInt(c.tuple.sport);
          }
        }
        return { count: r, sum };
      },
    },
    {
      key: 'toBatchInPlace', group: 'close records', kind: 'comparison',
      label: 'toBatch (delivery buffer + offsets)',
      run() {
        let sum = 0n;
        let r = 0;
        const perf = data.perf;
        for (const off of data.sampleOffsets) {
          const cs = toBatch(perf, off).conns;
          for (let i = 0; i < cs.length; i++, r++) {
            const c = cs[i];
            ring[r & (RING - 1)] = c;
            if ((r & 0xfff) === 0) sum += c.stats.sentBytes + BigInt(c.tuple.sport);
          }
        }
        return { count: r, sum };
      },
    },
    {
      key: 'decodeConn', group: 'close records', kind: 'production',
      label: 'decodeConn (views)',
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const c = decodeConn(data.conns, i * CONN);
          ring[i & (RING - 1)] = c;
          if ((i & 0xfff) === 0) sum += c.stats.sentBytes + BigInt(c.tuple.sport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'compiledConn', group: 'close records', kind: 'comparison',
      label: "compileStruct('conn') (eager)",
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const c = compiledConn(data.conns, i * CONN);
          ring[i & (RING - 1)] = c;
          if ((i & 0xfff) === 0) sum += c.conn_stats.sent_bytes + BigInt(c.tup.sport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'genericConn', group: 'close records', kind: 'comparison',
      label: "decodeStruct('conn') (generic)",
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const c = decodeStruct('conn', data.conns, i * CONN);
          ring[i & (RING - 1)] = c;
          if ((i & 0xfff) === 0) sum += c.conn_stats.sent_bytes + BigInt(c.tup.sport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'connReadAll', group: 'close records', kind: 'diag',
      label: 'diag: decodeConn + every getter',
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const c = decodeConn(data.conns, i * CONN);
          const t = c.tuple;
          const s = c.stats;
          const p = c.tcp;
          const v = [t.source, t.dest, t.sport, t.dport, t.netns, t.pid, t.metadata, s.sentBytes, s.recvBytes, s.sentPackets,
            s.recvPackets, s.timestamp, s.id, s.start, s.flags, s.direction, p.retransmits, p.rtt, p.rttVar, p.segsOut, p.segsIn,
            p.stateTransitions, p.state, c.reason, c.closeReason];
          ring[i & (RING - 1)] = v;
          if ((i & 0xfff) === 0) sum += s.sentBytes + BigInt(t.sport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'decodeTuple', group: 'tuples', kind: 'production',
      label: 'decodeTuple (views)',
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const t = decodeTuple(data.tuples, i * TUPLE);
          ring[i & (RING - 1)] = t;
          if ((i & 0xfff) === 0) sum += BigInt(t.sport + t.dport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'compiledTuple', group: 'tuples', kind: 'comparison',
      label: "compileStruct('conn_tuple') (eager)",
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const t = compiledTuple(data.tuples, i * TUPLE);
          ring[i & (RING - 1)] = t;
          if ((i & 0xfff) === 0) sum += BigInt(t.sport + t.dport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'genericTuple', group: 'tuples', kind: 'comparison',
      label: "decodeStruct('conn_tuple') (generic)",
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const t = decodeStruct('conn_tuple', data.tuples, i * TUPLE);
          ring[i & (RING - 1)] = t;
          if ((i & 0xfff) === 0) sum += BigInt(t.sport + t.dport);
        }
        return { count: n, sum };
      },
    },
    {
      key: 'tupleText', group: 'tuples', kind: 'diag',
      label: 'diag: decodeTuple + address text',
      run() {
        let sum = 0n;
        for (let i = 0; i < n; i++) {
          const t = decodeTuple(data.tuples, i * TUPLE);
          ring[i & (RING - 1)] = t.source + t.dest;
          if ((i & 0xfff) === 0) sum += BigInt(t.sport + t.dport);
        }
        return { count: n, sum };
      },
    },
  ];
}

// ---------------------------------------------------------------- run

function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = performance.now();
  log(`building ${o.records} close records, ${o.records} tuples and ${o.records / BATCH_SLOTS} perf samples`);
  const data = makeData(o.records);
  const methods = makeMethods(data, o.records);

  // Warm-up (untimed) and the correctness check: within a group, every method
  // must decode the same count and checksum.
  const check = {};
  for (const m of methods) {
    let res;
    for (let i = 0; i < 3; i++) res = m.run();
    if (res.count !== o.records) die(`${m.label} decoded ${res.count} records, expected ${o.records}`);
    const prev = check[m.group];
    if (prev && prev.sum !== res.sum) die(`${m.label}: checksum ${res.sum} differs from ${prev.label}'s ${prev.sum}`);
    check[m.group] ??= { sum: res.sum, label: m.label };
  }

  const samples = Object.fromEntries(methods.map((m) => [m.key, []]));
  const orders = [];
  for (let round = 0; round < o.rounds; round++) {
    const order = rotate(methods, round % methods.length);
    orders.push(order.map((m) => m.key));
    for (const m of order) {
      m.run(); // untimed: absorbs the GC work the previous method left behind
      const t0 = process.hrtime.bigint();
      m.run();
      const t1 = process.hrtime.bigint();
      samples[m.key].push(Number(t1 - t0) / 1e6);
    }
    log(`round ${round + 1}/${o.rounds}`);
  }

  const per100k = 100_000 / o.records;
  const results = {};
  for (const m of methods) {
    const st = stats(samples[m.key]);
    const msPer100k = st.median * per100k;
    results[m.key] = {
      label: m.label,
      group: m.group,
      kind: m.kind,
      records: o.records,
      samplesMs: samples[m.key].map(r3),
      medianMs: r3(st.median),
      minMs: r3(st.min),
      p90Ms: r3(st.p90),
      maxMs: r3(st.max),
      meanMs: r3(st.mean),
      msPer100k: r3(msPer100k),
      recordsPerSec: Math.round(o.records / (st.median / 1000)),
      goal: m.kind === 'diag' ? null : msPer100k < GOAL_MS_PER_100K ? 'PASS' : 'MISS',
    };
  }

  // ---------------------------------------------------------------- report
  const fmtRate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)} M/s` : `${(x / 1e3).toFixed(0)} k/s`);
  const header = `${'method'.padEnd(38)} ${'records/s'.padStart(10)} ${'ms/100k'.padStart(8)} ${'min'.padStart(7)} ${'p90'.padStart(7)}  goal (< ${GOAL_MS_PER_100K} ms/100k)`;
  const lines = [];
  let group = '';
  for (const m of methods) {
    const r = results[m.key];
    if (m.group !== group) {
      group = m.group;
      lines.push('', `${group} (${o.records} per round, ${o.rounds} rounds, medians)`, header);
    }
    lines.push(
      `${r.label.padEnd(38)} ${fmtRate(r.recordsPerSec).padStart(10)} ${r.msPer100k.toFixed(2).padStart(8)} ${(r.minMs * per100k).toFixed(2).padStart(7)} ${(r.p90Ms * per100k).toFixed(2).padStart(7)}  ${r.goal ?? '(diagnostic)'}`,
    );
  }
  const production = methods.filter((m) => m.kind === 'production').map((m) => results[m.key]);
  lines.push('', 'Goal: decode 100k records in under a tenth of the kernel\'s ~30 ms to hand them over (< 3 ms):');
  for (const r of production) lines.push(`  ${r.label.padEnd(36)} ${r.msPer100k.toFixed(2)} ms/100k ... ${r.goal}`);
  console.log(lines.join('\n'));

  const report = {
    env: environment(),
    config: { records: o.records, rounds: o.rounds, ring: RING, warmRunBeforeEachTimedRun: true, goalMsPer100k: GOAL_MS_PER_100K, orders },
    methods: results,
    goals: Object.fromEntries(production.map((r) => [r.label, r.goal])),
    elapsedS: r3((performance.now() - started) / 1000),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${relative(process.cwd(), o.out) || o.out}`);
}

main();
