// Golden records written by gcc from the ABI header (test/c/golden.c), decoded
// by every decoder and compared with what C read from the same struct.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileStruct,
  ConnectionFamily,
  ConnectionType,
  ConnDirection,
  decodeConn,
  decodeConnStats,
  decodeStruct,
  decodeTcpStats,
  decodeTelemetry,
  decodeTuple,
  toBatch,
  type ConnStats,
  type ConnTuple,
  type StructName,
  type TcpStats,
} from '../src/index.js';
import { buildDir, compileHost, PKG, plain } from './helpers.js';

interface Golden {
  name: string;
  struct: StructName;
  hex: string;
  fields: Record<string, unknown>;
  text?: { source: string; dest: string };
}

let records: Map<string, Golden>;

beforeAll(() => {
  const bin = compileHost(join(PKG, 'test', 'c', 'golden.c'), join(buildDir('golden'), 'golden'));
  const out = JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as { records: Golden[] };
  records = new Map(out.records.map((r) => [r.name, r]));
});

function golden(name: string): Golden {
  const r = records.get(name);
  if (!r) throw new Error(`no golden record ${name}`);
  return r;
}
const bytes = (g: Golden): Buffer => Buffer.from(g.hex, 'hex');
/** The record at an odd offset of a larger buffer (the decoders' copy path). */
function unaligned(g: Golden, pad = 3): Buffer {
  const b = Buffer.alloc(bytes(g).length + pad + 5, 0xee);
  bytes(g).copy(b, pad);
  return b;
}
const big = (v: unknown): bigint => BigInt(v as string);
type Fields = Record<string, unknown>;

function expectTuple(t: ConnTuple, f: Fields, text: { source: string; dest: string } | undefined): void {
  expect(t.saddrH).toBe(big(f.saddr_h));
  expect(t.saddrL).toBe(big(f.saddr_l));
  expect(t.daddrH).toBe(big(f.daddr_h));
  expect(t.daddrL).toBe(big(f.daddr_l));
  expect(t.sport).toBe(f.sport);
  expect(t.dport).toBe(f.dport);
  expect(t.netns).toBe(f.netns);
  expect(t.pid).toBe(f.pid);
  expect(t.metadata).toBe(f.metadata);
  if (text) {
    expect(t.source).toBe(text.source);
    expect(t.dest).toBe(text.dest);
  }
}

function expectStats(s: ConnStats, f: Fields): void {
  expect(s.sentBytes).toBe(big(f.sent_bytes));
  expect(s.recvBytes).toBe(big(f.recv_bytes));
  expect(s.timestamp).toBe(big(f.timestamp));
  expect(s.sentPackets).toBe(big(f.sent_packets));
  expect(s.recvPackets).toBe(big(f.recv_packets));
  expect(s.flags).toBe(f.flags);
  expect(s.direction).toBe(f.direction);
}

function expectTcp(s: TcpStats, f: Fields): void {
  expect(s.retransmits).toBe(f.retransmits);
  expect(s.rtt).toBe(f.rtt);
  expect(s.rttVar).toBe(f.rtt_var);
  expect(s.stateTransitions).toBe(f.state_transitions);
}

describe('golden records from gcc', () => {
  it('are what the C program says they are (sizes match the table, values are out of double range)', () => {
    expect([...records.keys()]).toEqual(['tuple_v6', 'tuple_v4', 'tuple_v4mapped', 'conn_stats', 'tcp_stats', 'conn', 'batch', 'telemetry']);
    const s = golden('conn_stats').fields;
    expect(big(s.recv_bytes)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(big(s.sent_bytes) >> 63n).toBe(1n);
  });

  it('decodeStruct (table-driven) reads every field of every record as C does', () => {
    for (const g of records.values()) {
      expect(plain(decodeStruct(g.struct, bytes(g))), g.name).toEqual(g.fields);
      expect(plain(decodeStruct(g.struct, unaligned(g), 3)), `${g.name} unaligned`).toEqual(g.fields);
    }
  });

  it('compileStruct (specialized) reads every field of every record as C does', () => {
    for (const g of records.values()) {
      const decode = compileStruct(g.struct);
      expect(plain(decode(bytes(g))), g.name).toEqual(g.fields);
      expect(plain(decode(unaligned(g, 1), 1)), `${g.name} unaligned`).toEqual(g.fields);
      expect(compileStruct(g.struct)).toBe(decode);
    }
  });

  it('decodeTuple: IPv6 with high halves, IPv4, IPv4-mapped shown as IPv4', () => {
    for (const name of ['tuple_v6', 'tuple_v4', 'tuple_v4mapped']) {
      const g = golden(name);
      expectTuple(decodeTuple(bytes(g)), g.fields, g.text);
      expectTuple(decodeTuple(unaligned(g), 3), g.fields, g.text);
    }
    const v6 = decodeTuple(bytes(golden('tuple_v6')));
    expect(v6.type).toBe(ConnectionType.TCP);
    expect(v6.family).toBe(ConnectionFamily.AFINET6);
    expect(v6.source).toBe('2001:db8:85a3:8d3:1319:8a2e:370:7348');
    expect(v6.toString()).toBe('[TCPv6] [PID: 2147483649] [[2001:db8:85a3:8d3:1319:8a2e:370:7348]:65244 ⇄ [fe80::1ff:fe23:4567:890a]:443] (ns: 4026532131)');
    const v4 = decodeTuple(bytes(golden('tuple_v4')));
    expect(v4.type).toBe(ConnectionType.UDP);
    expect(v4.family).toBe(ConnectionFamily.AFINET);
    expect(v4.sourceEndpoint).toBe('10.1.2.3:53');
    expect(JSON.parse(JSON.stringify(v4))).toEqual({ type: 'UDP', family: 'v4', source: '10.1.2.3', sport: 53, dest: '192.168.200.254', dport: 40000, netns: 4026531840, pid: 4242, metadata: 0 });
    const mapped = decodeTuple(bytes(golden('tuple_v4mapped')));
    expect(mapped.family).toBe(ConnectionFamily.AFINET6);
    expect(mapped.destEndpoint).toBe('10.0.0.2:51000');
  });

  it('decodeConnStats and decodeTcpStats: exact 64-bit values, flags, direction, states', () => {
    const s = golden('conn_stats');
    expectStats(decodeConnStats(bytes(s)), s.fields);
    expectStats(decodeConnStats(unaligned(s, 2), 2), s.fields);
    const stats = decodeConnStats(bytes(s));
    expect(stats.direction).toBe(ConnDirection.OUTGOING);
    expect(stats.isAssured).toBe(true);
    expect(JSON.parse(JSON.stringify(stats)).sentBytes).toBe(s.fields.sent_bytes);
    const t = golden('tcp_stats');
    expectTcp(decodeTcpStats(bytes(t)), t.fields);
    expectTcp(decodeTcpStats(unaligned(t, 1), 1), t.fields);
    const tcp = decodeTcpStats(bytes(t));
    expect([tcp.established, tcp.closed]).toEqual([true, true]);
    expect(tcp.entered(2)).toBe(false);
  });

  it('decodeConn: the close record, sub-records stable and equal to the standalone decoders', () => {
    const g = golden('conn');
    const f = g.fields as { tup: Fields; conn_stats: Fields; tcp_stats: Fields };
    for (const c of [decodeConn(bytes(g)), decodeConn(unaligned(g), 3)]) {
      expectTuple(c.tuple, f.tup, g.text);
      expectStats(c.stats, f.conn_stats);
      expectTcp(c.tcp, f.tcp_stats);
      expect(c.tuple).toBe(c.tuple);
    }
    const c = decodeConn(bytes(g));
    expect(plain(c.toObject())).toEqual(plain(decodeConn(unaligned(g), 3).toObject()));
    expect(c.stats.toObject()).toEqual(decodeConnStats(bytes(golden('conn_stats'))).toObject());
  });

  it('toBatch: len and id, the filled slots in order, perf padding ignored, at an offset', () => {
    const g = golden('batch');
    const f = g.fields as Record<string, { tup: Fields; conn_stats: Fields; tcp_stats: Fields }> & { len: number; id: string };
    const padded = Buffer.concat([bytes(g), Buffer.alloc(4, 0xff)]); // a perf raw sample is padded to 8 with its u32 size
    const b = toBatch(padded);
    expect(b.len).toBe(3);
    expect(b.id).toBe(big(f.id));
    expect(b.conns).toHaveLength(3);
    b.conns.forEach((c, i) => {
      const slot = f[`c${i}`] as { tup: Fields; conn_stats: Fields; tcp_stats: Fields };
      expectTuple(c.tuple, slot.tup, undefined);
      expectStats(c.stats, slot.conn_stats);
      expectTcp(c.tcp, slot.tcp_stats);
    });
    // Two framed samples in one delivery buffer, decoded in place.
    const delivery = Buffer.alloc(2 * 480);
    bytes(g).copy(delivery, 8);
    bytes(g).copy(delivery, 480 + 8);
    const second = toBatch(delivery, 480 + 8);
    expect(plain(second.toObject())).toEqual(plain(b.toObject()));
    // unaligned
    const u = toBatch(unaligned(g), 3);
    expect(plain(u.toObject())).toEqual(plain(b.toObject()));
    expect(toBatch(unaligned(g).subarray(3)).id).toBe(big(f.id));
  });

  it('decodeTelemetry: every counter, camelCased, exact', () => {
    const g = golden('telemetry');
    const t = decodeTelemetry(bytes(g));
    const expected = Object.fromEntries(Object.entries(g.fields).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), big(v)]));
    expect(t).toEqual(expected);
    expect(Object.keys(t)).toHaveLength(6);
    expect(decodeTelemetry(unaligned(g), 3)).toEqual(expected);
  });

  it('records are views: they follow their buffer until detached; bytes() is the record', () => {
    const g = golden('conn');
    const buf = bytes(g);
    const c = decodeConn(buf);
    const kept = c.detach();
    const sent = c.stats.sentBytes;
    expect(Buffer.from(c.bytes()).equals(buf)).toBe(true);
    expect(Buffer.from(c.tuple.bytes()).equals(buf.subarray(0, 48))).toBe(true);
    buf.fill(0);
    expect(c.stats.sentBytes).toBe(0n);
    expect(kept.stats.sentBytes).toBe(sent);
    expect(kept.tuple.source).toBe(g.text?.source);
    const batchBuf = bytes(golden('batch'));
    const batch = toBatch(batchBuf).detach();
    batchBuf.fill(0);
    expect(batch.conns).toHaveLength(3);
    expect(batch.conns[1]?.stats.sentBytes).toBe(big((golden('batch').fields.c1 as { conn_stats: Fields }).conn_stats.sent_bytes));
  });
});
