// Encoding of the test objects' 48-byte flow key and value (bpf/test/loader_test.h).
import type { TracepointFormat } from '../src/index.js';
export const AF_INET = 2;
export const AF_INET6 = 10;

export interface FlowKey {
  saddr: Buffer; // 16 bytes (IPv4 in the first 4)
  daddr: Buffer;
  sport: number;
  dport: number;
  family: number;
  protocol: number;
  kind: number; // 0 traffic, 1 state transitions
}

export interface FlowValue {
  sentBytes: bigint;
  recvBytes: bigint;
  sentCalls: bigint;
  recvCalls: bigint;
  established: bigint;
  closed: bigint;
}

export function addrBytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  if (ip.includes(':')) {
    // only the forms the tests use: "::1"
    if (ip !== '::1') throw new Error(`test helper handles ::1 only, got ${ip}`);
    out[15] = 1;
  } else {
    ip.split('.').forEach((o, i) => (out[i] = Number(o)));
  }
  return out;
}

export function encodeKey(k: FlowKey): Buffer {
  const b = Buffer.alloc(48);
  k.saddr.copy(b, 0);
  k.daddr.copy(b, 16);
  b.writeUInt16LE(k.sport, 32);
  b.writeUInt16LE(k.dport, 34);
  b.writeUInt16LE(k.family, 36);
  b.writeUInt16LE(k.protocol, 38);
  b.writeUInt32LE(k.kind, 40);
  return b;
}

export function decodeKey(b: Buffer): FlowKey {
  return {
    saddr: b.subarray(0, 16),
    daddr: b.subarray(16, 32),
    sport: b.readUInt16LE(32),
    dport: b.readUInt16LE(34),
    family: b.readUInt16LE(36),
    protocol: b.readUInt16LE(38),
    kind: b.readUInt32LE(40),
  };
}

export function decodeValue(b: Buffer): FlowValue {
  return {
    sentBytes: b.readBigUInt64LE(0),
    recvBytes: b.readBigUInt64LE(8),
    sentCalls: b.readBigUInt64LE(16),
    recvCalls: b.readBigUInt64LE(24),
    established: b.readBigUInt64LE(32),
    closed: b.readBigUInt64LE(40),
  };
}

export function encodeValue(v: Partial<FlowValue>): Buffer {
  const b = Buffer.alloc(48);
  b.writeBigUInt64LE(v.sentBytes ?? 0n, 0);
  b.writeBigUInt64LE(v.recvBytes ?? 0n, 8);
  b.writeBigUInt64LE(v.sentCalls ?? 0n, 16);
  b.writeBigUInt64LE(v.recvCalls ?? 0n, 24);
  b.writeBigUInt64LE(v.established ?? 0n, 32);
  b.writeBigUInt64LE(v.closed ?? 0n, 40);
  return b;
}

/** The byte-counting programs of the loader test object, by backend (all write kind-0 keys). */
export const BYTE_BACKENDS = {
  tp_btf: ['count_send', 'count_recv'],
  fentry: ['fexit_send', 'fentry_recv'],
  kprobe: ['kprobe_send', 'kretprobe_send', 'kprobe_recv'],
} as const;
export type ByteBackend = keyof typeof BYTE_BACKENDS;

/**
 * Globals of the classic `count_state` program: the field offsets of the
 * sock:inet_sock_set_state record on this kernel, from tracefs `format`.
 */
export function stateRecordGlobals(format: TracepointFormat): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of ['newstate', 'sport', 'dport', 'family', 'protocol', 'saddr', 'daddr', 'saddr_v6', 'daddr_v6']) {
    const field = format.field(f);
    if (!field) throw new Error(`sock/inet_sock_set_state has no field ${f} on this kernel`);
    out[`tp_off_${f}`] = field.offset;
  }
  return out;
}
