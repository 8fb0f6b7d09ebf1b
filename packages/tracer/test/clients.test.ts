// Several readers of one tracer (no kernel needed): each client gets every
// close once, bounded, and deltas against its own previous call. The
// connections are close records (struct conn) written with the ABI's own
// offsets and encoder, turned into rows as the tracer does.
import { abi, CONN_SIZE, ConnCloseReason, encodeTuple } from '@tracer-bpf/decode';
import { describe, expect, it } from 'vitest';
import { Clients } from '../src/clients.js';
import type { CloseReason } from '../src/connection.js';
import { type ConnectionList, ROW, RowStore, rowFromConn } from '../src/rows.js';

const REASON: Record<CloseReason, number> = { destroyed: ConnCloseReason.DESTROYED, failed: ConnCloseReason.FAILED, expired: ConnCloseReason.EXPIRED, unknown: 0 };

/** A TCP connection's close record: id = local port, packets = bytes / 100, retransmits = sent / 1000. */
function record(localPort: number, sent: number, recv: number, opts: { pid?: number; closed?: CloseReason } = {}): Buffer {
  const C = abi.structs.conn.fields;
  const S = abi.structs.conn_stats.fields;
  const P = abi.structs.tcp_stats.fields;
  const b = Buffer.alloc(CONN_SIZE);
  encodeTuple({ type: 'TCP', source: '127.0.0.1', sport: localPort, dest: '127.0.0.1', dport: 80, netns: 4026531840, pid: opts.pid ?? 42 }).copy(b, C.tup.offset);
  const s = C.conn_stats.offset;
  b.writeBigUInt64LE(BigInt(sent), s + S.sent_bytes.offset);
  b.writeBigUInt64LE(BigInt(recv), s + S.recv_bytes.offset);
  b.writeBigUInt64LE(BigInt(Math.floor(sent / 100)), s + S.sent_packets.offset);
  b.writeBigUInt64LE(BigInt(Math.floor(recv / 100)), s + S.recv_packets.offset);
  b.writeBigUInt64LE(BigInt(localPort), s + S.id.offset);
  b.writeUInt32LE(Math.floor(sent / 1000), C.tcp_stats.offset + P.retransmits.offset);
  if (opts.closed) b[C.reason.offset] = REASON[opts.closed];
  return b;
}

/** Live rows, as a snapshot's read makes them. */
function live(...recs: Buffer[]): RowStore {
  const s = new RowStore(recs.length);
  for (const r of recs) s.f.set(rowFromConn(r, true), s.n++ * ROW);
  return s;
}

const closed = (r: Buffer) => ({ row: rowFromConn(r), command: 'curl' });
const deltas = (xs: ConnectionList) => xs.map((c) => [c.localPort, c.delta.sentBytes, c.delta.recvBytes, c.delta.retransmits, c.closed]);

describe('Clients', () => {
  it('gives each client deltas against its own previous call', () => {
    const cl = new Clients(10, 60_000);
    expect(deltas(cl.take('a', live(record(1, 1000, 200)), 0))).toEqual([[1, 1000, 200, 1, undefined]]);
    expect(deltas(cl.take('a', live(record(1, 3000, 200)), 1))).toEqual([[1, 2000, 0, 2, undefined]]);
    // b is new: everything so far
    expect(deltas(cl.take('b', live(record(1, 3500, 300)), 2))).toEqual([[1, 3500, 300, 3, undefined]]);
    expect(deltas(cl.take('a', live(record(1, 3500, 300)), 3))).toEqual([[1, 500, 100, 0, undefined]]);
    // the same counters on another pid are another connection
    expect(deltas(cl.take('a', live(record(1, 3500, 300), record(1, 10, 0, { pid: 7 })), 4))).toEqual([
      [1, 0, 0, 0, undefined],
      [1, 10, 0, 0, undefined],
    ]);
    // not seen in a call: forgotten, the next sight starts from zero
    cl.take('a', live(), 5);
    expect(deltas(cl.take('a', live(record(1, 3600, 300)), 6))).toEqual([[1, 3600, 300, 3, undefined]]);
  });

  it('keeps deltas exact over many connections and calls (the table grows, shrinks and reuses its slots)', () => {
    const cl = new Clients(10, 60_000);
    for (let call = 1; call <= 4; call++) {
      // 5000 connections, a different fifth of them gone each call
      const recs = [];
      for (let p = 1; p <= 5000; p++) if (p % 5 !== call % 5) recs.push(record(p, p * 10 * call, p * call));
      const xs = cl.take('a', live(...recs), call);
      let wrong = 0;
      for (const c of xs) {
        const p = c.localPort;
        // seen in the previous call unless it was the fifth missing then (or this is the first call)
        const prev = call > 1 && p % 5 !== (call - 1) % 5 ? call - 1 : 0;
        if (c.delta.sentBytes !== p * 10 * (call - prev) || c.delta.recvBytes !== p * (call - prev)) wrong++;
      }
      expect([xs.length, wrong]).toEqual([4000, 0]);
    }
    // everything gone: the next sight of any starts from zero
    cl.take('a', live(), 5);
    expect(deltas(cl.take('a', live(record(7, 70, 7)), 6))).toEqual([[7, 70, 7, 0, undefined]]);
  });

  it('keeps deltas exact whatever order the connections come in: kept, shifted, shuffled, closed, back again', () => {
    // A reference model (a Map of what the client saw last) against the client, over calls whose
    // rows keep the last order (with some gone and some new), or come shuffled; closes of live,
    // recently seen and never seen connections in between. Seeded: the same run every time.
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const cl = new Clients(100_000, 60_000);
    cl.add('a', 0); // registered before the first close
    const seen = new Map<number, number>(); // model: key -> sent bytes the client saw last
    const sent = new Map<number, number>(); // the connections' counters now
    let order: number[] = [];
    let wrong = 0;
    let checked = 0;
    for (let call = 1; call <= 40; call++) {
      // next order: the last one, minus some, plus some new at random places; or all shuffled
      let next = order.filter(() => rand(10) !== 0);
      for (let k = rand(200); k > 0; k--) next.splice(rand(next.length + 1), 0, 1 + rand(3000));
      next = [...new Set(next)];
      if (call % 7 === 0) next.sort(() => rand(3) - 1);
      for (const key of next) sent.set(key, (sent.get(key) ?? 0) + 1 + rand(1000));
      // closes: some of the live ones (their final counters), some seen earlier, some never seen
      const closes: number[] = [];
      for (let k = rand(20); k > 0; k--) {
        const pool = rand(2) === 0 && next.length ? next : [...seen.keys(), 5000 + rand(100)];
        const key = pool[rand(pool.length)]!;
        if (!closes.includes(key)) closes.push(key);
      }
      for (const key of closes) {
        sent.set(key, (sent.get(key) ?? 0) + 7);
        cl.push(closed(record(key, sent.get(key)!, 0, { closed: 'destroyed' })));
      }
      const liveNow = next.filter((k) => !closes.includes(k) || rand(2) === 0); // a closed one may still be read live
      const xs = cl.take('a', live(...liveNow.map((k) => record(k, sent.get(k)! - (closes.includes(k) ? 7 : 0), 0))), call);
      // the model: live deltas against the last call, closed ones against this call's live counters or the last call's
      const now = new Map<number, number>();
      const want: [number, number, string | undefined][] = [];
      for (const k of liveNow) {
        const v = sent.get(k)! - (closes.includes(k) ? 7 : 0);
        want.push([k, v - (seen.get(k) ?? 0), undefined]);
        now.set(k, v);
      }
      for (const k of closes) {
        const base = now.has(k) ? now.get(k)! : liveNow.includes(k) ? 0 : (seen.get(k) ?? 0);
        want.push([k, sent.get(k)! - base, 'destroyed']);
        now.delete(k);
        if (!liveNow.includes(k)) seen.delete(k);
      }
      seen.clear();
      for (const [k, v] of now) seen.set(k, v);
      for (const k of closes) sent.delete(k);
      order = next.filter((k) => !closes.includes(k));
      const got = xs.map((c) => [c.localPort, c.delta.sentBytes, c.closed]);
      checked += got.length;
      for (let j = 0; j < want.length; j++) if (JSON.stringify(got[j]) !== JSON.stringify(want[j])) wrong++;
      expect(got.length).toBe(want.length);
    }
    expect(wrong).toBe(0);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('delivers each close once to every client registered when it happened, with its last delta', () => {
    const cl = new Clients(10, 60_000);
    cl.add('a', 0);
    cl.take('b', live(record(1, 100, 0)), 0);
    cl.push(closed(record(1, 150, 10, { closed: 'destroyed' })));
    cl.add('late', 1); // registered after the close: never sees it
    expect(deltas(cl.take('a', live(), 2))).toEqual([[1, 150, 10, 0, 'destroyed']]);
    expect(deltas(cl.take('b', live(), 2))).toEqual([[1, 50, 10, 0, 'destroyed']]);
    expect(cl.take('late', live(), 2).length).toBe(0);
    expect(cl.take('a', live(), 3).length).toBe(0);
    expect(cl.take('b', live(), 3).length).toBe(0);
  });

  it('a connection live and closed in one call: its deltas add up to its final counters', () => {
    const cl = new Clients(10, 60_000);
    cl.take('a', live(record(1, 100, 0)), 0);
    cl.push(closed(record(1, 400, 40, { closed: 'destroyed' })));
    expect(deltas(cl.take('a', live(record(1, 300, 30)), 1))).toEqual([
      [1, 200, 30, 0, undefined],
      [1, 100, 10, 0, 'destroyed'],
    ]);
  });

  it('bounds each queue and counts what it dropped, per client', () => {
    const cl = new Clients(3, 60_000);
    cl.add('slow', 0);
    cl.add('fast', 0);
    for (let i = 0; i < 5; i++) {
      cl.push(closed(record(i, 1, 1, { closed: 'destroyed' })));
      if (i === 1) expect(cl.take('fast', live(), 0)).toHaveLength(2);
    }
    expect(cl.stats()).toEqual([
      { name: 'slow', queued: 3, dropped: 2, lastCallMs: 0 },
      { name: 'fast', queued: 3, dropped: 0, lastCallMs: 0 },
    ]);
    expect(cl.dropped).toBe(2);
    expect(cl.take('slow', live(), 1).map((c) => c.localPort)).toEqual([0, 1, 2]);
  });

  it('drops a client silent for longer than the limit, with its queue', () => {
    const cl = new Clients(10, 1000);
    cl.take('a', live(), 0);
    cl.take('b', live(), 500);
    cl.push(closed(record(1, 1, 1, { closed: 'destroyed' })));
    expect(cl.expire(1200)).toBe(1);
    expect(cl.stats().map((s) => s.name)).toEqual(['b']);
    expect(cl.expired).toBe(1);
    // a comes back as a new client: the close it missed is gone
    expect(cl.take('a', live(), 1300).length).toBe(0);
    expect(cl.take('b', live(), 1300)).toHaveLength(1);
  });

  it("a list is the client's until its next call: then its views refuse to read, toObject() copies stay", () => {
    const cl = new Clients(10, 60_000);
    const first = cl.take('a', cl.rowsFor('a', 0, 4, 0), 0);
    const rows = cl.rowsFor('a', 1, 4, 0);
    rows.f.set(rowFromConn(record(9, 900, 90), true), rows.n++ * ROW);
    const list = cl.take('a', rows, 1);
    const view = list.at(0)!;
    const copy = view.toObject();
    expect([view.localPort, view.sentBytes, view.id, view.localAddress, view.tcp?.retransmits, view.command]).toEqual([9, 900, 9n, '127.0.0.1', 0, undefined]);
    expect(JSON.parse(JSON.stringify(list))[0]).toMatchObject({ id: '9', sentBytes: 900, delta: { sentBytes: 900 } });
    cl.rowsFor('a', 2, 4, 1);
    expect(() => view.sentBytes).toThrow(/next connections\(\) call/);
    expect(() => [...list]).toThrow(expect.objectContaining({ code: 'ERR_STALE_CONNECTION' }));
    expect(() => first.at(0)).not.toThrow(); // empty: nothing to read
    expect(copy).toMatchObject({ localPort: 9, sentBytes: 900, id: 9n, delta: { sentBytes: 900, retransmits: 0 } });
  });

  it('a burst of connections leaves no memory behind: the client keeps its slab, and the pages past what it needs go back', () => {
    const cl = new Clients(10, 60_000);
    const CAP = 200_000;
    // a burst: 100 000 live connections in one call
    const rows = cl.rowsFor('a', 0, CAP, 0);
    const slab = rows.f;
    const rec = rowFromConn(record(1, 1000, 100), true);
    for (let i = 0; i < 100_000; i++) rows.f.set(rec, rows.n++ * ROW);
    expect(cl.take('a', rows, 0)).toHaveLength(100_000);
    // then quiet: 10 connections. The same slab is refilled (no new allocation to fragment the heap)...
    const quiet = cl.rowsFor('a', 1, CAP, 10);
    expect(quiet.f).toBe(slab);
    // ...and the rows past twice the need plus 4096 were given back: they read as zero
    const kept = 2 * 10 + 4096;
    expect([slab[(kept - 1) * ROW + 1], slab[(kept + 100) * ROW + 1], slab[99_999 * ROW + 1]]).toEqual([1000, 0, 0]);
    for (let i = 0; i < 10; i++) quiet.f.set(rec, quiet.n++ * ROW);
    expect(cl.take('a', quiet, 1).map((c) => c.sentBytes)).toEqual(new Array(10).fill(1000));
  });
});
