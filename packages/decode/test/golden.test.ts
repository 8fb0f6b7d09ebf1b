// Golden records written by gcc from the ABI header (test/c/golden.c), decoded
// by every decoder and compared with what C read from the same struct.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abi,
  BATCH_SIZE,
  CloseReason,
  closeReason,
  compileStruct,
  ConnCloseReason,
  ConnectionFamily,
  ConnectionType,
  ConnDirection,
  ConnFlags,
  decodeConn,
  decodeConnStats,
  decodePortBinding,
  decodeStruct,
  decodeTcpStats,
  decodeTelemetry,
  decodeTuple,
  encodePortBinding,
  encodeTuple,
  IpProtocol,
  sumTelemetry,
  TcpState,
  TELEMETRY_SIZE,
  toBatch,
  type Conn,
  type ConnStats,
  type ConnTuple,
  type PortBinding,
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
  expect(s.sentPackets).toBe(big(f.sent_packets));
  expect(s.recvPackets).toBe(big(f.recv_packets));
  expect(s.timestamp).toBe(big(f.timestamp));
  expect(s.id).toBe(big(f.id));
  expect(s.start).toBe(big(f.start));
  expect(s.flags).toBe(f.flags);
  expect(s.direction).toBe(f.direction);
  const flags = f.flags as number;
  expect([s.isAssured, s.idIsCookie, s.seenLate, s.noPid]).toEqual(
    [ConnFlags.ASSURED, ConnFlags.ID_COOKIE, ConnFlags.SEEN_LATE, ConnFlags.NO_PID].map((bit) => (flags & bit) !== 0),
  );
}

function expectTcp(s: TcpStats, f: Fields): void {
  expect(s.retransmits).toBe(f.retransmits);
  expect(s.rtt).toBe(f.rtt);
  expect(s.rttVar).toBe(f.rtt_var);
  expect(s.segsOut).toBe(f.segs_out);
  expect(s.segsIn).toBe(f.segs_in);
  expect(s.stateTransitions).toBe(f.state_transitions);
  expect(s.state).toBe(f.state);
}

type ConnFields = { tup: Fields; conn_stats: Fields; tcp_stats: Fields; reason: number };

function expectConn(c: Conn, f: ConnFields, text: { source: string; dest: string } | undefined): void {
  expectTuple(c.tuple, f.tup, text);
  expectStats(c.stats, f.conn_stats);
  expectTcp(c.tcp, f.tcp_stats);
  expect(c.reason).toBe(f.reason);
  expect(c.closeReason).toBe(closeReason(f.reason));
}

function expectPortBinding(p: PortBinding, f: Fields): void {
  expect(p.netns).toBe(f.netns);
  expect(p.port).toBe(f.port);
  expect(p.protocol).toBe(f.protocol);
}

describe('golden records from gcc', () => {
  it('are what the C program says they are (sizes match the table, values are out of double range)', () => {
    expect([...records.keys()]).toEqual([
      'tuple_v6',
      'tuple_v4',
      'tuple_v4mapped',
      'conn_stats',
      'tcp_stats',
      'conn',
      'tcp_sock_rec',
      'batch',
      'telemetry',
      'port_binding_tcp',
      'port_binding_udp',
      'guess_deref',
      'guess_mailbox',
      'guess_capture',
    ]);
    // Every ABI struct has a golden record.
    expect(new Set([...records.values()].map((r) => r.struct))).toEqual(new Set(Object.keys(abi.structs)));
    const s = golden('conn_stats').fields;
    for (const k of ['recv_bytes', 'start', 'timestamp']) expect(big(s[k]), k).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    for (const k of ['sent_bytes', 'sent_packets', 'recv_packets', 'id']) expect(big(s[k]) >> 63n, k).toBe(1n);
    expect((s.flags as number) >>> 31).toBe(1);
    // Padding next to byte fields is not zero (records that are not map keys), so a mask that is too wide shows.
    expect(s._pad0).not.toEqual([0, 0, 0]);
    expect(golden('tcp_stats').fields._pad0).not.toBe(0);
    expect((golden('conn').fields._pad0 as number[]).every((b) => b !== 0)).toBe(true);
    const t = golden('tcp_stats').fields;
    for (const k of ['retransmits', 'segs_out', 'segs_in', 'rtt']) expect((t[k] as number) >>> 31, k).toBe(1);
    expect((t.state_transitions as number) >>> 15).toBe(1);
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
    expect([stats.isAssured, stats.idIsCookie, stats.seenLate, stats.noPid]).toEqual([true, true, true, true]);
    const json = JSON.parse(JSON.stringify(stats)) as Record<string, unknown>;
    expect(json).toEqual({
      sentBytes: s.fields.sent_bytes,
      recvBytes: s.fields.recv_bytes,
      sentPackets: s.fields.sent_packets,
      recvPackets: s.fields.recv_packets,
      timestamp: s.fields.timestamp,
      id: s.fields.id,
      start: s.fields.start,
      flags: s.fields.flags,
      direction: s.fields.direction,
    });
    expect(stats.toObject().id).toBe(big(s.fields.id));
    const t = golden('tcp_stats');
    expectTcp(decodeTcpStats(bytes(t)), t.fields);
    expectTcp(decodeTcpStats(unaligned(t, 1), 1), t.fields);
    const tcp = decodeTcpStats(bytes(t));
    expect([tcp.established, tcp.closed]).toEqual([true, true]);
    expect(tcp.entered(2)).toBe(false);
    expect(tcp.state).toBe(TcpState.CLOSE);
    expect(tcp.toJSON()).toEqual({
      retransmits: t.fields.retransmits,
      rtt: t.fields.rtt,
      rttVar: t.fields.rtt_var,
      segsOut: t.fields.segs_out,
      segsIn: t.fields.segs_in,
      stateTransitions: t.fields.state_transitions,
      state: t.fields.state,
    });
  });

  it('decodeConn: the close record, sub-records stable and equal to the standalone decoders', () => {
    const g = golden('conn');
    const f = g.fields as ConnFields;
    for (const c of [decodeConn(bytes(g)), decodeConn(unaligned(g), 3)]) {
      expectConn(c, f, g.text);
      expect(c.tuple).toBe(c.tuple);
    }
    const c = decodeConn(bytes(g));
    expect(plain(c.toObject())).toEqual(plain(decodeConn(unaligned(g), 3).toObject()));
    expect(c.stats.toObject()).toEqual(decodeConnStats(bytes(golden('conn_stats'))).toObject());
    expect(c.tcp.toObject()).toEqual(decodeTcpStats(bytes(golden('tcp_stats'))).toObject());
    expect(c.reason).toBe(ConnCloseReason.FAILED);
    expect(c.closeReason).toBe(CloseReason.FAILED);
    const json = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['tuple', 'stats', 'tcp', 'reason', 'closeReason']);
    expect(json).toMatchObject({ reason: f.reason, closeReason: 'failed', stats: { id: f.conn_stats.id, start: f.conn_stats.start } });
    expect(c.toObject()).toMatchObject({ reason: f.reason, closeReason: 'failed' });
  });

  it('toBatch: len and id, the filled slots in order, perf padding ignored, at an offset', () => {
    const g = golden('batch');
    const f = g.fields as Record<string, ConnFields> & { len: number; id: string };
    const padded = Buffer.concat([bytes(g), Buffer.alloc(4, 0xff)]); // a perf raw sample is padded to 8 with its u32 size
    const b = toBatch(padded);
    expect(b.len).toBe(3);
    expect(b.id).toBe(big(f.id));
    expect(b.conns).toHaveLength(3);
    b.conns.forEach((c, i) => {
      expectConn(c, f[`c${i}`] as ConnFields, undefined);
    });
    // Every reason, in the slots.
    expect(b.conns.map((c) => c.closeReason)).toEqual(['failed', 'expired', 'destroyed']);
    // Two framed samples in one delivery buffer, decoded in place.
    const frame = 8 + ((BATCH_SIZE + 4 + 7) & ~7);
    const delivery = Buffer.alloc(2 * frame);
    bytes(g).copy(delivery, 8);
    bytes(g).copy(delivery, frame + 8);
    const second = toBatch(delivery, frame + 8);
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
    expect(Object.keys(t)).toHaveLength(11);
    expect(Object.keys(t)).toEqual(Object.keys(abi.structs.telemetry.fields).map((k) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())));
    expect(decodeTelemetry(unaligned(g), 3)).toEqual(expected);
  });

  it('sumTelemetry: a per-CPU value (one entry per CPU) summed exactly, past 2^64', () => {
    const g = golden('telemetry');
    const one = decodeTelemetry(bytes(g));
    const cpus = 3;
    const perCpu = Buffer.concat(Array.from({ length: cpus }, () => bytes(g)));
    const sum = Object.fromEntries(Object.entries(one).map(([k, v]) => [k, v * BigInt(cpus)]));
    expect(sumTelemetry(perCpu)).toEqual(sum);
    expect(sumTelemetry(perCpu, 0, cpus)).toEqual(sum);
    expect(sumTelemetry(perCpu, TELEMETRY_SIZE)).toEqual(Object.fromEntries(Object.entries(one).map(([k, v]) => [k, v * 2n])));
    expect(sumTelemetry(unaligned({ ...g, hex: perCpu.toString('hex') }), 3, cpus)).toEqual(sum);
    expect(sumTelemetry(bytes(g))).toEqual(one);
    expect(() => sumTelemetry(perCpu, 0, cpus + 1)).toThrow(/needs 352 bytes \(352 at offset 0\), 264 available/);
    expect(() => sumTelemetry(perCpu, 0, 0)).toThrow(RangeError);
  });

  it('decodePortBinding: TCP and UDP keys', () => {
    for (const name of ['port_binding_tcp', 'port_binding_udp']) {
      const g = golden(name);
      expectPortBinding(decodePortBinding(bytes(g)), g.fields);
      expectPortBinding(decodePortBinding(unaligned(g, 1), 1), g.fields);
      expect(decodePortBinding(bytes(g)).toJSON()).toEqual({ netns: g.fields.netns, port: g.fields.port, protocol: g.fields.protocol });
    }
    expect(decodePortBinding(bytes(golden('port_binding_tcp'))).protocol).toBe(IpProtocol.TCP);
    expect(decodePortBinding(bytes(golden('port_binding_udp'))).protocol).toBe(IpProtocol.UDP);
  });

  it('encodeTuple and encodePortBinding write the bytes gcc wrote, and round-trip through the decoders', () => {
    const tuples: [string, Buffer][] = [];
    for (const name of ['tuple_v6', 'tuple_v4', 'tuple_v4mapped']) tuples.push([name, bytes(golden(name))]);
    tuples.push(['conn.tup', bytes(golden('conn')).subarray(0, 48)]);
    const batch = bytes(golden('batch'));
    for (let k = 0; k < 4; k++) tuples.push([`batch.c${k}.tup`, batch.subarray(k * abi.structs.conn.size, k * abi.structs.conn.size + 48)]);
    for (const [name, b] of tuples) {
      const t = decodeTuple(b);
      const encoded = encodeTuple(t.toObject());
      expect(encoded.toString('hex'), name).toBe(b.toString('hex'));
      expect(JSON.parse(JSON.stringify(t.toObject())), name).toEqual(JSON.parse(JSON.stringify(t))); // toObject is JSON-safe
      expect(encodeTuple(JSON.parse(JSON.stringify(t))).equals(b), `${name} via JSON`).toBe(true);
      expect(decodeTuple(encoded).toObject(), name).toEqual(t.toObject());
    }
    for (const name of ['port_binding_tcp', 'port_binding_udp']) {
      const g = golden(name);
      const encoded = encodePortBinding(decodePortBinding(bytes(g)).toObject());
      expect(encoded.toString('hex'), name).toBe(g.hex);
      expect(encodePortBinding(g.fields as { netns: number; port: number; protocol: 6 | 17 }).toString('hex')).toBe(g.hex);
      expect(plain(decodeStruct('port_binding', encoded))).toEqual(g.fields);
    }
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
    expect(batch.conns[1]?.reason).toBe((golden('batch').fields.c1 as ConnFields).reason);
    const pbBuf = bytes(golden('port_binding_udp'));
    const pb = decodePortBinding(pbBuf);
    const pbKept = pb.detach();
    expect(Buffer.from(pb.bytes()).equals(pbBuf)).toBe(true);
    pbBuf.fill(0);
    expect([pb.port, pbKept.port]).toEqual([0, 53]);
  });

  it('an unknown reason byte is the userspace CloseReason.UNKNOWN, never a wrong reason', () => {
    const g = golden('conn');
    const buf = bytes(g);
    for (const [name, value] of Object.entries(ConnCloseReason)) {
      buf[abi.structs.conn.fields.reason.offset] = value;
      const c = decodeConn(buf);
      expect(c.reason).toBe(value);
      expect(c.closeReason).toBe(CloseReason[name as keyof typeof ConnCloseReason]);
    }
    for (const value of [0, 4, 0xff]) {
      buf[abi.structs.conn.fields.reason.offset] = value;
      expect(decodeConn(buf).closeReason).toBe(CloseReason.UNKNOWN);
      expect(decodeConn(buf).reason).toBe(value);
    }
  });
});
